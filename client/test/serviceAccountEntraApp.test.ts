/**
 * Linking a service account to a Microsoft Entra application on the Tokens page, in a browser against a real
 * server: at creation, a change through the dialog, a refusal in the server's words, and an unlink confirmed
 * first. What the server stores is read back from PostgreSQL; the tokens such a link lets in are
 * server/src/auth/entraAppTokens.test.ts's.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

describe.skipIf(!hasChromium)('service accounts linked to an Entra application', () => {
  const world = browserWorld();

  it('links at creation, changes, refuses a bad id and unlinks after a confirmation', async () => {
    const admin = await world.signIn('admin@example.com', '/tokens');
    const { page } = admin;
    const first = randomUUID();
    const form = page.getByRole('form', { name: 'New service account' });
    await form.getByLabel('Name').fill('Nightly sync');
    await form.getByLabel('Role').selectOption('ANALYST');
    await form.getByLabel('Entra application (client) id').fill(first.toUpperCase());
    await form.getByRole('button', { name: 'Create service account' }).click();
    await page.getByText('Service account Nightly sync was created').waitFor();
    const row = page.locator('tr[data-service-account="Nightly sync"]');
    await expect.poll(() => row.textContent()).toContain(first);
    const stored = async () => (await world.server.sql("SELECT entra_app_id FROM app_user WHERE display_name = 'Nightly sync'"))[0].entra_app_id;
    expect(await stored()).toBe(first);
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'service-account-entra-linked');

    // Another account's app is refused, in the server's words.
    const second = randomUUID();
    await form.getByLabel('Name').fill('Other tool');
    await form.getByLabel('Entra application (client) id').fill(first);
    await form.getByRole('button', { name: 'Create service account' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('already linked to another service account');

    await row.getByRole('button', { name: 'Change the Entra application of Nightly sync' }).click();
    const dialog = page.getByRole('dialog', { name: 'Entra application of Nightly sync' });
    await dialog.getByText('stops working for this account at once').waitFor();
    await dialog.getByLabel('Application (client) id').fill(second);
    await screenshot(page, 'service-account-entra-change');
    await dialog.getByRole('button', { name: 'Link application' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(() => row.textContent()).toContain(second);
    expect(await stored()).toBe(second);

    // The account's own page says which app is linked, and where to change it.
    const [{ id }] = await world.server.sql("SELECT id FROM app_user WHERE display_name = 'Nightly sync'");
    await page.goto(`/admin/users/${id}`);
    const shown = page.getByTestId('person-entra-app');
    await expect.poll(() => shown.textContent()).toContain(second);
    await screenshot(page, 'service-account-entra-person');
    await shown.getByRole('link', { name: 'Change on the Tokens page' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/tokens');

    await row.getByRole('button', { name: 'Unlink the Entra application of Nightly sync' }).click();
    const confirm = page.getByRole('dialog', { name: 'Unlink the Entra application of Nightly sync?' });
    await confirm.getByText('its open connections close').waitFor();
    await screenshot(page, 'service-account-entra-unlink');
    await confirm.getByRole('button', { name: 'Unlink', exact: true }).click();
    await expect.poll(() => row.textContent()).not.toContain(second);
    expect(await stored()).toBeNull();
    expect(await row.getByRole('button', { name: 'Link the Entra application of Nightly sync' }).count()).toBe(1);
    expectNoProblems(admin, [/already linked to another service account/, /status of 200|BAD_USER_INPUT/]);
  });
});
