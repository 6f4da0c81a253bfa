/**
 * Sign-in limits from the attacker's side, with the defaults users run (LOGIN_FAILURES_PER_MINUTE 30,
 * LOGIN_LOCKOUT_THRESHOLD 5): a flood of made-up emails from one address is refused before any password is
 * hashed, concurrent guesses never get past the limits, nobody can lock a person out of their account from
 * another address, and made-up emails leave no row behind. Addresses are told apart as the server is told
 * them behind a proxy on loopback: X-Forwarded-For. The limits live in PostgreSQL: another instance (or a
 * restarted one) on the same database knows them.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlansync } from '../app.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../log.js';
import { DEMO_PASSWORD } from '../seed.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { hashingStats } from './passwords.js';

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }';
const DEFAULT_LIMIT = 30;
const DEFAULT_THRESHOLD = 5;

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | undefined;
  token: string | undefined;
}

/** A sign-in as a browser behind the proxy at `address` would send it, with what the caller sees of the answer. */
async function signIn(server: Pick<TestServer, 'url'>, address: string, email: string, password: string): Promise<Answer> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ query: LOGIN, variables: { e: email, p: password } }),
  });
  const body = (await res.json()) as { data?: { login?: { token: string } }; errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), code: body.errors?.[0]?.extensions?.code, token: body.data?.login?.token };
}

/** The message a refused sign-in from `address` shows (the sign-in page shows it as it is). */
async function refusalMessage(server: TestServer, address: string): Promise<string> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ query: LOGIN, variables: { e: 'any@example.com', p: 'x' } }),
  });
  const body = (await res.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  expect(body.errors?.[0]?.extensions).not.toHaveProperty('http');
  return body.errors![0].message;
}

function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.code ?? 'OK'] = (counts[a.code ?? 'OK'] ?? 0) + 1;
  return counts;
}

