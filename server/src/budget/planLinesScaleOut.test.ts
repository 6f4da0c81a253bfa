/**
 * Plan lines added and removed through one instance reach grids and subscribers on another (two Plansync
 * processes on one database and the local Redis): the other instance's open document takes the new line's
 * cells at once and drops the removed line's, and `budgetLinesStructureChanged` reaches its subscribers.
 *
 * Skipped, with a message, when no Redis answers on 127.0.0.1:6379 (or TEST_REDIS_URL). Needs the built server
 * (`npm run build -w server`), as every multi-process test.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) console.warn(`[planLinesScaleOut.test] SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}.`);

const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id productCategory region quarter budgetAmount comment } }`;
const ADD = `mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) { id } }`;
const REMOVE = `mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`;
const STRUCTURE = `subscription($p: ID!, $u: String) { budgetLinesStructureChanged(planId: $p, businessUnitCode: $u) { businessUnit { code } added { id } removedLineIds } }`;

describe.skipIf(!reachable)('plan lines across two instances', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  let planId: string;
  let grid: GridClient | undefined;
  let subscription: Client | undefined;

  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL);
    planId = (await a.gql('{ budgetPlans { id } }', {}, await a.login('admin@example.com'))).data.budgetPlans[0].id;
  });
  afterAll(async () => {
    grid?.destroy();
    await subscription?.dispose();
    if (a) await destroyInstances([a, b].filter(Boolean));
  });

  it("gives the other instance's open grid and subscribers the lines added and removed", async () => {
    const admin = await a.login('admin@example.com');
    const lead = await b.login('lead.sales-north@example.com');
    const lines = async () => (await a.gql(LINES, { p: planId, u: 'SALES_NORTH' }, admin)).data.budgetLines as any[];
    const [first, second] = await lines();

    grid = connectGrid(b.url, `budget:${planId}:SALES_NORTH`, lead);
    await synced(grid);
    grid.cells.set(`${second.id}/comment`, 'on instance B');
    await eventually(async () => (await lines()).find((l) => l.id === second.id)?.comment === 'on instance B', "the edit on B to reach the rows");

    const received: any[] = [];
    subscription = createClient({
      url: b.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${lead}` },
      retryAttempts: 0,
    });
    subscription.subscribe(
      { query: STRUCTURE, variables: { p: planId, u: 'SALES_NORTH' } },
      { next: (r) => r.data && received.push(r.data.budgetLinesStructureChanged), error: () => undefined, complete: () => undefined },
    );

    // Removed through A: the cells leave B's client, and B's subscriber hears of it (subscriptions have no
    // acknowledgement: the first removal may come before it is live, so remove lines until one is heard).
    expect((await a.gql(REMOVE, { ids: [second.id] }, admin)).data.removeBudgetLines).toBe(1);
    await eventually(() => !grid!.cells.has(`${second.id}/comment`), "the removed line's cell to leave B's grid");
    let spare = 2;
    await eventually(async () => {
      if (received.length > 0) return true;
      const victim = (await lines())[spare++];
      await a.gql(REMOVE, { ids: [victim.id] }, admin);
      return false;
    }, "B's subscriber to hear of a removal");

    // Added back through A: B's client may edit it at once, and the edit reaches the rows.
    const added = await a.gql(ADD, { p: planId, l: [{ businessUnitCode: 'SALES_NORTH', productCategory: first.productCategory, region: second.region, quarter: second.quarter }] }, admin);
    expect(added.errors).toBeUndefined();
    const id = added.data.addBudgetLines[0].id;
    await eventually(() => received.some((e) => e.added.some((l: any) => l.id === id)), "B's subscriber to hear of the new line");
    grid.cells.set(`${id}/budgetAmount`, 2468);
    await eventually(async () => (await lines()).find((l) => l.id === id)?.budgetAmount === 2468, 'the edit on B of a line added on A to reach the rows');
    expect(received.every((e) => e.businessUnit.code === 'SALES_NORTH')).toBe(true);
  });
});
