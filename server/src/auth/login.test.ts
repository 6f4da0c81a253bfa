/**
 * Password sign-in from the attacker's side, against the real server: every failure answers alike (so a
 * login never tells whether an account exists or is locked), repeated failures lock the account for the
 * address they came from (whatever the email's case, however fast they come), the lock lifts by itself, and
 * the sign-in log records every attempt. The per-address rate limit has tests of its own
 * (signInLimits.test.ts); here it is raised out of the way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../seed.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role } } }';
const WRONG = 'wrong-password-5b1e';

/** What a response says: everything a client could compare, minus source locations. */
function answer(res: GraphQLResponse) {
  return {
    status: res.status,
    data: res.data ?? null,
    errors: res.errors?.map((e) => ({ message: e.message, extensions: e.extensions, path: e.path })),
  };
}

function attempt(server: TestServer, email: string, password: string) {
  return server.gql(LOGIN, { e: email, p: password });
}

async function expectSignedIn(server: TestServer, email: string, password = DEMO_PASSWORD, as = email.trim().toLowerCase()) {
  const res = await attempt(server, email, password);
  expect(res.errors, `${email}: ${JSON.stringify(res.errors)}`).toBeUndefined();
  expect(res.data.login.user.email).toBe(as);
  const me = await server.gql('{ me { email } }', {}, res.data.login.token);
  expect(me.data.me.email).toBe(as);
}

