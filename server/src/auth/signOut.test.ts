/**
 * signOut ends a token on the server: a stolen or left-behind token stops working at once, on HTTP and on the
 * websockets already open with it (CloseCode.Unauthorized), while the person's other tokens carry on.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';
import { CloseCode } from '../../../schema/codes.js';

const SIGN_OUT = 'mutation { signOut }';

describe('signOut', () => {
  let server: TestServer;
  let docName: string;
  beforeAll(async () => {
    server = await startTestServer();
    const admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, admin);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
  });
  afterAll(() => server?.stop());

  it('ends the token it is called with, and closes its open sockets with CloseCode.Unauthorized, not the other tokens', async () => {
    const stolen = await server.login('lead.sales-north@example.com');
    const other = await server.login('lead.sales-north@example.com');

    const stolenGraphql = await graphqlSocket(server, stolen);
    const stolenGrid = await gridSocket(server, docName, stolen);
    const otherGraphql = await graphqlSocket(server, other);
    const otherGrid = await gridSocket(server, docName, other);
    expect([stolenGraphql.first, stolenGrid.first, otherGraphql.first, otherGrid.first]).toEqual([
      'connection_ack', 'message', 'connection_ack', 'message',
    ]);

    const res = await server.gql(SIGN_OUT, {}, stolen);
    expect(res.errors).toBeUndefined();
    expect(res.data.signOut).toBe(true);

    // Its sockets close as an expired token's do.
    expect(await stolenGraphql.closed).toBe(CloseCode.Unauthorized);
    expect(await stolenGrid.closed).toBe(CloseCode.Unauthorized);
    // The token is refused everywhere from now on: HTTP, new GraphQL and grid sockets, signing out again.
    expect(errorCode(await server.gql('{ me { email } }', {}, stolen))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(SIGN_OUT, {}, stolen))).toBe('UNAUTHENTICATED');
    expect((await graphqlSocket(server, stolen)).first).toBe(`closed ${CloseCode.Unauthorized}`);
    expect((await gridSocket(server, docName, stolen)).first).toBe(`closed ${CloseCode.Unauthorized}`);

    // The person's other token, and its sockets, carry on.
    expect((await server.gql('{ me { email } }', {}, other)).data.me.email).toBe('lead.sales-north@example.com');
    expect(otherGraphql.socket.readyState).toBe(WebSocket.OPEN);
    expect(otherGrid.socket.readyState).toBe(WebSocket.OPEN);
    otherGraphql.socket.close();
    otherGrid.socket.close();

    // The ended token is remembered until it would have expired anyway, and no longer.
    const [row] = await server.sql(`SELECT expires_at > now() AS current, user_id IS NOT NULL AS owned FROM revoked_token`);
    expect(row).toEqual({ current: true, owned: true });
  });

  it('ends a token over the GraphQL socket it is called on, closing that socket with CloseCode.Unauthorized', async () => {
    const token = await server.login('viewer.sales-north@example.com');
    const { socket, closed, first } = await graphqlSocket(server, token);
    expect(first).toBe('connection_ack');
    const answer = new Promise<unknown>((resolve) =>
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.type === 'next') resolve(message.payload);
      }),
    );
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SIGN_OUT } }));
    expect(await answer).toEqual({ data: { signOut: true } });
    expect(await closed).toBe(CloseCode.Unauthorized);
  });

  it('needs a token: without one, UNAUTHENTICATED', async () => {
    expect(errorCode(await server.gql(SIGN_OUT))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(SIGN_OUT, {}, 'not-a-token'))).toBe('UNAUTHENTICATED');
  });
});

const reachable = await redisReachable(LOCAL_REDIS_URL);

describe.skipIf(!reachable)('signOut with two instances behind one proxy', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL);
  });
  afterAll(() => destroyInstances([a, b].filter(Boolean)));

  it("closes the token's sockets on the other instance too (CloseCode.Unauthorized), and the other instance refuses it", async () => {
    const token = await a.login('lead.sales-north@example.com');
    const plans = await b.gql('{ budgetPlans { id } }', {}, token);
    const docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
    const onB = await graphqlSocket(b, token);
    const gridOnB = await gridSocket(b, docName, token);
    expect([onB.first, gridOnB.first]).toEqual(['connection_ack', 'message']);

    expect((await a.gql('mutation { signOut }', {}, token)).data?.signOut).toBe(true);
    expect(await onB.closed).toBe(CloseCode.Unauthorized);
    expect(await gridOnB.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await b.gql('{ me { email } }', {}, token))).toBe('UNAUTHENTICATED');
  });
});
