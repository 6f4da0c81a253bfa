/**
 * A cell's history and its restore against the real server (contract v1.1, "The grid's history, notifications and
 * the review loop"): `cellHistory` lists a cell's audit entries newest first, whichever path wrote them (a stock
 * y-websocket grid client, updateBudgetLine, restoreCell); `restoreCell` writes an entry's oldValue through the one
 * write path (audited RESTORE, an open grid sees it) with updateBudgetLine's rights; every role gets the contract's
 * answers, and a hidden line or entry answers exactly like a missing one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { connectGrid, eventually, synced } from '../testing/gridClients.js';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id budgetAmount comment version } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id version } }`;
const HISTORY = `query($line: ID!, $column: String!) {
  cellHistory(lineId: $line, column: $column) { id column oldValue newValue source at user { email } line { id } }
}`;
const RESTORE = `mutation($id: ID!) { restoreCell(changeId: $id) { id budgetAmount forecastSales comment version updatedBy { email } } }`;

interface Entry {
  id: string;
  column: string;
  oldValue: string | null;
  newValue: string | null;
  source: string;
  at: string;
  user: { email: string } | null;
  line: { id: string };
}

describe('cellHistory and restoreCell', () => {
  let server: TestServer;
  let planId: string;
  const tokens: Record<string, string> = {};
  const token = async (email: string) => (tokens[email] ??= await server.login(email));
  const LEAD = 'lead.sales-north@example.com';
  const PLANNER = 'planner.sales-north@example.com';

  beforeAll(async () => {
    server = await startTestServer();
    planId = (await server.gql('{ budgetPlans { id } }', {}, await token('admin@example.com'))).data.budgetPlans[0].id;
  });
  afterAll(() => server?.stop());

  const linesOf = async (unit: string) => (await server.gql(LINES, { p: planId, u: unit }, await token('admin@example.com'))).data.budgetLines;
  const history = async (lineId: string, column: string, email = 'admin@example.com'): Promise<GraphQLResponse<{ cellHistory: Entry[] }>> =>
    server.gql(HISTORY, { line: lineId, column }, await token(email));
  const entries = async (lineId: string, column: string, email?: string) => {
    const res = await history(lineId, column, email);
    expect(res.errors).toBeUndefined();
    return res.data!.cellHistory;
  };
  const restore = async (changeId: string, email: string) => server.gql(RESTORE, { id: changeId }, await token(email));
  const update = async (lineId: string, input: Record<string, unknown>, email: string) => {
    const res = await server.gql(UPDATE, { id: lineId, input }, await token(email));
    expect(res.errors).toBeUndefined();
    return res.data.updateBudgetLine;
  };

  it('lists grid, API and restore edits newest first with who, when, from what to what and how; a restore reaches an open grid', async () => {
    const [line, other] = await linesOf('SALES_NORTH');
    const key = `${line.id}/budgetAmount`;
    const grid = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, await token(LEAD));
    try {
      await synced(grid);
      grid.cells.set(key, 100);
      await eventually(async () => (await entries(line.id, 'budgetAmount')).length === 1, 'the grid edit to be audited');
      // Another line's and another column's entries are not this cell's.
      await update(other.id, { budgetAmount: 7 }, PLANNER);
      await update(line.id, { comment: 'not the amount' }, PLANNER);
      await update(line.id, { budgetAmount: 200 }, PLANNER);
      await eventually(() => grid.cells.get(key) === 200, 'the API edit to reach the grid');

      const before = await entries(line.id, 'budgetAmount', LEAD);
      expect(before.map(({ column, oldValue, newValue, source, user, line: l }) => ({ column, oldValue, newValue, source, user, line: l }))).toEqual([
        { column: 'budgetAmount', oldValue: '100', newValue: '200', source: 'API', user: { email: PLANNER }, line: { id: line.id } },
        { column: 'budgetAmount', oldValue: null, newValue: '100', source: 'GRID', user: { email: LEAD }, line: { id: line.id } },
      ]);
      expect(Date.parse(before[0].at)).toBeGreaterThanOrEqual(Date.parse(before[1].at));
      expect(Number(before[0].id)).toBeGreaterThan(Number(before[1].id));

      // Restoring the API edit sets the cell back to what it replaced, as the restorer, audited RESTORE.
      const version = (await linesOf('SALES_NORTH')).find((l: any) => l.id === line.id).version;
      const restored = await restore(before[0].id, LEAD);
      expect(restored.errors).toBeUndefined();
      expect(restored.data.restoreCell).toMatchObject({ id: line.id, budgetAmount: 100, comment: 'not the amount', version: version + 1, updatedBy: { email: LEAD } });
      await eventually(() => grid.cells.get(key) === 100, 'the restore to reach the open grid');
      const after = await entries(line.id, 'budgetAmount', PLANNER);
      expect(after).toHaveLength(3);
      expect(after[0]).toMatchObject({ oldValue: '200', newValue: '100', source: 'RESTORE', user: { email: LEAD } });
      expect(after.slice(1)).toEqual(before);

      // The first entry's oldValue is "empty": restoring it clears the cell, in the rows and in the grid.
      const cleared = await restore(before[1].id, PLANNER);
      expect(cleared.data.restoreCell).toMatchObject({ budgetAmount: null, version: version + 2 });
      await eventually(() => !grid.cells.has(key), 'the cleared cell to leave the open grid');
      expect((await entries(line.id, 'budgetAmount'))[0]).toMatchObject({ oldValue: '100', newValue: null, source: 'RESTORE', user: { email: PLANNER } });

      // Restoring to the value the cell holds: the line as it is, no new entry, the same version.
      const again = await restore(before[1].id, LEAD);
      expect(again.errors).toBeUndefined();
      expect(again.data.restoreCell).toMatchObject({ budgetAmount: null, version: version + 2 });
      expect(await entries(line.id, 'budgetAmount')).toHaveLength(4);

      // A comment's entry: its old value back, the empty one included.
      const comments = await entries(line.id, 'comment');
      expect(comments).toEqual([expect.objectContaining({ oldValue: '', newValue: 'not the amount', source: 'API' })]);
      expect((await restore(comments[0].id, LEAD)).data.restoreCell).toMatchObject({ comment: '', budgetAmount: null });
      expect((await entries(line.id, 'comment'))[0]).toMatchObject({ oldValue: 'not the amount', newValue: '', source: 'RESTORE' });
    } finally {
      grid.destroy();
    }
  });

  it('answers every role as the contract says', async () => {
    const [line] = (await linesOf('SALES_NORTH')).slice(5);
    await update(line.id, { forecastSales: 10 }, LEAD);
    await update(line.id, { forecastSales: 20 }, LEAD);
    const [latest, first] = await entries(line.id, 'forecastSales');
    expect([latest.newValue, first.newValue]).toEqual(['20', '10']);
    const readOnly = (await server.gql('mutation { createAccessToken(name: "history", scopes: [READ]) { token } }', {}, await token(LEAD))).data
      .createAccessToken.token;

    // [who, cellHistory's answer, restoreCell's answer]; each restore that succeeds flips the cell between 10 and 20.
    const cases: [string, string, string][] = [
      ['admin@example.com', 'ok', 'ok'],
      ['analyst@example.com', 'ok', ErrorCode.FORBIDDEN],
      [LEAD, 'ok', 'ok'],
      [PLANNER, 'ok', 'ok'],
      ['lead.marketing@example.com', ErrorCode.NOT_FOUND, ErrorCode.NOT_FOUND],
      ['viewer.sales-north@example.com', 'ok', ErrorCode.FORBIDDEN],
      ['viewer.finance@example.com', ErrorCode.NOT_FOUND, ErrorCode.NOT_FOUND],
      ['partner.admin@acme.example', ErrorCode.NOT_FOUND, ErrorCode.NOT_FOUND],
    ];
    for (const [email, read, write] of cases) {
      const seen = await history(line.id, 'forecastSales', email);
      expect([email, seen.errors ? errorCode(seen) : 'ok']).toEqual([email, read]);
      if (!seen.errors) expect(seen.data!.cellHistory[0].id).toBeDefined();
      const current = (await entries(line.id, 'forecastSales'))[0];
      const done = await restore(current.id, email);
      expect([email, done.errors ? errorCode(done) : 'ok']).toEqual([email, write]);
      if (!done.errors) {
        expect(done.data.restoreCell.forecastSales).toBe(Number(current.oldValue));
        expect((await entries(line.id, 'forecastSales'))[0]).toMatchObject({ id: expect.not.stringMatching(`^${current.id}$`), source: 'RESTORE', user: { email } });
      } else {
        expect((await entries(line.id, 'forecastSales'))[0].id).toBe(current.id);
      }
    }

    // A READ token reads the history and may not restore.
    const viaReadToken = await server.gql(HISTORY, { line: line.id, column: 'forecastSales' }, readOnly);
    expect(viaReadToken.errors).toBeUndefined();
    const refused = await server.gql(RESTORE, { id: viaReadToken.data.cellHistory[0].id }, readOnly);
    expect(errorCode(refused)).toBe(ErrorCode.FORBIDDEN);
  });

  it('refuses unknown ids and columns alike, removed lines and priorYearActual entries', async () => {
    const lines = await linesOf('SALES_NORTH');
    const line = lines[10];
    await update(line.id, { budgetAmount: 42 }, LEAD);
    const missingLine = '00000000-0000-4000-8000-000000000000';
    for (const email of ['admin@example.com', LEAD, 'partner.admin@acme.example']) {
      expect([email, errorCode(await history(missingLine, 'budgetAmount', email))]).toEqual([email, ErrorCode.NOT_FOUND]);
      expect([email, errorCode(await history('not-an-id', 'budgetAmount', email))]).toEqual([email, ErrorCode.NOT_FOUND]);
      for (const id of ['987654321', '9223372036854775807', '99999999999999999999', 'abc', '-1']) {
        expect([email, id, errorCode(await restore(id, email))]).toEqual([email, id, ErrorCode.NOT_FOUND]);
      }
    }
    for (const column of ['version', 'budget_amount', 'updatedBy', '']) {
      expect([column, errorCode(await history(line.id, column, LEAD))]).toEqual([column, ErrorCode.BAD_USER_INPUT]);
    }

    // priorYearActual's entries (written by the Power BI actuals load, as here) are listed, and not restorable.
    const [written] = await server.sql<{ id: string }>(
      `INSERT INTO cell_change (line_id, business_unit_id, plan_id, column_name, old_value, new_value, user_id, source)
       SELECT id, business_unit_id, plan_id, 'priorYearActual', '1000', '2000', NULL, 'API' FROM budget_line WHERE id = $1 RETURNING id`,
      [line.id],
    );
    expect(await entries(line.id, 'priorYearActual', LEAD)).toEqual([expect.objectContaining({ id: String(written.id), oldValue: '1000', newValue: '2000', user: null })]);
    const actual = await restore(String(written.id), LEAD);
    expect(errorCode(actual)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(actual.errors![0].message).toMatch(/priorYearActual is not an editable column/);

    // A removed line's history stays readable; its cells cannot be restored.
    const [amount] = await entries(line.id, 'budgetAmount');
    const removed = await server.gql(`mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`, { ids: [line.id] }, await token('admin@example.com'));
    expect(removed.data.removeBudgetLines).toBe(1);
    expect(await entries(line.id, 'budgetAmount', LEAD)).toEqual([amount]);
    expect(errorCode(await history(line.id, 'budgetAmount', 'lead.marketing@example.com'))).toBe(ErrorCode.NOT_FOUND);
    const gone = await restore(amount.id, LEAD);
    expect(errorCode(gone)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(gone.errors![0].message).toMatch(/removed/);
    expect(errorCode(await restore(amount.id, 'lead.marketing@example.com'))).toBe(ErrorCode.NOT_FOUND);
  });

  it('refuses a restore in a submitted unit and in a closed plan, and writes nothing', async () => {
    const SOUTH = 'lead.sales-south@example.com';
    const [line] = await linesOf('SALES_SOUTH');
    await update(line.id, { budgetAmount: 5 }, SOUTH);
    const [change] = await entries(line.id, 'budgetAmount');
    const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }`, { p: planId }, await token(SOUTH));
    expect(submitted.errors).toBeUndefined();
    for (const email of [SOUTH, 'admin@example.com']) {
      const refused = await restore(change.id, email);
      expect([email, errorCode(refused)]).toEqual([email, ErrorCode.FORBIDDEN]);
      expect(refused.errors![0].message).toMatch(/submitted|approved|rejected|cannot be changed/);
    }

    const [north] = (await linesOf('SALES_NORTH')).slice(20);
    await update(north.id, { budgetAmount: 6 }, LEAD);
    const [northChange] = await entries(north.id, 'budgetAmount');
    const SET_STATUS = `mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`;
    expect((await server.gql(SET_STATUS, { p: planId, s: 'CLOSED' }, await token('admin@example.com'))).errors).toBeUndefined();
    try {
      for (const email of [LEAD, 'admin@example.com']) {
        const refused = await restore(northChange.id, email);
        expect([email, errorCode(refused)]).toEqual([email, ErrorCode.FORBIDDEN]);
        expect(refused.errors![0].message).toMatch(/closed/);
      }
      // Still readable.
      expect(await entries(north.id, 'budgetAmount', LEAD)).toEqual([northChange]);
    } finally {
      await server.gql(SET_STATUS, { p: planId, s: 'OPEN' }, await token('admin@example.com'));
    }
    expect((await linesOf('SALES_NORTH')).find((l: any) => l.id === north.id).budgetAmount).toBe(6);
    expect((await linesOf('SALES_SOUTH')).find((l: any) => l.id === line.id).budgetAmount).toBe(5);
    // Open again: the restore goes through.
    expect((await restore(northChange.id, LEAD)).data.restoreCell.budgetAmount).toBeNull();
  });
});
