/// <reference lib="dom" />
/**
 * Entering a budget at a person's pace, as a QA pass found it going wrong with two leaders of a unit on one grid:
 * figures typed along a row with Tab lost their first digits, and with the grid sorted by an amount a colleague's
 * entry moved the rows under the cursor, so that the next figure typed went into another line.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { cell, openGrid, typeInto, valueOf } from './gridPage.js';

/** The line a displayed row shows: its category, region and quarter. */
const lineAt = (page: Page, row: number) =>
  Promise.all(['productCategory', 'region', 'quarter'].map((column) => valueOf(page, row, column))).then((parts) => parts.join(' / '));

describe.skipIf(!hasChromium)('entering a budget in the grid', () => {
  const world = browserWorld();

  it('keeps every digit of figures typed along a row with Tab, as a quick typist types them', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const planner = await world.signIn('planner.marketing@example.com');
    await Promise.all([openGrid(lead, 'MARKETING'), openGrid(planner, 'MARKETING')]);
    const page = lead.page;
    // Last week's forecasts are in: Tab lands on cells that hold a value, which the next figure replaces.
    for (const row of [0, 1]) await typeInto(page, row, 'forecastSales', '9999');
    await expect.poll(() => valueOf(planner.page, 1, 'forecastSales')).toBe('9,999');

    // Two rows: the first digits went in every run at this pace.
    for (const row of [0, 1]) {
      await cell(page, row, 'budgetAmount').click();
      // Budget, Tab (over the read-only variance columns), forecast, Tab, comment, Tab: at 50 ms a key.
      await page.keyboard.type(`${500 + row}`, { delay: 50 });
      await page.keyboard.press('Tab');
      await page.keyboard.type(`${4200 + row}`, { delay: 50 });
      await page.keyboard.press('Tab');
      await page.keyboard.type(`Q${row} plan`, { delay: 50 });
      await page.keyboard.press('Tab');
    }
    for (const row of [0, 1]) {
      await expect.poll(() => valueOf(planner.page, row, 'comment')).toBe(`Q${row} plan`);
      expect(await valueOf(planner.page, row, 'budgetAmount')).toBe(`${500 + row}`);
      expect(await valueOf(planner.page, row, 'forecastSales')).toBe((4200 + row).toLocaleString('en-US'));
    }
    // The last Tab went on to the next row's first editable cell, without opening it: typing there starts afresh.
    expect(await page.locator('.ag-cell-focus').getAttribute('col-id')).toBe('budgetAmount');
    expect(await page.locator('.ag-cell-inline-editing, .ag-popup-editor').count()).toBe(0);

    // Shift+Tab goes back to the previous editable cell, committing the entry.
    await cell(page, 6, 'comment').dblclick();
    await page.locator('.ag-popup-editor textarea').fill('back');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('777', { delay: 50 });
    await page.keyboard.press('Enter');
    await expect.poll(() => valueOf(planner.page, 6, 'forecastSales')).toBe('777');
    expect(await valueOf(planner.page, 6, 'comment')).toBe('back');
    expectNoProblems(lead);
    expectNoProblems(planner);
  });

  it('keeps the rows of a sorted grid where they are while colleagues enter figures, until the person sorts again', async () => {
    const lead = await world.signIn('lead.finance@example.com');
    const planner = await world.signIn('planner.finance@example.com');
    await Promise.all([openGrid(lead, 'FINANCE'), openGrid(planner, 'FINANCE')]);
    const page = lead.page;
    await typeInto(planner.page, 0, 'budgetAmount', '800');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('800');

    // The lead sorts by budget (the empty ones first) and stands on the third line to enter its figure.
    await page.getByRole('button', { name: 'Sort by Budget amount (USD)' }).click();
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('');
    const before = await Promise.all([0, 1, 2, 3].map((row) => lineAt(page, row)));
    await cell(page, 2, 'budgetAmount').click();

    // Meanwhile the planner enters the budget of the line shown first: it stays first, with its new figure.
    const first = await lineAt(page, 0);
    let plannerRow = -1;
    for (let row = 0; row < 12 && plannerRow < 0; row++) if ((await lineAt(planner.page, row)) === first) plannerRow = row;
    expect(plannerRow).toBeGreaterThanOrEqual(0);
    await typeInto(planner.page, plannerRow, 'budgetAmount', '5000');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('5,000');
    expect(await Promise.all([0, 1, 2, 3].map((row) => lineAt(page, row)))).toEqual(before);
    expect(await valueOf(page, 2, 'rowNumber')).toBe('3');

    // The lead's figure goes into the line they stood on.
    await page.keyboard.type('123');
    await page.keyboard.press('Enter');
    await expect.poll(() => valueOf(page, 2, 'budgetAmount')).toBe('123');
    expect(await lineAt(page, 2)).toBe(before[2]);
    for (let row = 0; row < 12; row++) {
      if ((await lineAt(planner.page, row)) === before[2]) await expect.poll(() => valueOf(planner.page, row, 'budgetAmount')).toBe('123');
    }

    // Sorting again sorts by the figures as they are now: the three budgeted lines go after the empty ones.
    await page.getByRole('button', { name: 'Sort by Budget amount (USD)' }).click(); // descending
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('5,000');
    expect([await valueOf(page, 1, 'budgetAmount'), await valueOf(page, 2, 'budgetAmount')]).toEqual(['800', '123']);
    expectNoProblems(lead);
    expectNoProblems(planner);
  });
});
