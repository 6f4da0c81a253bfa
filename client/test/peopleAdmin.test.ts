/**
 * People administered in a browser against a real server: an admin creates a person, whose one-time link a
 * second browser opens to choose a password and land signed in (the link's token never travels in a URL and
 * leaves the address bar; a used or made-up link says so); the users table's search, filters and CSV export;
 * a bulk role change, where the server's last-admin refusal stops only that person; and a password reset,
 * which shows a new link and ends the old password at once.
 */
import fs from 'node:fs';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorCode } from '../../server/src/testing/harness.js';
import { ErrorCode } from '../../schema/codes.js';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

const SHOTS = '/tmp/shots';
const shot = async (page: Page, name: string) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
  await screenshot(page, name);
};
const LINK_NOT_VALID = 'This link has already been used or has expired; ask your administrator for a new one.';
const rows = (page: Page) => page.locator('table[aria-label="People"] tbody tr[data-user]');
const shownEmails = (page: Page) => rows(page).evaluateAll((r) => r.map((row) => row.getAttribute('data-user')));

describe.skipIf(!hasChromium)('people administration', () => {
  const world = browserWorld();

  /** A fresh browser context (nobody signed in) on a set-password link; every URL it requests is kept. */
  const openLink = async (url: string) => {
    const context = await world.browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(url);
    return { context, page, requested };
  };

  const choosePassword = async (page: Page, password: string, again = password) => {
    await page.getByLabel('New password').fill(password);
    await page.getByLabel('The same again').fill(again);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
  };

  const loginCode = async (email: string, password: string) =>
    errorCode(await world.server.gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password }));

  beforeAll(async () => {
    const { server } = world;
    const admin = await server.login('admin@example.com');
    // Someone deactivated, someone locked by failed sign-ins, and a name a spreadsheet would run as a formula.
    const [finance] = await server.sql<{ id: string }>(`SELECT id FROM app_user WHERE email = 'viewer.finance@example.com'`);
    expect((await server.gql('mutation($id: ID!) { deactivateUser(userId: $id) { id } }', { id: finance.id }, admin)).errors).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(await loginCode('viewer.operations@example.com', 'not-the-password')).toBe(ErrorCode.UNAUTHENTICATED);
    const created = await server.gql(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }',
      { input: { email: 'formula@example.com', displayName: '=HYPERLINK("http://evil.example")', role: 'VIEWER', businessUnitCodes: ['FINANCE'] } },
      admin,
    );
    expect(created.errors).toBeUndefined();
  });

  it('creates a person whose link, opened in another browser, sets a password and signs them in; a used or made-up link says so', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const page = admin.page;
    await page.getByRole('button', { name: 'New person…' }).click();
    const form = page.getByRole('form', { name: 'New person' });
    await form.getByLabel('Email').fill('Nina.New@example.com');
    await form.getByLabel('Display name').fill('Nina New');
    await form.getByLabel('Role').selectOption('BU_LEADER');
    await form.getByLabel('Marketing').check();
    await form.getByRole('button', { name: 'Create person' }).click();

    const dialog = page.getByRole('dialog', { name: 'Nina New can now set a password' });
    const linkField = dialog.getByLabel('Set-password link');
    await expect.poll(() => linkField.inputValue()).toMatch(new RegExp(`^${world.server.url}/set-password#[A-Za-z0-9_-]{20,}$`));
    const link = await linkField.inputValue();
    expect(await dialog.textContent()).toContain('will not be shown again');
    expect(await dialog.getByTestId('invitation-expiry').textContent()).not.toBe('');
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await expect.poll(() => dialog.getByRole('button', { name: 'Copied' }).count()).toBe(1);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await shot(page, 'people-create-link');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => rows(page).filter({ hasText: 'nina.new@example.com' }).locator('[data-role]').textContent()).toBe('BU leader');
    // Shown once: nothing on the page holds the link any more.
    expect(await page.content()).not.toContain(link.split('#')[1]);

    // The new person, in a browser of their own.
    const token = link.split('#')[1];
    const nina = await openLink(link);
    await nina.page.getByRole('heading', { name: 'Choose your password' }).waitFor();
    expect(nina.page.url()).toBe(`${world.server.url}/set-password`);
    expect(await nina.page.getByRole('list', { name: 'Password rules' }).textContent()).toContain('At least 10 characters');
    await shot(nina.page, 'set-password');
    // The server judges the password and its words are shown; the link stays usable.
    await choosePassword(nina.page, 'nina.new-is-me');
    await expect.poll(() => nina.page.getByRole('alert').textContent()).toMatch(/email/i);
    await choosePassword(nina.page, 'short');
    await expect.poll(() => nina.page.getByRole('alert').textContent()).toMatch(/10/);
    await choosePassword(nina.page, 'correct horse battery', 'correct horse batteyr');
    await expect.poll(() => nina.page.getByRole('alert').textContent()).toBe('The two passwords are not the same.');
    await choosePassword(nina.page, 'correct horse battery');
    await expect.poll(() => nina.page.getByTestId('me').textContent(), { timeout: 15_000 }).toContain('Nina New');
    await expect.poll(() => nina.page.url()).toMatch(/\/grid/);
    expect(nina.requested.filter((url) => url.includes(token))).toEqual([]);
    expect(await loginCode('nina.new@example.com', 'correct horse battery')).toBeUndefined();

    // The same link again, and one made up: the page says what to do.
    const again = await openLink(link);
    await choosePassword(again.page, 'another good password');
    await expect.poll(() => again.page.getByRole('alert').textContent()).toBe(LINK_NOT_VALID);
    const madeUp = await openLink(`${world.server.url}/set-password#not-a-real-token`);
    await choosePassword(madeUp.page, 'another good password');
    await expect.poll(() => madeUp.page.getByRole('alert').textContent()).toBe(LINK_NOT_VALID);
    await shot(madeUp.page, 'set-password-used');
    const noToken = await openLink(`${world.server.url}/set-password`);
    await expect.poll(() => noToken.page.getByRole('alert').textContent()).toContain('needs the whole link');
    expect(await loginCode('nina.new@example.com', 'another good password')).toBe(ErrorCode.UNAUTHENTICATED);
    await Promise.all([nina, again, madeUp, noToken].map((p) => p.context.close()));
    expectNoProblems(admin);
  });

  it('searches, filters and exports the filtered rows as CSV with formulas neutralised', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const page = admin.page;
    const filters = page.getByRole('search', { name: 'Filter people' });
    await expect.poll(() => rows(page).count()).toBeGreaterThan(15);

    await filters.getByLabel('Search').fill('SALES-NORTH');
    await expect.poll(() => shownEmails(page)).toEqual(['lead.sales-north@example.com', 'planner.sales-north@example.com', 'viewer.sales-north@example.com']);
    await filters.getByLabel('Role').selectOption('VIEWER');
    await expect.poll(() => shownEmails(page)).toEqual(['viewer.sales-north@example.com']);
    await filters.getByRole('button', { name: 'Clear filters' }).click();

    await filters.getByLabel('Business unit').selectOption('FINANCE');
    await expect.poll(() => shownEmails(page)).toEqual(['formula@example.com', 'lead.finance@example.com', 'planner.finance@example.com', 'viewer.finance@example.com']);
    await filters.getByLabel('Status').selectOption('DEACTIVATED');
    await expect.poll(() => shownEmails(page)).toEqual(['viewer.finance@example.com']);
    expect(await rows(page).first().locator('[data-status]').textContent()).toBe('Deactivated');
    await filters.getByLabel('Business unit').selectOption('');
    await filters.getByLabel('Status').selectOption('LOCKED');
    await expect.poll(() => shownEmails(page)).toEqual(['viewer.operations@example.com']);
    expect(await rows(page).first().locator('[data-status]').textContent()).toMatch(/^Locked until /);

    // The export is the rows shown: Finance's four, the formula-like name made plain text.
    await filters.getByLabel('Status').selectOption('');
    await filters.getByLabel('Business unit').selectOption('FINANCE');
    await expect.poll(() => rows(page).count()).toBe(4);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV (4)' }).click()]);
    const csv = fs.readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('Name,Email,Role,Kind,Business units,Organisation,Status,Locked until,Last sign-in,Two-factor');
    expect(lines).toHaveLength(5);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"")",formula@example.com,Viewer,Person,FINANCE`);
    expect(csv).toContain('viewer.finance@example.com,Viewer,Person,FINANCE,,Deactivated');

    // A selection with the filters on: the screenshot of the table as an admin works with it.
    await filters.getByLabel('Business unit').selectOption('');
    await filters.getByLabel('Search').fill('viewer');
    await page.getByRole('checkbox', { name: 'Select Sales North Viewer' }).check();
    await page.getByRole('checkbox', { name: 'Select Marketing Viewer' }).check();
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toBe('2 selected');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'people-table');
    expectNoProblems(admin);
  });

  it('changes the role of a selection one person at a time: the last admin is refused with the server’s words, the others change', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const page = admin.page;
    await page.getByRole('search', { name: 'Filter people' }).getByLabel('Search').fill('viewer.');
    await expect.poll(() => rows(page).count()).toBe(5);
    await page.getByRole('checkbox', { name: 'Select everyone shown' }).check();
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toBe('5 selected');
    // Hidden by a filter (deactivated Finance, locked Operations): not part of the change, though selected.
    await page.getByRole('search', { name: 'Filter people' }).getByLabel('Status').selectOption('ACTIVE');
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toBe('3 selected');
    await page.getByRole('search', { name: 'Filter people' }).getByLabel('Search').fill('');
    await page.getByRole('checkbox', { name: 'Select Ada Admin' }).check();
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toBe('4 selected');

    await page.getByRole('toolbar', { name: 'Change the selected people' }).getByRole('button', { name: 'Change role…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change the role of 4 people' });
    await dialog.getByLabel('New role').selectOption('ANALYST');
    await dialog.getByRole('button', { name: 'Apply to all' }).click();
    await expect.poll(() => dialog.getByRole('status').textContent()).toBe('3 changed, 1 refused (see above): the rest went through.');
    expect(await dialog.locator('[data-bulk-user="admin@example.com"]').getAttribute('data-outcome')).toBe('refused');
    expect(await dialog.locator('[data-bulk-user="admin@example.com"]').textContent()).toMatch(/last admin/);
    await shot(page, 'people-bulk-result');
    await dialog.getByRole('button', { name: 'Close' }).click();

    const roles = await world.server.sql<{ email: string; role: string }>(
      `SELECT email, role FROM app_user WHERE email IN ('admin@example.com', 'viewer.sales-north@example.com', 'viewer.sales-south@example.com', 'viewer.marketing@example.com', 'viewer.operations@example.com') ORDER BY email`,
    );
    expect(roles).toEqual([
      { email: 'admin@example.com', role: 'ADMIN' },
      { email: 'viewer.marketing@example.com', role: 'ANALYST' },
      { email: 'viewer.operations@example.com', role: 'VIEWER' },
      { email: 'viewer.sales-north@example.com', role: 'ANALYST' },
      { email: 'viewer.sales-south@example.com', role: 'ANALYST' },
    ]);
    // One activity entry each, as for one change at a time; units kept.
    const entries = await world.server.sql<{ subject: string }>(`SELECT subject FROM activity_entry WHERE action = 'USER_ACCESS_CHANGED' ORDER BY subject`);
    expect(entries.map((e) => e.subject)).toEqual(['viewer.marketing@example.com', 'viewer.sales-north@example.com', 'viewer.sales-south@example.com']);
    await expect.poll(() => rows(page).filter({ hasText: 'viewer.marketing@example.com' }).locator('[data-role]').textContent()).toBe('Analyst');
    // The refused admin stays selected, to fix and retry; the others left the selection.
    await expect.poll(() => page.getByTestId('selected-count').textContent()).toBe('1 selected');
    expectNoProblems(admin);
  });

  it("resets a password from the person's page: a new link, the old password and sessions end at once", async () => {
    const lead = await world.server.login('lead.marketing@example.com');
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const page = admin.page;
    await page.getByRole('link', { name: 'Marketing Lead' }).click();
    await page.getByRole('heading', { name: 'Marketing Lead' }).waitFor();
    await expect.poll(() => page.getByTestId('person-units').textContent()).toBe('Marketing');
    await expect.poll(() => page.getByRole('table', { name: 'Sign-ins of lead.marketing@example.com' }).textContent()).toContain('Signed in');

    await page.getByRole('button', { name: 'Reset password…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Reset Marketing Lead’s password?' });
    expect(await confirm.textContent()).toContain('signed out everywhere');
    await confirm.getByRole('button', { name: 'Reset password' }).click();
    const done = page.getByRole('dialog', { name: 'New set-password link for Marketing Lead' });
    const link = await done.getByLabel('Set-password link').inputValue();
    expect(link).toMatch(/\/set-password#/);
    expect(await done.textContent()).toContain('will not be shown again');
    expect(await loginCode('lead.marketing@example.com', 'plansync-demo')).toBe(ErrorCode.UNAUTHENTICATED);
    expect(errorCode(await world.server.gql('{ me { id } }', {}, lead))).toBe(ErrorCode.UNAUTHENTICATED);
    await done.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'password was reset' }).count()).toBe(1);
    await expect.poll(() => page.getByRole('table', { name: 'Activity about this person' }).textContent()).toMatch(/Password reset|PASSWORD_RESET/i);
    await shot(page, 'person-page');

    const person = await openLink(link);
    await choosePassword(person.page, 'a brand new passphrase');
    await expect.poll(() => person.page.getByTestId('me').textContent(), { timeout: 15_000 }).toContain('Marketing Lead');
    expect(await loginCode('lead.marketing@example.com', 'a brand new passphrase')).toBeUndefined();
    await person.context.close();
    expectNoProblems(admin);
  });

  it("unlocks, reactivates and deletes on a person's page, and changes units or deactivates a selection", async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const page = admin.page;
    const filters = page.getByRole('search', { name: 'Filter people' });
    const act = async (button: string, title: string, confirm: string) => {
      await page.getByRole('button', { name: button }).click();
      const dialog = page.getByRole('dialog', { name: title });
      await dialog.getByRole('button', { name: confirm }).click();
      await expect.poll(() => dialog.count()).toBe(0);
    };

    // Locked by failed sign-ins (beforeAll): unlocked, they sign in at once.
    await filters.getByLabel('Status').selectOption('LOCKED');
    await page.getByRole('link', { name: 'Operations Viewer' }).click();
    await expect.poll(() => page.getByTestId('person-status').textContent()).toMatch(/^Locked until /);
    expect(await loginCode('viewer.operations@example.com', 'plansync-demo')).toBe(ErrorCode.UNAUTHENTICATED);
    await act('Unlock…', 'Unlock Operations Viewer?', 'Unlock');
    await expect.poll(() => page.getByTestId('person-status').textContent()).toBe('Active');
    expect(await loginCode('viewer.operations@example.com', 'plansync-demo')).toBeUndefined();

    // Deactivated (beforeAll): reactivated, they sign in again.
    await page.getByRole('link', { name: '← All people' }).click();
    await page.getByRole('link', { name: 'Finance Viewer' }).click();
    await expect.poll(() => page.getByTestId('person-status').textContent()).toBe('Deactivated');
    await act('Reactivate…', 'Reactivate Finance Viewer?', 'Reactivate');
    await expect.poll(() => page.getByTestId('person-status').textContent()).toBe('Active');
    expect(await loginCode('viewer.finance@example.com', 'plansync-demo')).toBeUndefined();
    await expect.poll(() => page.getByRole('table', { name: 'Activity about this person' }).locator('[data-action]').evaluateAll((r) => r.map((row) => row.getAttribute('data-action'))))
      .toEqual(['USER_REACTIVATED', 'USER_DEACTIVATED']);

    // The admin's own page: what they did, and to whom, the organisation of each person linked.
    await page.getByRole('link', { name: '← All people' }).click();
    await page.getByRole('link', { name: 'Ada Admin', exact: true }).click();
    const theirs = page.getByRole('table', { name: 'Activity by this person' });
    await expect.poll(() => theirs.locator('[data-action]').first().getAttribute('data-action')).toBe('USER_REACTIVATED');
    expect(await theirs.textContent()).toContain('viewer.operations@example.com');
    expect(await theirs.locator('[data-action="USER_REACTIVATED"]').textContent()).toContain('viewer.finance@example.com');

    // Deleted: after a confirmation that says it cannot be undone; listed nowhere, the activity keeps the email.
    await page.getByRole('link', { name: '← All people' }).click();
    await page.getByRole('link', { name: '=HYPERLINK("http://evil.example")' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    const deleting = page.getByRole('dialog', { name: 'Delete =HYPERLINK("http://evil.example")?' });
    expect(await deleting.textContent()).toContain('cannot be undone');
    expect(await deleting.textContent()).toContain('keep their email');
    await deleting.getByRole('button', { name: 'Delete for good' }).click();
    await expect.poll(() => page.url()).toBe(`${world.server.url}/admin/users`);
    await expect.poll(() => rows(page).count()).toBeGreaterThan(15);
    expect(await shownEmails(page)).not.toContain('formula@example.com');
    expect(await world.server.sql(`SELECT subject FROM activity_entry WHERE action = 'USER_DELETED'`)).toEqual([{ subject: 'formula@example.com' }]);

    // A selection's units: Finance added to Sales South's two leaders, keeping their own.
    await filters.getByLabel('Search').fill('sales-south');
    await page.getByRole('checkbox', { name: 'Select Sales South Lead' }).check();
    await page.getByRole('checkbox', { name: 'Select Sales South Planner' }).check();
    await page.getByRole('toolbar', { name: 'Change the selected people' }).getByRole('button', { name: 'Change units…' }).click();
    const units = page.getByRole('dialog', { name: 'Change the business units of 2 people' });
    await units.getByLabel('Add these units').check();
    await units.getByLabel('Finance').check();
    await units.getByRole('button', { name: 'Apply to all' }).click();
    await expect.poll(() => units.getByRole('status').textContent()).toBe('Done: all 2 changed.');
    await units.getByRole('button', { name: 'Close' }).click();
    const unitsOf = (email: string) =>
      world.server.sql<{ code: string }>(
        `SELECT b.code FROM user_business_unit ub JOIN app_user u ON u.id = ub.user_id JOIN business_unit b ON b.id = ub.business_unit_id WHERE u.email = $1 ORDER BY b.code`,
        [email],
      ).then((r) => r.map((x) => x.code));
    expect(await unitsOf('lead.sales-south@example.com')).toEqual(['FINANCE', 'SALES_SOUTH']);
    expect(await unitsOf('planner.sales-south@example.com')).toEqual(['FINANCE', 'SALES_SOUTH']);

    // A selection deactivated: after a confirmation, and they can no longer sign in.
    await page.getByRole('checkbox', { name: 'Select Sales South Planner' }).check();
    await page.getByRole('toolbar', { name: 'Change the selected people' }).getByRole('button', { name: 'Deactivate…' }).click();
    const off = page.getByRole('dialog', { name: 'Deactivate 1 person?' });
    expect(await off.textContent()).toContain('signed out everywhere at once');
    await off.getByRole('button', { name: 'Deactivate' }).click();
    await expect.poll(() => off.getByRole('status').textContent()).toBe('Done: all 1 changed.');
    await off.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => rows(page).filter({ hasText: 'planner.sales-south@example.com' }).locator('[data-status]').textContent()).toBe('Deactivated');
    expect(await loginCode('planner.sales-south@example.com', 'plansync-demo')).toBe(ErrorCode.UNAUTHENTICATED);
    expectNoProblems(admin);
  });

  it('asks a person with two-factor sign-in for their code on the set-password page, as sign-in does', async () => {
    const { server } = world;
    // Ann turns two-factor sign-in on (over the API, as the account page would).
    const ann = await server.login('analyst@example.com');
    const begun = await server.gql('mutation { beginTotpEnrollment { secret } }', {}, ann);
    expect(begun.errors).toBeUndefined();
    const secret: string = begun.data.beginTotpEnrollment.secret;
    const step = Math.floor(Date.now() / 30_000);
    const confirmed = await server.gql('mutation($c: String!) { confirmTotpEnrollment(code: $c) }', { c: await generate({ secret, epoch: step * 30 }) }, ann);
    expect(confirmed.errors).toBeUndefined();
    const [{ id }] = await server.sql<{ id: string }>(`SELECT id FROM app_user WHERE email = 'analyst@example.com'`);
    const reset = await server.gql('mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl } }', { id }, await server.login('admin@example.com'));
    const link: string = reset.data.resetPassword.setPasswordUrl;

    const person = await openLink(link);
    await choosePassword(person.page, 'ann has a new passphrase');
    await expect.poll(() => person.page.getByRole('status').textContent()).toContain('two-factor sign-in');
    await person.page.getByLabel('Authentication code').fill('000000');
    await person.page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => person.page.getByRole('alert').textContent()).toMatch(/code/i);
    expect(await loginCode('analyst@example.com', 'ann has a new passphrase')).toBe(ErrorCode.UNAUTHENTICATED);
    // The code of the next step (the server takes a step either side, and never one used already).
    await person.page.getByLabel('Authentication code').fill(await generate({ secret, epoch: (step + 1) * 30 }));
    await person.page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => person.page.getByTestId('me').textContent(), { timeout: 15_000 }).toContain('Ann Analyst');
    await person.context.close();
  });

  it('keeps the partner admin’s view read-only: their organisation, no selection, no new person', async () => {
    const partner = await world.signIn('partner.admin@acme.example', '/admin/users');
    await expect.poll(() => shownEmails(partner.page)).toEqual(['partner.admin@acme.example']);
    expect(await partner.page.getByRole('button', { name: 'New person…' }).count()).toBe(0);
    expect(await partner.page.getByRole('checkbox').count()).toBe(0);
    // No person's page for them: the names are not links.
    expect(await partner.page.getByRole('table', { name: 'People' }).getByRole('link').count()).toBe(0);
    expectNoProblems(partner);
  });
});
