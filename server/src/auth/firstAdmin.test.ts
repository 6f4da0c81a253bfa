/**
 * The first admin of an empty production database (no demo seed): from ADMIN_EMAIL + ADMIN_PASSWORD at start,
 * and from `npm run create-admin -- <email>` (scripts/create-admin.mjs), which prints a set-password URL. Runs
 * the built server as its own process, as production does, with SEED_DEMO=false.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { errorCode } from '../testing/harness.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/create-admin.mjs', import.meta.url));
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { email role } } }`;
const ADMIN = { ADMIN_EMAIL: 'Boss@Example.org', ADMIN_PASSWORD: 'the very first password' };

describe('the first admin of an empty database', () => {
  let server: ChildServer;
  beforeAll(async () => {
    server = await startChildServer({ SEED_DEMO: 'false', ...ADMIN });
  });
  afterAll(() => server?.stop());

  it('is created at start from ADMIN_EMAIL and ADMIN_PASSWORD, and is the only person', async () => {
    await server.waitForLog((l) => l.msg === 'created the first admin (ADMIN_EMAIL)');
    const login = await server.gql(LOGIN, { e: 'boss@example.org', p: ADMIN.ADMIN_PASSWORD });
    expect(login.errors).toBeUndefined();
    expect(login.data.login.user).toEqual({ email: 'boss@example.org', role: 'ADMIN' });
    const users = await server.gql('{ users { email role active } budgetPlans { id } }', {}, login.data.login.token);
    expect(users.data).toEqual({ users: [{ email: 'boss@example.org', role: 'ADMIN', active: true }], budgetPlans: [] });
    const entries = await server.sql(`SELECT action, actor_email, subject FROM activity_entry`);
    expect(entries).toEqual([{ action: 'USER_CREATED', actor_email: null, subject: 'boss@example.org' }]);
  });

  it('npm run create-admin -- <email> prints a set-password URL that makes a working admin', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, 'second@example.org'], {
      env: { PATH: process.env.PATH, DATABASE_URL: server.databaseUrl, PUBLIC_URL: 'https://plansync.example.org/', LOG_LEVEL: 'silent' },
    });
    const url = stdout.trim();
    expect(url).toMatch(/^https:\/\/plansync\.example\.org\/set-password#[A-Za-z0-9_-]{43}$/);
    const set = await server.gql(
      'mutation($t: String!, $p: String!) { setPasswordWithToken(token: $t, password: $p) { token user { email role } } }',
      { t: url.split('#')[1], p: 'another admin pass phrase' },
    );
    expect(set.errors).toBeUndefined();
    expect(set.data.setPasswordWithToken.user).toEqual({ email: 'second@example.org', role: 'ADMIN' });
    expect((await server.gql(LOGIN, { e: 'second@example.org', p: 'another admin pass phrase' })).errors).toBeUndefined();
    const entries = await server.sql(`SELECT action, actor_email, details FROM activity_entry WHERE subject = 'second@example.org'`);
    expect(entries).toEqual([{ action: 'USER_CREATED', actor_email: null, details: { role: 'ADMIN', from: 'create-admin' } }]);
  });

  it('npm run create-admin -- <email> of an existing person promotes them, recorded as an access change, not a creation', async () => {
    const boss = (await server.gql(LOGIN, { e: 'boss@example.org', p: ADMIN.ADMIN_PASSWORD })).data.login.token;
    await server.gql('mutation { createBusinessUnit(code: "PROMO", name: "Promo") { code } }', {}, boss);
    const created = await server.gql(
      'mutation { createUser(input: { email: "already@example.org", displayName: "Already Here", role: VIEWER, businessUnitCodes: ["PROMO"] }) { user { id } } }',
      {},
      boss,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data.createUser.user.id;
    expect((await server.gql('mutation($id: ID!) { deactivateUser(userId: $id) { active } }', { id }, boss)).errors).toBeUndefined();

    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, 'Already@Example.org'], {
      env: { PATH: process.env.PATH, DATABASE_URL: server.databaseUrl, LOG_LEVEL: 'silent' },
    });
    expect(stdout.trim()).toMatch(/\/set-password#[A-Za-z0-9_-]{43}$/);
    const users = await server.gql('{ users { id email role active } }', {}, boss);
    expect(users.data.users.find((u: { id: string }) => u.id === id)).toEqual({ id, email: 'already@example.org', role: 'ADMIN', active: true });
    const entries = await server.sql(`SELECT action, actor_email, details FROM activity_entry WHERE subject = 'already@example.org' ORDER BY id`);
    expect(entries.map((e) => e.action)).toEqual(['USER_CREATED', 'USER_DEACTIVATED', 'USER_ACCESS_CHANGED']);
    expect(entries[2]).toEqual({
      action: 'USER_ACCESS_CHANGED',
      actor_email: null,
      details: {
        before: { role: 'VIEWER', businessUnitCodes: ['PROMO'], active: false },
        after: { role: 'ADMIN', businessUnitCodes: ['PROMO'], active: true },
        from: 'create-admin',
      },
    });
  });

  it('refuses to start with an ADMIN_PASSWORD that breaks the password rules, naming the variable', async () => {
    await expect(startChildServer({ SEED_DEMO: 'false', ADMIN_EMAIL: 'boss@example.org', ADMIN_PASSWORD: 'short' })).rejects.toThrow(/ADMIN_PASSWORD/);
    // A wrong password for the created admin answers as always.
    expect(errorCode(await server.gql(LOGIN, { e: 'boss@example.org', p: 'not the password' }))).toBe('UNAUTHENTICATED');
  });
});
