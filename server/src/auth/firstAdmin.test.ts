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
  });

  it('refuses to start with an ADMIN_PASSWORD that breaks the password rules, naming the variable', async () => {
    await expect(startChildServer({ SEED_DEMO: 'false', ADMIN_EMAIL: 'boss@example.org', ADMIN_PASSWORD: 'short' })).rejects.toThrow(/ADMIN_PASSWORD/);
    // A wrong password for the created admin answers as always.
    expect(errorCode(await server.gql(LOGIN, { e: 'boss@example.org', p: 'not the password' }))).toBe('UNAUTHENTICATED');
  });
});
