import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetLineChangedEvent } from '../budget/events.js';
import { readKnownLine, writeLines, type BatchPlan } from '../budget/lineStore.js';
import { withSqlClient } from '../db/sql.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

/**
 * The projection's two ways of writing a batch (gridProjection.ts): lines it wrote before go out in one
 * statement guarded by what it knows of them; a line changed by someone else meanwhile goes the careful way
 * (locked and read). Either way the row, its version and the audit log are those of the API's rules.
 */
describe('grid projection into budget rows', () => {
  let server: TestServer;
  let planId: string;
  let lineIds: string[];
  let lead: string;
  const clients: GridClient[] = [];
  const events: BudgetLineChangedEvent[] = [];
  let stopListening: () => void;

  const open = () => {
    const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, lead);
    clients.push(client);
    return client;
  };
  const row = async (id: string) =>
    (await server.sql('SELECT budget_amount, comment, version, updated_by_id FROM budget_line WHERE id = $1', [id]))[0];
  const audit = (id: string) =>
    server.sql<{ column_name: string; old_value: string | null; new_value: string | null; source: string; email: string }>(
      `SELECT c.column_name, c.old_value, c.new_value, c.source, u.email
         FROM cell_change c LEFT JOIN app_user u ON u.id = c.user_id WHERE c.line_id = $1 ORDER BY c.id`,
      [id],
    );

  beforeAll(async () => {
    server = await startTestServer();
    lead = await server.login('lead.sales-north@example.com');
    const admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    const lines = await server.gql(
      `query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`,
      { p: planId },
      admin,
    );
    lineIds = lines.data.budgetLines.map((l: { id: string }) => l.id);
    const iterator = server.app.services.events.subscribe('BUDGET_LINE_CHANGED')[Symbol.asyncIterator]();
    let listening = true;
    void (async () => {
      while (listening) {
        const next = await iterator.next();
        if (next.done) break;
        events.push(next.value);
      }
    })();
    stopListening = () => {
      listening = false;
      void iterator.return?.();
    };
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  afterAll(async () => {
    stopListening?.();
    await server?.stop();
  });

  it('applies several edits of one line in one batch in order: a version and an audit entry each', async () => {
    const id = lineIds[3];
    const before = await row(id);
    const client = open();
    await synced(client);
    client.cells.set(`${id}/comment`, 'first');
    client.cells.set(`${id}/comment`, 'second');
    client.cells.set(`${id}/budgetAmount`, 17);
    await eventually(async () => (await row(id)).budget_amount === 17, 'the row to take the edits');
    const after = await row(id);
    expect(after.comment).toBe('second');
    expect(after.version).toBe(before.version + 3);
    expect((await audit(id)).map((a) => [a.column_name, a.old_value, a.new_value, a.source, a.email])).toEqual([
      ['comment', before.comment, 'first', 'GRID', 'lead.sales-north@example.com'],
      ['comment', 'first', 'second', 'GRID', 'lead.sales-north@example.com'],
      ['budgetAmount', before.budget_amount === null ? null : String(before.budget_amount), '17', 'GRID', 'lead.sales-north@example.com'],
    ]);
    const event = (await eventually(() => events.find((e) => e.line.id === id && e.line.version === after.version), 'the event'))!;
    expect(event.planId).toBe(planId);
    expect(event.line).toMatchObject({
      budgetAmount: 17,
      comment: 'second',
      businessUnit: { code: 'SALES_NORTH' },
      updatedBy: { email: 'lead.sales-north@example.com' },
    });
    expect(event.line.updatedAt).toBeInstanceOf(Date);
  });

  it('writes a line changed by someone else meanwhile from its row as it is, never over it', async () => {
    const id = lineIds[4];
    const client = open();
    await synced(client);
    client.cells.set(`${id}/budgetAmount`, 100);
    await eventually(async () => (await row(id)).budget_amount === 100, 'the first edit in the row');
    const known = await row(id);
    // Another writer (another instance's projection) changes the row behind this document's back.
    await server.sql('UPDATE budget_line SET budget_amount = 555, version = version + 1 WHERE id = $1', [id]);
    client.cells.set(`${id}/budgetAmount`, 200);
    await eventually(async () => (await row(id)).budget_amount === 200, 'the second edit in the row');
    expect((await row(id)).version).toBe(known.version + 2);
    const entries = await audit(id);
    expect(entries.at(-1)).toMatchObject({ column_name: 'budgetAmount', old_value: '555', new_value: '200' });

    // The same when only the values differ (a write that left the version alone).
    await server.sql(`UPDATE budget_line SET comment = 'behind its back' WHERE id = $1`, [id]);
    client.cells.set(`${id}/comment`, 'from the grid');
    await eventually(async () => (await row(id)).comment === 'from the grid', 'the comment in the row');
    expect((await audit(id)).at(-1)).toMatchObject({ column_name: 'comment', old_value: 'behind its back', new_value: 'from the grid' });
    expect((await row(id)).version).toBe(known.version + 3);
  });
  it('lets an API write through while a colleague keeps editing the same unit without a pause', async () => {
    const typist = open();
    await synced(typist);
    const [typed, apiLine] = [lineIds[6], lineIds[7]];
    const before = await row(typed);
    // Edits as fast as the event loop turns: the projection always has some queued while it writes the last ones.
    let typing = true;
    let n = 0;
    const stream = (async () => {
      const stopAt = Date.now() + 60_000; // only so that a failing run ends
      while (typing && Date.now() < stopAt) {
        typist.cells.set(`${typed}/budgetAmount`, ++n);
        await new Promise((r) => setImmediate(r));
      }
      return typing; // true: the stream ran out before the API write answered
    })();
    await eventually(async () => (await row(typed)).version > before.version + 3, 'the stream reaching the rows');
    const answer = await server.gql(
      `mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 777 }) { budgetAmount } }`,
      { id: apiLine },
      lead,
    );
    typing = false;
    const ranOut = await stream;
    expect(answer.errors).toBeUndefined();
    expect(answer.data.updateBudgetLine.budgetAmount).toBe(777);
    // The write answered while the edits kept coming, not once they stopped.
    expect(ranOut).toBe(false);
    // And nothing typed was lost: the row ends with the last value typed.
    await eventually(async () => (await row(typed)).budget_amount === n, 'the last typed value in the row');
  }, 90_000);
  it('writes the changes of a unit that has no submission row, as a unit that is not frozen', async () => {
    // No path of the product makes lines without their unit's submission, but a database edited by hand can
    // hold them: the fast write and the careful one must agree that such a unit is editable, or its changes
    // are skipped by both and lost without a word.
    const admin = await server.login('admin@example.com');
    const [line] = await server.sql<{ id: string; business_unit_id: string }>(
      `SELECT l.id, l.business_unit_id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        WHERE u.code = 'MARKETING' AND l.plan_id = $1 ORDER BY l.position LIMIT 1`,
      [planId],
    );
    await server.sql('DELETE FROM budget_submission WHERE plan_id = $1 AND business_unit_id = $2', [planId, line.business_unit_id]);
    const answer = await server.gql(
      `mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4321 }) { budgetAmount version } }`,
      { id: line.id },
      admin,
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data.updateBudgetLine.budgetAmount).toBe(4321);
    expect((await row(line.id)).budget_amount).toBe(4321);
    expect((await audit(line.id)).at(-1)).toMatchObject({ column_name: 'budgetAmount', new_value: '4321', source: 'API' });
  });
  it('plans its batch statement once per connection, not for every batch', async () => {
    // PostgreSQL makes a custom plan for each of a prepared statement's first five executions, then keeps its
    // generic plan unless custom plans look cheaper (lineStore.ts WRITE_LINES says why they no longer do). Ten
    // batches of 1 to 4 lines on one connection: planned again for each, they would show ten custom plans.
    const [{ id: unitId }] = await server.sql<{ id: string }>(`SELECT id FROM business_unit WHERE code = 'OPERATIONS'`);
    const ids = (await server.sql<{ id: string }>('SELECT id FROM budget_line WHERE plan_id = $1 AND business_unit_id = $2 ORDER BY position LIMIT 4', [planId, unitId])).map((r) => r.id);
    const [{ id: userId }] = await server.sql<{ id: string }>(`SELECT id FROM app_user WHERE email = 'admin@example.com'`);
    const plans = await withSqlClient(server.app.services.orm.em, async (client) => {
      for (let batch = 0; batch < 10; batch++) {
        const now = new Date();
        const plan: BatchPlan = { lines: [], audit: [] };
        for (const id of ids.slice(0, 1 + (batch % ids.length))) {
          const was = (await readKnownLine(client, id))!;
          const budgetAmount = 700 + batch;
          plan.lines.push({ ...was, budgetAmount, version: was.version + 1, was, updatedAt: now, updatedById: userId });
          plan.audit.push({ lineId: id, unitId, column: 'budgetAmount', oldValue: String(was.budgetAmount), newValue: String(budgetAmount), userId, source: 'API' });
        }
        expect((await writeLines(client, plan, now)).map((line) => line.budgetAmount)).toEqual(plan.lines.map(() => 700 + batch));
      }
      const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
        `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'grid_projection_write'`,
      );
      return rows[0];
    });
    expect(Number(plans.custom_plans)).toBeLessThanOrEqual(5);
    expect(Number(plans.generic_plans)).toBeGreaterThanOrEqual(5);
    expect((await row(ids[0])).budget_amount).toBe(709);
  });
});
