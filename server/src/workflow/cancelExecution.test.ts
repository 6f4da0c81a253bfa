/**
 * cancelExecution (contract v1.1) against the real server: who may cancel what (whoever may drive it; hidden
 * answered like missing), RUNNING, AWAITING_INPUT and FAILED executions cancelled with their unfinished steps
 * SKIPPED and the events streamed live, a cancelled budget_submission putting its unit back to DRAFT and its
 * open grid editable again, CONFLICT for a finished execution, `requestedBy`, and the activity entries.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { connectGrid, editDropped, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { runNewPartner } from '../testing/workflowRuns.js';
import { EVENT_CURSOR } from './eventStream.js';

const EXECUTION = `id status requestedBy { email } steps { key status error }`;
const CANCEL = `mutation($id: ID!, $reason: String) { cancelExecution(executionId: $id, reason: $reason) { ${EXECUTION} } }`;
const ACTIVITY = `{ activityLog(action: "EXECUTION_CANCELLED", first: 50) { edges { node { action actor { email } subject details } } } }`;

describe('cancelExecution', () => {
  let server: TestServer;
  let planId: string;
  let admin: string;
  const clients: Client[] = [];
  const grids: GridClient[] = [];

  const token = (email: string) => server.login(email);
  const execution = async (id: string) => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, admin)).data.workflowExecution;
  const executionOnce = (id: string, status: string) =>
    eventually(async () => {
      const e = await execution(id);
      return e.status === status && e;
    }, `the execution to be ${status}`);
  const submit = async (unit: string, who: string) => {
    const res = await server.gql(`mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { execution { id } } }`, { p: planId, u: unit }, await token(who));
    expect(res.errors).toBeUndefined();
    return res.data.submitBudget.execution.id as string;
  };
  const submission = async (unit: string, who: string) =>
    (await server.gql(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } status canEdit } }`, { p: planId }, await token(who))).data.budgetSubmissions.find(
      (s: any) => s.businessUnit.code === unit,
    );
  const cancelledEntries = async () => (await server.gql(ACTIVITY, {}, admin)).data.activityLog.edges.map((e: any) => e.node);

  /** Subscribes over graphql-ws (the stock client) and collects what arrives. */
  function follow(who: string, query: string, variables: Record<string, unknown>) {
    const received: any[] = [];
    const client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${who}` },
      retryAttempts: 0,
    });
    clients.push(client);
    client.subscribe({ query, variables }, { next: (r) => r.data && received.push(Object.values(r.data)[0]), error: () => undefined, complete: () => undefined });
    return received;
  }

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5', SIMULATE_FAILURE_STEPS: 'add_user_to_metabase_group', WORKFLOW_MAX_ATTEMPTS: '1' });
    admin = await token('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterAll(async () => {
    grids.forEach((g) => g.destroy());
    await Promise.all(clients.map((c) => c.dispose()));
    await server?.stop();
  });

  it("cancels a submission under review: steps SKIPPED live, the unit back to DRAFT and its open grid editable again", async () => {
    const lead = await token('lead.finance@example.com');
    const executionId = await submit('FINANCE', 'lead.finance@example.com');
    await executionOnce(executionId, 'AWAITING_INPUT');

    // Watching it: the execution's events (replayed from the start, then live), the unit's status, its grid.
    const events = follow(admin, `subscription($id: ID, $after: String) { workflowEvents(executionId: $id, after: $after) { stepKey status execution { status requestedBy { email } } } }`, {
      id: executionId,
      after: encodeCursor(EVENT_CURSOR, '0'),
    });
    const statuses = follow(lead, `subscription($p: ID!, $u: String) { submissionStatusChanged(planId: $p, businessUnitCode: $u) { status canEdit } }`, { p: planId, u: 'FINANCE' });
    await eventually(() => events.some((e) => e.stepKey === 'finance_review' && e.status === 'AWAITING_INPUT'), 'the replay up to the review');
    const line = (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "FINANCE") { id } }`, { p: planId }, admin)).data.budgetLines[0].id;
    const grid = connectGrid(server.url, `budget:${planId}:FINANCE`, lead);
    const witness = connectGrid(server.url, `budget:${planId}:FINANCE`, admin);
    grids.push(grid, witness);
    await Promise.all([synced(grid), synced(witness)]);
    expect(await editDropped(grid, witness, `${line}/budgetAmount`, 111)).toBe(true);

    // Who started it, as anyone who reads the execution sees it.
    const seen = await server.gql(`query($id: ID!) { workflowExecution(id: $id) { requestedBy { email displayName } } }`, { id: executionId }, await token('analyst@example.com'));
    expect(seen.data.workflowExecution.requestedBy).toEqual({ email: 'lead.finance@example.com', displayName: 'Finance Lead' });

    const cancelled = await server.gql(CANCEL, { id: executionId, reason: '  The numbers were wrong ' }, lead);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data.cancelExecution.status).toBe('CANCELLED');
    expect(cancelled.data.cancelExecution.steps.map((s: any) => `${s.key}:${s.status}`)).toEqual([
      'validate_budget:SUCCEEDED',
      'lock_budget:SUCCEEDED',
      'finance_review:SKIPPED',
      'publish_to_powerbi:SKIPPED',
      'notify_business_unit:SKIPPED',
    ]);

    // Live: the skipped steps, then the execution's own status, in order.
    await eventually(() => events.some((e) => e.stepKey === null && e.status === 'CANCELLED'), 'the cancellation to stream');
    const after = events.slice(events.findIndex((e) => e.stepKey === 'finance_review' && e.status === 'AWAITING_INPUT') + 1);
    expect(after.filter((e) => e.stepKey !== null || e.status !== 'AWAITING_INPUT').map((e) => `${e.stepKey}:${e.status}`)).toEqual([
      'finance_review:SKIPPED',
      'publish_to_powerbi:SKIPPED',
      'notify_business_unit:SKIPPED',
      'null:CANCELLED',
    ]);
    expect(events.at(-1).execution).toEqual({ status: 'CANCELLED', requestedBy: { email: 'lead.finance@example.com' } });

    // The unit is a draft again, editable by its leader, on every path.
    await eventually(() => statuses.some((s) => s.status === 'DRAFT' && s.canEdit === true), 'DRAFT to reach the dashboard');
    expect(await submission('FINANCE', 'lead.finance@example.com')).toMatchObject({ status: 'DRAFT', canEdit: true });
    let value = 500;
    await eventually(async () => !(await editDropped(grid, witness, `${line}/budgetAmount`, ++value)), 'the open grid to take edits again');
    await eventually(
      async () =>
        (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "FINANCE") { id budgetAmount } }`, { p: planId }, admin)).data.budgetLines.find(
          (l: any) => l.id === line,
        ).budgetAmount === value,
      'the grid edit to reach the rows',
    );
    const api = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "after the cancel" }) { comment } }`, { id: line }, lead);
    expect(api.errors).toBeUndefined();

    // Over: a second cancel is a CONFLICT, and the unit can be submitted again.
    expect(errorCode(await server.gql(CANCEL, { id: executionId }, lead))).toBe('CONFLICT');
    const again = await submit('FINANCE', 'lead.finance@example.com');
    expect(again).not.toBe(executionId);
    expect((await submission('FINANCE', 'lead.finance@example.com')).status).toBe('SUBMITTED');

    expect((await cancelledEntries())[0]).toEqual({
      action: 'EXECUTION_CANCELLED',
      actor: { email: 'lead.finance@example.com' },
      subject: `budget_submission ${executionId}`,
      details: {
        executionId,
        definitionKey: 'budget_submission',
        reason: 'The numbers were wrong',
        previousStatus: 'AWAITING_INPUT',
        skippedSteps: ['finance_review', 'publish_to_powerbi', 'notify_business_unit'],
        businessUnitCode: 'FINANCE',
        submissionStatus: 'DRAFT',
      },
    });
  });

  it('answers everyone who may not drive a submission like a missing execution, and changes nothing', async () => {
    const executionId = await submit('SALES_SOUTH', 'lead.sales-south@example.com');
    await executionOnce(executionId, 'AWAITING_INPUT');
    const refused: [string | null, string, string][] = [
      ['viewer.sales-south@example.com', executionId, 'NOT_FOUND'],
      ['lead.marketing@example.com', executionId, 'NOT_FOUND'],
      ['partner.admin@acme.example', executionId, 'NOT_FOUND'],
      ['analyst@example.com', randomUUID(), 'NOT_FOUND'],
      ['admin@example.com', 'not-an-id', 'NOT_FOUND'],
      [null, executionId, 'UNAUTHENTICATED'],
    ];
    for (const [who, id, code] of refused) {
      const res = await server.gql(CANCEL, { id, reason: 'no' }, who ? await token(who) : null);
      expect(errorCode(res), `${who} cancelling ${id}`).toBe(code);
    }
    expect((await execution(executionId)).status).toBe('AWAITING_INPUT');
    expect((await submission('SALES_SOUTH', 'admin@example.com')).status).toBe('SUBMITTED');
    const tooLong = await server.gql(CANCEL, { id: executionId, reason: 'x'.repeat(2001) }, admin);
    expect(errorCode(tooLong)).toBe('BAD_USER_INPUT');

    // The unit's other leader and the analysts may (they drive it); here the analyst does.
    const byAnalyst = await server.gql(CANCEL, { id: executionId, reason: 'Wrong unit' }, await token('analyst@example.com'));
    expect(byAnalyst.data.cancelExecution.status).toBe('CANCELLED');
    expect((await submission('SALES_SOUTH', 'lead.sales-south@example.com')).status).toBe('DRAFT');
  });

  it('cancels a RUNNING submission, for the other leader of the unit and for an admin', async () => {
    for (const [unit, submitter, canceller] of [
      ['OPERATIONS', 'lead.operations@example.com', 'planner.operations@example.com'],
      ['MARKETING', 'lead.marketing@example.com', 'admin@example.com'],
    ]) {
      const executionId = await submit(unit, submitter);
      const res = await server.gql(CANCEL, { id: executionId }, await token(canceller));
      // Cancelled wherever it had got to; whatever ran before stays SUCCEEDED, the rest is skipped.
      expect(res.errors, canceller).toBeUndefined();
      expect(res.data.cancelExecution.status).toBe('CANCELLED');
      expect(res.data.cancelExecution.steps.at(-1).status).toBe('SKIPPED');
      expect(res.data.cancelExecution.steps.every((s: any) => s.status === 'SUCCEEDED' || s.status === 'SKIPPED')).toBe(true);
      expect((await submission(unit, submitter))).toMatchObject({ status: 'DRAFT', canEdit: true });
    }
  });

  it("lets a partner admin cancel their organisation's failed onboarding of a person; the failed step is skipped, its error kept", async () => {
    const partner = await token('partner.admin@acme.example');
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, partner);
    const executionId = started.data.startWorkflow.id;
    await eventually(async () => {
      const res = await server.gql(
        `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_user_details", input: { email: "new.person@acme.example", displayName: "New Person" }) { id } }`,
        { id: executionId },
        partner,
      );
      return !res.errors;
    }, 'the details step to wait');
    const failed = await executionOnce(executionId, 'FAILED');
    expect(failed.requestedBy).toEqual({ email: 'partner.admin@acme.example' });
    for (const who of ['analyst@example.com', 'lead.finance@example.com', 'viewer.finance@example.com']) {
      expect(errorCode(await server.gql(CANCEL, { id: executionId }, await token(who))), who).toBe('NOT_FOUND');
    }
    const res = await server.gql(CANCEL, { id: executionId }, partner);
    expect(res.errors).toBeUndefined();
    const metabase = res.data.cancelExecution.steps.find((s: any) => s.key === 'add_user_to_metabase_group');
    expect(metabase.status).toBe('SKIPPED');
    expect(metabase.error).toBeTruthy();
    expect(res.data.cancelExecution.steps.at(-1).status).toBe('SKIPPED');
    // A retry of the skipped step cannot bring it back.
    expect(errorCode(await server.gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "add_user_to_metabase_group") { id } }`, { id: executionId }, admin))).toBe('CONFLICT');
    expect((await execution(executionId)).status).toBe('CANCELLED');
    expect((await cancelledEntries())[0]).toMatchObject({
      actor: { email: 'partner.admin@acme.example' },
      details: { executionId, definitionKey: 'new_partner_user', reason: null, previousStatus: 'FAILED' },
    });
  });

  it('is a CONFLICT for a completed execution, which a partner admin does not even see', async () => {
    const executionId = await runNewPartner(server, admin, 'Initech');
    await executionOnce(executionId, 'COMPLETED');
    expect(errorCode(await server.gql(CANCEL, { id: executionId }, await token('partner.admin@acme.example')))).toBe('NOT_FOUND');
    expect(errorCode(await server.gql(CANCEL, { id: executionId, reason: 'too late' }, admin))).toBe('CONFLICT');
    expect((await execution(executionId)).status).toBe('COMPLETED');
    expect((await cancelledEntries()).some((e: any) => e.details.executionId === executionId)).toBe(false);
  });
});
