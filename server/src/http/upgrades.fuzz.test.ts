/**
 * Random upgrade requests, fuzzed (issue 11) on raw TCP against the built server run as its own process with
 * the default settings: random methods, request-targets (percent escapes good and broken, brackets, `//`,
 * absolute and asterisk forms, the real endpoints with random doc names and tokens) and random sets of
 * handshake headers (keys, versions, subprotocols, extensions, junk), some cut off by a TCP reset.
 *
 * After every request: an answer (an HTTP status under 500, or 101), never silence and never a 5xx. After the
 * run: the process is up, another person's grid and GraphQL subscription still get their edits, and the log
 * has no unhandled rejection or uncaught exception. `npm run fuzz` runs it FUZZ_SCALE times longer; FUZZ_SEED
 * replays a failure.
 */
import fc from 'fast-check';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { fuzzParams } from '../testing/fuzzBudget.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { raw, websocketKey } from '../testing/rawHttp.js';

/** Printable ASCII without space (a space ends the request-target). */
const TARGET_CHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const PIECES = ['%', '%E0%A4%A', '%E0%A4%A8', '%ZZ', '%00', '%2F', '%25', '[', ']', '//', '/', '?', '#', '@', ':', '..', 'budget:', 'SALES_NORTH', 'token=', '&', '=', '\u00e9'];

const segment = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.constantFrom(...TARGET_CHARS)), { maxLength: 12 }).map((parts) => parts.join(''));

const target = fc.oneof(
  segment.map((s) => `/yjs/${s}`),
  fc.tuple(segment, segment).map(([doc, token]) => `/yjs/${doc}?token=${token}`),
  segment.map((s) => `/graphql${s}`),
  segment.map((s) => `/${s}`),
  segment.map((s) => `//${s}`),
  fc.tuple(fc.constantFrom('http://', 'https://', 'ws://', 'HTTP://', 'ftp://'), segment, segment).map(([scheme, host, path]) => `${scheme}${host}/yjs/${path}`),
  fc.constantFrom('*', '', '127.0.0.1:80', '/yjs', '/yjs/', '/graphql'),
);

/** Header values: printable ASCII (CR and LF would start another header, or end the request early). */
const value = fc.string({ unit: fc.constantFrom(...TARGET_CHARS, ' ', ',', ';', '"'), maxLength: 40 });

const headers = fc.record(
  {
    host: fc.constantFrom('Host: 127.0.0.1', 'Host: [', 'Host:', 'Host: a b'),
    upgrade: fc.oneof(fc.constant('Upgrade: websocket'), value.map((v) => `Upgrade: ${v}`)),
    connection: fc.oneof(fc.constant('Connection: Upgrade'), fc.constant('Connection: keep-alive, Upgrade'), value.map((v) => `Connection: ${v}`)),
    key: fc.oneof(fc.constant('valid'), value).map((v) => `Sec-WebSocket-Key: ${v === 'valid' ? websocketKey() : v}`),
    version: fc.oneof(fc.constantFrom('13', '8', '0', '99', '-1', '13, 8'), value).map((v) => `Sec-WebSocket-Version: ${v}`),
    protocol: fc.oneof(fc.constantFrom('graphql-transport-ws', 'graphql-ws', 'a,,b', ''), value).map((v) => `Sec-WebSocket-Protocol: ${v}`),
    extensions: fc.oneof(fc.constant('permessage-deflate; client_max_window_bits'), value).map((v) => `Sec-WebSocket-Extensions: ${v}`),
    junk: fc.tuple(fc.string({ unit: fc.constantFrom(...TARGET_CHARS.filter((c) => c !== ':')), minLength: 1, maxLength: 12 }), value).map(([n, v]) => `${n}: ${v}`),
  },
  { requiredKeys: [] },
);

const request = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'OPTIONS', 'get', 'BREW'),
  target,
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
  headers,
  reset: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

const UPDATE = 'mutation($id: ID!, $c: String) { updateBudgetLine(id: $id, input: { comment: $c }) { version } }';
const CHANGED = 'subscription($plan: ID!) { budgetLineChanged(planId: $plan, businessUnitCode: "SALES_NORTH") { id comment } }';

describe('random upgrade requests, fuzzed', () => {
  let server: ChildServer;
  let port: number;
  let token: string;
  let lineId: string;
  let grid: GridClient;
  let ws: Client;
  const heard: string[] = [];

  beforeAll(async () => {
    server = await startChildServer({});
    port = Number(new URL(server.url).port);
    token = (await server.gql('mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }')).data.login.token;
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    lineId = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data.budgetLines[0].id;
    grid = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    await synced(grid);
    ws = createClient({ url: server.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    ws.subscribe<{ budgetLineChanged: { comment: string } }>(
      { query: CHANGED, variables: { plan: planId } },
      { next: (r) => r.data && heard.push(r.data.budgetLineChanged.comment), error: () => undefined, complete: () => undefined },
    );
  });
  afterAll(async () => {
    grid?.destroy();
    await ws?.dispose();
    await server?.stop();
  });

  it('answers every one, and the process and everyone else carry on', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const text = [`${r.method} ${r.target} ${r.version}`, ...Object.values(r.headers), '', ''].join('\r\n');
        const answer = await raw(port, text, { reset: r.reset, until101: true });
        if (r.reset) return;
        expect(answer.status, text).toBeGreaterThan(0);
        expect(answer.status, text).toBeLessThan(500);
      }),
      fuzzParams(150),
    );

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const comment = `after the fuzz ${Date.now()}`;
    await eventually(async () => {
      expect((await server.gql(UPDATE, { id: lineId, c: comment }, token)).errors).toBeUndefined();
      return heard.includes(comment);
    }, 'the subscription to hear an edit');
    await eventually(() => grid.cells.get(`${lineId}/comment`) === comment, 'the grid to show the edit');
    expect(server.logs.filter((l) => /unhandled|uncaught/i.test(String(l.msg)))).toEqual([]);
  });
});
