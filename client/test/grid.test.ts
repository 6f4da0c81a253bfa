/// <reference lib="dom" />
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn, type Person } from './browser.js';
import { cell, openGrid, typeInto, valueOf } from './gridPage.js';


describe.skipIf(!hasChromium)('the live budget grid in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const p of people) await p.context.close();
    await browser?.close();
    await server?.stop();
  });

  it('lets two leaders edit, paste and undo, and see each other’s values and selections', async () => {
    const lead = await signIn(browser, server.url, 'lead.sales-north@example.com');
    const planner = await signIn(browser, server.url, 'planner.sales-north@example.com');
    people.push(lead, planner);
    await Promise.all([openGrid(lead, 'SALES_NORTH'), openGrid(planner, 'SALES_NORTH')]);
    await expect.poll(() => lead.page.getByTestId('presence').textContent()).toContain('Sales North Planner');
    // Nothing of the lead's to undo or redo yet: the buttons say so rather than doing nothing when pressed.
    const undoButton = lead.page.getByRole('button', { name: 'Undo', exact: true });
    const redoButton = lead.page.getByRole('button', { name: 'Redo', exact: true });
    expect([await undoButton.isDisabled(), await redoButton.isDisabled()]).toEqual([true, true]);
    // Nothing budgeted or forecast yet: dashes, not zeros (a zero is a figure someone decided on).
    await expect.poll(() => lead.page.getByTestId('totals').textContent()).toMatch(/^Budget amount \(USD\)—Prior year actual \(USD\)[\d,]+.*Forecast sales \(USD\)—Lines with a budget0 of 120$/);

    // An edit by the lead appears for the planner.
    await typeInto(lead.page, 0, 'budgetAmount', '1234.5');
    await expect.poll(() => valueOf(planner.page, 0, 'budgetAmount')).toContain('1,234.5');
    await expect.poll(() => undoButton.isEnabled()).toBe(true);
    expect(await redoButton.isDisabled()).toBe(true);

    // The planner's selection shows on the lead's grid, with the planner's name.
    await cell(planner.page, 3, 'forecastSales').click();
    await expect.poll(() => cell(lead.page, 3, 'forecastSales').textContent()).toContain('Sales North Planner');

    // A block copied from Excel: two rows of budget, variance (read-only, skipped), var % (skipped), forecast.
    await cell(planner.page, 5, 'budgetAmount').click();
    await planner.page.evaluate(() => navigator.clipboard.writeText('100\tx\tx\t200\n300\tx\tx\t400\n'));
    await planner.page.keyboard.press('Control+V');
    await expect.poll(() => valueOf(lead.page, 6, 'forecastSales')).toContain('400');
    expect(await valueOf(lead.page, 5, 'budgetAmount')).toContain('100');
    expect(await valueOf(lead.page, 6, 'budgetAmount')).toContain('300');
    await expect.poll(() => planner.page.getByTestId('notices').textContent()).toMatch(/Pasted 4 cells; skipped 4/);

    await screenshot(lead.page, 'grid-two-people');

    // The lead undoes their own edit only: the planner's paste stays.
    await cell(lead.page, 8, 'comment').click();
    await lead.page.keyboard.press('Control+Z');
    await expect.poll(() => valueOf(planner.page, 0, 'budgetAmount')).not.toContain('1,234.5');
    expect(await valueOf(planner.page, 5, 'budgetAmount')).toContain('100');
    // Their one edit undone: only a redo is left.
    await expect.poll(() => redoButton.isEnabled()).toBe(true);
    expect(await undoButton.isDisabled()).toBe(true);
    await lead.page.keyboard.press('Control+Y');
    await expect.poll(() => valueOf(planner.page, 0, 'budgetAmount')).toContain('1,234.5');
    await expect.poll(() => undoButton.isEnabled()).toBe(true);
    expect(await redoButton.isDisabled()).toBe(true);

    // A value out of range is refused on the spot, with the reason.
    await typeInto(lead.page, 1, 'budgetAmount', '-5');
    await expect.poll(() => lead.page.getByTestId('notices').textContent()).toMatch(/cannot be negative/);
    expect(await valueOf(planner.page, 1, 'budgetAmount')).toBe('');

    // Totals follow the values.
    await expect.poll(() => lead.page.getByTestId('totals').textContent()).toMatch(/Lines with a budget3 of 120/);

    // Filters show the lines of one quarter (or region, category), and all again.
    await planner.page.getByRole('combobox', { name: 'Quarter' }).selectOption('Q2');
    await expect.poll(() => planner.page.locator('[data-testid=budget-grid] .ag-cell[col-id="quarter"]').allTextContents()).not.toContain('Q1');
    expect(new Set(await planner.page.locator('[data-testid=budget-grid] .ag-cell[col-id="quarter"]').allTextContents())).toEqual(new Set(['Q2']));
    await planner.page.getByRole('combobox', { name: 'Quarter' }).selectOption({ label: 'All quarters' });
    await expect.poll(async () => new Set(await planner.page.locator('[data-testid=budget-grid] .ag-cell[col-id="quarter"]').allTextContents()).size).toBe(4);
    expectNoProblems(lead);
    expectNoProblems(planner);
  });

  it('keeps edits made offline and sends them on return; submitting freezes the grid for everyone', async () => {
    const lead = await signIn(browser, server.url, 'lead.operations@example.com');
    const planner = await signIn(browser, server.url, 'planner.operations@example.com');
    people.push(lead, planner);
    await Promise.all([openGrid(lead, 'OPERATIONS'), openGrid(planner, 'OPERATIONS')]);

    await lead.context.setOffline(true);
    await expect.poll(() => lead.page.getByTestId('connection').textContent(), { timeout: 40_000 }).toMatch(/Offline|Reconnecting/);
    await typeInto(lead.page, 2, 'budgetAmount', '777');
    await expect.poll(() => valueOf(lead.page, 2, 'budgetAmount')).toContain('777');
    await lead.context.setOffline(false);
    await expect.poll(() => lead.page.getByTestId('connection').textContent(), { timeout: 40_000 }).toBe('Live');
    await expect.poll(() => valueOf(planner.page, 2, 'budgetAmount')).toContain('777');

    await lead.page.getByRole('button', { name: 'Submit for review' }).click();
    await lead.page.getByTestId('submit-dialog').getByRole('button', { name: 'Submit for review' }).click();
    await expect.poll(() => planner.page.getByTestId('submission-status').textContent()).toBe('SUBMITTED');
    await planner.page.getByText('This budget is submitted and cannot be changed.').waitFor();
    await cell(planner.page, 4, 'budgetAmount').dblclick();
    expect(await planner.page.locator('.ag-cell-inline-editing').count()).toBe(0);
    expectNoProblems(lead, [/ERR_INTERNET_DISCONNECTED|WebSocket/]);
    expectNoProblems(planner);
  });

  it('keeps a viewer read-only, and keeps a leader of another unit out', async () => {
    const viewer = await signIn(browser, server.url, 'viewer.sales-north@example.com');
    people.push(viewer);
    await openGrid(viewer, 'SALES_NORTH');
    await viewer.page.getByText('You can read this budget but not change it.').waitFor();
    // Told the keys that work for a reader, and offered no bulk change.
    expect(await viewer.page.getByTestId('grid-keys').textContent()).toBe('Tab, arrows, Home/End to move · Shift+arrows, Shift+click or drag to select · Ctrl+C copies to Excel · Ctrl+End then Tab leaves the grid');
    await cell(viewer.page, 3, 'budgetAmount').click();
    await viewer.page.getByTestId('range-bar').waitFor();
    expect(await viewer.page.getByTestId('range-bar').getByRole('button').count()).toBe(0);
    await cell(viewer.page, 10, 'budgetAmount').dblclick();
    await viewer.page.keyboard.type('999');
    await viewer.page.keyboard.press('Enter');
    expect(await viewer.page.locator('.ag-cell-inline-editing').count()).toBe(0);
    expect(await valueOf(viewer.page, 10, 'budgetAmount')).toBe('');

    const other = await signIn(browser, server.url, 'lead.marketing@example.com');
    people.push(other);
    await other.page.goto('/grid/SALES_NORTH');
    await other.page.getByText('You may not open the budget of SALES_NORTH').waitFor();
    expectNoProblems(viewer);
    expectNoProblems(other);
  });
});
