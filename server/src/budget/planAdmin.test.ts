/**
 * Plans and units administered through GraphQL against the real server (contract v1.1, "Plans and their
 * structure"): only admins may create, rename, close and reopen plans or create units; a copy carries over what
 * `carryOver` says; a closed plan is read-only on every path (API, submissions, open and new grid connections)
 * until it is reopened; every change writes its activity entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, editDropped, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { DEMO_UNITS, PRODUCT_CATEGORIES, QUARTERS, REGIONS } from '../seed.js';

const CREATE = `mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id name fiscalYear status createdAt } }`;
const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { id status } }`;
const RENAME = `mutation($p: ID!, $n: String!) { renameBudgetPlan(planId: $p, name: $n) { id name fiscalYear status } }`;
const CREATE_UNIT = `mutation($c: String!, $n: String!) { createBusinessUnit(code: $c, name: $n) { code name } }`;
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) {
  id businessUnit { code } productCategory region quarter priorYearActual budgetAmount forecastSales comment version } }`;
const UPDATE = `mutation($id: ID!, $v: Float) { updateBudgetLine(id: $id, input: { budgetAmount: $v }) { id budgetAmount } }`;
const SUBMISSIONS = `query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } status } }`;
const ABILITIES = `query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } canEdit canSubmit } }`;

/** Everyone of the demo data but the admin, one of each role. */
const NON_ADMINS = ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example'];

const keyOf = (l: any) => `${l.businessUnit.code}/${l.productCategory}/${l.region}/${l.quarter}`;

