/**
 * auditLog's filters (plan, unit, person, column, since/until) against the real server: edits made over the API
 * by different people, their times then set to known days, and every filter alone and combined answers exactly
 * the entries that match, page by page, each once; a foreign unit is the contract's FORBIDDEN with no rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { ErrorCode } from '../errors.js';

const LINES = `query($plan: ID!, $unit: String) { budgetLines(planId: $plan, businessUnitCode: $unit) { id } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id } }`;
const AUDIT = `query($first: Int, $after: String, $lineId: ID, $plan: ID, $unit: String, $email: String, $column: String, $since: DateTimeISO, $until: DateTimeISO) {
  auditLog(first: $first, after: $after, lineId: $lineId, planId: $plan, businessUnitCode: $unit, userEmail: $email, column: $column, since: $since, until: $until) {
    edges { cursor node { id column user { email } line { id businessUnit { code } } at } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Entry {
  id: string;
  plan: string;
  lineId: string;
  unit: string;
  email: string;
  column: string;
  at: string;
}
interface Filters {
  plan?: string;
  unit?: string;
  email?: string;
  column?: string;
  since?: string;
  until?: string;
  lineId?: string;
}

const JAN = '2026-01-10T09:00:00.000Z';
const FEB = '2026-02-10T09:00:00.000Z';
const MAR = '2026-03-10T09:00:00.000Z';

describe('auditLog filters', () => {
  let server: TestServer;
  let admin: string;
  let leadNorth: string;
  let planId: string;
  /** A second plan, copied from the first: the same units and lines, other ids. */
  let nextPlanId: string;
  const made: Entry[] = [];

  /** Every entry of a filtered view, read `pageSize` at a time to the end: ids newest first. */
  async function readAll(filters: Filters, token: string, pageSize = 2): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res: GraphQLResponse = await server.gql(AUDIT, { ...filters, first: pageSize, after }, token);
      expect(res.errors).toBeUndefined();
      const { edges, pageInfo } = res.data.auditLog;
      ids.push(...edges.map((e: any) => e.node.id));
      if (!pageInfo.hasNextPage) return ids;
      after = pageInfo.endCursor;
    }
    throw new Error('more pages than entries');
  }

  const expected = (keep: (e: Entry) => boolean) =>
    made.filter(keep).map((e) => e.id).sort((a, b) => Number(b) - Number(a));

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
    leadNorth = await server.login('lead.sales-north@example.com');
    const plannerNorth = await server.login('planner.sales-north@example.com');
    const leadSouth = await server.login('lead.sales-south@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    const created = await server.gql(
      `mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id } }`,
      { i: { name: 'Audit filter next year', fiscalYear: 2031, copyFromPlanId: planId } },
      admin,
    );
    expect(created.errors).toBeUndefined();
    nextPlanId = created.data.createBudgetPlan.id;
    const north = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, admin)).data.budgetLines;
    const south = (await server.gql(LINES, { plan: planId, unit: 'SALES_SOUTH' }, admin)).data.budgetLines;
    const nextNorth = (await server.gql(LINES, { plan: nextPlanId, unit: 'SALES_NORTH' }, admin)).data.budgetLines;
    // The seed writes no audit entry: what the log holds is exactly what this test makes.
    expect(await server.sql('select id from cell_change')).toEqual([]);

    const edits: [string, string, string, Record<string, unknown>, string, string, string?][] = [
      [leadNorth, 'lead.sales-north@example.com', north[0].id, { budgetAmount: 100 }, 'SALES_NORTH', JAN],
      [plannerNorth, 'planner.sales-north@example.com', north[1].id, { comment: 'planner note' }, 'SALES_NORTH', FEB],
      [leadNorth, 'lead.sales-north@example.com', north[2].id, { forecastSales: 300 }, 'SALES_NORTH', MAR],
      [admin, 'admin@example.com', north[3].id, { budgetAmount: 400 }, 'SALES_NORTH', FEB],
      [leadSouth, 'lead.sales-south@example.com', south[0].id, { budgetAmount: 500 }, 'SALES_SOUTH', JAN],
      [leadSouth, 'lead.sales-south@example.com', south[1].id, { comment: 'south note' }, 'SALES_SOUTH', MAR],
      [leadNorth, 'lead.sales-north@example.com', north[0].id, { budgetAmount: 110 }, 'SALES_NORTH', MAR],
      // The next plan's lines: the same unit, category, region and quarter as north[0] and north[1].
      [leadNorth, 'lead.sales-north@example.com', nextNorth[0].id, { budgetAmount: 120 }, 'SALES_NORTH', MAR, 'next'],
      [admin, 'admin@example.com', nextNorth[1].id, { budgetAmount: 130 }, 'SALES_NORTH', FEB, 'next'],
    ];
    for (const [token, email, lineId, input, unit, at, plan] of edits) {
      const res = await server.gql(UPDATE, { id: lineId, input }, token);
      expect(res.errors).toBeUndefined();
      const [row] = await server.sql<{ id: string }>('select id::text from cell_change order by id desc limit 1');
      // The API stamps now(); the test gives each entry a known day to filter on.
      await server.sql('update cell_change set at = $1 where id = $2', [at, row.id]);
      made.push({ id: row.id, plan: plan === 'next' ? nextPlanId : planId, lineId, unit, email, column: Object.keys(input)[0], at });
    }
  });
  afterAll(() => server?.stop());

  it('without filters answers every entry, newest first', async () => {
    expect(await readAll({}, admin)).toEqual(expected(() => true));
  });

  it('answers exactly the matching entries for each filter alone', async () => {
    expect(await readAll({ unit: 'SALES_SOUTH' }, admin)).toEqual(expected((e) => e.unit === 'SALES_SOUTH'));
    expect(await readAll({ email: 'lead.sales-north@example.com' }, admin)).toEqual(expected((e) => e.email === 'lead.sales-north@example.com'));
    // Emails are matched as accounts store them, whatever the case typed.
    expect(await readAll({ email: ' Planner.Sales-North@Example.com ' }, admin)).toEqual(expected((e) => e.email === 'planner.sales-north@example.com'));
    expect(await readAll({ column: 'budgetAmount' }, admin)).toEqual(expected((e) => e.column === 'budgetAmount'));
    expect(await readAll({ since: FEB }, admin)).toEqual(expected((e) => e.at >= FEB));
    expect(await readAll({ until: FEB }, admin)).toEqual(expected((e) => e.at <= FEB));
    expect(await readAll({ since: FEB, until: FEB }, admin)).toEqual(expected((e) => e.at === FEB));
    expect(expected((e) => e.at === FEB)).toHaveLength(3);
    expect(await readAll({ plan: planId }, admin)).toEqual(expected((e) => e.plan === planId));
    expect(await readAll({ plan: nextPlanId }, admin)).toEqual(expected((e) => e.plan === nextPlanId));
    expect(expected((e) => e.plan === nextPlanId)).toHaveLength(2);
  });

  it('narrows to a plan with the other filters and the caller\'s scope, removed lines included', async () => {
    expect(await readAll({ plan: nextPlanId, email: 'lead.sales-north@example.com' }, admin)).toEqual(
      expected((e) => e.plan === nextPlanId && e.email === 'lead.sales-north@example.com'),
    );
    expect(await readAll({ plan: planId, unit: 'SALES_NORTH', column: 'budgetAmount' }, leadNorth)).toEqual(
      expected((e) => e.plan === planId && e.unit === 'SALES_NORTH' && e.column === 'budgetAmount'),
    );
    // A leader of another unit sees none of the plan's north entries.
    const leadSouth = await server.login('lead.sales-south@example.com');
    expect(await readAll({ plan: nextPlanId }, leadSouth)).toEqual([]);
    expect(await readAll({ plan: planId }, leadSouth)).toEqual(expected((e) => e.plan === planId && e.unit === 'SALES_SOUTH'));
    // A removed line's entries stay under its plan.
    const removedLine = made.find((e) => e.plan === nextPlanId && e.email === 'admin@example.com')!.lineId;
    const removed = await server.gql(`mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`, { ids: [removedLine] }, admin);
    expect(removed.data?.removeBudgetLines).toBe(1);
    expect(await readAll({ plan: nextPlanId }, admin)).toEqual(expected((e) => e.plan === nextPlanId));
  });

  it('answers a plan that does not exist NOT_FOUND, and a cursor of one plan is refused for another', async () => {
    for (const plan of ['00000000-0000-4000-8000-000000000000', 'not-a-plan']) {
      const res = await server.gql(AUDIT, { plan }, admin);
      expect(errorCode(res)).toBe(ErrorCode.NOT_FOUND);
      expect(res.data).toBeNull();
    }
    const first = await server.gql(AUDIT, { first: 1, plan: planId }, admin);
    const cursor = first.data.auditLog.pageInfo.endCursor;
    expect((await server.gql(AUDIT, { first: 1, plan: planId, after: cursor }, admin)).errors).toBeUndefined();
    expect(errorCode(await server.gql(AUDIT, { first: 1, plan: nextPlanId, after: cursor }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(errorCode(await server.gql(AUDIT, { first: 1, after: cursor }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('combines filters with AND, and with the caller\'s scope', async () => {
    expect(await readAll({ unit: 'SALES_NORTH', email: 'lead.sales-north@example.com' }, admin)).toEqual(
      expected((e) => e.unit === 'SALES_NORTH' && e.email === 'lead.sales-north@example.com'),
    );
    expect(await readAll({ email: 'lead.sales-north@example.com', since: FEB, until: MAR }, admin)).toEqual(
      expected((e) => e.email === 'lead.sales-north@example.com' && e.at >= FEB),
    );
    expect(await readAll({ unit: 'SALES_NORTH', column: 'budgetAmount', until: FEB }, admin)).toEqual(
      expected((e) => e.unit === 'SALES_NORTH' && e.column === 'budgetAmount' && e.at <= FEB),
    );
    // The contract's lineId narrows further: the line edited in January and again in March.
    const { lineId } = made[0];
    expect(await readAll({ lineId, since: MAR }, admin)).toEqual(expected((e) => e.lineId === lineId && e.at >= MAR));
    expect(expected((e) => e.lineId === lineId && e.at >= MAR)).toHaveLength(1);
    // A leader's own unit only, even when the person filtered on wrote elsewhere too.
    expect(await readAll({ email: 'lead.sales-south@example.com' }, leadNorth)).toEqual([]);
    expect(await readAll({ since: JAN }, leadNorth)).toEqual(expected((e) => e.unit === 'SALES_NORTH'));
    // Nobody by that email: nothing, as for someone without entries.
    expect(await readAll({ email: 'nobody@example.com' }, admin)).toEqual([]);
  });

  it('pages across a filtered set returning each entry once, one at a time', async () => {
    const one = await readAll({ unit: 'SALES_NORTH' }, admin, 1);
    expect(one).toEqual(expected((e) => e.unit === 'SALES_NORTH'));
    expect(new Set(one).size).toBe(one.length);
    expect(one).toHaveLength(7);
  });

  it('refuses a cursor given out for other filters', async () => {
    const first = await server.gql(AUDIT, { first: 1, unit: 'SALES_NORTH' }, admin);
    const cursor = first.data.auditLog.pageInfo.endCursor;
    const same = await server.gql(AUDIT, { first: 1, unit: 'SALES_NORTH', after: cursor }, admin);
    expect(same.errors).toBeUndefined();
    expect(same.data.auditLog.edges).toHaveLength(1);
    for (const other of [{}, { unit: 'SALES_SOUTH' }, { unit: 'SALES_NORTH', column: 'comment' }]) {
      const res = await server.gql(AUDIT, { first: 1, ...other, after: cursor }, admin);
      expect(errorCode(res)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(res.data).toBeNull();
    }
    // An unfiltered cursor still pages the unfiltered log only.
    const plain = (await server.gql(AUDIT, { first: 1 }, admin)).data.auditLog.pageInfo.endCursor;
    expect(errorCode(await server.gql(AUDIT, { first: 1, email: 'admin@example.com', after: plain }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('answers a BU leader filtering on a foreign or missing unit FORBIDDEN, alike, with no rows', async () => {
    const foreign = await server.gql(AUDIT, { unit: 'SALES_SOUTH' }, leadNorth);
    const missing = await server.gql(AUDIT, { unit: 'NO_SUCH_UNIT' }, leadNorth);
    for (const res of [foreign, missing]) {
      expect(errorCode(res)).toBe(ErrorCode.FORBIDDEN);
      expect(res.data).toBeNull();
    }
    expect(foreign.errors![0].message).toBe(missing.errors![0].message);
    expect(await readAll({ unit: 'SALES_NORTH' }, leadNorth)).toEqual(expected((e) => e.unit === 'SALES_NORTH'));
  });

  it('refuses since after until as BAD_USER_INPUT', async () => {
    const res = await server.gql(AUDIT, { since: MAR, until: JAN }, admin);
    expect(errorCode(res)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(res.data).toBeNull();
  });
});
