/// <reference lib="dom" />
/**
 * Ranges in the budget grid, in a browser with two people on one unit: select with the mouse and the keyboard,
 * copy out as tab-separated text, paste elsewhere, fill down (Ctrl+D and the fill handle), spread a year evenly and
 * by last year's seasonality, clear; the colleague sees every change; each of them is one undo step.
 */
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import type { Person } from './browser.js';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { cell, openGrid, typeInto, valueOf } from './gridPage.js';

const SHOTS = '/tmp/shots';
const shot = async (page: Page, name: string) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png` });
};
const amount = (text: string) => (text.trim() === '' ? null : Number(text.replace(/,/g, '')));
const center = async (page: Page, row: number, column: string) => {
  const box = (await cell(page, row, column).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2, box };
};

describe.skipIf(!hasChromium)('ranges in the budget grid', () => {
  const world = browserWorld();
  // The two people stay on the page from one step to the next (the steps build on each other).
  let lead: Person;
  let planner: Person;
  let page: Page;
  const size = () => page.getByTestId('range-size').textContent();
  const seen = (row: number, column: string) => valueOf(planner.page, row, column);

  it('selects a range with the mouse, copies it as tab-separated text, pastes it elsewhere', async () => {
    lead = await world.signIn('lead.sales-north@example.com');
    planner = await world.signIn('planner.sales-north@example.com');
    await Promise.all([openGrid(lead, 'SALES_NORTH'), openGrid(planner, 'SALES_NORTH')]);
    page = lead.page;

    // Currency in the amount headers; the row numbers; no sort arrow in the way of a click on a label.
    expect(await page.locator('.ag-header-cell[col-id="budgetAmount"]').textContent()).toContain('Budget amount (USD)');
    expect(await valueOf(page, 0, 'rowNumber')).toBe('1');

    await typeInto(page, 0, 'budgetAmount', '100');
    await typeInto(page, 1, 'budgetAmount', '200');
    await typeInto(page, 0, 'forecastSales', '300');
    await typeInto(page, 1, 'forecastSales', '400');
    await expect.poll(() => seen(1, 'forecastSales')).toBe('400');

    // Mouse drag: two rows from the budget to the forecast (variance and var % between them).
    const from = await center(page, 0, 'budgetAmount');
    const to = await center(page, 1, 'forecastSales');
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 5 });
    await page.mouse.up();
    await expect.poll(size).toMatch(/2 × 4 selected/);
    expect(await page.locator('[data-testid=budget-grid] .ag-cell.range-selected').count()).toBe(8);
    await shot(page, 'range-selected');

    // Ctrl+C: tab-separated, raw numbers, read-only columns included (as Excel copies them).
    await page.keyboard.press('Control+C');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    const rows = copied.replace(/\r\n$/, '').split('\r\n').map((r) => r.split('\t'));
    expect(rows.map((r) => [r[0], r[3]])).toEqual([['100', '300'], ['200', '400']]);
    expect(rows[0][1]).toMatch(/^-?\d+(\.\d+)?$/); // the variance, unformatted

    // Paste it at row 13: the read-only columns in the block are skipped.
    await cell(page, 12, 'budgetAmount').click();
    await page.keyboard.press('Control+V');
    await expect.poll(() => seen(13, 'forecastSales')).toBe('400');
    expect([await seen(12, 'budgetAmount'), await seen(13, 'budgetAmount'), await seen(12, 'forecastSales')]).toEqual(['100', '200', '300']);
    await expect.poll(size).toMatch(/2 × 4 selected/); // the pasted block is the range
  });

  it('fills down with Ctrl+D and with the fill handle', async () => {
    // Shift+click and Shift+arrows; Ctrl+D copies the range's first row down.
    await cell(page, 12, 'budgetAmount').click();
    await cell(page, 14, 'budgetAmount').click({ modifiers: ['Shift'] });
    await expect.poll(size).toMatch(/3 × 1 selected/);
    await page.keyboard.press('Shift+ArrowDown');
    await expect.poll(size).toMatch(/4 × 1 selected/);
    await page.keyboard.press('Control+D');
    await expect.poll(() => seen(15, 'budgetAmount')).toBe('100');
    expect([await seen(13, 'budgetAmount'), await seen(14, 'budgetAmount')]).toEqual(['100', '100']);

    // The fill handle: row 13's forecast dragged down to row 16.
    await cell(page, 12, 'forecastSales').click();
    const corner = (await center(page, 12, 'forecastSales')).box;
    const target = await center(page, 15, 'forecastSales');
    await page.mouse.move(corner.x + corner.width - 3, corner.y + corner.height - 3);
    await page.mouse.down();
    await page.mouse.move(target.x, target.y, { steps: 6 });
    await shot(page, 'range-fill-dragging');
    await page.mouse.up();
    await expect.poll(() => seen(15, 'forecastSales')).toBe('300');
    expect([await seen(13, 'forecastSales'), await seen(14, 'forecastSales')]).toEqual(['300', '300']);
    await expect.poll(size).toMatch(/4 × 1 selected/);
    await shot(page, 'range-filled');
  });

  it('spreads a year evenly and by seasonality, adds a percentage, clears', async () => {
    // Spread a year over the quarters of the (category, region) of row 5 (rows 5 to 8 are its Q1 to Q4): evenly.
    await cell(page, 4, 'budgetAmount').click();
    await page.getByRole('button', { name: 'Spread year…' }).click();
    await page.getByLabel('Annual amount').fill('1000');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => seen(7, 'budgetAmount')).toBe('250');
    expect([await seen(4, 'budgetAmount'), await seen(5, 'budgetAmount'), await seen(6, 'budgetAmount')]).toEqual(['250', '250', '250']);

    // By last year's seasonality, for rows 9 to 12: each quarter's share of the prior-year actuals, adding up exactly.
    const priors = await Promise.all([8, 9, 10, 11].map(async (r) => amount(await valueOf(page, r, 'priorYearActual'))!));
    await cell(page, 8, 'budgetAmount').click();
    await page.getByRole('button', { name: 'Spread year…' }).click();
    await page.getByLabel('Annual amount').fill('410,000');
    await page.getByRole('combobox', { name: 'Spread' }).selectOption('seasonal');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => seen(11, 'budgetAmount')).not.toBe('');
    const spread = await Promise.all([8, 9, 10, 11].map(async (r) => amount(await seen(r, 'budgetAmount'))!));
    const total = priors.reduce((a, b) => a + b, 0);
    spread.forEach((v, i) => expect(Math.abs(v - (410_000 * priors[i]) / total)).toBeLessThan(0.02));
    expect(Math.round(spread.reduce((a, b) => a + b, 0) * 100) / 100).toBe(410_000);

    // A percentage on a range: +10% on rows 5 and 6.
    await cell(page, 4, 'budgetAmount').click();
    await page.keyboard.press('Shift+ArrowDown');
    await page.getByRole('button', { name: '± %…' }).click();
    await page.getByLabel('Percentage').fill('10');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => seen(5, 'budgetAmount')).toBe('275');
    expect(await seen(4, 'budgetAmount')).toBe('275');

    // Delete clears the editable cells of the range (the read-only ones are left alone).
    await cell(page, 4, 'priorYearActual').click();
    await cell(page, 5, 'budgetAmount').click({ modifiers: ['Shift'] });
    await page.keyboard.press('Delete');
    await expect.poll(() => seen(5, 'budgetAmount')).toBe('');
    expect(await seen(4, 'budgetAmount')).toBe('');
    expect(await valueOf(planner.page, 4, 'priorYearActual')).not.toBe('');
  });

  it('selects whole columns and rows, moves with Home/End as in Excel, offers range actions and history on right click', async () => {
    // The whole column from its header label, the whole row from its number, Home/End as in Excel.
    await page.locator('.ag-header-cell[col-id="forecastSales"] .range-header-label').click();
    await expect.poll(size).toMatch(/120 × 1 selected/);
    await cell(page, 2, 'rowNumber').click();
    await expect.poll(size).toMatch(/1 × 9 selected/);
    await cell(page, 3, 'budgetAmount').click();
    await page.keyboard.press('End');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-cell-focus').getAttribute('col-id')).toBe('comment');
    await page.keyboard.press('Home');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-cell-focus').getAttribute('col-id')).toBe('productCategory');
    await page.keyboard.press('Shift+End');
    await expect.poll(size).toMatch(/1 × 9 selected/);
    await page.keyboard.press('Control+End');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-cell-focus').getAttribute('col-id')).toBe('comment');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-row:has(.ag-cell-focus)').first().getAttribute('row-index')).toBe('119');
    await page.keyboard.press('Control+Home');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-row:has(.ag-cell-focus)').first().getAttribute('row-index')).toBe('0');

    // The right-click menu offers the range's actions and the cell's history.
    await cell(page, 0, 'budgetAmount').click({ button: 'right' });
    const menu = page.getByTestId('grid-context-menu');
    expect(await menu.getByRole('menuitem').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('Copy'), expect.stringContaining('Fill down'), expect.stringContaining('History…')]));
    await page.keyboard.press('Escape');
    await expect.poll(() => menu.count()).toBe(0);

    // Sorting is the small button beside the label: ascending, descending, then the plan's order again.
    const sortButton = page.getByRole('button', { name: 'Sort by Prior year actual (USD)' });
    const firstPrior = () => valueOf(page, 0, 'priorYearActual');
    const original = await firstPrior();
    await sortButton.click();
    await expect.poll(async () => amount(await firstPrior())).toBeLessThan(amount(original)!);
    await sortButton.click();
    await sortButton.click();
    await expect.poll(firstPrior).toBe(original);

    // On a narrow screen the identifying columns stay pinned while the amounts scroll.
    const lastPinned = () => page.locator('[data-testid=budget-grid] .ag-cell-last-left-pinned').first().getAttribute('col-id');
    expect(await lastPinned()).toBe('productCategory');
    await page.setViewportSize({ width: 1000, height: 900 });
    await expect.poll(lastPinned).toBe('quarter');
    await page.setViewportSize({ width: 1440, height: 900 });
    await expect.poll(lastPinned).toBe('productCategory');
  });

  it('undoes each range action as one step, seen by the colleague', async () => {
    // Undo, one step per range action, newest first; the colleague sees each.
    await cell(page, 2, 'quarter').click();
    const undo = () => page.keyboard.press('Control+Z');
    await undo(); // the Delete
    await expect.poll(() => seen(5, 'budgetAmount')).toBe('275');
    expect(await seen(4, 'budgetAmount')).toBe('275');
    await undo(); // the +10%
    await expect.poll(() => seen(5, 'budgetAmount')).toBe('250');
    expect(await seen(4, 'budgetAmount')).toBe('250');
    await undo(); // the seasonal spread
    await expect.poll(() => seen(11, 'budgetAmount')).toBe('');
    expect(await seen(8, 'budgetAmount')).toBe('');
    await undo(); // the even spread
    await expect.poll(() => seen(7, 'budgetAmount')).toBe('');
    expect(await seen(4, 'budgetAmount')).toBe('');
    await undo(); // the fill handle
    await expect.poll(() => seen(15, 'forecastSales')).toBe('');
    expect([await seen(13, 'forecastSales'), await seen(14, 'forecastSales')]).toEqual(['400', '']);
    await undo(); // Ctrl+D
    await expect.poll(() => seen(15, 'budgetAmount')).toBe('');
    expect([await seen(13, 'budgetAmount'), await seen(14, 'budgetAmount')]).toEqual(['200', '']);
    await undo(); // the paste
    await expect.poll(() => seen(13, 'forecastSales')).toBe('');
    expect(await seen(12, 'budgetAmount')).toBe('');
    // What was typed before stays.
    expect([await seen(0, 'budgetAmount'), await seen(1, 'forecastSales')]).toEqual(['100', '400']);

    expectNoProblems(lead);
    expectNoProblems(planner);
  });
});
