/**
 * Plan lines changed through one instance while Redis is away (a `redis-server` of the test's own, killed): the
 * other instance does not hear the event, but its open grid re-reads its unit's lines on the resyncs it runs
 * while Redis is away, so the removed line's cells leave its clients and the new line becomes editable there.
 *
 * Skipped, with a message, when `redis-server` cannot be run here. Needs the built server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { destroyInstances, ownRedis, redisServerInstalled, startInstances, type OwnRedis } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';

const installed = await redisServerInstalled();
if (!installed) console.warn('[planLinesOutage.test] SKIPPED: `redis-server` is not installed.');

const LINES = `query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id productCategory region quarter budgetAmount } }`;

describe.skipIf(!installed)('plan lines changed while Redis is away', () => {
  let redis: OwnRedis;
  let a: RestartableServer;
  let b: RestartableServer;
  let grid: GridClient | undefined;

  beforeAll(async () => {
    redis = await ownRedis();
    await redis.start();
    [a, b] = await startInstances(2, redis.url);
  });
  afterAll(async () => {
    grid?.destroy();
    await destroyInstances([a, b].filter(Boolean));
    await redis?.kill();
  });

  it("reach the other instance's open grid through its resyncs", async () => {
    const admin = await a.login('admin@example.com');
    const lead = await b.login('lead.sales-north@example.com');
    const planId = (await a.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    const lines = async () => (await a.gql(LINES, { p: planId }, admin)).data.budgetLines as any[];
    const [first, second] = await lines();

    grid = connectGrid(b.url, `budget:${planId}:SALES_NORTH`, lead);
    await synced(grid);
    grid.cells.set(`${first.id}/budgetAmount`, 11);
    await eventually(async () => (await lines())[0].budgetAmount === 11, 'the edit on B to reach the rows');

    await redis.kill();
    await eventually(async () => (await (await fetch(`${b.url}/readyz`)).json()).redis === 'down', 'B to notice that Redis is away');

    // Through A: the first line removed, the second removed and added back as a new line.
    expect((await a.gql(`mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`, { ids: [first.id, second.id] }, admin)).data.removeBudgetLines).toBe(2);
    const added = await a.gql(
      `mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) { id } }`,
      { p: planId, l: [{ businessUnitCode: 'SALES_NORTH', productCategory: second.productCategory, region: second.region, quarter: second.quarter }] },
      admin,
    );
    expect(added.errors).toBeUndefined();
    const id = added.data.addBudgetLines[0].id;

    // B re-reads the lines while Redis is away: the removed cell leaves its client...
    await eventually(() => !grid!.cells.has(`${first.id}/budgetAmount`), "the removed line's cell to leave B's client", 30_000);
    // ...and the new line is editable there (B accepts and projects it itself while Redis is away).
    await eventually(async () => {
      grid!.cells.set(`${id}/budgetAmount`, 77);
      return (await lines()).find((l) => l.id === id)?.budgetAmount === 77;
    }, 'an edit on B of the line added on A to reach the rows', 30_000);
  });
});