describe('plan administration', () => {
  let server: TestServer;
  let admin: string;
  let demoPlanId: string;
  let names = 0;
  const freshName = () => `Plan ${++names} ${Date.now()}`;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
    demoPlanId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterAll(() => server?.stop());

  const activity = (action: string, subject: string) =>
    server.sql(`SELECT actor_email, subject, details FROM activity_entry WHERE action = $1 AND subject = $2`, [action, subject]);

  const lines = async (planId: string) => (await server.gql(LINES, { p: planId }, admin)).data.budgetLines as any[];

  it('lets only admins create plans, close and reopen them, and create units', async () => {
    for (const email of NON_ADMINS) {
      const token = await server.login(email);
      const created = await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2028 } }, token);
      expect(errorCode(created), email).toBe('FORBIDDEN');
      const status = await server.gql(SET_STATUS, { p: demoPlanId, s: 'CLOSED' }, token);
      expect(errorCode(status), email).toBe('FORBIDDEN');
      const unit = await server.gql(CREATE_UNIT, { c: 'NOT_ALLOWED', n: 'Not allowed' }, token);
      expect(errorCode(unit), email).toBe('FORBIDDEN');
    }
    expect(await server.sql(`SELECT 1 FROM business_unit WHERE code = 'NOT_ALLOWED'`)).toEqual([]);
    expect((await server.sql(`SELECT status FROM budget_plan WHERE id = $1`, [demoPlanId]))[0].status).toBe('OPEN');
    expect((await server.sql(`SELECT count(*)::int AS n FROM budget_plan`))[0].n).toBe(1);
    // Without a token: UNAUTHENTICATED, as everywhere.
    expect(errorCode(await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2028 } }))).toBe('UNAUTHENTICATED');
  });

  it('creates an empty plan with every unit x category x region x quarter, laid out as the seed lays them out', async () => {
    const name = freshName();
    const res = await server.gql(CREATE, { i: { name, fiscalYear: 2028 } }, admin);
    expect(res.errors).toBeUndefined();
    const plan = res.data.createBudgetPlan;
    expect(plan).toMatchObject({ name, fiscalYear: 2028, status: 'OPEN' });
    expect(Number.isNaN(Date.parse(plan.createdAt))).toBe(false);

    const created = await lines(plan.id);
    expect(created).toHaveLength(DEMO_UNITS.length * PRODUCT_CATEGORIES.length * REGIONS.length * QUARTERS.length);
    for (const line of created) {
      expect(line).toMatchObject({ priorYearActual: null, budgetAmount: null, forecastSales: null, comment: '', version: 1 });
    }
    // The same lines in the same order (position) as the demo plan's, unit by unit.
    for (const unit of DEMO_UNITS) {
      const mine = (await server.gql(LINES, { p: plan.id, u: unit.code }, admin)).data.budgetLines.map(keyOf);
      const demo = (await server.gql(LINES, { p: demoPlanId, u: unit.code }, admin)).data.budgetLines.map(keyOf);
      expect(mine).toEqual(demo);
    }
    const submissions = (await server.gql(SUBMISSIONS, { p: plan.id }, admin)).data.budgetSubmissions;
    expect(submissions.map((s: any) => [s.businessUnit.code, s.status]).sort()).toEqual(DEMO_UNITS.map((u) => [u.code, 'DRAFT']).sort());
    // Everyone who reads plans sees it.
    const lead = await server.login('lead.sales-north@example.com');
    expect((await server.gql('{ budgetPlans { name status } }', {}, lead)).data.budgetPlans).toContainEqual({ name, status: 'OPEN' });

    const entries = await activity('PLAN_CREATED', name);
    expect(entries).toHaveLength(1);
    expect(entries[0].actor_email).toBe('admin@example.com');
    expect(entries[0].details).toMatchObject({ planId: plan.id, fiscalYear: 2028, copyFromPlanId: null, lines: 600 });

    // The same name again: BAD_USER_INPUT, and nothing is created.
    const again = await server.gql(CREATE, { i: { name, fiscalYear: 2029 } }, admin);
    expect(errorCode(again)).toBe('BAD_USER_INPUT');
    expect((await server.sql(`SELECT count(*)::int AS n FROM budget_plan WHERE name = $1`, [name]))[0].n).toBe(1);
    expect(await activity('PLAN_CREATED', name)).toHaveLength(1);
    // Nor in other capitals (a finance QA pass made "fy2028 budget" next to "FY2028 Budget"), also padded.
    for (const other of [name.toLowerCase(), ` ${name.toUpperCase()} `]) {
      expect(errorCode(await server.gql(CREATE, { i: { name: other, fiscalYear: 2028 } }, admin))).toBe('BAD_USER_INPUT');
    }
    expect((await server.sql(`SELECT count(*)::int AS n FROM budget_plan WHERE lower(name) = lower($1)`, [name]))[0].n).toBe(1);
  });

  it('refuses bad input and an unknown source plan', async () => {
    expect(errorCode(await server.gql(CREATE, { i: { name: '  ', fiscalYear: 2028 } }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 20280 } }, admin))).toBe('BAD_USER_INPUT');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(errorCode(await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2028, copyFromPlanId: unknown } }, admin))).toBe('NOT_FOUND');
    expect(errorCode(await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2028, copyFromPlanId: 'nope' } }, admin))).toBe('NOT_FOUND');
  });

  it('copies a plan with each carryOver, checked against the source values', async () => {
    // Give the source some values of every kind.
    const source = (await lines(demoPlanId)).slice(0, 12);
    for (const [i, line] of source.entries()) {
      const res = await server.gql(
        `mutation($id: ID!, $i: BudgetLineInput!) { updateBudgetLine(id: $id, input: $i) { id } }`,
        { id: line.id, i: { budgetAmount: 1000 + i, forecastSales: i % 2 ? 2000 + i : null, comment: i % 3 ? `note ${i}` : '' } },
        admin,
      );
      expect(res.errors).toBeUndefined();
    }
    const sourceLines = new Map((await lines(demoPlanId)).map((l) => [keyOf(l), l]));

    for (const carryOver of ['NONE', 'BUDGET_AS_PRIOR_YEAR', 'VALUES'] as const) {
      const name = freshName();
      const res = await server.gql(CREATE, { i: { name, fiscalYear: 2028, copyFromPlanId: demoPlanId, carryOver } }, admin);
      expect(res.errors, carryOver).toBeUndefined();
      const copied = await lines(res.data.createBudgetPlan.id);
      expect(copied).toHaveLength(sourceLines.size);
      for (const line of copied) {
        const from = sourceLines.get(keyOf(line))!;
        expect(from, keyOf(line)).toBeDefined();
        expect(line.id).not.toBe(from.id);
        expect(line.version).toBe(1);
        if (carryOver === 'NONE') {
          expect(line).toMatchObject({ priorYearActual: null, budgetAmount: null, forecastSales: null, comment: '' });
        } else if (carryOver === 'BUDGET_AS_PRIOR_YEAR') {
          expect(line).toMatchObject({ priorYearActual: from.budgetAmount, budgetAmount: null, forecastSales: null, comment: '' });
        } else {
          expect(line).toMatchObject({
            priorYearActual: from.priorYearActual,
            budgetAmount: from.budgetAmount,
            forecastSales: from.forecastSales,
            comment: from.comment,
          });
        }
      }
      // The edited lines did carry something (the checks above are not vacuous).
      if (carryOver !== 'NONE') expect(copied.filter((l) => (carryOver === 'VALUES' ? l.budgetAmount : l.priorYearActual) === 1000)).toHaveLength(1);
      const submissions = (await server.gql(SUBMISSIONS, { p: res.data.createBudgetPlan.id }, admin)).data.budgetSubmissions;
      expect(submissions.every((s: any) => s.status === 'DRAFT')).toBe(true);
      expect(submissions).toHaveLength(DEMO_UNITS.length);
      const [entry] = await activity('PLAN_CREATED', name);
      expect(entry.details).toMatchObject({ copyFromPlanId: demoPlanId, carryOver, lines: sourceLines.size });
    }
  });

  it('lets only admins rename a plan, keeps names unique without regard to case, and logs each rename', async () => {
    const first = (await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2029, copyFromPlanId: demoPlanId } }, admin)).data.createBudgetPlan;
    const other = (await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2029 } }, admin)).data.createBudgetPlan;
    const linesBefore = await lines(first.id);
    for (const email of NON_ADMINS) {
      const res = await server.gql(RENAME, { p: first.id, n: 'Taken over' }, await server.login(email));
      expect(errorCode(res), email).toBe('FORBIDDEN');
    }
    expect(errorCode(await server.gql(RENAME, { p: first.id, n: 'Anonymous' }))).toBe('UNAUTHENTICATED');

    const renamed = await server.gql(RENAME, { p: first.id, n: '  FY2029 Budget (final)  ' }, admin);
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data.renameBudgetPlan).toEqual({ id: first.id, name: 'FY2029 Budget (final)', fiscalYear: 2029, status: 'OPEN' });
    // The plan is the same plan: its lines, under the new name everywhere it is shown.
    expect(await lines(first.id)).toEqual(linesBefore);
    expect((await server.gql('{ budgetPlans { id name } }', {}, admin)).data.budgetPlans).toContainEqual({ id: first.id, name: 'FY2029 Budget (final)' });
    expect(await activity('PLAN_RENAMED', 'FY2029 Budget (final)')).toEqual([
      { actor_email: 'admin@example.com', subject: 'FY2029 Budget (final)', details: { planId: first.id, previousName: first.name, name: 'FY2029 Budget (final)' } },
    ]);

    // Another plan's name, in any case: BAD_USER_INPUT, nothing changed. Its own name in other case: allowed.
    for (const name of [other.name, other.name.toUpperCase(), 'fy2029 budget (final)']) {
      const target = name.startsWith('fy2029') ? other.id : first.id;
      const res = await server.gql(RENAME, { p: target, n: name }, admin);
      expect(errorCode(res), name).toBe('BAD_USER_INPUT');
    }
    expect((await server.sql(`SELECT name FROM budget_plan WHERE id = $1`, [other.id]))[0].name).toBe(other.name);
    const recased = await server.gql(RENAME, { p: first.id, n: 'FY2029 budget (final)' }, admin);
    expect(recased.data.renameBudgetPlan.name).toBe('FY2029 budget (final)');

    // The same name again changes nothing and logs nothing; bad names and unknown plans are refused.
    await server.gql(RENAME, { p: first.id, n: 'FY2029 budget (final)' }, admin);
    expect(await activity('PLAN_RENAMED', 'FY2029 budget (final)')).toHaveLength(1);
    for (const name of ['', '   ', 'x'.repeat(201), 'FY2029\u0007', 'FY\uFFFE2029', 'FY2029 \uFFFF', 'FY\u00002029', 'FY\uD8002029']) {
      expect(errorCode(await server.gql(RENAME, { p: first.id, n: name }, admin)), JSON.stringify(name)).toBe('BAD_USER_INPUT');
      expect(errorCode(await server.gql(CREATE, { i: { name, fiscalYear: 2029 } }, admin)), JSON.stringify(name)).toBe('BAD_USER_INPUT');
      expect(errorCode(await server.gql(CREATE_UNIT, { c: 'ODD_NAME', n: name }, admin)), JSON.stringify(name)).toBe('BAD_USER_INPUT');
    }
    expect(await server.sql(`SELECT 1 FROM business_unit WHERE code = 'ODD_NAME'`)).toEqual([]);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) expect(errorCode(await server.gql(RENAME, { p: id, n: 'Whatever' }, admin))).toBe('NOT_FOUND');
  });

  it('renames two plans to one name at once: one wins, the other is refused', async () => {
    const a = (await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2030 } }, admin)).data.createBudgetPlan;
    const b = (await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2030 } }, admin)).data.createBudgetPlan;
    const wanted = `Race ${Date.now()}`;
    const results = await Promise.all([a, b].map((plan) => server.gql(RENAME, { p: plan.id, n: wanted }, admin)));
    expect(results.map((r) => (r.errors ? errorCode(r) : 'OK')).sort()).toEqual(['BAD_USER_INPUT', 'OK']);
    expect(await server.sql(`SELECT count(*)::int AS n FROM budget_plan WHERE lower(name) = lower($1)`, [wanted])).toEqual([{ n: 1 }]);
  });

  it('writes an activity entry when an admin requires complete budgets of a plan, or stops requiring them', async () => {
    const REQUIRE = `mutation($p: ID!, $r: Boolean!) { setBudgetPlanRequireCompleteSubmission(planId: $p, required: $r) { id requireCompleteSubmission } }`;
    const name = freshName();
    const planId = (await server.gql(CREATE, { i: { name, fiscalYear: 2031 } }, admin)).data.createBudgetPlan.id;
    for (const required of [true, true, false]) {
      const res = await server.gql(REQUIRE, { p: planId, r: required }, admin);
      expect(res.errors).toBeUndefined();
    }
    // One entry per change; setting what it already is changes nothing and logs nothing.
    expect(await activity('PLAN_SUBMISSION_RULE_CHANGED', name)).toEqual([
      { actor_email: 'admin@example.com', subject: name, details: { planId, requireCompleteSubmission: true } },
      { actor_email: 'admin@example.com', subject: name, details: { planId, requireCompleteSubmission: false } },
    ]);
    // The admins' activity log offers it as an action to filter on.
    const log = await server.gql('{ activityLog(action: "PLAN_SUBMISSION_RULE_CHANGED") { edges { node { subject } } } }', {}, admin);
    expect(log.errors).toBeUndefined();
    expect(log.data.activityLog.edges.map((e: any) => e.node.subject)).toEqual([name, name]);
  });

  it('creates business units with a DRAFT submission in every open plan', async () => {
    const closedName = freshName();
    const closed = (await server.gql(CREATE, { i: { name: closedName, fiscalYear: 2026 } }, admin)).data.createBudgetPlan;
    expect((await server.gql(SET_STATUS, { p: closed.id, s: 'CLOSED' }, admin)).errors).toBeUndefined();

    for (const code of ['R', 'lower', '1ABC', 'A-B', 'A'.repeat(33), 'ÄB']) {
      expect(errorCode(await server.gql(CREATE_UNIT, { c: code, n: 'Bad code' }, admin)), code).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await server.gql(CREATE_UNIT, { c: 'SALES_NORTH', n: 'Again' }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE_UNIT, { c: 'RESEARCH_2', n: '' }, admin))).toBe('BAD_USER_INPUT');

    const res = await server.gql(CREATE_UNIT, { c: 'RESEARCH_2', n: 'Research 2' }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.createBusinessUnit).toEqual({ code: 'RESEARCH_2', name: 'Research 2' });
    expect((await server.gql('{ businessUnits { code } }', {}, admin)).data.businessUnits.map((u: any) => u.code)).toContain('RESEARCH_2');

    const open = (await server.gql(SUBMISSIONS, { p: demoPlanId }, admin)).data.budgetSubmissions;
    expect(open).toContainEqual({ businessUnit: { code: 'RESEARCH_2' }, status: 'DRAFT' });
    const inClosed = (await server.gql(SUBMISSIONS, { p: closed.id }, admin)).data.budgetSubmissions;
    expect(inClosed.map((s: any) => s.businessUnit.code)).not.toContain('RESEARCH_2');

    const entries = await activity('UNIT_CREATED', 'RESEARCH_2');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_email: 'admin@example.com', details: { name: 'Research 2' } });
    expect(errorCode(await server.gql(CREATE_UNIT, { c: 'RESEARCH_2', n: 'Twice' }, admin))).toBe('BAD_USER_INPUT');
    expect(await activity('UNIT_CREATED', 'RESEARCH_2')).toHaveLength(1);

    // A plan created afterwards has the new unit's lines too.
    const later = (await server.gql(CREATE, { i: { name: freshName(), fiscalYear: 2030 } }, admin)).data.createBudgetPlan;
    expect((await server.gql(LINES, { p: later.id, u: 'RESEARCH_2' }, admin)).data.budgetLines).toHaveLength(120);
  });

  it('lets only admins rename a business unit, which keeps its code, lines and people, and logs each rename', async () => {
    const RENAME_UNIT = `mutation($c: String!, $n: String!) { renameBusinessUnit(code: $c, name: $n) { code name } }`;
    const lead = await server.login('lead.marketing@example.com');
    const linesBefore = await lines(demoPlanId);
    for (const email of NON_ADMINS) {
      const res = await server.gql(RENAME_UNIT, { c: 'MARKETING', n: 'Taken over' }, await server.login(email));
      expect(errorCode(res), email).toBe('FORBIDDEN');
    }
    expect(errorCode(await server.gql(RENAME_UNIT, { c: 'MARKETING', n: 'Anonymous' }))).toBe('UNAUTHENTICATED');
    expect((await server.sql(`SELECT name FROM business_unit WHERE code = 'MARKETING'`))[0].name).toBe('Marketing');

    const renamed = await server.gql(RENAME_UNIT, { c: 'MARKETING', n: '  Marketing & Brand  ' }, admin);
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data.renameBusinessUnit).toEqual({ code: 'MARKETING', name: 'Marketing & Brand' });
    // The same unit under its new name wherever it is read: its leader still reads and edits it, its lines are
    // the same lines, and the OData feed names it so.
    expect((await server.gql('{ businessUnits { code name } }', {}, lead)).data.businessUnits).toEqual([{ code: 'MARKETING', name: 'Marketing & Brand' }]);
    const own = (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "MARKETING") { id businessUnit { name } } }`, { p: demoPlanId }, lead)).data.budgetLines;
    expect(own).toHaveLength(120);
    expect(new Set(own.map((l: any) => l.businessUnit.name))).toEqual(new Set(['Marketing & Brand']));
    expect((await server.gql(UPDATE, { id: own[0].id, v: 77 }, lead)).errors).toBeUndefined();
    expect((await lines(demoPlanId)).map(keyOf)).toEqual(linesBefore.map(keyOf));
    const feed = await fetch(`${server.url}/odata/BusinessUnits`, { headers: { authorization: `Bearer ${admin}` } });
    expect((await feed.json()).value).toContainEqual(expect.objectContaining({ Code: 'MARKETING', Name: 'Marketing & Brand' }));
    expect(await activity('UNIT_RENAMED', 'MARKETING')).toEqual([
      { actor_email: 'admin@example.com', subject: 'MARKETING', details: { unitId: expect.any(String), previousName: 'Marketing', name: 'Marketing & Brand' } },
    ]);

    // The same name again changes nothing and logs nothing; bad names and unknown codes are refused.
    expect((await server.gql(RENAME_UNIT, { c: 'MARKETING', n: 'Marketing & Brand' }, admin)).errors).toBeUndefined();
    expect(await activity('UNIT_RENAMED', 'MARKETING')).toHaveLength(1);
    for (const name of ['', '   ', 'x'.repeat(201), 'Brand\u0007', 'Br\uFFFEand', 'Br\u0000and', 'Br\uD800and']) {
      expect(errorCode(await server.gql(RENAME_UNIT, { c: 'MARKETING', n: name }, admin)), JSON.stringify(name)).toBe('BAD_USER_INPUT');
    }
    for (const code of ['NO_SUCH_UNIT', 'marketing', '', 'X'.repeat(10_000)]) {
      expect(errorCode(await server.gql(RENAME_UNIT, { c: code, n: 'Whatever' }, admin)), code.slice(0, 20)).toBe('NOT_FOUND');
    }
    expect((await server.sql(`SELECT name FROM business_unit WHERE code = 'MARKETING'`))[0].name).toBe('Marketing & Brand');
    expect(await server.sql(`SELECT 1 FROM business_unit WHERE name = 'Whatever'`)).toEqual([]);
    // Back, so that the other tests find the demo data as it is.
    expect((await server.gql(RENAME_UNIT, { c: 'MARKETING', n: 'Marketing' }, admin)).errors).toBeUndefined();
  });

  describe('a closed plan', () => {
    let planId: string;
    let planName: string;
    let lead: string;
    let line: any;
    const grids: GridClient[] = [];
    const grid = async (token: string) => {
      const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
      grids.push(client);
      await synced(client);
      return client;
    };

    beforeAll(async () => {
      planName = freshName();
      planId = (await server.gql(CREATE, { i: { name: planName, fiscalYear: 2029 } }, admin)).data.createBudgetPlan.id;
      lead = await server.login('lead.sales-north@example.com');
      line = (await server.gql(LINES, { p: planId, u: 'SALES_NORTH' }, admin)).data.budgetLines[0];
    });
    afterAll(() => grids.forEach((g) => g.destroy()));

    it('is read-only on every path until reopened, and open grids follow live', async () => {
      const editor = await grid(lead);
      const witness = await grid(admin);
      const key = `${line.id}/budgetAmount`;
      // Open: the lead may edit and submit, and their grid edits land.
      expect((await server.gql(ABILITIES, { p: planId }, lead)).data.budgetSubmissions).toEqual([
        { businessUnit: { code: 'SALES_NORTH' }, canEdit: true, canSubmit: true },
      ]);
      expect(await editDropped(editor, witness, key, 111)).toBe(false);

      const closed = await server.gql(SET_STATUS, { p: planId, s: 'CLOSED' }, admin);
      expect(closed.errors).toBeUndefined();
      expect(closed.data.setBudgetPlanStatus).toEqual({ id: planId, status: 'CLOSED' });

      // API edits: FORBIDDEN for the unit's leader and for admins alike.
      for (const token of [lead, admin]) {
        const res = await server.gql(UPDATE, { id: line.id, v: 5 }, token);
        expect(errorCode(res)).toBe('FORBIDDEN');
        expect(res.errors![0].message).toMatch(/closed/);
      }
      // A viewer is refused as before (FORBIDDEN), and a line of another unit as the contract says.
      const viewer = await server.login('viewer.sales-north@example.com');
      expect(errorCode(await server.gql(UPDATE, { id: line.id, v: 5 }, viewer))).toBe('FORBIDDEN');
      // What the server tells the client it may do: neither edit nor submit.
      expect((await server.gql(ABILITIES, { p: planId }, lead)).data.budgetSubmissions).toEqual([
        { businessUnit: { code: 'SALES_NORTH' }, canEdit: false, canSubmit: false },
      ]);
      // Submitting: refused.
      const submit = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_NORTH") { status } }`, { p: planId }, lead);
      expect(errorCode(submit)).toBe('FORBIDDEN');
      expect((await server.gql(SUBMISSIONS, { p: planId }, admin)).data.budgetSubmissions).toContainEqual({ businessUnit: { code: 'SALES_NORTH' }, status: 'DRAFT' });

      // The open grid connection is read-only now, for the leader and the admin, and so is a new one.
      await eventually(async () => editDropped(editor, witness, key, 222), "the lead's grid to turn read-only");
      const fresh = await grid(lead);
      expect(await editDropped(fresh, witness, key, 333)).toBe(true);
      const adminGrid = await grid(admin);
      expect(await editDropped(adminGrid, editor, key, 444)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      const [row] = await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]);
      expect(row.budget_amount).toBe(111);

      // Setting the status it has changes nothing and logs nothing.
      expect((await server.gql(SET_STATUS, { p: planId, s: 'CLOSED' }, admin)).data.setBudgetPlanStatus.status).toBe('CLOSED');

      // Reopened: editable again, live on the connections opened while it was closed.
      const reopened = await server.gql(SET_STATUS, { p: planId, s: 'OPEN' }, admin);
      expect(reopened.data.setBudgetPlanStatus.status).toBe('OPEN');
      await eventually(async () => !(await editDropped(fresh, witness, key, 555)), 'the grid to be writable again');
      await eventually(async () => (await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]))[0].budget_amount === 555, 'the grid edit in the row');
      expect((await server.gql(ABILITIES, { p: planId }, lead)).data.budgetSubmissions).toEqual([
        { businessUnit: { code: 'SALES_NORTH' }, canEdit: true, canSubmit: true },
      ]);
      const api = await server.gql(UPDATE, { id: line.id, v: 666 }, lead);
      expect(api.errors).toBeUndefined();
      expect(api.data.updateBudgetLine.budgetAmount).toBe(666);
      await eventually(() => witness.cells.get(key) === 666, 'the API edit to reach the grid');

      const entries = await server.sql(`SELECT actor_email, details FROM activity_entry WHERE action = 'PLAN_STATUS_CHANGED' AND subject = $1 ORDER BY id`, [planName]);
      expect(entries).toEqual([
        { actor_email: 'admin@example.com', details: { planId, from: 'OPEN', to: 'CLOSED' } },
        { actor_email: 'admin@example.com', details: { planId, from: 'CLOSED', to: 'OPEN' } },
      ]);
    });

    it('answers NOT_FOUND to admins for a plan that does not exist', async () => {
      expect(errorCode(await server.gql(SET_STATUS, { p: '00000000-0000-4000-8000-000000000000', s: 'CLOSED' }, admin))).toBe('NOT_FOUND');
      expect(errorCode(await server.gql(SET_STATUS, { p: 'nope', s: 'CLOSED' }, admin))).toBe('NOT_FOUND');
    });
  });
});
