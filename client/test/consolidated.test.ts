/// <reference lib="dom" />
/**
 * The consolidated view: an analyst sees every unit's budget summed by unit and category (or region), with the
 * totals the database holds, follows a leader's edit live, collapses a group, regroups, and downloads the view;
 * a leader (one unit) is not offered it in the navigation.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

const amount = (value: number) => new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);

describe.skipIf(!hasChromium)('consolidated view', () => {
  const world = browserWorld();

  it('sums every unit by unit then category, matches the database, follows edits live, regroups and downloads', async () => {
    const { server } = world;
    const analyst = await world.signIn('analyst@example.com');
    const { page } = analyst;
    await page.getByRole('link', { name: 'Consolidated' }).click();
    const table = page.getByRole('table', { name: 'Consolidated budget' });
    await table.waitFor();

    const [plan] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
    const totals = async () =>
      (await server.sql<{ budget: number; lines: number; budgeted: number }>(
        `SELECT coalesce(sum(budget_amount), 0)::float8 AS budget, count(*)::int AS lines, count(budget_amount)::int AS budgeted FROM budget_line WHERE plan_id = $1`,
        [plan.id],
      ))[0];
    const before = await totals();
    const totalRow = page.getByTestId('consolidated-total');
    await expect.poll(() => totalRow.textContent()).toContain(`${before.budgeted} of ${before.lines}`);

    // Every unit is a group, linked to its grid; its categories are rows under it.
    const units = await server.sql<{ code: string }>('SELECT code FROM business_unit ORDER BY code');
    const groups = page.locator('tr[data-level="0"]');
    expect(await groups.count()).toBe(units.length);
    await expect.poll(() => page.locator('tr[data-level="1"]').count()).toBeGreaterThan(units.length);

    // Nobody has forecast anything yet: a dash, as for a budget nobody set, not a forecast of zero.
    const forecastCell = totalRow.locator('td').nth(4 + 3);
    expect(await forecastCell.textContent()).toBe('—');

    // A leader's edit (through the API) reaches the open view at once.
    const lead = await server.login('lead.sales-north@example.com');
    const [line] = await server.sql<{ id: string }>(
      `SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_NORTH' AND l.plan_id = $1 AND l.budget_amount IS NULL ORDER BY l.position LIMIT 1`,
      [plan.id],
    );
    const res = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 1234567, forecastSales: 4321 }) { id } }', { id: line.id }, lead);
    expect(res.errors).toBeUndefined();
    const after = await totals();
    expect(after.budget).toBe(before.budget + 1234567);
    await expect.poll(() => totalRow.textContent()).toContain(amount(after.budget));
    await expect.poll(() => totalRow.textContent()).toContain(`${after.budgeted} of ${after.lines}`);
    await expect.poll(() => forecastCell.textContent()).toBe(amount(4321));
    await screenshot(page, 'consolidated-by-unit');

    // Collapsing a unit hides its categories; regrouping by region alone leaves one row per region.
    const subRows = await page.locator('tr[data-level="1"]').count();
    await page.getByRole('button', { name: /^Collapse .*SALES_NORTH/ }).click();
    await expect.poll(() => page.locator('tr[data-level="1"]').count()).toBeLessThan(subRows);
    await page.getByLabel('Group by').selectOption('region');
    await expect.poll(() => page.url()).toMatch(/by=region&then=productCategory/);
    await page.getByLabel('then by').selectOption('none');
    await expect.poll(() => page.url()).toMatch(/by=region&then=none/);
    const regions = await server.sql('SELECT DISTINCT region FROM budget_line WHERE plan_id = $1', [plan.id]);
    await expect.poll(() => groups.count()).toBe(regions.length);
    await expect.poll(() => page.locator('tr[data-level="1"]').count()).toBe(0);
    await expect.poll(() => totalRow.textContent()).toContain(amount(after.budget));

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download this view (CSV)' }).click();
    const csv = await downloading;
    expect(csv.suggestedFilename()).toMatch(/^consolidated-.*-by-region\.csv$/);
    // As the page shows it: empty where nothing is budgeted or forecast, never a zero nobody entered.
    const text = fs.readFileSync((await csv.path())!, 'utf8').replace(/^\uFEFF/, '');
    const [header, ...rows] = text.trim().split(/\r?\n/).map((row) => row.split(','));
    const column = (name: string) => header.indexOf(name);
    const total = rows.find((r) => r[0] === 'Total')!;
    expect(Number(total[column('Budget amount')])).toBe(after.budget);
    expect(Number(total[column('Forecast sales')])).toBe(4321);
    const unbudgeted = rows.filter((r) => r[0] !== 'Total' && r[column('Lines with a budget')] === '0');
    expect(unbudgeted.length).toBeGreaterThan(0);
    for (const row of unbudgeted) expect([row[column('Budget Q1')], row[column('Budget amount')], row[column('Forecast sales')]]).toEqual(['', '', '']);

    // A unit's grid page has the same subtotals for its own lines: by category (the default), or by region.
    await page.getByLabel('Group by').selectOption('unit');
    await page.getByRole('link', { name: 'Sales North (SALES_NORTH)' }).click();
    const subtotals = page.getByRole('table', { name: 'Subtotals' });
    await subtotals.waitFor();
    const categories = await server.sql(
      `SELECT DISTINCT product_category FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_NORTH' AND l.plan_id = $1`,
      [plan.id],
    );
    await expect.poll(() => subtotals.locator('tbody tr').count()).toBe(categories.length);
    await expect.poll(() => subtotals.locator('tfoot').textContent()).toContain(amount(1234567));
    await page.getByLabel('Subtotals by').selectOption('region+productCategory');
    await expect.poll(() => subtotals.locator('tbody tr[data-level="1"]').count()).toBeGreaterThan(0);
    await screenshot(page, 'grid-subtotals');
    expectNoProblems(analyst);

    // A unit's leader has their unit's grid and totals; the consolidated view is not in their navigation.
    const leader = await world.signIn('lead.sales-north@example.com');
    expect(await leader.page.getByRole('link', { name: 'Consolidated' }).count()).toBe(0);
  });
});
