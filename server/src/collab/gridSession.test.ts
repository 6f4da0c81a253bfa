import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { CloseCode } from '../../../schema/codes.js';

describe('grid sessions: presence, keepalive, token expiry', () => {
  let server: TestServer;
  let planId: string;
  const clients: GridClient[] = [];

  beforeAll(async () => {
    // Short-lived tokens, so that expiry can be seen within the test.
    server = await startTestServer({ JWT_TTL_SECONDS: '3', GRID_IDLE_UNLOAD_MS: '200' });
    const admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  afterAll(() => server?.stop());

  async function open(email: string): Promise<GridClient> {
    const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, await server.login(email));
    clients.push(client);
    await synced(client);
    return client;
  }

  it("relays presence to the others, echoes it to the sender (the stock client's keepalive), and removes it on leave", async () => {
    const a = await open('lead.sales-north@example.com');
    const b = await open('viewer.sales-north@example.com');
    const before = a.provider.wsLastMessageReceived;
    // Whatever a client claims, the server vouches: who it is comes from its token.
    a.provider.awareness.setLocalStateField('user', { name: 'Lead', email: 'someone.else@example.com' });
    await eventually(() => b.provider.awareness.getStates().get(a.doc.clientID)?.user?.email === 'lead.sales-north@example.com', 'b to see a');
    expect(b.provider.awareness.getStates().get(a.doc.clientID)?.user?.name).not.toBe('Lead');
    // Nothing else was sent to `a`: a newer message time means its own presence came back.
    await eventually(() => a.provider.wsLastMessageReceived > before, 'the echo to the sender');
    // A read-only person shares presence too.
    b.provider.awareness.setLocalStateField('user', { name: 'Viewer' });
    await eventually(() => a.provider.awareness.getStates().get(b.doc.clientID)?.user?.email === 'viewer.sales-north@example.com', 'a to see b');
    const leaving = a.doc.clientID;
    a.provider.disconnect();
    await eventually(() => !b.provider.awareness.getStates().has(leaving), 'the presence of a leaver to go');
  });

  it('keeps one document in memory per open unit, and unloads it once its last connection has left', async () => {
    const metric = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^plansync_grid_open_documents (\S+)$/m.exec(text)?.[1]);
    };
    const a = await open('lead.sales-north@example.com');
    const b = await open('planner.sales-north@example.com');
    expect(await metric()).toBe(1);
    const lineId = (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, await server.login('admin@example.com'))).data.budgetLines[5].id;
    a.cells.set(`${lineId}/comment`, 'kept across unloads');
    a.cells.set('nothing-valid', 1); // refused
    await eventually(() => b.cells.get(`${lineId}/comment`) === 'kept across unloads', 'b to receive the edit');
    a.destroy();
    b.destroy();
    clients.length = 0;
    await eventually(async () => (await metric()) === 0, 'the document to be unloaded');
    // What was stored comes back with the next connection.
    const c = await open('lead.sales-north@example.com');
    expect(c.cells.has('nothing-valid')).toBe(false);
    expect(c.cells.get(`${lineId}/comment`)).toBe('kept across unloads');
    expect(await metric()).toBe(1);
  });

  it('closes a grid connection with CloseCode.Unauthorized when its token expires', async () => {
    const client = await open('lead.sales-north@example.com');
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.Unauthorized);
  });

  it('closes each connection when its own token expires, one server timer for them all', async () => {
    // Tokens issued a second and a half apart (JWT expiry has whole seconds): the first expiry must not close the
    // second connection, and the server's one expiry timer must then be set again for the second.
    const first = await open('lead.sales-north@example.com');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = await open('viewer.sales-north@example.com');
    let firstClosed = false;
    let secondClosedFirst = false;
    void second.closed.then(() => (secondClosedFirst = !firstClosed));
    expect((await first.closed).code).toBe(CloseCode.Unauthorized);
    firstClosed = true;
    expect(second.provider.wsconnected, 'the later token has not expired yet').toBe(true);
    expect((await second.closed).code).toBe(CloseCode.Unauthorized);
    expect(secondClosedFirst).toBe(false);
  });
});
