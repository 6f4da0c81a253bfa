/**
 * A restore made through one instance reaches an open grid on another (two Plansync processes on one database and
 * the local Redis), and the cell's history names it RESTORE by the restorer on both: the relay carries the source.
 *
 * Skipped, with a message, when no Redis answers on 127.0.0.1:6379 (or TEST_REDIS_URL). Needs the built server
 * (`npm run build -w server`), as every multi-process test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) console.warn(`[cellHistoryScaleOut.test] SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}.`);

const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id } }`;
const HISTORY = `query($l: ID!) { cellHistory(lineId: $l, column: "budgetAmount") { id oldValue newValue source user { email } } }`;
const RESTORE = `mutation($id: ID!) { restoreCell(changeId: $id) { budgetAmount } }`;

describe.skipIf(!reachable)('restoreCell across two instances', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  let grid: GridClient | undefined;

  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL);
  });
  afterAll(async () => {
    grid?.destroy();
    if (a) await destroyInstances([a, b].filter(Boolean));
  });

  it("reaches the other instance's open grid, audited RESTORE", async () => {
    const onA = await a.login('lead.sales-north@example.com');
    const onB = await b.login('planner.sales-north@example.com');
    const planId = (await a.gql('{ budgetPlans { id } }', {}, onA)).data.budgetPlans[0].id;
    const [line] = (await a.gql(LINES, { p: planId, u: 'SALES_NORTH' }, onA)).data.budgetLines;
    const key = `${line.id}/budgetAmount`;

    grid = connectGrid(a.url, `budget:${planId}:SALES_NORTH`, onA);
    await synced(grid);
    grid.cells.set(key, 300);
    await eventually(async () => (await b.gql(HISTORY, { l: line.id }, onB)).data?.cellHistory.length === 1, 'the grid edit on A to be audited');
    grid.cells.set(key, 400);
    const history = await eventually(async () => {
      const entries = (await b.gql(HISTORY, { l: line.id }, onB)).data?.cellHistory;
      return entries?.length === 2 ? entries : null;
    }, 'the second grid edit to be audited');
    expect(history.map((e: any) => [e.oldValue, e.newValue, e.source])).toEqual([['300', '400', 'GRID'], [null, '300', 'GRID']]);

    const restored = await b.gql(RESTORE, { id: history[0].id }, onB);
    expect(restored.errors).toBeUndefined();
    expect(restored.data.restoreCell.budgetAmount).toBe(300);
    await eventually(() => grid!.cells.get(key) === 300, "the restore on B to reach A's open grid");
    for (const [server, token] of [[a, onA], [b, onB]] as const) {
      const [latest] = (await server.gql(HISTORY, { l: line.id }, token)).data.cellHistory;
      expect(latest).toMatchObject({ oldValue: '400', newValue: '300', source: 'RESTORE', user: { email: 'planner.sales-north@example.com' } });
    }
    // Exactly one entry for the restore, whichever instance wrote the rows.
    const entries = (await a.gql(HISTORY, { l: line.id }, onA)).data.cellHistory;
    expect(entries.map((e: any) => e.source)).toEqual(['RESTORE', 'GRID', 'GRID']);
  });
});
