/**
 * The webhooks page in a browser against a real server and a real receiver on 127.0.0.1 (hence
 * WEBHOOK_ALLOW_INSECURE): an admin creates a webhook and sees its secret once, an event arrives signed with
 * it, the delivery log shows it after a refresh, a refusal is shown in the server's words, and deleting asks
 * first. Nobody else is offered the page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { offeredAdminSections } from './adminNav.js';

describe.skipIf(!hasChromium)('webhooks page', () => {
  const world = browserWorld({ WEBHOOK_ALLOW_INSECURE: 'true', WEBHOOK_RETRY_BASE_SECONDS: '0.2' });
  const received: { headers: Record<string, string>; body: string }[] = [];
  let receiver: http.Server;
  let base = '';

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('lets an admin create a webhook, shows its secret once, logs its deliveries, and deletes it after a confirmation', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/webhooks');
    const { page } = admin;
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Webhooks' }).waitFor();
    await expect.poll(() => page.getByText('No webhooks yet.').count()).toBe(1);

    const form = page.getByRole('form', { name: 'New webhook' });
    // The server's refusal, in its words.
    await form.getByLabel('URL').fill('ftp://example.com/hook');
    await form.getByRole('checkbox', { name: /plan\.created/ }).check();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/must use https/);

    await form.getByLabel('URL').fill(`${base}/hook`);
    await form.getByRole('checkbox', { name: /submission\.status_changed/ }).check();
    await form.getByLabel(/Description/).fill('Finance data warehouse');
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const secretField = page.getByLabel('Signing secret');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^whsec_/);
    await expect.poll(() => page.locator('table[aria-label="Webhooks"] tbody tr').count()).toBe(1);
    await screenshot(page, 'webhooks-secret');
    await page.screenshot({ path: '/tmp/shots/webhooks-secret.png', fullPage: true });
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByLabel('Signing secret').count()).toBe(0);

    // An event happens; it arrives signed with that secret, and the log shows it once refreshed.
    const token = await world.server.login('admin@example.com');
    await world.server.gql(`mutation { createBudgetPlan(input: { name: "Webhook FY", fiscalYear: 2040 }) { id } }`, {}, token);
    await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(new Webhook(secret).verify(received[0].body, received[0].headers)).toMatchObject({ type: 'plan.created', data: { name: 'Webhook FY' } });
    const log = page.getByTestId('delivery-log');
    await expect.poll(async () => {
      await log.getByRole('button', { name: 'Refresh' }).click();
      return log.locator('tbody tr').first().textContent();
    }, { timeout: 15_000 }).toContain('Delivered');
    expect(await log.locator('tbody tr').first().textContent()).toContain('plan.created');
    expect(await log.locator('tbody tr').first().textContent()).toContain('204');
    await screenshot(page, 'webhooks');
    await page.screenshot({ path: '/tmp/shots/webhooks.png', fullPage: true });

    await page.getByRole('button', { name: `Delete ${base}/hook` }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toContain('deliveries still waiting to be retried are dropped');
    await page.screenshot({ path: '/tmp/shots/webhooks-delete.png', fullPage: true });
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await expect.poll(() => page.getByText('No webhooks yet.').count()).toBe(1);
    expectNoProblems(admin, [/Failed to load resource.*400/]);
  });

  it('is not offered to anyone else, nor opened by its address', async () => {
    const analyst = await world.signIn('analyst@example.com', '/admin/webhooks');
    const { page } = analyst;
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).textContent()).toContain('Budget grid');
    await expect.poll(() => new URL(page.url()).pathname).not.toBe('/admin/webhooks');
    expect(await offeredAdminSections(page)).not.toContain('Webhooks');
    expectNoProblems(analyst);
  });
});
