/**
 * The contract's request limit (RATE_LIMIT_PER_MINUTE) against real servers: at the default, the 1201st
 * request of a person in a minute is refused with 429, Retry-After and RATE_LIMITED while another person and
 * another address go on; with a lower limit, the same for an access token (its owner's sign-in and other
 * tokens go on) and for an unauthenticated address, on GET and POST and on
 * the other API routes (their JSON shape), never on /healthz, /readyz, /metrics or the web client; two
 * instances sharing the local Redis share the limit; with Redis set but absent, requests are let through.
 * Addresses are told apart as behind a proxy on loopback: X-Forwarded-For.
 *
 * The sign-in limit (LOGIN_FAILURES_PER_MINUTE, failures only, checked before any password is hashed) is
 * auth/signInLimits.ts's, proved in auth/signInLimits.test.ts: a flood of failures from one address is refused
 * with RATE_LIMITED after 30 (the hash counter says no password was hashed for the refused ones), and an office
 * of people signing in from one address is never held back.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlansync } from '../app.js';
import { loadConfig } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createLogger } from '../log.js';
import { DEMO_PASSWORD } from '../seed.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { LOCAL_REDIS_URL, redisReachable, testRedisPrefix } from '../testing/instances.js';
import { rateLimitKey } from './rateLimits.js';

const DEFAULT_LIMIT = 1200;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
}

interface Caller {
  token?: string;
  address?: string;
}

function headersOf({ token, address }: Caller): Record<string, string> {
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(address ? { 'x-forwarded-for': address } : {}) };
}

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (the web client's page)
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

/** A small query by POST, as the web client sends it. */
async function post(url: string, caller: Caller, query = '{ __typename }'): Promise<Answer> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headersOf(caller) },
    body: JSON.stringify({ query }),
  });
  return answerOf(res);
}

/** A small query by GET, as Power Query sends it. */
async function get(url: string, caller: Caller, target = `/graphql?query=${encodeURIComponent('{ __typename }')}`): Promise<Answer> {
  return answerOf(await fetch(`${url}${target}`, { headers: headersOf(caller) }));
}

/** `count` requests, `parallel` at a time, in order of sending; their statuses. */
async function flood(count: number, send: () => Promise<Answer>, parallel = 25): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < count; sent += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, count - sent) }, send));
    statuses.push(...batch.map((a) => a.status));
  }
  return statuses;
}

function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** A GraphQL refusal for the rate limit: 429, Retry-After in whole seconds (1..60), the contract's code. */
function expectGraphQLRefusal(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter)).toBeLessThanOrEqual(60);
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors[0].extensions.code).toBe(ErrorCode.RATE_LIMITED);
  expect(answer.body.errors[0].message).toMatch(/Too many requests: try again in \d+ s/);
  expect(answer.body.data).toBeUndefined();
}

/** Signs someone in from their own address (sign-ins count against the address, not against the limits tested). */
async function signIn(url: string, email: string, address: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', variables: { e: email, p: DEMO_PASSWORD } }),
  });
  const body = (await res.json()) as { data?: { login?: { token: string } } };
  if (!body.data?.login) throw new Error(`sign-in of ${email} failed: ${JSON.stringify(body)}`);
  return body.data.login.token;
}

