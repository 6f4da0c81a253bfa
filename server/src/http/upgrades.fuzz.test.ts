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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { fuzzParams } from '../testing/fuzzBudget.js';
import { startBystander, type Bystander } from '../testing/bystander.js';
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

describe('random upgrade requests, fuzzed', () => {
  let server: ChildServer;
  let port: number;
  let token: string;
  /** Someone else at work: a grid open on their unit, and a GraphQL subscription to its changes. */
  let bystander: Bystander;

  beforeAll(async () => {
    server = await startChildServer({});
    port = Number(new URL(server.url).port);
    token = (await server.gql('mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }')).data.login.token;
    bystander = await startBystander(server, token);
  });
  afterAll(async () => {
    await bystander?.close();
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

    await bystander.stillServed('the fuzz');
    expect(server.logs.filter((l) => /unhandled|uncaught/i.test(String(l.msg)))).toEqual([]);
  });
});