describe('password sign-in: one answer for every failure, lockout', () => {
  const THRESHOLD = 3;
  let server: TestServer;
  /** The answer to a plain wrong password: every other failure must look exactly like it. */
  let reference: ReturnType<typeof answer>;

  beforeAll(async () => {
    // A lockout far longer than the test: "locked" never depends on how fast the machine is.
    server = await startTestServer({
      LOGIN_LOCKOUT_THRESHOLD: String(THRESHOLD),
      LOGIN_LOCKOUT_SECONDS: '3600',
      LOGIN_FAILURES_PER_MINUTE: '100000',
    });
    reference = answer(await attempt(server, 'analyst@example.com', WRONG));
    expect(reference.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(reference.data).toBeNull();
    await expectSignedIn(server, 'analyst@example.com'); // and clear its one failure
  });
  afterAll(() => server?.stop());

  it('answers an unknown email, a wrong password and malformed inputs alike', async () => {
    // An account that exists but has no password (signs in with Entra ID only).
    await server.sql(
      `INSERT INTO app_user (id, email, display_name, role) VALUES (gen_random_uuid(), 'entra.only@example.com', 'Entra Only', 'VIEWER')`,
    );
    const failures: [string, string, string][] = [
      ['unknown email', 'nobody@example.com', DEMO_PASSWORD],
      ['unknown email, another domain', 'admin@example.org', DEMO_PASSWORD],
      ['wrong password', 'lead.sales-north@example.com', WRONG],
      ['the password with a trailing space', 'lead.sales-north@example.com', 'plansync-demo '],
      ['password in another case', 'viewer.sales-north@example.com', DEMO_PASSWORD.toUpperCase()],
      ['empty password', 'viewer.sales-south@example.com', ''],
      ['empty email', '', DEMO_PASSWORD],
      ['blank email', '   ', DEMO_PASSWORD],
      ['account without a password', 'entra.only@example.com', ''],
      ['account without a password, some password', 'entra.only@example.com', DEMO_PASSWORD],
      ['overlong email', `${'a'.repeat(320)}@example.com`, DEMO_PASSWORD],
      ['overlong password', 'planner.finance@example.com', DEMO_PASSWORD + 'x'.repeat(1024)],
      ['overlong password of exactly the right prefix', 'planner.finance@example.com', DEMO_PASSWORD.padEnd(5000, DEMO_PASSWORD)],
      ['overlong both', 'z'.repeat(10_000), 'y'.repeat(10_000)],
      ['SQL in the email', "' OR 1=1 --", DEMO_PASSWORD],
      ['a wildcard email', '%@example.com', DEMO_PASSWORD],
    ];
    for (const [label, email, password] of failures) {
      expect(answer(await attempt(server, email, password)), label).toEqual(reference);
    }
  });

  it('locks an address after the threshold: the right password is then refused exactly like a wrong one', async () => {
    const email = 'planner.marketing@example.com';
    // Below the threshold, the right password works, and a success starts the count again.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < THRESHOLD - 1; i++) expect(answer(await attempt(server, email, WRONG))).toEqual(reference);
      await expectSignedIn(server, email);
    }
    // At the threshold, the address is locked.
    for (let i = 0; i < THRESHOLD; i++) expect(answer(await attempt(server, email, WRONG))).toEqual(reference);
    expect(answer(await attempt(server, email, DEMO_PASSWORD))).toEqual(reference);
    expect(answer(await attempt(server, email.toUpperCase(), DEMO_PASSWORD))).toEqual(reference);
    expect(answer(await attempt(server, `  ${email}  `, DEMO_PASSWORD))).toEqual(reference);
    expect(answer(await attempt(server, email, WRONG))).toEqual(reference);
    // The account's counter for this address (`expire`: ms since the epoch) is at the threshold, and current.
    const [row] = await server.sql(
      `SELECT t.points >= $2 AND t.expire > extract(epoch FROM now()) * 1000 AS locked
       FROM sign_in_limit t JOIN app_user u ON t.key LIKE 'account:' || u.id || '@%' WHERE u.email = $1`,
      [email, THRESHOLD],
    );
    expect(row).toEqual({ locked: true });
    // Only this address: the others still sign in.
    await expectSignedIn(server, 'lead.marketing@example.com');
  });

  it('locks an address whatever the case and spacing of the failed attempts', async () => {
    const email = 'viewer.operations@example.com';
    const variants = ['Viewer.Operations@Example.com', 'VIEWER.OPERATIONS@EXAMPLE.COM', ` ${email} `];
    for (const variant of variants.slice(0, THRESHOLD)) expect(answer(await attempt(server, variant, WRONG))).toEqual(reference);
    expect(answer(await attempt(server, email, DEMO_PASSWORD))).toEqual(reference);
  });

  it('a burst of concurrent guesses gets no more tries than the threshold', async () => {
    const email = 'lead.operations@example.com';
    const burst = await Promise.all(Array.from({ length: 8 * THRESHOLD }, () => attempt(server, email, WRONG)));
    for (const res of burst) expect(answer(res)).toEqual(reference);
    expect(answer(await attempt(server, email, DEMO_PASSWORD))).toEqual(reference);
    // A guess that was judged is logged with the account; one refused by the lock without it.
    const [judged] = await server.sql(
      `SELECT count(*) FILTER (WHERE user_id IS NOT NULL)::int AS judged, count(*)::int AS all
       FROM sign_in_event WHERE email = $1 AND NOT success`,
      [email],
    );
    expect(judged).toEqual({ judged: THRESHOLD, all: 8 * THRESHOLD + 1 });
  });

  it('a locked unknown address answers like a locked account and like a wrong password', async () => {
    for (let i = 0; i < THRESHOLD + 2; i++) {
      expect(answer(await attempt(server, 'ghost@example.com', WRONG))).toEqual(reference);
    }
    expect(answer(await attempt(server, 'ghost@example.com', DEMO_PASSWORD))).toEqual(reference);
  });

  it('treats the email case-insensitively and ignores surrounding spaces', async () => {
    for (const email of ['ADMIN@EXAMPLE.COM', 'Admin@Example.Com', '  admin@example.com\t', 'Lead.Sales-North@Example.com']) {
      await expectSignedIn(server, email);
    }
  });

  it('records every attempt in the sign-in log, which only admins read', async () => {
    const admin = await server.login('admin@example.com');
    await expectSignedIn(server, 'lead.finance@example.com');
    expect(answer(await attempt(server, 'Lead.Finance@Example.com', WRONG))).toEqual(reference);
    expect(answer(await attempt(server, 'Nobody.Here@Example.com', WRONG))).toEqual(reference);

    const res = await server.gql('{ signInEvents(first: 3) { email success method user { email } ip at } }', {}, admin);
    expect(res.errors).toBeUndefined();
    const events = res.data.signInEvents;
    expect(events.map(({ email, success, method, user }: any) => ({ email, success, method, user }))).toEqual([
      { email: 'nobody.here@example.com', success: false, method: 'PASSWORD', user: null },
      { email: 'lead.finance@example.com', success: false, method: 'PASSWORD', user: { email: 'lead.finance@example.com' } },
      { email: 'lead.finance@example.com', success: true, method: 'PASSWORD', user: { email: 'lead.finance@example.com' } },
    ]);
    for (const event of events) expect(Number.isNaN(Date.parse(event.at))).toBe(false);

    // Earlier attempts are all there: the failures of the lockout test, and the refusals while locked.
    const [counts] = await server.sql(
      `SELECT count(*) FILTER (WHERE success)::int AS successes, count(*) FILTER (WHERE NOT success)::int AS failures
       FROM sign_in_event WHERE email = 'planner.marketing@example.com'`,
    );
    expect(counts).toEqual({ successes: 2, failures: 2 * (THRESHOLD - 1) + THRESHOLD + 4 });

    // No password, right or wrong, is ever stored in the log or the throttles.
    const stored = await server.sql(
      `SELECT t::text AS row FROM sign_in_event t UNION ALL SELECT t::text FROM sign_in_limit t`,
    );
    for (const { row } of stored) {
      expect(row).not.toContain(WRONG);
      expect(row).not.toContain(DEMO_PASSWORD);
    }

    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example']) {
      const denied = await server.gql('{ signInEvents { email } }', {}, await server.login(email));
      expect(denied.errors?.[0]?.extensions?.code, email).toBe('FORBIDDEN');
      expect(denied.data ?? null).toBeNull();
    }
    expect((await server.gql('{ signInEvents { email } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('password sign-in: the lockout lifts by itself', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ LOGIN_LOCKOUT_THRESHOLD: '2', LOGIN_LOCKOUT_SECONDS: '1' });
  });
  afterAll(() => server?.stop());

  it('signs in with the right password once the lockout is over', async () => {
    const email = 'lead.sales-south@example.com';
    const reference = answer(await attempt(server, email, WRONG));
    expect(reference.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer(await attempt(server, email, WRONG))).toEqual(reference);
    const [lock] = await server.sql(
      `SELECT to_timestamp(t.expire / 1000.0) AS locked_until
       FROM sign_in_limit t JOIN app_user u ON t.key LIKE 'account:' || u.id || '@%' WHERE u.email = $1 AND t.points >= 2`,
      [email],
    );
    expect(lock.locked_until).toBeInstanceOf(Date);

    // Wait until the database's own clock says the lock is over (waiting, not measuring).
    for (;;) {
      const [{ over }] = await server.sql('SELECT $1::timestamptz <= now() AS over', [lock.locked_until]);
      if (over) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectSignedIn(server, email);
    expect(
      await server.sql(`SELECT t.* FROM sign_in_limit t JOIN app_user u ON t.key LIKE 'account:' || u.id || '@%' WHERE u.email = $1`, [email]),
    ).toEqual([]);
  });
});

describe('the sign-in log: filters, admins only', () => {
  const FILTERED = `query($first: Int, $email: String, $userId: ID, $success: Boolean, $method: SignInMethod, $since: DateTimeISO) {
    signInEvents(first: $first, email: $email, userId: $userId, success: $success, method: $method, since: $since) {
      id email success method user { id email } at
    }
  }`;
  type Event = { id: string; email: string; success: boolean; method: string; user: { id: string; email: string } | null; at: string };
  let server: TestServer;
  let admin: string;
  /** The whole log, newest first, as the filters must slice it. */
  let all: Event[];
  const ids = (events: Event[]) => events.map((e) => e.id);

  beforeAll(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_MINUTE: '100000' });
    await attempt(server, 'Analyst@Example.com', WRONG);
    await expectSignedIn(server, 'analyst@example.com');
    await attempt(server, 'lead.finance@example.com', WRONG);
    await attempt(server, 'nobody@example.com', WRONG);
    // A Microsoft sign-in is recorded by the OIDC callback (auth/entraSignIn.ts), which needs the fake
    // authority of entraSignIn.test.ts; that test filters its own ENTRA_ID rows. Here one row as the callback
    // writes it, so that `method` has something to tell apart.
    await server.sql(
      `INSERT INTO sign_in_event (email, user_id, method, success, ip)
       SELECT email, id, 'ENTRA_ID', true, '10.0.0.1' FROM app_user WHERE email = 'viewer.finance@example.com'`,
    );
    admin = await server.login('admin@example.com');
    const res = await server.gql<{ signInEvents: Event[] }>(FILTERED, { first: 1000 }, admin);
    expect(res.errors).toBeUndefined();
    all = res.data!.signInEvents;
    expect(all.length).toBeGreaterThanOrEqual(6);
  });
  afterAll(() => server?.stop());

  it('filters by email (exact, whatever the case), user, outcome, method and time, and by all of them at once', async () => {
    const query = async (variables: Record<string, unknown>) => {
      const res = await server.gql<{ signInEvents: Event[] }>(FILTERED, { first: 1000, ...variables }, admin);
      expect(res.errors, JSON.stringify(variables)).toBeUndefined();
      return res.data!.signInEvents;
    };
    const byEmail = await query({ email: ' ANALYST@example.COM ' });
    expect(ids(byEmail)).toEqual(ids(all.filter((e) => e.email === 'analyst@example.com')));
    expect(byEmail.map((e) => e.success)).toEqual([true, false]);
    // Exact: a prefix or a part of an address matches nothing.
    expect(await query({ email: 'analyst@example' })).toEqual([]);
    expect(await query({ email: 'nobody@example.com' })).toMatchObject([{ email: 'nobody@example.com', success: false, user: null }]);

    const analystId = byEmail[0].user!.id;
    expect(ids(await query({ userId: analystId }))).toEqual(ids(all.filter((e) => e.user?.id === analystId)));
    expect(await query({ userId: '00000000-0000-4000-8000-000000000000' })).toEqual([]);
    expect(await query({ userId: 'not-an-id' })).toEqual([]);

    const failures = await query({ success: false });
    expect(ids(failures)).toEqual(ids(all.filter((e) => !e.success)));
    expect(failures.map((e) => e.email).sort()).toEqual(['analyst@example.com', 'lead.finance@example.com', 'nobody@example.com']);
    expect(ids(await query({ success: true }))).toEqual(ids(all.filter((e) => e.success)));

    expect(await query({ method: 'ENTRA_ID' })).toMatchObject([{ email: 'viewer.finance@example.com', success: true, method: 'ENTRA_ID' }]);
    expect(ids(await query({ method: 'PASSWORD' }))).toEqual(ids(all.filter((e) => e.method === 'PASSWORD')));

    // `since` includes that instant: from the third-newest attempt's time on.
    const pivot = all[2];
    const since = await query({ since: pivot.at });
    expect(ids(since)).toEqual(ids(all.filter((e) => Date.parse(e.at) >= Date.parse(pivot.at))));
    expect(ids(since)).toContain(pivot.id);
    expect(await query({ since: new Date(Date.parse(all[0].at) + 60_000).toISOString() })).toEqual([]);

    const combined = await query({ email: 'analyst@example.com', success: false, method: 'PASSWORD', userId: analystId, since: all.at(-1)!.at });
    expect(combined).toHaveLength(1);
    expect(combined[0]).toMatchObject({ email: 'analyst@example.com', success: false, method: 'PASSWORD' });
    expect(await query({ email: 'analyst@example.com', method: 'ENTRA_ID' })).toEqual([]);

    // `first` still limits what the filters leave, newest first.
    expect(ids(await query({ first: 1, success: false }))).toEqual(ids(failures.slice(0, 1)));
  });

  it('refuses a bad page size, an unknown method and a malformed time', async () => {
    expect((await server.gql(FILTERED, { first: 0 }, admin)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await server.gql(FILTERED, { first: 5000, success: false }, admin)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const method = await server.gql(FILTERED, { method: 'CARRIER_PIGEON' }, admin);
    expect(method.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(method.data ?? null).toBeNull();
    const since = await server.gql(FILTERED, { since: 'yesterday' }, admin);
    expect(since.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(since.data ?? null).toBeNull();
  });

  it('answers, filtered or not, to admins only', async () => {
    const filters = [{}, { email: 'admin@example.com' }, { success: false }, { method: 'PASSWORD' }, { since: all.at(-1)!.at }, { userId: all[0].user?.id }];
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'planner.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example']) {
      const token = await server.login(email);
      for (const variables of filters) {
        const denied = await server.gql(FILTERED, variables, token);
        expect(denied.errors?.[0]?.extensions?.code, `${email} ${JSON.stringify(variables)}`).toBe('FORBIDDEN');
        expect(denied.data ?? null).toBeNull();
      }
    }
    for (const variables of filters) {
      expect((await server.gql(FILTERED, variables)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