/** Another instance of Plansync on `server`'s database, as a second replica or a restarted process would be. */
async function anotherInstance(server: TestServer): Promise<{ url: string; stop(): Promise<void> }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: server.databaseUrl, LOG_LEVEL: 'silent' });
  const app = await startPlansync(config, createLogger(config.logLevel));
  return {
    url: app.url,
    async stop() {
      await app.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('sign-in limits, with the defaults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('refuses a flood of made-up emails from one address before hashing, and leaves no row per email', async () => {
    const attacker = '203.0.113.10';
    // The decoy hash (checked against for unknown emails) is made on first use: made now, it is not counted below.
    expect((await signIn(server, '198.51.100.9', 'warm.up@example.com', 'guess-1234')).code).toBe('UNAUTHENTICATED');
    const hashedBefore = hashingStats().started;
    const flood = await Promise.all(
      Array.from({ length: 4 * DEFAULT_LIMIT }, (_, i) => signIn(server, attacker, `made.up.${i}@example.com`, 'guess-1234')),
    );
    // Exactly the limit got as far as a password check (concurrent guesses cannot exceed it); the rest were
    // refused with 429 and a Retry-After, before any argon2 work.
    expect(tally(flood)).toEqual({ UNAUTHENTICATED: DEFAULT_LIMIT, RATE_LIMITED: 3 * DEFAULT_LIMIT });
    expect(hashingStats().started - hashedBefore).toBe(DEFAULT_LIMIT);
    for (const refused of flood.filter((a) => a.code === 'RATE_LIMITED')) {
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    }
    expect(await refusalMessage(server, attacker)).toMatch(/^Too many failed sign-ins from your address: try again in \d+ s$/);
    // Later guesses are refused too, even with a real account's right password, until the minute is over.
    expect((await signIn(server, attacker, 'admin@example.com', DEMO_PASSWORD)).code).toBe('RATE_LIMITED');

    // Made-up emails write no lockout rows; the address has one window row, over the limit (the library counts
    // the refusals that reached PostgreSQL too, so not exactly limit + 1); the log holds only what was judged.
    expect(await server.sql(`SELECT * FROM sign_in_limit WHERE key LIKE 'account:%@' || $1`, [attacker])).toEqual([]);
    expect(await server.sql(`SELECT key, points > $2 AS over FROM sign_in_limit WHERE key LIKE '%' || $1`, [attacker, DEFAULT_LIMIT])).toEqual([
      { key: `address:${attacker}`, over: true },
    ]);
    const [{ logged }] = await server.sql(`SELECT count(*)::int AS logged FROM sign_in_event WHERE ip = $1`, [attacker]);
    expect(logged).toBe(DEFAULT_LIMIT);

    // Operators see it on /metrics.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const refused = Number(/^plansync_sign_in_attempts_total\{outcome="rate_limited"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(refused).toBeGreaterThanOrEqual(3 * DEFAULT_LIMIT);
    expect(metrics).toMatch(/^plansync_password_checks\{state="running"\} \d+$/m);

    // A real person from another address signs in meanwhile.
    const real = await signIn(server, '198.51.100.20', 'lead.marketing@example.com', DEMO_PASSWORD);
    expect(real).toMatchObject({ status: 200, code: undefined });
    expect(real.token).toBeTruthy();
  });

  it('counts an IPv6 /64 as one address: a fresh address per guess gets no fresh limit', async () => {
    const guesses = await Promise.all(
      Array.from({ length: 2 * DEFAULT_LIMIT }, (_, i) => signIn(server, `2001:db8:77:1:${i.toString(16)}::1`, `v6.${i}@example.com`, 'guess-1234')),
    );
    expect(tally(guesses)).toEqual({ UNAUTHENTICATED: DEFAULT_LIMIT, RATE_LIMITED: DEFAULT_LIMIT });
    // Another /64 is another address.
    expect((await signIn(server, '2001:db8:77:2::1', 'admin@example.com', DEMO_PASSWORD)).code).toBeUndefined();
  });

  it('does not hold back an office signing in together from one address: successes do not count', async () => {
    const office = '192.0.2.30';
    const people = ['admin@example.com', 'analyst@example.com', 'lead.sales-north@example.com', 'planner.sales-north@example.com',
      'viewer.sales-north@example.com', 'lead.finance@example.com', 'planner.finance@example.com', 'viewer.finance@example.com'];
    // Everyone signs in several times over (new tabs, expired tokens): far more sign-ins than the limit.
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(people.map((email) => signIn(server, office, email, DEMO_PASSWORD)));
      expect(tally(answers)).toEqual({ OK: people.length });
    }
    // A few typos among them are fine too.
    for (let i = 0; i < 3; i++) expect((await signIn(server, office, 'viewer.finance@example.com', 'typo')).code).toBe('UNAUTHENTICATED');
    expect((await signIn(server, office, 'viewer.finance@example.com', DEMO_PASSWORD)).code).toBeUndefined();
    // Only the typos count against the address.
    expect(await server.sql(`SELECT points AS failures FROM sign_in_limit WHERE key = 'address:' || $1`, [office])).toEqual([{ failures: 3 }]);
  });

  it('a stranger cannot lock a person out of their account from another address', async () => {
    const stranger = '203.0.113.40';
    const victim = 'planner.operations@example.com';
    const guesses = await Promise.all(Array.from({ length: 4 * DEFAULT_THRESHOLD }, () => signIn(server, stranger, victim, 'not-it-1234')));
    expect(tally(guesses)).toEqual({ UNAUTHENTICATED: 4 * DEFAULT_THRESHOLD });
    // Of the concurrent guesses, only the threshold's worth were judged; the account is locked for the stranger,
    // even with the right password...
    const [{ judged }] = await server.sql(
      `SELECT count(*)::int AS judged FROM sign_in_event WHERE email = $1 AND ip = $2 AND user_id IS NOT NULL`,
      [victim, stranger],
    );
    expect(judged).toBe(DEFAULT_THRESHOLD);
    expect((await signIn(server, stranger, victim, DEMO_PASSWORD)).code).toBe('UNAUTHENTICATED');
    // ...and not for its owner, from their own address.
    const owner = await signIn(server, '198.51.100.41', victim, DEMO_PASSWORD);
    expect(owner.code).toBeUndefined();
    expect(owner.token).toBeTruthy();
  });

  it('an account locked and an address refused by one instance are so on another, as after a restart', async () => {
    const guesser = '203.0.113.80';
    const flooder = '203.0.113.81';
    const victim = 'lead.sales-south@example.com';
    for (let i = 0; i < DEFAULT_THRESHOLD; i++) expect((await signIn(server, guesser, victim, 'not-it-1234')).code).toBe('UNAUTHENTICATED');
    const flood = await Promise.all(
      Array.from({ length: DEFAULT_LIMIT + 1 }, (_, i) => signIn(server, flooder, `made.up.${i}@example.com`, 'guess-1234')),
    );
    expect(tally(flood)).toEqual({ UNAUTHENTICATED: DEFAULT_LIMIT, RATE_LIMITED: 1 });

    // A process that saw none of it knows both: the lock refuses the right password, the window any attempt.
    const other = await anotherInstance(server);
    try {
      expect((await signIn(other, guesser, victim, DEMO_PASSWORD)).code).toBe('UNAUTHENTICATED');
      const refused = await signIn(other, flooder, 'admin@example.com', DEMO_PASSWORD);
      expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
      // The owner, from their own address, signs in there.
      expect((await signIn(other, '198.51.100.82', victim, DEMO_PASSWORD)).code).toBeUndefined();
    } finally {
      await other.stop();
    }
    // And the first instance still refuses both.
    expect((await signIn(server, guesser, victim, DEMO_PASSWORD)).code).toBe('UNAUTHENTICATED');
    expect((await signIn(server, flooder, 'admin@example.com', DEMO_PASSWORD)).code).toBe('RATE_LIMITED');
  });
});

