/**
 * The first run of a production install, in the web client only: the built server as its own process on an
 * EMPTY database without the demo seed, its first admin from ADMIN_EMAIL / ADMIN_PASSWORD. The admin signs in,
 * creates a business unit and a plan on /admin/plans, and invites a leader for the unit on /admin/users; the
 * leader opens the one-time link in their own browser, chooses a password, and edits a cell of the new plan in
 * the grid, which reaches the database.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../../server/src/testing/childServer.js';
import { hasChromium, launchBrowser, screenshot, type Person } from './browser.js';
import { openAdminSection } from './adminNav.js';
import { openGrid, typeInto } from './gridPage.js';

const ADMIN = { ADMIN_EMAIL: 'first.admin@example.org', ADMIN_PASSWORD: 'the very first password' };

describe.skipIf(!hasChromium)('the first run, from an empty database to a first edit', () => {
  let server: ChildServer;
  let browser: Browser;
  const people: Person[] = [];

  /** A browser context of someone's own, watching for console and page errors. */
  const newPerson = async (): Promise<Person> => {
    const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1440, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    const person: Person = { context, page, problems: [] };
    page.on('console', (m) => m.type() === 'error' && person.problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => person.problems.push(`page: ${e.message}`));
    people.push(person);
    return person;
  };

  beforeAll(async () => {
    server = await startChildServer({ SEED_DEMO: 'false', ...ADMIN });
    await server.waitForLog((l) => l.msg === 'created the first admin (ADMIN_EMAIL)');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.all(people.map((p) => p.context.close()));
    await browser?.close();
    await server?.stop();
  });

  it('gets a leader editing a new plan using only the web client', async () => {
    expect(await server.sql('SELECT count(*)::int AS n FROM budget_plan')).toEqual([{ n: 0 }]);
    const admin = await newPerson();
    const page = admin.page;
    await page.goto('/');
    await page.getByLabel('Email').fill(ADMIN.ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN.ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('me').waitFor();

    // A unit, then a plan with every unit's lines (there is no plan to copy).
    await openAdminSection(page, 'Plans');
    const unitForm = page.getByRole('form', { name: 'New business unit' });
    await unitForm.getByLabel('Code').fill('RESEARCH');
    await unitForm.getByLabel('Name').fill('Research');
    await unitForm.getByRole('button', { name: 'Create unit' }).click();
    await expect.poll(() => page.getByRole('list', { name: 'Business units' }).textContent()).toContain('RESEARCH Research');
    const planForm = page.getByRole('form', { name: 'New plan' });
    await planForm.getByLabel('Name').fill('FY2027 Budget');
    await planForm.getByLabel('Fiscal year').fill('2027');
    await planForm.getByRole('button', { name: 'Create plan' }).click();
    await expect.poll(() => page.locator('tr[data-plan="FY2027 Budget"]').textContent()).toContain('Open');

    // A leader for the unit, invited with a one-time link.
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'New person…' }).click();
    const form = page.getByRole('form', { name: 'New person' });
    await form.getByLabel('Email').fill('rita@example.org');
    await form.getByLabel('Display name').fill('Rita Research');
    await form.getByLabel('Role').selectOption('BU_LEADER');
    await form.getByLabel('Research').check();
    await form.getByRole('button', { name: 'Create person' }).click();
    const link = await page.getByRole('dialog', { name: 'Rita Research can now set a password' }).getByLabel('Set-password link').inputValue();
    expect(link).toMatch(new RegExp(`^${server.url}/set-password#`));

    const leader = await newPerson();
    await leader.page.goto(link);
    await leader.page.getByLabel('New password').fill('a passphrase of her own');
    await leader.page.getByLabel('The same again').fill('a passphrase of her own');
    await leader.page.getByRole('button', { name: 'Set password and sign in' }).click();
    await expect.poll(() => leader.page.getByTestId('me').textContent(), { timeout: 15_000 }).toContain('Rita Research');

    await openGrid(leader, 'RESEARCH');
    await expect.poll(() => leader.page.getByTestId('plan-name').textContent()).toBe('FY2027 Budget');
    await typeInto(leader.page, 0, 'budgetAmount', '4321');
    const firstLine = async () =>
      (await server.sql<{ budget_amount: number | null; email: string | null }>(
        `SELECT l.budget_amount, u.email FROM budget_line l JOIN business_unit b ON b.id = l.business_unit_id
           LEFT JOIN app_user u ON u.id = l.updated_by_id WHERE b.code = 'RESEARCH' ORDER BY l.position LIMIT 1`,
      ))[0];
    await expect.poll(firstLine, { timeout: 10_000 }).toEqual({ budget_amount: 4321, email: 'rita@example.org' });
    await screenshot(leader.page, 'first-run-leader-grid');
    expect(admin.problems).toEqual([]);
    expect(leader.problems).toEqual([]);
  });
});
