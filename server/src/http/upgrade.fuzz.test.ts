/**
 * Websocket upgrade requests, fuzzed (issue 11), on raw TCP to /yjs and /graphql of one real server: random
 * request-targets (percent escapes good and malformed, `//[`, absolute and authority forms, unicode, huge paths,
 * tokens good and bad), random header sets (Upgrade, Connection, Sec-WebSocket-Key/Version/Protocol/Extensions
 * missing, repeated or garbage; raw bytes; huge headers), random methods, and random first bytes after the
 * request (masked and unmasked frames, close frames, absurd lengths, noise).
 *
 * Each connection must be answered (an HTTP status line, 101 included, never a 5xx) or closed, never left
 * hanging, and the process must live on: after every run another person's grid and GraphQL subscription still
 * get their edit. Memory stays bounded. (The grid's own y-websocket frames are fuzzed in the collab suite.)
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMemoryBounded, memoryNow, rawExchange, REFUSAL_CLOSE_CODES } from '../testing/fuzzChecks.js';
import { FUZZ_SCALE, fuzzParams } from '../testing/fuzzBudget.js';
import { signInFresh } from '../testing/fuzzWorld.js';
import { hostileStrings } from '../testing/graphqlArbitraries.js';
import { startBystander, type Bystander } from '../testing/bystander.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { CloseCode } from '../../../schema/codes.js';

/** The property's time limit grows with its budget (npm run fuzz runs it FUZZ_SCALE times longer). */
const FUZZ_TIMEOUT = 120_000 * FUZZ_SCALE;

/** How long an edit may take to reach someone: a liveness bound for a loaded machine, not a measure. */
const LIVENESS_MS = 30_000;

/** Close codes an accepted upgrade may end with; a close frame without a code reads as NoStatusReceived. */
const UPGRADE_CLOSE_CODES = [...REFUSAL_CLOSE_CODES, CloseCode.NoStatusReceived];

/** Stand for a real token and a real grid document name; swapped in when the request is written. */
const VIEWER_TOKEN = '\u0001viewer-token';
const DOC = '\u0001doc';

interface UpgradeCase {
  method: string;
  target: string;
  /** Header lines as raw text (may hold any byte). */
  headers: string[];
  /** Bytes sent right after the request. */
  after: Uint8Array;
}

/** A websocket frame from the client: masked as RFC 6455 requires, or not (`mask` false). */
function frame(opcode: number, payload: Uint8Array, options: { mask?: boolean; fin?: boolean; claimedLength?: bigint } = {}): Uint8Array {
  const { mask = true, fin = true } = options;
  const length = options.claimedLength ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) head.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length) & 0xff);
  else {
    head.push(maskBit | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((length >> BigInt(8 * i)) & 0xffn));
  }
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constant(DOC) },
  { weight: 3, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%%', '%zz', '%00', '%2F', '%2e%2e', '%C0%AF', '%F0%9F%92%A9', '%ED%A0%80', 'budget:x:SALES_NORTH', 'budget%3Ax%3ASALES_NORTH', '..', '.', '//[', '[', ']', '@', '#frag', '\u00e9', '\u{1F9E8}', '\u0000', ' ', '\t') },
  { weight: 2, arbitrary: hostileStrings.map((s) => s.slice(0, 200)) },
  { weight: 1, arbitrary: fc.constantFrom(2_000, 9_000, 20_000).map((n) => 'a'.repeat(n)) },
);
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constant(`?token=${VIEWER_TOKEN}`) },
  { weight: 2, arbitrary: fc.constantFrom('?token=', '?token=%E0%A4%A', '?token=not.a.jwt', `?token=${VIEWER_TOKEN}&token=x`, '?', '??', '?token', `?token=${VIEWER_TOKEN}x`, '?%') },
);
const target = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('/yjs/', '/yjs/', '/yjs', '/yjs//', '/YJS/', '//yjs/', '/yjs/../graphql/', '/graphql', '/graphql', '/graphql/', '/graphql//'), segment, query).map(([p, s, q]) => `${p}${p.startsWith('/graphql') && s === DOC ? '' : s}${q}`) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('http://elsewhere.example', 'ws://127.0.0.1', 'https://h:99999', 'http://[', 'http://[::1]', 'HTTP://X', 'wss://'), fc.constantFrom('/yjs/', '/graphql'), segment).map(([h, p, s]) => `${h}${p}${s}`) },
  { weight: 1, arbitrary: fc.constantFrom('*', '127.0.0.1:80', '//[', '/', '', 'yjs/x', '\u00ff', '/\r/yjs', 'http://') },
);