describe('argon2 work under a flood from many addresses', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('hashes at most two passwords at a time, queues a bounded line, and a real person still signs in', async () => {
    // 300 addresses, one guess each: no per-address limit applies, only the bound on argon2 work.
    const flood = await Promise.all(
      Array.from({ length: 300 }, (_, i) => signIn(server, `10.${(i >> 8) & 255}.${i & 255}.7`, `spray.${i}@example.com`, 'guess-1234')),
    );
    const counts = tally(flood);
    expect((counts.UNAUTHENTICATED ?? 0) + (counts.RATE_LIMITED ?? 0)).toBe(300);
    for (const busy of flood.filter((a) => a.code === 'RATE_LIMITED')) expect([busy.status, busy.retryAfter]).toEqual([429, '1']);
    const stats = hashingStats();
    expect(stats.peakRunning).toBeLessThanOrEqual(2);
    expect(stats.peakWaiting).toBeLessThanOrEqual(64);
    // Nothing is left running or waiting, and a real sign-in goes through.
    expect([stats.running, stats.waiting]).toEqual([0, 0]);
    const real = await signIn(server, '198.51.100.70', 'planner.marketing@example.com', DEMO_PASSWORD);
    expect(real.code).toBeUndefined();
  });
});

describe('sign-in limits over the GraphQL websocket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('counts guesses sent as login mutations over a socket against the address the socket came from', async () => {
    const attacker = '203.0.113.60';
    const token = await server.login('viewer.finance@example.com');
    const socket = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws', {
      headers: { 'x-forwarded-for': attacker },
    });
    const results = new Map<string, string>();
    let acked!: () => void;
    const ack = new Promise<void>((resolve) => (acked = resolve));
    const waiters: (() => void)[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') acked();
      if (message.type === 'next') results.set(message.id, message.payload.errors?.[0]?.extensions?.code ?? 'OK');
      if (message.type === 'error') results.set(message.id, `error ${JSON.stringify(message.payload)}`);
      waiters.splice(0).forEach((w) => w());
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await ack;
    // Twice the limit, in two bursts of concurrent operations, each under the cap of operations per socket.
    for (const burst of [0, 1]) {
      for (let i = burst * DEFAULT_LIMIT; i < (burst + 1) * DEFAULT_LIMIT; i++) {
        socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: LOGIN, variables: { e: `ws.guess.${i}@example.com`, p: 'guess-1234' } } }));
      }
      while (results.size < (burst + 1) * DEFAULT_LIMIT) await new Promise<void>((resolve) => waiters.push(resolve));
    }
    socket.close();
    expect(tally([...results.values()].map((code) => ({ code: code === 'OK' ? undefined : code }) as Answer))).toEqual({
      UNAUTHENTICATED: DEFAULT_LIMIT,
      RATE_LIMITED: DEFAULT_LIMIT,
    });
    // The same window as the address's HTTP sign-ins; other addresses are not concerned.
    expect((await signIn(server, attacker, 'admin@example.com', DEMO_PASSWORD)).code).toBe('RATE_LIMITED');
    expect((await signIn(server, '198.51.100.61', 'admin@example.com', DEMO_PASSWORD)).code).toBeUndefined();
  });
});

describe('sign-in rows are cleaned up', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('deletes old windows, locks, log entries and ended tokens', async () => {
    const [{ id: userId }] = await server.sql(`SELECT id FROM app_user WHERE email = 'admin@example.com'`);
    // A window over two hours ago, and a lock over two days ago (`expire` is in ms since the epoch).
    await server.sql(
      `INSERT INTO sign_in_limit (key, points, expire)
       VALUES ('address:203.0.113.50', 30, (extract(epoch FROM now() - interval '2 hours') * 1000)::bigint)`,
    );
    await server.sql(
      `INSERT INTO sign_in_limit (key, points, expire)
       VALUES ('account:' || $1 || '@203.0.113.50', 3, (extract(epoch FROM now() - interval '2 days') * 1000)::bigint)`,
      [userId],
    );
    await server.sql(`INSERT INTO sign_in_event (email, method, success, at) VALUES ('old@example.com', 'PASSWORD', false, now() - interval '100 days')`);
    await server.sql(`INSERT INTO revoked_token (token_id, user_id, expires_at) VALUES ('gone', $1, now() - interval '1 minute')`, [userId]);
    // What is still current stays.
    await server.sql(`INSERT INTO revoked_token (token_id, user_id, expires_at) VALUES ('current', $1, now() + interval '1 hour')`, [userId]);

    // Cleaning happens on sign-in attempts (now and then; the first one of a process does).
    await signIn(server, '198.51.100.51', 'admin@example.com', DEMO_PASSWORD);
    await expect
      .poll(async () => (await server.sql(
        `SELECT (SELECT count(*) FROM sign_in_limit WHERE key LIKE '%203.0.113.50')::int
              + (SELECT count(*) FROM sign_in_event WHERE email = 'old@example.com')::int
              + (SELECT count(*) FROM revoked_token WHERE token_id = 'gone')::int AS left`,
      ))[0].left)
      .toBe(0);
    expect(await server.sql(`SELECT token_id FROM revoked_token`)).toEqual([{ token_id: 'current' }]);
  });
});
