/**
 * The grid's durability with a real server process: killed with SIGKILL it loses nothing that was stored
 * and gets the rest back from reconnecting clients; stopped with SIGTERM it loses nothing that other
 * clients had already received. The server runs as a child process (the built `server/dist`, which
 * `npm test` builds first) on a fixed port, so that the stock clients reconnect to it by themselves.
 */
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellsOf, connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { restartableServer, type RestartableServer } from '../testing/restartableServer.js';

describe('grid durability across server restarts', () => {
  let server: RestartableServer;
  const clients: GridClient[] = [];
  let token: string;
  let planId: string;
  let lineIds: string[];
  const docName = () => `budget:${planId}:SALES_NORTH`;

  beforeAll(async () => {
    server = await restartableServer();
    await server.start();
    token = await server.login('lead.sales-north@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    lineIds = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data.budgetLines.map(
      (l: { id: string }) => l.id,
    );
  });

  afterAll(async () => {
    clients.forEach((c) => c.destroy());
    await server?.destroy();
  });

  function open(as = token): GridClient {
    const client = connectGrid(server.url, docName(), as);
    clients.push(client);
    return client;
  }

  async function amounts(): Promise<Map<string, number | null>> {
    const res = await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id budgetAmount } }', { p: planId }, token);
    return new Map(res.data.budgetLines.map((l: { id: string; budgetAmount: number | null }) => [l.id, l.budgetAmount]));
  }

  it('after SIGKILL, keeps what was stored and recovers the rest from reconnecting clients', async () => {
    const a = open();
    const b = open();
    await Promise.all([synced(a), synced(b)]);
    for (let i = 0; i < 20; i++) a.cells.set(`${lineIds[i]}/budgetAmount`, 1000 + i);
    await eventually(async () => {
      const rows = await amounts();
      return lineIds.slice(0, 20).every((id, i) => rows.get(id) === 1000 + i);
    }, 'the first edits to be projected');
    // Then a burst the server may or may not have stored when it dies.
    for (let i = 20; i < 30; i++) a.cells.set(`${lineIds[i]}/budgetAmount`, 1000 + i);
    await server.stop('SIGKILL');
    // Edits made while the server is down stay with the client.
    for (let i = 30; i < 35; i++) b.cells.set(`${lineIds[i]}/budgetAmount`, 1000 + i);

    await server.start();
    const expected = Object.fromEntries(lineIds.slice(0, 35).map((id, i) => [`${id}/budgetAmount`, 1000 + i]));
    await eventually(
      () => [a, b].every((c) => Object.entries(expected).every(([k, v]) => c.cells.get(k) === v)),
      'both clients to hold every edit after reconnecting',
      30_000,
    );
    expect(cellsOf(a)).toEqual(cellsOf(b));
    await eventually(async () => {
      const rows = await amounts();
      return lineIds.slice(0, 35).every((id, i) => rows.get(id) === 1000 + i);
    }, 'every edit to reach the rows');
    // And it is stored now: a brand-new client gets all of it from the server alone.
    const fresh = open();
    await synced(fresh);
    for (const [key, value] of Object.entries(expected)) expect(fresh.cells.get(key)).toBe(value);
  });

  it('after SIGTERM, loses nothing that other clients had received', async () => {
    const a = open();
    const b = open();
    await Promise.all([synced(a), synced(b)]);
    for (let i = 40; i < 60; i++) a.cells.set(`${lineIds[i]}/budgetAmount`, 2000 + i);
    await eventually(() => b.cells.get(`${lineIds[59]}/budgetAmount`) === 2059, 'the other client to receive the burst');
    expect(await server.stop('SIGTERM')).toBe(0);
    // Forget every client, so that nothing can come back from them.
    while (clients.length) clients.pop()!.destroy();

    await server.start();
    const fresh = open();
    await synced(fresh);
    for (let i = 40; i < 60; i++) expect(fresh.cells.get(`${lineIds[i]}/budgetAmount`)).toBe(2000 + i);
    const rows = await amounts();
    for (let i = 40; i < 60; i++) expect(rows.get(lineIds[i])).toBe(2000 + i);
  });

  it("after SIGKILL, a colleague resending your unsaved edits does not take your client id: you keep writing", async () => {
    const planner = await server.login('planner.sales-north@example.com');
    const a = open(); // the lead
    const b = open(planner);
    await Promise.all([synced(a), synced(b)]);
    a.provider.awareness.setLocalStateField('cell', null);
    b.provider.awareness.setLocalStateField('cell', null);
    await server.stop('SIGKILL');
    // The lead edits while the server is down; the planner has nothing of it. Then the planner gets the lead's
    // edits another way (as if it had received them before the crash) and resends them on reconnect, first.
    for (let i = 70; i < 75; i++) a.cells.set(`${lineIds[i]}/budgetAmount`, 3000 + i);
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc));
    a.provider.disconnect();
    await server.start();
    await eventually(() => b.provider.synced, 'the planner to resync');
    a.provider.connect();
    await synced(a);
    a.provider.awareness.setLocalStateField('cell', null);
    // The lead's later edits land, under the lead's own client id.
    a.cells.set(`${lineIds[75]}/budgetAmount`, 3075);
    await eventually(async () => (await amounts()).get(lineIds[75]) === 3075, "the lead's later edit to reach the rows", 20_000);
    await eventually(() => b.cells.get(`${lineIds[75]}/budgetAmount`) === 3075, 'the planner to see it');
  });
});