/** Another Plansync on `server`'s database, with its own limiter: another replica behind the proxy. */
async function anotherInstance(server: TestServer, env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: server.databaseUrl, LOG_LEVEL: 'silent', ...env });
  const app = await startPlansync(config, createLogger(config.logLevel));
  return {
    url: app.url,
    async stop() {
      await app.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('the request limit at its default (1200 a minute)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("refuses a person's 1201st request in a minute, by POST and by GET, and nobody else's", async () => {
    const analyst = await signIn(server.url, 'analyst@example.com', '198.51.100.1');
    const admin = await signIn(server.url, 'admin@example.com', '198.51.100.2');
    // From ever-changing addresses: a person is counted as a person, wherever they are.
    let n = 0;
    const statuses = await flood(DEFAULT_LIMIT, () => post(server.url, { token: analyst, address: `203.0.113.${n++ % 250}` }));
    expect(tally(statuses)).toEqual({ 200: DEFAULT_LIMIT });

    const refused = await post(server.url, { token: analyst, address: '203.0.113.251' });
    expectGraphQLRefusal(refused);
    expect(refused.body.errors[0].extensions.retryAfter).toBe(Number(refused.retryAfter));
    // By GET too, and a sign-in token issued again is the same person.
    expectGraphQLRefusal(await get(server.url, { token: analyst }));
    const again = await signIn(server.url, 'analyst@example.com', '198.51.100.3');
    expectGraphQLRefusal(await post(server.url, { token: again }));

    // Another person, and nobody from another address (or from the addresses the analyst used), go on.
    expect((await post(server.url, { token: admin }, '{ me { email } }')).body.data.me.email).toBe('admin@example.com');
    expect((await get(server.url, { token: admin })).status).toBe(200);
    expect((await post(server.url, { address: '192.0.2.77' })).status).toBe(200);
    expect((await post(server.url, { address: '203.0.113.1' })).status).toBe(200);
  });
});

