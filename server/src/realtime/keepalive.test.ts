/**
 * Keep-alive on a real server with the default settings (internals/keepaliveSweep.ts): GraphQL sockets are
 * pinged every 12 s and one that does not answer is dropped at its next turn, while one that answers stays; grid
 * sockets are pinged within their 30 s interval. Real sockets and real timers: this file waits about 25 s.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { eventually } from '../testing/gridClients.js';
import { CloseCode } from '../../../schema/codes.js';

/** The servers' intervals (graphqlWs.ts KEEPALIVE_MS, GridServer KEEPALIVE_INTERVAL_MS), with room for a slow machine. */
const GRAPHQL_INTERVAL_MS = 12_000;
const GRID_INTERVAL_MS = 30_000;
const SLACK_MS = 5_000;

interface Watched {
  ws: WebSocket;
  pings: number;
  closed?: number;
}

/** A socket whose pings are counted; with `answer: false` it never sends a pong (a client gone silent). */
function watch(url: string, protocol: string | undefined, answer: boolean): Watched {
  const ws = new WebSocket(url, protocol ? [protocol] : [], { autoPong: answer });
  const watched: Watched = { ws, pings: 0 };
  ws.on('ping', () => watched.pings++);
  ws.on('close', (code) => (watched.closed = code));
  ws.on('error', () => undefined);
  return watched;
}

async function openGraphQL(server: TestServer, token: string, answer: boolean): Promise<Watched> {
  const watched = watch(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws', answer);
  await new Promise<void>((resolve, reject) => {
    watched.ws.once('open', () => resolve());
    watched.ws.once('error', reject);
  });
  const acked = new Promise<void>((resolve) => watched.ws.once('message', () => resolve()));
  watched.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await acked;
  return watched;
}

describe('keep-alive', () => {
  let server: TestServer;
  let token: string;
  let docName: string;
  const opened: Watched[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.login('lead.sales-north@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    docName = `budget:${planId}:SALES_NORTH`;
  });
  afterAll(async () => {
    for (const watched of opened) watched.ws.terminate();
    await server?.stop();
  });

  it(
    'drops a GraphQL socket that does not answer its ping at its next turn, keeps one that does, and pings grid sockets',
    async () => {
      const silent = await openGraphQL(server, token, false);
      const answering = await openGraphQL(server, token, true);
      const grid = watch(`${server.url.replace(/^http/, 'ws')}/yjs/${encodeURIComponent(docName)}?token=${token}`, undefined, true);
      opened.push(silent, answering, grid);

      await Promise.all([
        eventually(() => silent.closed !== undefined, 'the silent GraphQL socket to be dropped', 2 * GRAPHQL_INTERVAL_MS + SLACK_MS),
        // Its second ping: it was not dropped at its second turn, having answered the first.
        eventually(() => answering.pings >= 2, 'a second ping on the answering GraphQL socket', 2 * GRAPHQL_INTERVAL_MS + SLACK_MS),
        eventually(() => grid.pings >= 1, 'a ping on the grid socket', GRID_INTERVAL_MS + SLACK_MS),
      ]);
      // Pinged once, then dropped at its next turn without a second ping: terminated (no close frame).
      expect(silent.pings).toBe(1);
      expect(silent.closed).toBe(CloseCode.AbnormalClosure);
      expect(answering.closed).toBeUndefined();
      expect(grid.closed).toBeUndefined();
    },
    GRID_INTERVAL_MS + 3 * SLACK_MS,
  );
});
