/**
 * The review loop (contract v1.1, "The grid's history, notifications and the review loop") against the real
 * server and database, one server for the file: submit -> reject with a comment -> edit -> resubmit, and
 * `submissionChanges` shows exactly the changed cells; versions with their totals and review outcomes; nothing
 * lands after a submit (API and grid); withdraw; reopen; the Power BI publish of the reviewed version's frozen
 * values (the publish step fails first, so the unit can be reopened and changed before it is retried);
 * SUBMISSION_REVIEWED naming the reviewer with the comment; OData's BudgetSubmissions; plans requiring complete
 * submissions and `submissionReadiness`; every operation's refusals for every role and for anonymous callers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../schema/codes.js';
import { connectGrid, editDropped, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const UNIT = 'SALES_NORTH';
const OTHER = 'FINANCE';
const LEAD = 'lead.sales-north@example.com';
const PLANNER = 'planner.sales-north@example.com';
const VIEWER = 'viewer.sales-north@example.com';
const OTHER_LEAD = 'lead.finance@example.com';
const ANALYST = 'analyst@example.com';
const ADMIN = 'admin@example.com';

const SUBMISSION = `status version reviewComment reviewedAt reviewedBy { email } submittedBy { email }`;
const Q = {
  lines: `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id productCategory region quarter budgetAmount forecastSales comment priorYearActual } }`,
  update: `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id budgetAmount } }`,
  submit: `mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { ${SUBMISSION} execution { id } } }`,
  submissions: `query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } ${SUBMISSION} } }`,
  review: `mutation($id: ID!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: $input) { id } }`,
  execution: `query($id: ID!) { workflowExecution(id: $id) { status steps { key status output } } }`,
  versions: `query($p: ID!, $u: String!) { submissionVersions(planId: $p, businessUnitCode: $u) {
    version status submittedAt submittedBy { email } reviewedAt reviewedBy { email } reviewComment total lineCount } }`,
  changes: `query($p: ID!, $u: String!, $v: Int!, $a: Int) { submissionChanges(planId: $p, businessUnitCode: $u, version: $v, againstVersion: $a) {
    line { id productCategory region quarter } column before after } }`,
  withdraw: `mutation($p: ID!, $u: String!) { withdrawSubmission(planId: $p, businessUnitCode: $u) { ${SUBMISSION} } }`,
  reopen: `mutation($p: ID!, $u: String!, $r: String!) { reopenSubmission(planId: $p, businessUnitCode: $u, reason: $r) { ${SUBMISSION} } }`,
  readiness: `query($p: ID!, $u: String!) { submissionReadiness(planId: $p, businessUnitCode: $u) {
    lineCount missingBudget missingForecast farFromLastYearWithoutComment farThresholdPercent total priorYearTotal completeRequired submittable } }`,
  requireComplete: `mutation($p: ID!, $r: Boolean!) { setBudgetPlanRequireCompleteSubmission(planId: $p, required: $r) { id requireCompleteSubmission } }`,
  activity: `query($a: String!) { activityLog(action: $a, first: 20) { edges { node { action actor { email } subject details } } } }`,
  notifications: `{ notifications { kind message actor { displayName } execution { id } } }`,
};

describe('the review loop', () => {
  let server: TestServer;
  let planId: string;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];
  const grids: GridClient[] = [];
  let receiver: http.Server;
  const delivered: any[] = [];

  const as = (who: string) => tokens[who];
  const ok = async (query: string, variables: Record<string, unknown>, who: string) => {
    const res = await server.gql(query, variables, as(who));
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data;
  };
  const lines = async (unit = UNIT) => (await ok(Q.lines, { p: planId, u: unit }, ADMIN)).budgetLines as any[];
  const submission = async (unit = UNIT) => (await ok(Q.submissions, { p: planId }, ADMIN)).budgetSubmissions.find((s: any) => s.businessUnit.code === unit);
  const versions = async (who = ADMIN) => (await ok(Q.versions, { p: planId, u: UNIT }, who)).submissionVersions as any[];
  const changes = async (v: number, a?: number) => (await ok(Q.changes, { p: planId, u: UNIT, v, a }, ADMIN)).submissionChanges as any[];
  const executionOnce = (id: string, status: string) =>
    eventually(async () => {
      const e = (await ok(Q.execution, { id }, ADMIN)).workflowExecution;
      return e.status === status && e;
    }, `the execution to be ${status}`);
  const submit = async (who = LEAD) => {
    const data = await ok(Q.submit, { p: planId, u: UNIT }, who);
    await executionOnce(data.submitBudget.execution.id, 'AWAITING_INPUT');
    return data.submitBudget as { version: number; execution: { id: string } };
  };
  const abilities = async (who: string) => {
    const all = (await ok(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } canWithdraw canReopen } }`, { p: planId }, who)).budgetSubmissions;
    const { canWithdraw, canReopen } = all.find((s: any) => s.businessUnit.code === UNIT);
    return { canWithdraw, canReopen };
  };
  const activity = async (action: string) => (await ok(Q.activity, { a: action }, ADMIN)).activityLog.edges.map((e: any) => e.node);
  const sum = (xs: any[]) => xs.reduce((s, l) => s + (l.budgetAmount ?? 0), 0);

  /** Every submissionStatusChanged of the unit the admin is told, over graphql-ws. */
  const statusEvents: any[] = [];

  beforeAll(async () => {
    // The publish step fails (until an admin retries it): an approved unit can then be reopened and changed
    // before the reviewed version is published.
    server = await startTestServer({ SIMULATED_STEP_MS: '1', SIMULATE_FAILURE_STEPS: 'publish_to_powerbi', WORKFLOW_MAX_ATTEMPTS: '1', WEBHOOK_ALLOW_INSECURE: 'true' });
    for (const who of [ADMIN, ANALYST, LEAD, PLANNER, VIEWER, OTHER_LEAD]) tokens[who] = await server.login(who);
    planId = (await server.gql('{ budgetPlans { id } }', {}, as(ADMIN))).data.budgetPlans[0].id;
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        delivered.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    await ok(`mutation($url: String!) { createWebhook(url: $url, events: ["submission.status_changed"]) { webhook { id } } }`, { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }, ADMIN);
    const client = createClient({ url: server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${as(ADMIN)}` }, retryAttempts: 0 });
    clients.push(client);
    client.subscribe(
      { query: `subscription($p: ID!) { submissionStatusChanged(planId: $p, businessUnitCode: "${UNIT}") { status version reviewComment reviewedBy { email } } }`, variables: { p: planId } },
      { next: (r) => r.data && statusEvents.push(r.data.submissionStatusChanged), error: () => undefined, complete: () => undefined },
    );
  });
  afterAll(async () => {
    grids.forEach((g) => g.destroy());
    await Promise.all(clients.map((c) => c.dispose()));
    await new Promise((r) => receiver?.close(r));
    await server?.stop();
  });

  it('before any submit: version 0, no versions, no review', async () => {
    expect(await submission()).toMatchObject({ status: 'DRAFT', version: 0, reviewComment: null, reviewedAt: null, reviewedBy: null });
    expect(await versions()).toEqual([]);
    expect(errorCode(await server.gql(Q.changes, { p: planId, u: UNIT, v: 1 }, as(ADMIN)))).toBe(ErrorCode.NOT_FOUND);
  });

  it('submit, reject with a comment, edit, resubmit: the reviewer sees exactly the changed cells; nothing lands after a submit', async () => {
    const [l0, l1, l2] = await lines();
    await ok(Q.update, { id: l0.id, input: { budgetAmount: 100 } }, LEAD);
    await ok(Q.update, { id: l1.id, input: { comment: 'seasonal' } }, LEAD);
    const first = await submit();
    expect(first.version).toBe(1);
    const v1Lines = await lines();

    // Frozen: an API edit is refused, a grid edit dropped, and version 1 is what was submitted.
    expect(errorCode(await server.gql(Q.update, { id: l0.id, input: { budgetAmount: 7 } }, as(LEAD)))).toBe(ErrorCode.FORBIDDEN);
    const grid = connectGrid(server.url, `budget:${planId}:${UNIT}`, as(LEAD));
    const witness = connectGrid(server.url, `budget:${planId}:${UNIT}`, as(ADMIN));
    grids.push(grid, witness);
    await Promise.all([synced(grid), synced(witness)]);
    expect(await editDropped(grid, witness, `${l2.id}/budgetAmount`, 4242)).toBe(true);
    expect((await lines()).map((l) => l.budgetAmount)).toEqual(v1Lines.map((l) => l.budgetAmount));

    // Not in a closed plan, read-only on every path (a finance QA pass approved and rejected units of a closed year):
    // the review answers FORBIDDEN and writes nothing, its step still waits; not offered; not cancellable either.
    const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`;
    const offered = async () => {
      const all = (await ok(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } canReview } }`, { p: planId }, ANALYST)).budgetSubmissions;
      const step = (await ok(`query($id: ID!) { workflowExecution(id: $id) { steps { key canGiveInput } } }`, { id: first.execution.id }, ANALYST)).workflowExecution.steps.find(
        (s: any) => s.key === 'finance_review',
      );
      return { canReview: all.find((s: any) => s.businessUnit.code === UNIT).canReview, canGiveInput: step.canGiveInput };
    };
    expect(await offered()).toEqual({ canReview: true, canGiveInput: true });
    await ok(SET_STATUS, { p: planId, s: 'CLOSED' }, ADMIN);
    for (const decision of ['APPROVE', 'REJECT']) {
      for (const who of [ANALYST, ADMIN]) {
        const refused = await server.gql(Q.review, { id: first.execution.id, input: { decision, comment: 'closed year' } }, as(who));
        expect(errorCode(refused)).toBe(ErrorCode.FORBIDDEN);
        expect(refused.errors![0].message).toMatch(/closed.*reopen the plan/);
      }
    }
    const cancelled = await server.gql(`mutation($id: ID!) { cancelExecution(executionId: $id) { id } }`, { id: first.execution.id }, as(ADMIN));
    expect(errorCode(cancelled)).toBe(ErrorCode.FORBIDDEN);
    expect(await offered()).toEqual({ canReview: false, canGiveInput: false });
    const waiting = (await ok(Q.execution, { id: first.execution.id }, ADMIN)).workflowExecution;
    expect(waiting.status).toBe('AWAITING_INPUT');
    expect(waiting.steps.find((s: any) => s.key === 'finance_review').status).toBe('AWAITING_INPUT');
    expect(await submission()).toMatchObject({ status: 'SUBMITTED', version: 1, reviewComment: null, reviewedBy: null });
    expect((await versions()).map((v) => v.status)).toEqual(['SUBMITTED']);
    expect(errorCode(await server.gql(Q.submit, { p: planId, u: OTHER }, as(ADMIN)))).toBe(ErrorCode.FORBIDDEN);
    await ok(SET_STATUS, { p: planId, s: 'OPEN' }, ADMIN);
    expect(await offered()).toEqual({ canReview: true, canGiveInput: true });

    await ok(Q.review, { id: first.execution.id, input: { decision: 'REJECT', comment: 'Q3 too high' } }, ANALYST);
    await executionOnce(first.execution.id, 'COMPLETED');
    const rejected = await submission();
    expect(rejected).toMatchObject({ status: 'REJECTED', version: 1, reviewComment: 'Q3 too high', reviewedBy: { email: ANALYST } });
    expect(Date.parse(rejected.reviewedAt)).toBeGreaterThan(0);
    await eventually(() => statusEvents.some((e) => e.status === 'REJECTED' && e.reviewComment === 'Q3 too high' && e.reviewedBy?.email === ANALYST), 'the REJECTED event with its review');

    // The unit's leaders are told, by the reviewer's name, with the comment.
    const told = (await ok(Q.notifications, {}, LEAD)).notifications.find((n: any) => n.kind === 'SUBMISSION_REVIEWED');
    expect(told).toMatchObject({ actor: { displayName: 'Ann Analyst' }, execution: { id: first.execution.id } });
    expect(told.message).toContain('Q3 too high');
    expect(told.message).toContain('Ann Analyst');

    // OData tells the same review.
    const odata = await fetch(`${server.url}/odata/BudgetSubmissions?$filter=${encodeURIComponent(`BusinessUnitCode eq '${UNIT}'`)}`, { headers: { authorization: `Bearer ${as(ADMIN)}` } });
    const [row] = ((await odata.json()) as any).value;
    expect(row).toMatchObject({ Status: 'REJECTED', Version: 1, ReviewComment: 'Q3 too high' });
    expect(Date.parse(row.ReviewedAt)).toBe(Date.parse(rejected.reviewedAt));

    // Three cells change; a cell set to what it was is no change.
    await ok(Q.update, { id: l0.id, input: { budgetAmount: 150 } }, LEAD);
    await ok(Q.update, { id: l1.id, input: { comment: '' } }, LEAD);
    await ok(Q.update, { id: l2.id, input: { forecastSales: 5 } }, LEAD);
    await ok(Q.update, { id: l2.id, input: { budgetAmount: v1Lines[2].budgetAmount } }, LEAD);
    const second = await submit(PLANNER);
    expect(second.version).toBe(2);
    expect(await submission()).toMatchObject({ status: 'SUBMITTED', version: 2, reviewComment: null, reviewedAt: null, reviewedBy: null, submittedBy: { email: PLANNER } });

    const text = (v: number | null) => (v === null ? null : String(v));
    const key = (l: any) => ({ id: l.id, productCategory: l.productCategory, region: l.region, quarter: l.quarter });
    const expected = [
      { line: key(l0), column: 'budgetAmount', before: '100', after: '150' },
      { line: key(l1), column: 'comment', before: 'seasonal', after: null },
      { line: key(l2), column: 'forecastSales', before: text(v1Lines[2].forecastSales), after: '5' },
    ];
    expect(await changes(2)).toEqual(expected);
    expect(await changes(2, 1)).toEqual(expected);
    expect(await changes(1, 2)).toEqual(expected.map((d) => ({ ...d, before: d.after, after: d.before })));
    expect(await changes(2, 2)).toEqual([]);
    // Version 1 against nothing: every non-empty cell it submitted.
    const nonEmpty = v1Lines.flatMap((l) =>
      (['budgetAmount', 'forecastSales', 'comment'] as const).filter((c) => l[c] !== null && l[c] !== '').map((c) => ({ line: key(l), column: c, before: null, after: String(l[c]) })),
    );
    expect(await changes(1)).toEqual(nonEmpty);
    expect(errorCode(await server.gql(Q.changes, { p: planId, u: UNIT, v: 3 }, as(ADMIN)))).toBe(ErrorCode.NOT_FOUND);
    expect(errorCode(await server.gql(Q.changes, { p: planId, u: UNIT, v: 2, a: 9 }, as(ADMIN)))).toBe(ErrorCode.NOT_FOUND);
    expect(errorCode(await server.gql(Q.changes, { p: planId, u: UNIT, v: 0 }, as(ADMIN)))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(errorCode(await server.gql(Q.changes, { p: planId, u: UNIT, v: 2, a: -1 }, as(ADMIN)))).toBe(ErrorCode.BAD_USER_INPUT);

    const v2Lines = await lines();
    const all = await versions();
    expect(all).toEqual([
      expect.objectContaining({ version: 1, status: 'REJECTED', submittedBy: { email: LEAD }, reviewedBy: { email: ANALYST }, reviewComment: 'Q3 too high', total: sum(v1Lines), lineCount: v1Lines.length }),
      expect.objectContaining({ version: 2, status: 'SUBMITTED', submittedBy: { email: PLANNER }, reviewedBy: null, reviewedAt: null, reviewComment: null, total: sum(v2Lines), lineCount: v2Lines.length }),
    ]);
    expect(all[1].total - all[0].total).toBe(50);
  });

  it('reads versions and changes for whoever may read the unit; a hidden unit answers like a missing one', async () => {
    for (const who of [ADMIN, ANALYST, LEAD, VIEWER]) {
      expect((await versions(who)).map((v) => v.version)).toEqual([1, 2]);
      expect((await ok(Q.changes, { p: planId, u: UNIT, v: 2 }, who)).submissionChanges).toHaveLength(3);
      expect((await ok(Q.readiness, { p: planId, u: UNIT }, who)).submissionReadiness.lineCount).toBe(120);
    }
    for (const query of [Q.versions, Q.changes, Q.readiness]) {
      const vars = { p: planId, v: 2 };
      // Another unit's leader: FORBIDDEN for the hidden unit and for a missing one alike.
      expect(errorCode(await server.gql(query, { ...vars, u: UNIT }, as(OTHER_LEAD)))).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(query, { ...vars, u: 'NO_SUCH_UNIT' }, as(OTHER_LEAD)))).toBe(ErrorCode.FORBIDDEN);
      // Who reads every unit: NOT_FOUND for a missing unit or plan.
      expect(errorCode(await server.gql(query, { ...vars, u: 'NO_SUCH_UNIT' }, as(ADMIN)))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(query, { ...vars, p: '00000000-0000-4000-8000-000000000000', u: UNIT }, as(ANALYST)))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(query, { ...vars, u: UNIT }, null))).toBe(ErrorCode.UNAUTHENTICATED);
    }
  });

  it("withdraws a submission before its review: the unit's leaders and admins; back to DRAFT, its execution CANCELLED", async () => {
    const executionId = (await ok(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } execution { id } } }`, { p: planId }, ADMIN)).budgetSubmissions.find(
      (s: any) => s.businessUnit.code === UNIT,
    ).execution.id;
    const vars = { p: planId, u: UNIT };
    expect(errorCode(await server.gql(Q.withdraw, vars, as(ANALYST)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.withdraw, vars, as(VIEWER)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.withdraw, vars, as(OTHER_LEAD)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.withdraw, vars, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect((await submission()).status).toBe('SUBMITTED');
    for (const [who, may] of [[LEAD, true], [ADMIN, true], [ANALYST, false], [VIEWER, false]] as const) {
      expect(await abilities(who)).toEqual({ canWithdraw: may, canReopen: false });
    }
    // Not in a closed plan, where it could not be submitted again (a finance QA pass withdrew one and was stuck).
    const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`;
    await ok(SET_STATUS, { p: planId, s: 'CLOSED' }, ADMIN);
    const refused = await server.gql(Q.withdraw, vars, as(LEAD));
    expect(errorCode(refused)).toBe(ErrorCode.FORBIDDEN);
    expect(refused.errors![0].message).toMatch(/closed/);
    expect(await abilities(LEAD)).toEqual({ canWithdraw: false, canReopen: false });
    expect((await submission()).status).toBe('SUBMITTED');
    await ok(SET_STATUS, { p: planId, s: 'OPEN' }, ADMIN);

    const withdrawn = (await ok(Q.withdraw, vars, LEAD)).withdrawSubmission;
    expect(withdrawn).toMatchObject({ status: 'DRAFT', version: 2 });
    const execution = await executionOnce(executionId, 'CANCELLED');
    expect(execution.steps.find((s: any) => s.key === 'finance_review').status).toBe('SKIPPED');
    expect((await versions()).map((v) => v.status)).toEqual(['REJECTED', 'WITHDRAWN']);
    expect(errorCode(await server.gql(Q.withdraw, vars, as(LEAD)))).toBe(ErrorCode.CONFLICT);
    const [entry] = await activity('SUBMISSION_WITHDRAWN');
    expect(entry).toMatchObject({ actor: { email: LEAD }, details: expect.objectContaining({ businessUnitCode: UNIT, version: 2, executionId }) });
    await eventually(() => statusEvents.at(-1)?.status === 'DRAFT', 'the DRAFT event');
    // Editable again at once.
    await ok(Q.update, { id: (await lines())[3].id, input: { budgetAmount: 33 } }, LEAD);

    // An admin may withdraw too; a reviewed submission cannot be withdrawn.
    const third = await submit();
    expect(third.version).toBe(3);
    await ok(Q.withdraw, vars, ADMIN);
    const fourth = await submit();
    await ok(Q.review, { id: fourth.execution.id, input: { decision: 'REJECT' } }, ANALYST);
    expect(errorCode(await server.gql(Q.withdraw, vars, as(LEAD)))).toBe(ErrorCode.CONFLICT);
    expect((await versions()).map((v) => v.status)).toEqual(['REJECTED', 'WITHDRAWN', 'WITHDRAWN', 'REJECTED']);
    expect((await submission()).reviewComment).toBeNull();
  });

  it('reopens an approved unit (admins, with a reason); the publish sends exactly the reviewed version', async () => {
    const submitted = await submit();
    expect(submitted.version).toBe(5);
    const frozen = await lines();
    await ok(Q.review, { id: submitted.execution.id, input: { decision: 'APPROVE', comment: 'Fine' } }, ANALYST);
    await executionOnce(submitted.execution.id, 'FAILED'); // publish_to_powerbi, until retried
    expect(await submission()).toMatchObject({ status: 'APPROVED', reviewComment: 'Fine', reviewedBy: { email: ANALYST } });

    for (const [who, may] of [[ADMIN, true], [LEAD, false], [ANALYST, false]] as const) expect(await abilities(who)).toEqual({ canWithdraw: false, canReopen: may });
    const vars = { p: planId, u: UNIT, r: 'Late correction from the region' };
    for (const who of [LEAD, ANALYST, VIEWER, OTHER_LEAD]) expect(errorCode(await server.gql(Q.reopen, vars, as(who)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.reopen, vars, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect(errorCode(await server.gql(Q.reopen, { ...vars, r: '   ' }, as(ADMIN)))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(errorCode(await server.gql(Q.reopen, { ...vars, u: 'NO_SUCH_UNIT' }, as(ADMIN)))).toBe(ErrorCode.NOT_FOUND);
    expect(errorCode(await server.gql(Q.reopen, { ...vars, u: OTHER }, as(ADMIN)))).toBe(ErrorCode.CONFLICT); // a draft

    // In a closed plan: refused, and not offered (a finance QA pass reopened an approved unit of a closed plan: a
    // draft nobody could edit or submit, in a plan every report still showed as closed).
    const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`;
    await ok(SET_STATUS, { p: planId, s: 'CLOSED' }, ADMIN);
    const refused = await server.gql(Q.reopen, vars, as(ADMIN));
    expect(errorCode(refused)).toBe(ErrorCode.FORBIDDEN);
    expect(refused.errors![0].message).toMatch(/closed.*reopen the plan/);
    expect(await abilities(ADMIN)).toEqual({ canWithdraw: false, canReopen: false });
    expect(await submission()).toMatchObject({ status: 'APPROVED' });
    await ok(SET_STATUS, { p: planId, s: 'OPEN' }, ADMIN);
    expect(await abilities(ADMIN)).toEqual({ canWithdraw: false, canReopen: true });

    // A close committing while the reopen runs: the reopen waits for it and is refused, never slipped in between.
    // The close is held open in a transaction of the test's own.
    const closing = new pg.Client({ connectionString: server.databaseUrl });
    await closing.connect();
    try {
      await closing.query('begin');
      await closing.query(`update budget_plan set status = 'CLOSED' where id = $1`, [planId]);
      const racing = server.gql(Q.reopen, vars, as(ADMIN));
      // The reopen is waiting on the plan's row lock, not done.
      await eventually(async () => {
        const waits = await server.sql<{ n: number }>(
          `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.query ilike '%budget_plan%'`,
        );
        return waits[0].n > 0;
      }, 'the reopen waiting for the close');
      await closing.query('commit');
      const raced = await racing;
      expect(errorCode(raced)).toBe(ErrorCode.FORBIDDEN);
      expect(await submission()).toMatchObject({ status: 'APPROVED' });
    } finally {
      await closing.end();
    }
    await ok(SET_STATUS, { p: planId, s: 'OPEN' }, ADMIN);

    const reopened = (await ok(Q.reopen, vars, ADMIN)).reopenSubmission;
    expect(reopened).toMatchObject({ status: 'DRAFT', version: 5, reviewComment: null, reviewedAt: null, reviewedBy: null });
    expect(errorCode(await server.gql(Q.reopen, vars, as(ADMIN)))).toBe(ErrorCode.CONFLICT);
    expect((await versions()).at(-1)).toMatchObject({ version: 5, status: 'APPROVED', reviewComment: 'Fine', reviewedBy: { email: ANALYST } });
    const [entry] = await activity('SUBMISSION_REOPENED');
    expect(entry).toMatchObject({ actor: { email: ADMIN }, details: expect.objectContaining({ businessUnitCode: UNIT, version: 5, reason: 'Late correction from the region' }) });
    await eventually(() => statusEvents.at(-1)?.status === 'DRAFT', 'the DRAFT event');
    // The unit's leaders are told it was reopened, by whom and why (they were told only "approved" before: a QA
    // pass's leader found their approved budget a draft with no word of it); the admin who did it is not.
    for (const who of [LEAD, OTHER_LEAD, ADMIN]) {
      const [latest] = (await ok(Q.notifications, {}, who)).notifications.filter((n: any) => n.kind === 'SUBMISSION_REVIEWED');
      if (who !== LEAD) {
        expect(latest?.message ?? '', who).not.toContain('reopened');
        continue;
      }
      expect(latest).toMatchObject({ actor: { displayName: 'Ada Admin' }, execution: { id: submitted.execution.id } });
      expect(latest.message).toBe('The budget of Sales North in FY2027 Budget was reopened by Ada Admin: Late correction from the region');
    }
    // And where the unit's submission is read (the grid page's banner): who reopened it, when and why; a draft never
    // reopened has none.
    const REOPENING = `query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } reopening { at reason reopenedByName } } }`;
    const reopenings = (await ok(REOPENING, { p: planId }, LEAD)).budgetSubmissions;
    const ours = reopenings.find((s: any) => s.businessUnit.code === UNIT).reopening;
    expect(ours).toMatchObject({ reason: 'Late correction from the region', reopenedByName: 'Ada Admin' });
    expect(Date.parse(ours.at)).toBeGreaterThan(0);
    expect(reopenings.filter((s: any) => s.businessUnit.code !== UNIT).every((s: any) => s.reopening === null)).toBe(true);

    // The unit changes after the approval; the retried publish still sends what was approved.
    await ok(Q.update, { id: frozen[0].id, input: { budgetAmount: 987654 } }, LEAD);
    expect(sum(await lines())).not.toBe(sum(frozen));
    await ok(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "publish_to_powerbi") { id } }`, { id: submitted.execution.id }, ADMIN);
    const done = await executionOnce(submitted.execution.id, 'COMPLETED');
    expect(done.steps.find((s: any) => s.key === 'publish_to_powerbi').output).toMatchObject({ publishedVersion: 5, rows: 120, rowsPushed: 120, totalBudgetAmount: sum(frozen) });

    // Webhooks heard every status change of the unit, withdrawals and the reopen included.
    await eventually(() => delivered.some((d) => d.data.status === 'DRAFT' && d.data.previousStatus === 'APPROVED'), 'the reopen webhook');
    const moves = delivered.filter((d) => d.type === 'submission.status_changed' && d.data.businessUnit.code === UNIT).map((d) => `${d.data.previousStatus}>${d.data.status}`);
    expect(moves.filter((m) => m === 'SUBMITTED>DRAFT')).toHaveLength(2);
    expect(moves).toContain('APPROVED>DRAFT');
    // With the version and its review: the approval's, then the reopen clearing it on the submission.
    const approval = delivered.find((d) => d.data.status === 'APPROVED' && d.data.version === 5);
    expect(approval.data).toMatchObject({ reviewComment: 'Fine', reviewedBy: ANALYST });
    expect(Date.parse(approval.data.reviewedAt)).toBeGreaterThan(0);
    expect(delivered.find((d) => d.data.previousStatus === 'APPROVED').data).toMatchObject({ status: 'DRAFT', version: 5, reviewComment: null, reviewedBy: null });
  });

  it('plans may require complete submissions; submissionReadiness tells what is incomplete', async () => {
    const other = await lines(OTHER);
    const missing = other.filter((l) => l.budgetAmount === null).length;
    expect(errorCode(await server.gql(Q.requireComplete, { p: planId, r: true }, as(ANALYST)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.requireComplete, { p: planId, r: true }, as(OTHER_LEAD)))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(Q.requireComplete, { p: planId, r: true }, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect((await ok(Q.requireComplete, { p: planId, r: true }, ADMIN)).setBudgetPlanRequireCompleteSubmission.requireCompleteSubmission).toBe(true);
    try {
      // Some lines lack a budget (cleared here if the seed filled them all).
      if (missing === 0) await ok(Q.update, { id: other[0].id, input: { budgetAmount: null } }, OTHER_LEAD);
      const lacking = Math.max(missing, 1);
      const readiness = (await ok(Q.readiness, { p: planId, u: OTHER }, OTHER_LEAD)).submissionReadiness;
      const now = await lines(OTHER);
      expect(readiness).toMatchObject({
        lineCount: 120,
        missingBudget: lacking,
        missingForecast: now.filter((l) => l.forecastSales === null).length,
        farFromLastYearWithoutComment: now.filter(
          (l) => l.budgetAmount !== null && l.priorYearActual !== null && l.comment === '' && Math.abs(l.budgetAmount - l.priorYearActual) > Math.abs(l.priorYearActual) * 0.5,
        ).length,
        priorYearTotal: now.reduce((s, l) => s + (l.priorYearActual ?? 0), 0),
        total: sum(now),
        completeRequired: true,
        submittable: false,
        farThresholdPercent: 50,
      });
      const refused = await server.gql(Q.submit, { p: planId, u: OTHER }, as(OTHER_LEAD));
      expect(errorCode(refused)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(refused.errors![0].message).toContain(`${lacking} of 120 lines have no budget`);
      expect((await submission(OTHER)).status).toBe('DRAFT');
      // Complete: submitted.
      const fill = now.filter((x) => x.budgetAmount === null).map((l) => ({ id: l.id, input: { budgetAmount: 1 } }));
      const batch = await ok(`mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { rejected { id } } }`, { c: fill }, OTHER_LEAD);
      expect(batch.updateBudgetLines.rejected).toEqual([]);
      expect((await ok(Q.readiness, { p: planId, u: OTHER }, OTHER_LEAD)).submissionReadiness).toMatchObject({ missingBudget: 0, submittable: true });
      expect((await ok(Q.submit, { p: planId, u: OTHER }, OTHER_LEAD)).submitBudget).toMatchObject({ status: 'SUBMITTED', version: 1 });
    } finally {
      await ok(Q.requireComplete, { p: planId, r: false }, ADMIN);
    }
  });

  it('cancelling the failed publish of an approved budget keeps it approved (only reopenSubmission, with a reason, reopens it)', async () => {
    // The Finance unit was submitted by the test before; its review is waiting.
    const executionId = (await ok(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } execution { id } } }`, { p: planId }, ADMIN)).budgetSubmissions.find(
      (s: any) => s.businessUnit.code === OTHER,
    ).execution.id;
    await executionOnce(executionId, 'AWAITING_INPUT');
    await ok(Q.review, { id: executionId, input: { decision: 'APPROVE', comment: 'Good' } }, ANALYST);
    // The publish step fails here (SIMULATE_FAILURE_STEPS), and an admin gives up on it, the year closed meanwhile:
    // a decided review changes no submission, so a closed plan does not stand in the way.
    await executionOnce(executionId, 'FAILED');
    const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`;
    await ok(SET_STATUS, { p: planId, s: 'CLOSED' }, ADMIN);
    try {
      expect((await ok(`mutation($id: ID!) { cancelExecution(executionId: $id, reason: "Power BI is down") { status } }`, { id: executionId }, ADMIN)).cancelExecution.status).toBe('CANCELLED');
    } finally {
      await ok(SET_STATUS, { p: planId, s: 'OPEN' }, ADMIN);
    }
    // It put the unit back to DRAFT before: an approval lost with no reason, no word to the unit, and the approved
    // version's record still saying APPROVED.
    expect(await submission(OTHER)).toMatchObject({ status: 'APPROVED', reviewComment: 'Good', reviewedBy: { email: ANALYST } });
    const [entry] = await activity('EXECUTION_CANCELLED');
    expect(entry.details).not.toHaveProperty('submissionStatus');
  });
});