describe('the request limit for an unauthenticated address (RATE_LIMIT_PER_MINUTE=20)', () => {
  const LIMIT = 20;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses the address beyond the limit on GET and POST, with RATE_LIMITED, and no other address', async () => {
    const address = '192.0.2.10';
    let i = 0;
    const statuses = await flood(LIMIT, () => (i++ % 2 ? post(server.url, { address }) : get(server.url, { address })), 5);
    expect(tally(statuses)).toEqual({ 200: LIMIT });
    expectGraphQLRefusal(await post(server.url, { address }));
    expectGraphQLRefusal(await get(server.url, { address }));
    // A made-up token is no token: counted against the address, not given a budget of its own.
    expectGraphQLRefusal(await post(server.url, { address, token: 'made-up' }));
    expectGraphQLRefusal(await post(server.url, { address, token: 'pst_madeup' }));
    // A sign-in from there is refused too, before its password is looked at.
    const login = await post(server.url, { address }, `mutation { login(email: "admin@example.com", password: "${DEMO_PASSWORD}") { token } }`);
    expectGraphQLRefusal(login);

    // Another address, and the same network's IPv6 neighbour of another /64, go on.
    expect((await post(server.url, { address: '192.0.2.11' })).status).toBe(200);
    expect((await get(server.url, { address: '2001:db8:1::1' })).status).toBe(200);
  });

  it("counts an access token by itself: its 21st request is refused, its owner's sign-in and other token go on", async () => {
    const signedIn = await signIn(server.url, 'analyst@example.com', '198.51.100.20');
    const make = async (name: string) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${signedIn}` },
        body: JSON.stringify({ query: 'mutation($n: String!) { createAccessToken(name: $n, scopes: [READ]) { token } }', variables: { n: name } }),
      });
      const body = (await res.json()) as { data?: { createAccessToken?: { token: string } }; errors?: unknown };
      if (!body.data?.createAccessToken) throw new Error(`createAccessToken failed: ${JSON.stringify(body)}`);
      return body.data.createAccessToken.token;
    };
    const script = await make('rate-limit script');
    const other = await make('rate-limit other script');
    expect(script).toMatch(/^pst_/);
    // By GET, as Power Query would, from one address after another.
    let n = 0;
    const statuses = await flood(LIMIT, () => get(server.url, { token: script, address: `203.0.113.${n++}` }), 5);
    expect(tally(statuses)).toEqual({ 200: LIMIT });
    expectGraphQLRefusal(await get(server.url, { token: script }));
    expectGraphQLRefusal(await post(server.url, { token: script }));
    expect((await post(server.url, { token: other }, '{ me { email } }')).body.data.me.email).toBe('analyst@example.com');
    expect((await post(server.url, { token: signedIn }, '{ me { email } }')).body.data.me.email).toBe('analyst@example.com');
  });

  it('counts an IPv6 /64 as one address', async () => {
    let n = 1;
    const statuses = await flood(LIMIT, () => post(server.url, { address: `2001:db8:2::${(n++).toString(16)}` }), 5);
    expect(tally(statuses)).toEqual({ 200: LIMIT });
    expectGraphQLRefusal(await post(server.url, { address: '2001:db8:2::ffff' }));
  });

  it("answers the other API routes' refusals as JSON errors, and never limits health, metrics or the web client", async () => {
    const address = '192.0.2.20';
    await flood(LIMIT, () => post(server.url, { address }), 5);
    for (const target of ['/odata/', '/export/budget-lines.csv?planId=x', '/import/budget-lines']) {
      const answer = await get(server.url, { address }, target);
      expect([target, answer.status, answer.retryAfter !== null]).toEqual([target, 429, true]);
      expect(answer.body, target).toEqual({ error: { code: ErrorCode.RATE_LIMITED, message: expect.stringMatching(/Too many requests/) } });
    }
    for (const target of ['/healthz', '/readyz', '/', '/plans']) {
      const answer = await get(server.url, { address }, target);
      expect([target, answer.status]).toEqual([target, 200]);
    }
    // /metrics answers only loopback (or its token) and nobody else, limited or not: never 429.
    expect((await get(server.url, { address }, '/metrics')).status).toBe(404);
  });
});

describe('rateLimitKey', () => {
  const viewer = { userId: 'u1', email: 'a@example.com', role: 'ANALYST' as const, unitIds: new Set<string>(), organizationId: null, expiresAt: 0 };
  it('counts an access token by its id, anyone else signed in as the person, nobody by address', () => {
    expect(rateLimitKey({ ...viewer, tokenId: 't1', tokenScopes: ['READ'] }, '192.0.2.1')).toBe('token:t1');
    expect(rateLimitKey({ ...viewer, tokenId: 'jti-1' }, '192.0.2.1')).toBe('person:u1');
    expect(rateLimitKey(null, '192.0.2.1')).toBe('address:192.0.2.1');
    expect(rateLimitKey(null, '::ffff:192.0.2.1')).toBe('address:192.0.2.1');
    expect(rateLimitKey(null, '2001:db8::1')).toBe('address:2001:db8:0:0::/64');
  });
});

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) console.warn(`[rateLimits.test] two-instance case SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}.`);

describe.skipIf(!reachable)('the request limit across two instances sharing Redis', () => {
  const LIMIT = 20;
  let a: TestServer;
  let b: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    const env = { RATE_LIMIT_PER_MINUTE: String(LIMIT), REDIS_URL: LOCAL_REDIS_URL, REDIS_PREFIX: testRedisPrefix() };
    a = await startTestServer(env);
    b = await anotherInstance(a, env);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('holds the limit whichever instance a request reaches', async () => {
    const address = '192.0.2.30';
    let i = 0;
    const statuses = await flood(LIMIT, () => post(i++ % 2 ? a.url : b.url, { address }), 4);
    expect(tally(statuses)).toEqual({ 200: LIMIT });
    expectGraphQLRefusal(await post(a.url, { address }));
    expectGraphQLRefusal(await post(b.url, { address }));
    expect((await post(b.url, { address: '192.0.2.31' })).status).toBe(200);
  });
});

describe('the request limit with Redis set but not answering', () => {
  let database: TestServer;
  let server: Awaited<ReturnType<typeof startPlansync>>;
  let dataDir: string;
  const logged: { level: number; msg: string; component?: string }[] = [];
  beforeAll(async () => {
    database = await startTestServer();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-'));
    // Port 1: nothing listens, the connection is refused at once (and retried in the background).
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: database.databaseUrl, LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '3', REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: testRedisPrefix(),
    });
    const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    server = await startPlansync(config, log);
  });
  afterAll(async () => {
    await server?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
    await database?.stop();
  });

  it('lets requests through uncounted rather than refuse everyone, and says so once', async () => {
    const statuses = await flood(20, () => post(server.url, { address: '192.0.2.40' }), 5);
    expect(tally(statuses)).toEqual({ 200: 20 });
    const readiness = await get(server.url, {}, '/readyz');
    expect(readiness.body).toMatchObject({ status: 'ready', redis: 'down' });
    const said = logged.filter((entry) => entry.component === 'rate-limits');
    expect(said.map((entry) => entry.msg)).toEqual(['rate limits cannot be counted in Redis: requests are let through uncounted until it answers again']);
  });
});
