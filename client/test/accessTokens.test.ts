/**
 * The Tokens page in a browser against a real server: a person makes a token, sees it once with a copy
 * button, uses it from the test (fetch, as a script would), revokes it with a confirmation, and it stops
 * working; an admin makes a service account and a token for it.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../schema/codes.js';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

const SHOTS = '/tmp/shots';

async function me(url: string, token: string): Promise<{ email?: string; code?: string }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { email } }' }),
  });
  const body = await res.json();
  return { email: body.data?.me?.email, code: body.errors?.[0]?.extensions?.code };
}

describe.skipIf(!hasChromium)('access tokens page', () => {
  const world = browserWorld();

  it('makes a token shown once with a copy button, which works until it is revoked', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const lead = await world.signIn('lead.sales-north@example.com', '/');
    const { page } = lead;
    await page.getByRole('link', { name: 'Tokens' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/tokens');
    await page.getByText('No token yet.').waitFor();

    const form = page.getByRole('form', { name: 'New token' });
    await form.getByLabel('Name').fill('Budget export script');
    await form.getByLabel(/Read and write/).check();
    await form.getByLabel('Expires after').selectOption('30');
    await form.getByRole('button', { name: 'Create token' }).click();

    const shown = page.getByTestId('new-token');
    const field = shown.getByLabel('New token');
    await expect.poll(() => field.inputValue()).toMatch(/^pst_[A-Za-z0-9_-]{43}$/);
    const token = await field.inputValue();
    await shown.getByRole('button', { name: 'Copy token' }).click();
    await expect.poll(() => shown.getByRole('button', { name: 'Copied', exact: true }).count()).toBe(1);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    expect(await shown.getByRole('note').textContent()).toContain('will not be shown again');
    const row = page.locator('tr[data-token="Budget export script"]');
    await expect.poll(() => row.textContent()).toContain('Read and write');
    expect(await row.textContent()).toContain('Never');
    await page.screenshot({ path: `${SHOTS}/tokens-created.png` });
    await screenshot(page, 'tokens-created');

    // A script uses it.
    expect(await me(world.server.url, token)).toEqual({ email: 'lead.sales-north@example.com', code: undefined });

    // Once dismissed, it is not shown again, not even after a reload.
    await shown.getByRole('button', { name: /Done/ }).click();
    await page.reload();
    await row.waitFor();
    expect(await page.getByTestId('new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(token);
    // Its last use is shown.
    await expect.poll(() => row.textContent()).not.toContain('Never');

    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke “Budget export script”?' });
    await dialog.getByText('stops working at once').waitFor();
    await page.screenshot({ path: `${SHOTS}/tokens-revoke.png` });
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('Budget export script was revoked').waitFor();
    await expect.poll(() => row.count()).toBe(0);
    expect(await me(world.server.url, token)).toEqual({ email: undefined, code: ErrorCode.UNAUTHENTICATED });
    expectNoProblems(lead);
  });

  it('lets an admin make a service account and a read-only token for it', async () => {
    const admin = await world.signIn('admin@example.com', '/account');
    const { page } = admin;
    // The account page leads there too.
    await page.getByRole('link', { name: 'Manage your tokens' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/tokens');
    const accountForm = page.getByRole('form', { name: 'New service account' });
    await accountForm.getByLabel('Name').fill('Power BI refresh');
    await accountForm.getByLabel('Role').selectOption('VIEWER');
    await accountForm.getByLabel('Sales North').check();
    await accountForm.getByRole('button', { name: 'Create service account' }).click();
    await page.getByText('Service account Power BI refresh was created').waitFor();
    await expect.poll(() => page.locator('tr[data-service-account="Power BI refresh"]').textContent()).toContain('Sales North');

    const form = page.getByRole('form', { name: 'New token' });
    await form.getByLabel('Name').fill('Finance dashboard');
    await expect.poll(() => form.getByLabel('Token for').locator('option').allTextContents()).toContain('Power BI refresh (service account, Viewer)');
    await form.getByLabel('Token for').selectOption({ label: 'Power BI refresh (service account, Viewer)' });
    await form.getByRole('button', { name: 'Create token' }).click();
    const field = page.getByTestId('new-token').getByLabel('New token');
    await expect.poll(() => field.inputValue()).toMatch(/^pst_/);
    const token = await field.inputValue();
    const row = page.locator('tr[data-token="Finance dashboard"]');
    await expect.poll(() => row.textContent()).toContain('(service account)');
    expect(await row.textContent()).toContain('Read only');
    await page.screenshot({ path: `${SHOTS}/tokens-admin.png` });
    await page.locator('#service-accounts-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/tokens-service-accounts.png` });
    const used = await me(world.server.url, token);
    expect(used.email).toMatch(/@service-account\.invalid$/);
    expectNoProblems(admin);
  });
});
