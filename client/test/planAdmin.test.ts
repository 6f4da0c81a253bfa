/**
 * Plans administered in a browser against a real server: an admin creates next year's plan as a copy of
 * FY2027 with its budget as prior-year actuals, a leader picks it in the grid and edits it, the admin closes it
 * after a confirmation (the leader's edits no longer land, and the grid says it is read-only), and creates a
 * business unit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { offeredAdminSections } from './adminNav.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

describe.skipIf(!hasChromium)('plans administration', () => {
  const world = browserWorld();

  const firstLineOf = async (planName: string) =>
    (await world.server.sql<{ budget_amount: number | null; prior_year_actual: number | null }>(
      `SELECT l.budget_amount, l.prior_year_actual FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        JOIN budget_plan p ON p.id = l.plan_id WHERE p.name = $1 AND u.code = 'SALES_NORTH' ORDER BY l.position LIMIT 1`,
      [planName],
    ))[0];

  beforeAll(async () => {
    const { server } = world;
    // This year's budget of the first Sales North line, which next year's plan takes as its prior-year actual.
    const token = await server.login('lead.sales-north@example.com');
    const [line] = await server.sql<{ id: string }>(
      `SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_NORTH' ORDER BY l.position LIMIT 1`,
    );
    const res = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 98765 }) { id } }', { id: line.id }, token);
    expect(res.errors).toBeUndefined();
  });

  it('creates a plan by copying FY2027, which a leader picks and edits, then closes it after a confirmation', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/plans');
    const page = admin.page;
    const form = page.getByRole('form', { name: 'New plan' });
    await expect.poll(() => form.getByLabel('Name').inputValue()).toBe('FY2028 Budget');
    await expect.poll(() => form.getByLabel('Start from').inputValue()).not.toBe('');
    await form.getByLabel("Its budget as this plan's prior-year actuals").check();
    await form.getByRole('button', { name: 'Create plan' }).click();
    await expect.poll(() => page.locator('tr[data-plan="FY2028 Budget"]').textContent()).toContain('Open');
    expect(await firstLineOf('FY2028 Budget')).toEqual({ budget_amount: null, prior_year_actual: 98765 });
    // The same name again: the server's refusal, as it words it.
    await form.getByLabel('Name').fill('FY2028 Budget');
    await form.getByRole('button', { name: 'Create plan' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/FY2028 Budget/);
    await screenshot(page, 'plans-admin');

    const lead = await world.signIn('lead.sales-north@example.com');
    await openGrid(lead, 'SALES_NORTH');
    await expect.poll(() => lead.page.getByTestId('plan-name').textContent()).toBe('FY2028 Budget');
    await expect.poll(() => valueOf(lead.page, 0, 'priorYearActual')).toContain('98,765');
    await typeInto(lead.page, 0, 'budgetAmount', '111');
    await expect.poll(() => firstLineOf('FY2028 Budget').then((l) => l.budget_amount), { timeout: 10_000 }).toBe(111);

    // A unit under review when the plan is closed: the dialog says its review cannot be decided while it is closed.
    const [fy2028] = await world.server.sql<{ id: string }>(`SELECT id FROM budget_plan WHERE name = 'FY2028 Budget'`);
    const submitted = await world.server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }`,
      { p: fy2028.id },
      await world.server.login('admin@example.com'),
    );
    expect(submitted.errors).toBeUndefined();
    await page.getByRole('button', { name: 'Close FY2028 Budget' }).click();
    const dialog = page.getByRole('dialog', { name: 'Close FY2028 Budget?' });
    await expect.poll(() => dialog.textContent()).toContain('read-only');
    await expect.poll(() => dialog.getByTestId('close-waiting-reviews').textContent()).toMatch(/^1 unit is still waiting for Finance's review \(Sales South\): while the plan is closed it can be neither approved nor rejected/);
    await screenshot(page, 'plans-close-with-reviews');
    await dialog.getByRole('button', { name: 'Close plan' }).click();
    await expect.poll(() => page.locator('tr[data-plan="FY2028 Budget"]').textContent()).toContain('Closed');

    // The leader's grid is read-only now: an edit does not land, and after a reload the page says so.
    await typeInto(lead.page, 1, 'budgetAmount', '222');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const [second] = await world.server.sql<{ budget_amount: number | null }>(
      `SELECT l.budget_amount FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id JOIN budget_plan p ON p.id = l.plan_id
        WHERE p.name = 'FY2028 Budget' AND u.code = 'SALES_NORTH' ORDER BY l.position OFFSET 1 LIMIT 1`,
    );
    expect(second.budget_amount).toBeNull();
    await lead.page.reload();
    await expect.poll(() => lead.page.getByRole('status').filter({ hasText: 'not change it' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Reopen FY2028 Budget' }).click();
    await page.getByRole('dialog', { name: 'Reopen FY2028 Budget?' }).getByRole('button', { name: 'Reopen plan' }).click();
    await expect.poll(() => page.locator('tr[data-plan="FY2028 Budget"]').textContent()).toContain('Open');

    // Renamed: another plan's name (in any case) is refused in the dialog; a free one shows at once, and the
    // leader's grid shows it after a reload.
    await page.getByRole('button', { name: 'Rename FY2028 Budget' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename FY2028 Budget' });
    await rename.getByLabel('New name').fill('fy2027 budget');
    await rename.getByRole('button', { name: 'Rename plan' }).click();
    await expect.poll(() => rename.getByRole('alert').textContent()).toMatch(/already exists/);
    await rename.getByLabel('New name').fill('FY2028 Budget (final)');
    await screenshot(page, 'plans-admin-rename');
    await rename.getByRole('button', { name: 'Rename plan' }).click();
    await expect.poll(() => page.locator('tr[data-plan="FY2028 Budget (final)"]').count()).toBe(1);
    expect(await page.locator('tr[data-plan="FY2028 Budget"]').count()).toBe(0);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'FY2028 Budget is now FY2028 Budget (final).' }).count()).toBe(1);
    await lead.page.reload();
    await expect.poll(() => lead.page.getByTestId('plan-name').textContent()).toBe('FY2028 Budget (final)');
    expectNoProblems(admin);
  });

  it('creates a business unit, and refuses a code the contract does not allow', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/plans');
    const form = admin.page.getByRole('form', { name: 'New business unit' });
    await form.getByLabel('Code').fill('research');
    await form.getByLabel('Name').fill('Research');
    await form.getByRole('button', { name: 'Create unit' }).click();
    await expect.poll(() => admin.page.getByRole('list', { name: 'Business units' }).textContent()).toContain('RESEARCH Research');
    expect(await world.server.sql(`SELECT code FROM business_unit WHERE code = 'RESEARCH'`)).toEqual([{ code: 'RESEARCH' }]);

    // Renamed: the code stays, the list and a notice say the new name.
    await admin.page.getByRole('button', { name: 'Rename Research' }).click();
    const rename = admin.page.getByRole('dialog', { name: 'Rename Research' });
    expect(await rename.textContent()).toContain('Its code (RESEARCH), lines, submissions, people and history stay');
    await rename.getByLabel('New name').fill('  Research & Development ');
    await screenshot(admin.page, 'plans-admin-rename-unit');
    await rename.getByRole('button', { name: 'Rename unit' }).click();
    await expect.poll(() => admin.page.getByRole('list', { name: 'Business units' }).textContent()).toContain('RESEARCH Research & Development');
    await expect.poll(() => admin.page.getByRole('status').filter({ hasText: 'Research is now Research & Development.' }).count()).toBe(1);
    expect(await rename.count()).toBe(0);
    expect(await world.server.sql(`SELECT name FROM business_unit WHERE code = 'RESEARCH'`)).toEqual([{ name: 'Research & Development' }]);
    expectNoProblems(admin);
  });

  it('is not offered to anyone but admins', async () => {
    const analyst = await world.signIn('analyst@example.com', '/admin/plans');
    await expect.poll(() => analyst.page.getByRole('navigation', { name: 'Main' }).textContent()).toContain('Budget grid');
    expect(await analyst.page.getByRole('form', { name: 'New plan' }).count()).toBe(0);
    expect(await offeredAdminSections(analyst.page)).not.toContain('Plans');
  });
});
