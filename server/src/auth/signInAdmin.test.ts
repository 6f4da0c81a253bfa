/**
 * What the sign-in page of the admin shows besides the log: failed attempts per address typed
 * (`failedSignIns`) and the accounts locked now (`lockedUsers`), against the real server and its real limits.
 * The test client is the trusted proxy (TRUST_PROXY defaults to loopback), so X-Forwarded-For names the address
 * each attempt comes from: a lock holds per account and address, and an account may be locked from several.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../seed.js';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }';
const WRONG = 'wrong-password-7c2d';
const FAILED = `query($since: DateTimeISO, $first: Int) {
  failedSignIns(since: $since, first: $first) { email user { id email } failures addresses lastAt }
}`;
const LOCKED = '{ lockedUsers { user { id email lockedUntil } lockedUntil addresses } }';
const WAITING = '{ usersAwaitingAccess { id email } }';
const OFFICE = '203.0.113.5';
const ELSEWHERE = '2001:db8::1';

describe('failed sign-ins, the accounts locked now, the people waiting for access', () => {
  let server: TestServer;
  let admin: string;

  /** A sign-in attempt as if from `address`, through the trusted proxy that the test client is. */
  async function attemptFrom(address: string, email: string, password: string): Promise<GraphQLResponse> {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      body: JSON.stringify({ query: LOGIN, variables: { e: email, p: password } }),
    });
    return { ...((await res.json()) as GraphQLResponse), status: res.status };
  }

  beforeAll(async () => {
    server = await startTestServer({ LOGIN_LOCKOUT_THRESHOLD: '2', LOGIN_LOCKOUT_SECONDS: '3600', LOGIN_FAILURES_PER_MINUTE: '100000' });
    admin = await server.login('admin@example.com');
    for (let i = 0; i < 3; i++) expect(errorCode(await attemptFrom(OFFICE, 'nobody@example.com', WRONG))).toBe('UNAUTHENTICATED');
    // Two failures in a row lock lead.finance for the office, then for the other network too.
    for (const address of [OFFICE, ELSEWHERE]) {
      for (let i = 0; i < 2; i++) expect(errorCode(await attemptFrom(address, 'Lead.Finance@example.com', WRONG))).toBe('UNAUTHENTICATED');
    }
    expect(errorCode(await attemptFrom(OFFICE, 'lead.finance@example.com', DEMO_PASSWORD))).toBe('UNAUTHENTICATED');
    expect(errorCode(await attemptFrom(OFFICE, 'viewer.finance@example.com', WRONG))).toBe('UNAUTHENTICATED');
  });
  afterAll(() => server?.stop());

  it('adds up the failed attempts per address typed, the most first, with the account when there is one', async () => {
    const res = await server.gql(FAILED, {}, admin);
    expect(res.errors).toBeUndefined();
    const ids = Object.fromEntries(
      (await server.sql(`SELECT email, id FROM app_user WHERE email IN ('lead.finance@example.com', 'viewer.finance@example.com')`)).map((r) => [r.email, r.id]),
    );
    const rows = res.data.failedSignIns;
    // lead.finance: 2 + 2 failures, and the right password refused while locked counts as one too.
    expect(rows.map(({ lastAt, ...rest }: any) => rest)).toEqual([
      { email: 'lead.finance@example.com', user: { id: ids['lead.finance@example.com'], email: 'lead.finance@example.com' }, failures: 5, addresses: 2 },
      { email: 'nobody@example.com', user: null, failures: 3, addresses: 1 },
      { email: 'viewer.finance@example.com', user: { id: ids['viewer.finance@example.com'], email: 'viewer.finance@example.com' }, failures: 1, addresses: 1 },
    ]);
    const [stored] = await server.sql(`SELECT max(at) AS at FROM sign_in_event WHERE email = 'viewer.finance@example.com'`);
    expect(Date.parse(rows[2].lastAt)).toBe(stored.at.getTime());

    // `since` includes that instant: from viewer.finance's failure on, only it.
    expect((await server.gql(FAILED, { since: rows[2].lastAt }, admin)).data.failedSignIns.map((r: any) => r.email)).toEqual(['viewer.finance@example.com']);
    expect((await server.gql(FAILED, { since: new Date(Date.now() + 3600_000).toISOString() }, admin)).data.failedSignIns).toEqual([]);
    expect((await server.gql(FAILED, { first: 1 }, admin)).data.failedSignIns.map((r: any) => r.email)).toEqual(['lead.finance@example.com']);
    // Successes are not failures.
    await server.login('analyst@example.com');
    expect((await server.gql(FAILED, {}, admin)).data.failedSignIns.map((r: any) => r.email)).not.toContain('analyst@example.com');
  });

  it('lists the accounts locked now with every address they are locked for; unlockUser takes them off', async () => {
    const res = await server.gql(LOCKED, {}, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.lockedUsers).toHaveLength(1);
    const [locked] = res.data.lockedUsers;
    expect(locked.user.email).toBe('lead.finance@example.com');
    expect([...locked.addresses].sort()).toEqual(['2001:db8:0:0::/64', OFFICE]);
    expect(locked.lockedUntil).toBe(locked.user.lockedUntil);
    const [latest] = await server.sql(`SELECT max(expire)::text AS expire FROM sign_in_limit WHERE key LIKE 'account:' || $1 || '@%'`, [locked.user.id]);
    expect(Date.parse(locked.lockedUntil)).toBe(Number(latest.expire));
    // viewer.finance failed once: not locked.
    expect(res.data.lockedUsers.map((l: any) => l.user.email)).not.toContain('viewer.finance@example.com');

    const unlock = await server.gql('mutation($id: ID!) { unlockUser(userId: $id) { id lockedUntil } }', { id: locked.user.id }, admin);
    expect(unlock.errors).toBeUndefined();
    expect((await server.gql(LOCKED, {}, admin)).data.lockedUsers).toEqual([]);
    expect(errorCode(await attemptFrom(OFFICE, 'lead.finance@example.com', DEMO_PASSWORD))).toBeUndefined();
  });

  it('lifts the locks when a reset link sets a new password: the person locked out signs in with it at once', async () => {
    for (let i = 0; i < 2; i++) expect(errorCode(await attemptFrom(OFFICE, 'lead.marketing@example.com', WRONG))).toBe('UNAUTHENTICATED');
    const [marketer] = await server.sql(`SELECT id FROM app_user WHERE email = 'lead.marketing@example.com'`);
    expect((await server.gql(LOCKED, {}, admin)).data.lockedUsers.map((l: any) => l.user.email)).toContain('lead.marketing@example.com');
    const reset = await server.gql('mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl } }', { id: marketer.id }, admin);
    expect(reset.errors).toBeUndefined();
    const token = new URL(reset.data.resetPassword.setPasswordUrl).hash.slice(1);
    const chosen = await server.gql('mutation($t: String!, $p: String!) { setPasswordWithToken(token: $t, password: $p) { token } }', { t: token, p: 'a fresh password 42' });
    expect(chosen.errors).toBeUndefined();
    expect((await server.gql(LOCKED, {}, admin)).data.lockedUsers.map((l: any) => l.user.email)).not.toContain('lead.marketing@example.com');
    expect(errorCode(await attemptFrom(OFFICE, 'lead.marketing@example.com', 'a fresh password 42'))).toBeUndefined();
  });

  it('leaves out a deleted person: not locked any more, their failures show the address alone', async () => {
    for (let i = 0; i < 2; i++) await attemptFrom(OFFICE, 'planner.finance@example.com', WRONG);
    const before = (await server.gql(LOCKED, {}, admin)).data.lockedUsers;
    expect(before.map((l: any) => l.user.email)).toEqual(['planner.finance@example.com']);
    const deleted = await server.gql('mutation($id: ID!) { deleteUser(userId: $id) }', { id: before[0].user.id }, admin);
    expect(deleted.errors).toBeUndefined();
    expect((await server.gql(LOCKED, {}, admin)).data.lockedUsers).toEqual([]);
    const failed = (await server.gql(FAILED, {}, admin)).data.failedSignIns;
    expect(failed.find((r: any) => r.email === 'planner.finance@example.com')).toMatchObject({ user: null, failures: 2 });
  });

  it('refuses a bad page size and a malformed time', async () => {
    for (const first of [0, 501]) expect(errorCode(await server.gql(FAILED, { first }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(FAILED, { since: 'last week' }, admin))).toBe('BAD_USER_INPUT');
  });

  it('answers admins only', async () => {
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'planner.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example']) {
      const token = await server.login(email);
      for (const [query, variables] of [[FAILED, {}], [FAILED, { since: new Date(0).toISOString() }], [LOCKED, {}], [WAITING, {}]] as const) {
        const denied = await server.gql(query, variables, token);
        expect(errorCode(denied), `${email} ${query}`).toBe('FORBIDDEN');
        expect(denied.data ?? null).toBeNull();
      }
    }
    expect(errorCode(await server.gql(FAILED, {}))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LOCKED, {}))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(WAITING, {}))).toBe('UNAUTHENTICATED');
  });
});