/** The header lines of a right upgrade, by part (the subprotocol one for /graphql). */
const RIGHT = { host: 'Host: 127.0.0.1', upgrade: 'Upgrade: websocket', connection: 'Connection: Upgrade', key: 'KEY', version: 'Sec-WebSocket-Version: 13', protocol: 'Sec-WebSocket-Protocol: graphql-transport-ws', extensions: '' };

/**
 * Header lines: the ones a websocket upgrade needs, each kept, dropped, repeated or garbled, plus extras. Most
 * sets garble one part only, so that the rest of the upgrade (routing, tokens, documents) is reached too.
 */
const headerSet = fc
  .record({
    only: fc.constantFrom<(keyof typeof RIGHT | 'all' | 'none')[]>('host', 'upgrade', 'connection', 'key', 'version', 'protocol', 'extensions', 'none', 'none', 'all', 'all'),
    host: fc.constantFrom('Host: 127.0.0.1', 'Host: 127.0.0.1', '', 'Host: [', 'Host: a\u00e9', 'Host: 127.0.0.1\r\nHost: other'),
    upgrade: fc.constantFrom('Upgrade: websocket', 'Upgrade: websocket', 'Upgrade: websocket', '', 'Upgrade: WebSocket', 'Upgrade: h2c', 'Upgrade: websocket, h2c', 'Upgrade: websocket\r\nUpgrade: websocket', 'Upgrade:'),
    connection: fc.constantFrom('Connection: Upgrade', 'Connection: Upgrade', 'Connection: Upgrade', '', 'Connection: keep-alive, Upgrade', 'Connection: close', 'Connection: upgrade\r\nConnection: close', 'Connection: \u0000'),
    key: fc.oneof(
      { weight: 4, arbitrary: fc.constant('KEY') },
      { weight: 1, arbitrary: fc.constantFrom('', 'Sec-WebSocket-Key: short', 'Sec-WebSocket-Key: ', 'Sec-WebSocket-Key: KEYKEY', 'Sec-WebSocket-Key: KEY\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Key: \u00ff\u00fe') },
    ),
    version: fc.constantFrom('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 13', '', 'Sec-WebSocket-Version: 8', 'Sec-WebSocket-Version: 13, 8', 'Sec-WebSocket-Version: 99999999999999999999', 'Sec-WebSocket-Version: x'),
    protocol: fc.constantFrom('', '', 'Sec-WebSocket-Protocol: graphql-transport-ws', 'Sec-WebSocket-Protocol: graphql-transport-ws', 'Sec-WebSocket-Protocol: graphql-ws', 'Sec-WebSocket-Protocol: a,,b, ,', 'Sec-WebSocket-Protocol: graphql-transport-ws, graphql-transport-ws', 'Sec-WebSocket-Protocol: \u00e9'),
    extensions: fc.constantFrom('', '', '', 'Sec-WebSocket-Extensions: permessage-deflate', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99', 'Sec-WebSocket-Extensions: ;;=,"', 'Sec-WebSocket-Extensions: x-unknown'),
    extra: fc.array(
      fc.oneof(
        fc.constantFrom('Origin: https://evil.example', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Content-Length: -1', 'Expect: 100-continue', 'X-Forwarded-For: not-an-ip', 'Authorization: Bearer x', 'Cookie: a=b', ': empty-name', 'No-Colon', 'Bad Name: x', 'X-Nul: a\u0000b', 'X-Fold: a\r\n folded'),
        fc.constantFrom(9_000, 20_000).map((n) => `X-Padding: ${'p'.repeat(n)}`),
        hostileStrings.map((s) => `X-Fuzz: ${s.slice(0, 300).replace(/[\r\n]/g, ' ')}`),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ only, extra, ...parts }) => {
    const lines = (Object.keys(RIGHT) as (keyof typeof RIGHT)[]).map((part) => (only === 'all' || only === part ? parts[part] : RIGHT[part]));
    return [...lines, ...(only === 'none' ? [] : extra)].filter((line) => line !== '');
  });

const afterBytes = fc.oneof(
  { weight: 4, arbitrary: fc.constant(new Uint8Array()) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('{"type":"connection_init"}'), fc.constant('\u0000\u0000\u0001')).map((s) => frame(0x1, Buffer.from(s))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => frame(0x2, b)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => frame(0x2, b, { mask: false })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      frame(0x8, Buffer.from([0x03, 0xe8])),
      frame(0x8, Buffer.from([0x00])),
      frame(0x8, Buffer.from([0x0b, 0xb8, 0xff, 0xfe])),
      frame(0x9, Buffer.alloc(200)),
      frame(0x3, Buffer.from('x')),
      frame(0x1, Buffer.from('partial'), { fin: false }),
      frame(0x0, Buffer.from('continuation without a start')),
      frame(0x2, Buffer.from('x'), { claimedLength: 2n ** 63n - 1n }),
      frame(0x2, Buffer.from('x'), { claimedLength: 200_000n }),
      frame(0x1, Buffer.from([0xff, 0xfe, 0xfd])),
    ),
  },
);

const upgradeCase: fc.Arbitrary<UpgradeCase> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'get', 'CONNECT', 'GET  ', 'G\u00c9T'),
  target,
  headers: headerSet,
  after: afterBytes,
});

