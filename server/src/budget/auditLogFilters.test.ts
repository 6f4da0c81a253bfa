/**
 * auditLog's filters (unit, person, column, since/until) against the real server: edits made over the API by
 * different people, their times then set to known days, and every filter alone and combined answers exactly
 * the entries that match, page by page, each once; a foreign unit is the contract's FORBIDDEN with no rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { ErrorCode } from '../errors.js';

const LINES = `query($plan: ID!, $unit: String) { budgetLines(planId: $plan, businessUnitCode: $unit) { id } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id } }`;
const AUDIT = `query($first: Int, $after: String, $lineId: ID, $unit: String, $email: String, $column: String, $since: DateTimeISO, $until: DateTimeISO) {
  auditLog(first: $first, after: $after, lineId: $lineId, businessUnitCode: $unit, userEmail: $email, column: $column, since: $since, until: $until) {
    edges { cursor node { id column user { email } line { id businessUnit { code } } at } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Entry {
  id: string;
  lineId: string;
  unit: string;
  email: string;
  column: string;
  at: string;
}
interface Filters {
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
    const planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    const north = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, admin)).data.budgetLines;
    const south = (await server.gql(LINES, { plan: planId, unit: 'SALES_SOUTH' }, admin)).data.budgetLines;
    // The seed writes no audit entry: what the log holds is exactly what this test makes.
    expect(await server.sql('select id from cell_change')).toEqual([]);

    const edits: [string, string, string, Record<string, unknown>, string, string][] = [
      [leadNorth, 'lead.sales-north@example.com', north[0].id, { budgetAmount: 100 }, 'SALES_NORTH', JAN],
      [plannerNorth, 'planner.sales-north@example.com', north[1].id, { comment: 'planner note' }, 'SALES_NORTH', FEB],
      [leadNorth, 'lead.sales-north@example.com', north[2].id, { forecastSales: 300 }, 'SALES_NORTH', MAR],
      [admin, 'admin@example.com', north[3].id, { budgetAmount: 400 }, 'SALES_NORTH', FEB],
      [leadSouth, 'lead.sales-south@example.com', south[0].id, { budgetAmount: 500 }, 'SALES_SOUTH', JAN],
      [leadSouth, 'lead.sales-south@example.com', south[1].id, { comment: 'south note' }, 'SALES_SOUTH', MAR],
      [leadNorth, 'lead.sales-north@example.com', north[0].id, { budgetAmount: 110 }, 'SALES_NORTH', MAR],
    ];
    for (const [token, email, lineId, input, unit, at] of edits) {
      const res = await server.gql(UPDATE, { id: lineId, input }, token);
      expect(res.errors).toBeUndefined();
      const [row] = await server.sql<{ id: string }>('select id::text from cell_change order by id desc limit 1');
      // The API stamps now(); the test gives each entry a known day to filter on.
      await server.sql('update cell_change set at = $1 where id = $2', [at, row.id]);
      made.push({ id: row.id, lineId, unit, email, column: Object.keys(input)[0], at });
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
    expect(expected((e) => e.at === FEB)).toHaveLength(2);
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
    expect(one).toHaveLength(5);
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
