/// <reference lib="dom" />
/**
 * The activity log page in a browser against a real server: an admin reads who did what, filters by action,
 * person and day on the server, clears the filters and exports what is loaded; a non-admin is not offered the
 * page and cannot open it by its address.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { recordActivity } from '../../server/src/activity/activityLog.js';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { offeredAdminSections } from './adminNav.js';

describe.skipIf(!hasChromium)('activity log page', () => {
  const world = browserWorld();

  beforeAll(async () => {
    const { server } = world;
    const [admin] = await server.sql<{ id: string }>(`SELECT id FROM app_user WHERE email = 'admin@example.com'`);
    const actor = { userId: admin.id, email: 'admin@example.com' };
    const em = server.app.services.orm.em.fork();
    await em.transactional(async (tx) => {
      recordActivity(tx, actor, 'PLAN_CREATED', 'FY2028 Budget', { fiscalYear: 2028, copiedFrom: 'FY2027 Budget' });
      recordActivity(tx, actor, 'USER_DEACTIVATED', 'viewer.sales-north@example.com');
      recordActivity(tx, { userId: admin.id, email: 'other.admin@example.com' }, 'UNIT_CREATED', 'RESEARCH', { name: 'Research' });
    });
  });

  it('shows an admin who did what, filters on the server, and exports what is loaded', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/activity');
    const { page } = admin;
    const rows = page.locator('table.activity tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => rows.first().textContent()).toContain('Business unit created');
    await expect.poll(() => page.locator('tr[data-action="PLAN_CREATED"]').textContent()).toContain('copiedFrom: FY2027 Budget');
    // Each entry shows the email it was written with, even when the same person had another one later.
    await expect.poll(() => page.locator('tr[data-action="PLAN_CREATED"]').textContent()).toContain('admin@example.com');
    expect(await page.locator('tr[data-action="PLAN_CREATED"]').textContent()).not.toContain('other.admin@example.com');
    await screenshot(page, 'activity-log');

    const filters = page.getByRole('search', { name: 'Filter the activity log' });
    await filters.getByLabel('Action').selectOption('USER_DEACTIVATED');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => rows.first().textContent()).toContain('viewer.sales-north@example.com');

    // Clear, and a person typed at once, before the cleared address has been shown: what was typed stays (the
    // form once took the cleared address's values when it came, and wiped it).
    await filters.getByLabel('By (email)').evaluate((input: HTMLInputElement) => {
      const clear = Array.from(input.form!.querySelectorAll('button')).find((b) => b.textContent === 'Clear')!;
      clear.click();
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, 'other.admin@example.com');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect.poll(() => rows.count()).toBe(3);
    expect(await filters.getByLabel('By (email)').inputValue()).toBe('other.admin@example.com');
    expect(await filters.getByLabel('Action').inputValue()).toBe('');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => rows.first().textContent()).toContain('RESEARCH');
    // Back and forward bring the form along with the list.
    await page.goBack();
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => filters.getByLabel('By (email)').inputValue()).toBe('');
    await page.goBack();
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => filters.getByLabel('Action').inputValue()).toBe('USER_DEACTIVATED');
    await page.goForward();
    await page.goForward();
    await expect.poll(() => rows.count()).toBe(1);
    await expect.poll(() => filters.getByLabel('By (email)').inputValue()).toBe('other.admin@example.com');
    await expect.poll(() => rows.first().textContent()).toContain('RESEARCH');

    // A day after today: nothing since then.
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await filters.getByLabel('By (email)').fill('');
    await filters.getByLabel('Since').fill(day);
    await filters.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByText('Nothing matches these filters.').count()).toBe(1);

    await filters.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.count()).toBe(3);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export CSV/ }).click()]);
    const csv = await (await download.createReadStream()).toArray();
    const text = Buffer.concat(csv).toString('utf8');
    expect(text).toContain('at,action,actor,subject,details');
    expect(text).toContain('UNIT_CREATED,other.admin@example.com,RESEARCH');
    expectNoProblems(admin);
  });

  it('is not offered to anyone else, nor opened by its address', async () => {
    const analyst = await world.signIn('analyst@example.com', '/admin/activity');
    const { page } = analyst;
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).textContent()).toContain('Budget grid');
    await expect.poll(() => new URL(page.url()).pathname).not.toBe('/admin/activity');
    expect(await page.locator('table.activity').count()).toBe(0);
    expect(await offeredAdminSections(page)).not.toContain('Activity');
    expectNoProblems(analyst);
  });
});