describe('websocket upgrades, fuzzed on raw TCP', () => {
  let server: TestServer;
  let port: number;
  let viewerToken: string;
  let docName: string;
  /** Someone else at work: the lead's grid and GraphQL subscription on SALES_NORTH. */
  let bystander: Bystander;
  let memoryBefore: ReturnType<typeof memoryNow>;
  const statuses = new Map<string, number>();

  /** The request as bytes, with the placeholders filled in. */
  function bytesOf(c: UpgradeCase): Buffer {
    const fill = (s: string) => s.replaceAll(VIEWER_TOKEN, viewerToken).replaceAll(DOC, encodeURIComponent(docName));
    const headers = c.headers.map((h) => (h === 'KEY' ? `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}` : h.replace('KEY', randomBytes(16).toString('base64'))));
    // Written as UTF-8: non-ASCII in the target or a header arrives as the raw bytes a client could send.
    return Buffer.concat([Buffer.from([`${c.method} ${fill(c.target)} HTTP/1.1`, ...headers.map(fill), '', ''].join('\r\n'), 'utf8'), Buffer.from(c.after)]);
  }

  const everyoneElseStillServed = (what: string) => bystander.stillServed(`upgrade fuzz: ${what}`, LIVENESS_MS);

  beforeAll(async () => {
    server = await startTestServer();
    port = Number(new URL(server.url).port);
    viewerToken = await signInFresh(server, 'viewer.marketing@example.com');
    bystander = await startBystander(server, await signInFresh(server, 'lead.sales-north@example.com'));
    const planId = bystander.planId;
    // The fuzzer's token reads MARKETING: its upgrades to that unit's document are accepted, read-only.
    docName = `budget:${planId}:MARKETING`;
    await everyoneElseStillServed('start');
    memoryBefore = memoryNow();
  });
  afterAll(async () => {
    if (process.env.FUZZ_REPORT) console.log(`upgrade fuzz: answers ${JSON.stringify([...statuses].sort())}`);
    await bystander?.close();
    await server?.stop();
  });

  it('answers or closes every upgrade, never with a 5xx, and keeps serving everyone else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(upgradeCase, { minLength: 1, maxLength: 3 }), async (cases) => {
        // Several at once, as a scanner sends them.
        const answers = await Promise.all(cases.map((c) => rawExchange(port, [bytesOf(c)])));
        answers.forEach((answer, i) => {
          const what = `${JSON.stringify(bytesOf(cases[i]).toString('latin1').slice(0, 600))}\n-> ${JSON.stringify(answer.bytes.toString('latin1').slice(0, 300))}`;
          const key = answer.status === 101 ? `101/${answer.closeCode ?? '-'}` : String(answer.status || (answer.bytes.length ? 'bytes' : 'closed'));
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          expect(answer.ended, `no answer and no close: ${what}`).toBe(true);
          if (answer.bytes.length > 0) expect(answer.status, `not an HTTP answer: ${what}`).toBeGreaterThan(0);
          expect(answer.status, what).toBeLessThan(500);
          if (answer.status === 101 && answer.closeCode !== undefined) expect(UPGRADE_CLOSE_CODES, what).toContain(answer.closeCode);
          expect(answer.bytes.toString('latin1'), what).not.toMatch(/\n\s+at |node_modules|Error: /);
        });
        await everyoneElseStillServed(JSON.stringify(cases.map((c) => `${c.method} ${c.target.slice(0, 80)}`)));
      }),
      { ...fuzzParams(20), endOnFailure: true },
    );
  }, FUZZ_TIMEOUT);

  it('kept its memory bounded', () => {
    expectMemoryBounded(memoryBefore, 'upgrade fuzz');
  });
});
