/**
 * A plan's lines administered in a browser against a real server: an open grid shows lines added elsewhere and
 * drops a removed one without a reload, and its new row takes an edit; on the plans page an admin adds a unit's
 * lines (a category and region with its quarters, then one line), is told why a line that exists cannot be added
 * again, removes lines after a confirmation that says how many and that their history stays, and sees another
 * admin's addition without a reload.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

const ADD = `mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) { id quarter } }`;
const REMOVE = `mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`;
const SHOTS = '/tmp/shots';

/** What the viewport shows (a full-page shot repeats the sticky top bar mid-page). */
async function shot(page: Page, name: string) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
}

describe.skipIf(!hasChromium)('plan lines', () => {
  const world = browserWorld();
  let admin: string;
  let planId: string;

  const unitLines = async (unit: string) =>
    world.server.sql<{ id: string; product_category: string; region: string; quarter: string; budget_amount: number | null }>(
      `SELECT l.id, l.product_category, l.region, l.quarter, l.budget_amount FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        WHERE u.code = $1 ORDER BY l.position`,
      [unit],
    );
  const quarterLines = (unit: string, productCategory: string, region: string) =>
    ['Q1', 'Q2', 'Q3', 'Q4'].map((quarter) => ({ businessUnitCode: unit, productCategory, region, quarter }));

  beforeAll(async () => {
    admin = await world.server.login('admin@example.com');
    planId = (await world.server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });

  it('shows lines added and removed elsewhere in an open grid without a reload, and the new rows take edits', async () => {
    const { server } = world;
    // Sales North without its Software lines in the Middle East & Africa: they come back while the grid is open.
    const gone = (await unitLines('SALES_NORTH')).filter((l) => l.product_category === 'Software' && l.region === 'Middle East & Africa');
    expect((await server.gql(REMOVE, { ids: gone.map((l) => l.id) }, admin)).data.removeBudgetLines).toBe(4);

    const person = await world.signIn('admin@example.com');
    const page = person.page;
    await openGrid(person, 'SALES_NORTH');
    await expect.poll(() => valueOf(page, 0, 'quarter')).toBe('Q1');
    const marker = await page.evaluate(() => ((window as unknown as { marker: number }).marker = Math.random()));

    const [first] = await unitLines('SALES_NORTH');
    const added = await server.gql(ADD, { p: planId, l: quarterLines('SALES_NORTH', 'Software', 'Middle East & Africa') }, admin);
    expect(added.errors).toBeUndefined();
    expect((await server.gql(REMOVE, { ids: [first.id] }, admin)).data.removeBudgetLines).toBe(1);

    // The removed first row is gone: the grid now starts with its second line.
    await expect.poll(() => valueOf(page, 0, 'quarter')).toBe('Q2');
    expect(await valueOf(page, 0, 'productCategory')).toBe('Laptops');
    // The new rows, found through the filters (which offer the new region and category again).
    const filter = (label: string) => page.locator('.grid-toolbar label').filter({ hasText: label }).locator('select');
    await filter('Category').selectOption('Software');
    await filter('Region').selectOption('Middle East & Africa');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-cell[col-id="quarter"]').count()).toBe(4);
    expect(await valueOf(page, 3, 'quarter')).toBe('Q4');

    // A new row's cell is editable at once: the edit reaches the row.
    await typeInto(page, 0, 'budgetAmount', '321');
    const newQ1 = added.data.addBudgetLines.find((l: { quarter: string }) => l.quarter === 'Q1').id;
    await expect
      .poll(async () => (await server.sql<{ budget_amount: number | null }>(`SELECT budget_amount FROM budget_line WHERE id = $1`, [newQ1]))[0].budget_amount, { timeout: 10_000 })
      .toBe(321);
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('321');
    await shot(page, 'grid-live-add');
    // Still the same page: nothing reloaded it.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(marker);
    expectNoProblems(person);
  });

  it("adds a unit's lines on the plans page and removes some after a confirmation", async () => {
    const { server } = world;
    expect((await server.gql(`mutation { createBusinessUnit(code: "RESEARCH", name: "Research") { code } }`, {}, admin)).errors).toBeUndefined();
    const person = await world.signIn('admin@example.com', '/admin/plans');
    const page = person.page;
    const section = page.getByRole('region', { name: 'Plan lines' });
    await section.getByLabel('Business unit of the lines').selectOption('RESEARCH');
    await expect.poll(() => section.textContent()).toContain('Research has no lines in FY2027 Budget yet');

    // A category and region: its four quarters.
    const group = section.getByRole('form', { name: 'Add a category and region' });
    await group.getByLabel('Category').fill('Servers');
    await group.getByLabel('Region').fill('Europe');
    await group.getByRole('button', { name: 'Add its quarters' }).click();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('4 lines');

    // One line with a prior-year actual.
    const one = section.getByRole('form', { name: 'Add a line' });
    await one.getByLabel('Category').fill('Laptops');
    await one.getByLabel('Region').fill('North America');
    await one.getByLabel('Quarter').selectOption('Q2');
    await one.getByLabel('Prior-year actual (optional)').fill('1250');
    await one.getByRole('button', { name: 'Add line' }).click();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('5 lines');
    const table = section.getByRole('table', { name: 'Lines of Research' });
    // In the grid's order: Laptops before Servers.
    await expect.poll(() => table.locator('tbody tr').first().textContent()).toContain('LaptopsNorth AmericaQ21,250');

    // The same line again: the server's refusal, as it words it.
    await one.getByRole('button', { name: 'Add line' }).click();
    await expect.poll(() => section.getByRole('alert').textContent()).toMatch(/Laptops, North America, Q2 already exists/);
    expect(await unitLines('RESEARCH')).toHaveLength(5);
    await section.scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 400);
    await shot(page, 'plan-lines-admin');

    // Remove two, after a confirmation naming how many and that their history stays.
    await table.getByLabel('Select Servers, Europe, Q1').check();
    await table.getByLabel('Select Servers, Europe, Q2').check();
    await section.getByRole('button', { name: 'Remove selected (2)…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove 2 lines from Research?' });
    await expect.poll(() => dialog.textContent()).toContain('audit history stays readable');
    await shot(page, 'plan-lines-remove-dialog');
    // Cancelling removes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await unitLines('RESEARCH')).toHaveLength(5);
    await section.getByRole('button', { name: 'Remove selected (2)…' }).click();
    await page.getByRole('dialog', { name: 'Remove 2 lines from Research?' }).getByRole('button', { name: 'Remove 2 lines' }).click();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('3 lines');
    // Another admin's addition shows without a reload.
    const elsewhere = await server.gql(ADD, { p: planId, l: [{ businessUnitCode: 'RESEARCH', productCategory: 'Storage', region: 'Asia Pacific', quarter: 'Q1' }] }, admin);
    expect(elsewhere.errors).toBeUndefined();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('4 lines');
    await expect.poll(() => table.textContent()).toContain('StorageAsia PacificQ1');
    expect((await unitLines('RESEARCH')).map((l) => `${l.product_category} ${l.region} ${l.quarter}`)).toEqual([
      'Laptops North America Q2',
      'Servers Europe Q3',
      'Servers Europe Q4',
      'Storage Asia Pacific Q1',
    ]);
    const entries = await server.sql<{ action: string; details: { count: number } }>(
      `SELECT action, details FROM activity_entry WHERE action IN ('LINES_ADDED', 'LINES_REMOVED') AND details->'units' ? 'RESEARCH' ORDER BY at`,
    );
    expect(entries.map((e) => [e.action, e.details.count])).toEqual([['LINES_ADDED', 4], ['LINES_ADDED', 1], ['LINES_REMOVED', 2], ['LINES_ADDED', 1]]);
    expectNoProblems(person);
  });

  it("starts the forms at what a unit lacks, says when it has the whole layout, and adds a category and region of the team's own", async () => {
    const { server } = world;
    const gone = (await unitLines('SALES_SOUTH')).find((l) => l.product_category === 'Networking' && l.region === 'Europe' && l.quarter === 'Q3')!;
    expect((await server.gql(REMOVE, { ids: [gone.id] }, admin)).data.removeBudgetLines).toBe(1);
    const person = await world.signIn('admin@example.com', '/admin/plans');
    const section = person.page.getByRole('region', { name: 'Plan lines' });
    await section.getByLabel('Business unit of the lines').selectOption('SALES_SOUTH');
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('119 lines');
    // Not Laptops in North America, which the unit has: the one combination it lacks.
    const group = section.getByRole('form', { name: 'Add a category and region' });
    await expect.poll(() => group.getByLabel('Category').inputValue()).toBe('Networking');
    expect(await group.getByLabel('Region').inputValue()).toBe('Europe');
    expect(await group.textContent()).toContain('(the missing Q3)');
    const one = section.getByRole('form', { name: 'Add a line' });
    expect([await one.getByLabel('Category').inputValue(), await one.getByLabel('Region').inputValue(), await one.getByLabel('Quarter').inputValue()]).toEqual(['Networking', 'Europe', 'Q3']);
    expect(await section.getByTestId('lines-complete').count()).toBe(0);

    await group.getByRole('button', { name: 'Add its quarters' }).click();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('120 lines');
    await expect.poll(() => section.getByTestId('lines-complete').textContent()).toContain('Sales South has every category and region of the layout');

    // A category and region of the team's own, typed in (trimmed): its four quarters after the layout's lines.
    await section.getByLabel('Business unit of the lines').selectOption('FINANCE');
    await section.getByLabel('Business unit of the lines').selectOption('SALES_SOUTH');
    await expect.poll(() => group.getByLabel('Category').inputValue()).toBe('');
    await group.getByRole('button', { name: 'Add its quarters' }).click();
    await expect.poll(() => section.getByTestId('lines-problem').textContent()).toBe('Type or pick a category and a region.');
    await group.getByLabel('Category').fill(' Cloud services ');
    await group.getByLabel('Region').fill('India');
    await group.getByRole('button', { name: 'Add its quarters' }).click();
    await expect.poll(() => section.getByTestId('line-count').textContent()).toBe('124 lines');
    const table = section.getByRole('table', { name: 'Lines of Sales South' });
    await expect.poll(() => table.locator('tbody tr').last().textContent()).toContain('Cloud servicesIndiaQ4');
    expect((await unitLines('SALES_SOUTH')).slice(-4).map((l) => `${l.product_category}/${l.region}/${l.quarter}`)).toEqual(
      ['Q1', 'Q2', 'Q3', 'Q4'].map((q) => `Cloud services/India/${q}`),
    );
    await shot(person.page, 'plan-lines-own-category');
    expectNoProblems(person);
  });
});
