/**
 * Picking a plan in a browser against a real server: with two plans, the grid opens the latest fiscal year's,
 * the picker switches to another (the address keeps it, so a reload and the unit picker stay on it), and an
 * edit lands in the plan shown, not in the other; the submissions dashboard picks plans the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

describe.skipIf(!hasChromium)('the plan picker', () => {
  const world = browserWorld();
  let fy2027: string;
  let fy2028: string;

  beforeAll(async () => {
    const { server } = world;
    [{ id: fy2027 }] = await server.sql<{ id: string }>(`SELECT id FROM budget_plan`);
    // Next year's plan: the same lines, every budget 7 (as a plan copied with its values would be), all DRAFT.
    [{ id: fy2028 }] = await server.sql<{ id: string }>(`INSERT INTO budget_plan (id, name, fiscal_year) VALUES (gen_random_uuid(), 'FY2028 Budget', 2028) RETURNING id`);
    await server.sql(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, budget_amount)
       SELECT gen_random_uuid(), $1, business_unit_id, product_category, region, quarter, position, 7 FROM budget_line WHERE plan_id = $2`,
      [fy2028, fy2027],
    );
    await server.sql(`INSERT INTO budget_submission (id, plan_id, business_unit_id) SELECT gen_random_uuid(), $1, id FROM business_unit`, [fy2028]);
  });

  const firstLine = async (planId: string) =>
    (await world.server.sql<{ budget_amount: number | null }>(
      `SELECT l.budget_amount FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        WHERE l.plan_id = $1 AND u.code = 'SALES_NORTH' ORDER BY l.position LIMIT 1`,
      [planId],
    ))[0].budget_amount;

  it('opens the latest plan, switches plans from the picker, and edits the plan shown', async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    const { page } = lead;
    await openGrid(lead, 'SALES_NORTH');
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('FY2028 Budget');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('7');

    await page.getByLabel('Plan', { exact: true }).selectOption({ label: 'FY2027 Budget' });
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('FY2027 Budget');
    await expect.poll(() => new URL(page.url()).searchParams.get('plan')).toBe(fy2027);
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
    await screenshot(page, 'grid-plan-picker');

    await typeInto(page, 0, 'budgetAmount', '4321');
    await expect.poll(() => firstLine(fy2027), { timeout: 10_000 }).toBe(4321);
    expect(await firstLine(fy2028)).toBe(7);

    // The address keeps the plan: a reload shows it again.
    await page.reload();
    await expect.poll(() => page.getByTestId('plan-name').textContent()).toBe('FY2027 Budget');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toContain('4,321');
    expectNoProblems(lead);
  });

  it('picks the plan of the submissions dashboard the same way', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/submissions');
    const { page } = admin;
    const picker = page.getByLabel('Plan', { exact: true });
    await expect.poll(async () => (await picker.count()) === 1 && (await picker.inputValue())).toBe(fy2028);
    await picker.selectOption({ label: 'FY2027 Budget' });
    await expect.poll(() => new URL(page.url()).searchParams.get('plan')).toBe(fy2027);
    await expect.poll(() => picker.inputValue()).toBe(fy2027);
    expectNoProblems(admin);
  });
});
