/**
 * The integrations page and the admin area in a browser against a real server: an admin opens it through
 * "Admin", sees every integration with its state, how to set it up and, once a webhook's delivery fails, the
 * failure and the receiver's answer. Nobody else is offered the admin sections they may not use, nor the
 * page by its address. Screenshots of the top bar and the admin area at 1440, 1024 and 390 pixels wide.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { offeredAdminSections, openAdminSection } from './adminNav.js';

const ADMIN_SECTIONS = ['Users', 'Sign-ins', 'Organisations', 'Plans', 'Activity', 'Webhooks', 'Integrations'];

const card = (page: Page, key: string) => page.getByTestId(`integration-${key}`);
const stateOf = (page: Page, key: string) => card(page, key).getByTestId('integration-state').textContent();

/** Whether anything sticks out sideways (the page scrolls horizontally). */
const overflowsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describe.skipIf(!hasChromium)('integrations page and admin area', () => {
  const world = browserWorld({ WEBHOOK_ALLOW_INSECURE: 'true', WEBHOOK_MAX_ATTEMPTS: '1' });
  let receiver: http.Server;
  let base = '';

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(500).end('no'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('shows every integration to an admin, with its state and set-up, and a failing one as it fails', async () => {
    const admin = await world.signIn('admin@example.com', '/grid');
    const { page } = admin;
    const main = page.getByRole('navigation', { name: 'Main' });
    expect(await main.getByRole('link').allTextContents()).toEqual(['Budget grid', 'Consolidated', 'Workflows', 'Submissions', 'Audit log', 'Admin']);
    // The admin area's navigation belongs to its pages only.
    expect(await page.getByRole('navigation', { name: 'Admin' }).count()).toBe(0);
    expect(await offeredAdminSections(page)).toEqual(ADMIN_SECTIONS);
    expect(new URL(page.url()).pathname).toBe('/admin/users');
    await expect.poll(() => main.getByRole('link', { name: 'Admin', exact: true }).getAttribute('class')).toContain('active');

    await openAdminSection(page, 'Integrations');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/admin/integrations');
    await expect.poll(() => page.locator('[data-testid^="integration-"][data-state]').count()).toBe(11);
    expect(await page.getByRole('heading', { level: 2 }).allTextContents()).toEqual([
      'Microsoft Graph', 'Power BI', 'Metabase', 'Slack', 'Studio', 'Infrabot', 'LMS', 'Microsoft Entra ID sign-in', 'Mail (SMTP)', 'Redis (scale-out)', 'Webhooks',
    ]);
    expect(await stateOf(page, 'microsoftGraph')).toBe('Simulated');
    expect(await stateOf(page, 'powerBi')).toBe('Simulated');
    for (const key of ['metabase', 'slack', 'studio', 'infrabot', 'lms']) expect(await stateOf(page, key), key).toBe('Simulated');
    expect(await stateOf(page, 'entraSignIn')).toBe('Not configured');
    expect(await stateOf(page, 'mail')).toBe('Not configured');
    expect(await stateOf(page, 'webhooks')).toBe('Not configured');
    expect(await card(page, 'powerBi').getByTestId('integration-last-call').textContent()).toBe('none yet');
    // How to turn it on, the settings' names set as code.
    expect(await card(page, 'mail').locator('code').allTextContents()).toEqual(['SMTP_URL', 'SMTP_FROM']);
    expect(await card(page, 'powerBi').locator('code').allTextContents()).toContain('POWERBI_REFRESH_GROUP_ID');
    expect(await page.getByTestId('integrations-summary').textContent()).toBe('Nothing is failing.');

    // A webhook whose receiver answers 500, once: failing, with the answer and when.
    const token = await world.server.login('admin@example.com');
    const made = await world.server.gql(`mutation($url: String!) { createWebhook(url: $url, events: ["plan.created"]) { webhook { id } } }`, { url: `${base}/hook` }, token);
    expect(made.errors).toBeUndefined();
    await world.server.gql(`mutation { createBudgetPlan(input: { name: "Integrations FY", fiscalYear: 2044 }) { id } }`, {}, token);
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return stateOf(page, 'webhooks');
      }, { timeout: 15_000 })
      .toBe('Failing');
    expect(await card(page, 'webhooks').getByTestId('integration-error').textContent()).toContain('The receiver answered 500');
    expect(await card(page, 'webhooks').getByTestId('integration-last-call').textContent()).not.toBe('none yet');
    expect(await page.getByTestId('integrations-summary').textContent()).toBe('1 integration is failing.');
    expectNoProblems(admin);
  });

  it('fits the top bar and the admin area at 1440, 1024 and 390 pixels wide', async () => {
    const admin = await world.signIn('admin@example.com', '/grid');
    const { page } = admin;
    for (const width of [1440, 1024, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await page.goto('/grid');
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      await screenshot(page, `nav-grid-${width}`);
      await page.goto('/admin/integrations');
      await expect.poll(() => page.locator('[data-testid^="integration-"][data-state]').count()).toBe(11);
      await screenshot(page, `nav-integrations-${width}`);
      // Every section is in reach, and nothing makes the page scroll sideways.
      expect(await page.getByRole('navigation', { name: 'Admin' }).getByRole('link').allTextContents()).toEqual(ADMIN_SECTIONS);
      expect(await overflowsSideways(page), `${width} px`).toBe(false);
      await page.goto('/admin/users');
      await page.locator('tr[data-user]').first().waitFor();
      await screenshot(page, `nav-users-${width}`);
    }
    expectNoProblems(admin);
  });

  it('offers nobody else the sections they may not use, nor the page by its address', async () => {
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'partner.admin@acme.example']) {
      const person = await world.signIn(email, '/admin/integrations');
      const { page } = person;
      await expect.poll(() => new URL(page.url()).pathname).not.toBe('/admin/integrations');
      expect(await page.locator('[data-testid^="integration-"][data-state]').count()).toBe(0);
      const offered = await offeredAdminSections(page);
      for (const adminOnly of ['Sign-ins', 'Organisations', 'Plans', 'Activity', 'Webhooks', 'Integrations']) expect(offered, email).not.toContain(adminOnly);
      expectNoProblems(person);
    }
  });
});
