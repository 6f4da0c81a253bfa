/**
 * The sign-ins page in a browser against a real server: an admin sees the accounts failed attempts locked and
 * unlocks one, the failed attempts per email, the people a Microsoft sign-in left waiting for access (linked
 * to their page), filters the log on the server and exports it; nobody else is offered the page.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openAdminSection, offeredAdminSections } from './adminNav.js';

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }';
const SHOTS = '/tmp/shots';

describe.skipIf(!hasChromium)('sign-ins page', () => {
  // Two failures in a row lock an account (for the address they came from), for longer than the test.
  const world = browserWorld({ LOGIN_LOCKOUT_THRESHOLD: '2', LOGIN_LOCKOUT_SECONDS: '3600', LOGIN_FAILURES_PER_MINUTE: '100000' });
  let waitingId: string;

  beforeAll(async () => {
    const { server } = world;
    for (let i = 0; i < 2; i++) await server.gql(LOGIN, { e: 'lead.finance@example.com', p: 'not the password' });
    await server.gql(LOGIN, { e: 'nobody@example.com', p: 'not the password' });
    // Someone their first Microsoft sign-in created without a role, as auth/entraTokens.ts leaves them (that
    // path, with the fake Entra authority, is tested in server/src/auth/entraSignIn.test.ts), and the
    // log entry that sign-in wrote.
    waitingId = randomUUID();
    await server.sql(
      `INSERT INTO app_user (id, email, display_name, role, entra_object_id, awaiting_access, last_sign_in_at)
       VALUES ($1, 'wanda.waiting@contoso.example', 'Wanda Waiting', 'VIEWER', $2, true, now())`,
      [waitingId, randomUUID()],
    );
    await server.sql(`INSERT INTO sign_in_event (email, user_id, method, success, ip) VALUES ('wanda.waiting@contoso.example', $1, 'ENTRA_ID', true, '10.1.2.3')`, [waitingId]);
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  it('shows an admin who is locked, who failed and who waits; unlocks; filters and exports the log', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const { page } = admin;
    // Offered in the admin area's navigation; the users page no longer carries the log.
    await openAdminSection(page, 'Sign-ins');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/admin/sign-ins');

    const locked = page.getByRole('table', { name: 'Accounts locked now' });
    await expect.poll(() => locked.locator('tbody tr').count()).toBe(1);
    expect(await locked.locator('tbody tr').textContent()).toContain('lead.finance@example.com');
    expect(await locked.locator('tbody tr').textContent()).toContain('127.0.0.1');

    const failed = page.getByRole('table', { name: 'Failed attempts per email' });
    await expect.poll(() => failed.locator('tr[data-email="lead.finance@example.com"] td.num').first().textContent()).toBe('2');
    expect(await failed.locator('tr[data-email="nobody@example.com"]').textContent()).toContain('no such account');

    const waiting = page.getByRole('list', { name: 'People waiting for access' });
    await expect.poll(() => waiting.locator('li').count()).toBe(1);
    expect(await waiting.textContent()).toContain('wanda.waiting@contoso.example');

    const log = page.getByRole('table', { name: 'Sign-ins, newest first' });
    await expect.poll(() => log.locator('tbody tr').count()).toBeGreaterThanOrEqual(5);
    await page.screenshot({ path: `${SHOTS}/sign-ins.png`, fullPage: true });

    // Filters, applied on the server.
    const filters = page.getByRole('search', { name: 'Filter the sign-in log' });
    await filters.getByLabel('Email').fill('LEAD.FINANCE@example.com');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => log.locator('tbody tr').count()).toBe(2);
    expect(await log.locator('tbody tr[data-email="lead.finance@example.com"]').count()).toBe(2);

    await filters.getByRole('button', { name: 'Clear' }).click();
    await filters.getByLabel('Result').selectOption('FAILURE');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => log.locator('tbody tr').count()).toBe(3);
    expect(await log.locator('tbody').textContent()).not.toContain('Signed in');

    await filters.getByLabel('Result').selectOption('');
    await filters.getByLabel('Method').selectOption('ENTRA_ID');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => log.locator('tbody tr').count()).toBe(1);
    expect(await log.locator('tbody tr').textContent()).toContain('wanda.waiting@contoso.example');

    // The CSV is what the filters left.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export CSV/ }).click()]);
    const text = Buffer.concat(await (await download.createReadStream()).toArray()).toString('utf8');
    const lines = text.replace(/^\uFEFF/, '').trim().split(/\r\n/);
    expect(lines[0]).toBe('at,email,result,method,address,person');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(',wanda.waiting@contoso.example,signed in,ENTRA_ID,10.1.2.3,Wanda Waiting');

    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await filters.getByLabel('Method').selectOption('');
    await filters.getByLabel('Since').fill(day);
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByText('Nothing matches these filters.').count()).toBe(1);
    // The failures are added up from that day too: none.
    await expect.poll(() => page.getByText('No failed sign-in.').count()).toBe(1);
    await filters.getByRole('button', { name: 'Clear' }).click();

    // Unlock: off the list, and the person signs in again.
    await locked.locator('tbody tr').getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.getByText('No account is locked.').count()).toBe(1);
    await expect.poll(() => page.getByTestId('notices').textContent()).toContain('lead.finance@example.com is unlocked');
    const again = await world.server.gql(LOGIN, { e: 'lead.finance@example.com', p: 'plansync-demo' });
    expect(again.errors).toBeUndefined();

    // The person waiting links to their page, where an admin gives them access.
    await waiting.getByRole('link', { name: 'Wanda Waiting' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/admin/users/${waitingId}`);
    expectNoProblems(admin);
  });

  it('tells a person waiting for access so, until an admin gives it', async () => {
    // A demo viewer in the state a Microsoft sign-in without a mapped group leaves a new person in (that
    // sign-in itself needs the fake Entra authority of the server's tests), so that a browser can sign in.
    const [viewer] = await world.server.sql(`UPDATE app_user SET awaiting_access = true WHERE email = 'viewer.operations@example.com' RETURNING id`);
    await world.server.sql(`DELETE FROM user_business_unit WHERE user_id = $1`, [viewer.id]);
    const waiting = await world.signIn('viewer.operations@example.com');
    const { page } = waiting;
    await expect.poll(() => page.getByTestId('awaiting-access').textContent()).toContain('you have no access yet');
    expect(await page.getByRole('link', { name: 'Budget grid' }).count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/awaiting-access.png` });

    const admin = await world.server.login('admin@example.com');
    const given = await world.server.gql(
      'mutation($id: ID!) { setUserAccess(userId: $id, role: VIEWER, businessUnitCodes: ["OPERATIONS"]) { awaitingAccess } }',
      { id: viewer.id },
      admin,
    );
    expect(given.data.setUserAccess.awaitingAccess).toBe(false);
    await page.reload();
    await page.getByTestId('me').waitFor();
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).textContent()).toContain('Budget grid');
    expect(await page.getByTestId('awaiting-access').count()).toBe(0);
    expectNoProblems(waiting);
  });

  it('is not offered to anyone else, nor opened by its address', async () => {
    const analyst = await world.signIn('analyst@example.com', '/admin/sign-ins');
    const { page } = analyst;
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).textContent()).toContain('Budget grid');
    await expect.poll(() => new URL(page.url()).pathname).not.toBe('/admin/sign-ins');
    expect(await page.getByRole('heading', { name: 'Sign-ins' }).count()).toBe(0);
    expect(await offeredAdminSections(page)).not.toContain('Sign-ins');
    expectNoProblems(analyst);
  });
});
