import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

describe('grid sessions: presence, keepalive, token expiry', () => {
  let server: TestServer;
  let planId: string;
  const clients: GridClient[] = [];

  beforeAll(async () => {
    // Short-lived tokens, so that expiry can be seen within the test.
    server = await startTestServer({ JWT_TTL_SECONDS: '3' });
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
    a.provider.awareness.setLocalStateField('user', { name: 'Lead', cell: 'x/budgetAmount' });
    await eventually(() => b.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Lead', 'b to see a');
    // Nothing else was sent to `a`: a newer message time means its own presence came back.
    await eventually(() => a.provider.wsLastMessageReceived > before, 'the echo to the sender');
    // A read-only person shares presence too.
    b.provider.awareness.setLocalStateField('user', { name: 'Viewer' });
    await eventually(() => a.provider.awareness.getStates().get(b.doc.clientID)?.user?.name === 'Viewer', 'a to see b');
    const leaving = a.doc.clientID;
    a.provider.disconnect();
    await eventually(() => !b.provider.awareness.getStates().has(leaving), 'the presence of a leaver to go');
  });

  it('closes a grid connection with 4401 when its token expires', async () => {
    const client = await open('lead.sales-north@example.com');
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
  });
});
