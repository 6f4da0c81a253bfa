/// <reference lib="dom" />
/** Driving the budget grid page in a browser: its cells, their shown values, opening a unit, typing. */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Person } from './browser.js';

/** The grid cell of a row (by position in the displayed grid) and column id. */
export const cell = (page: Page, rowIndex: number, column: string) =>
  page.locator(`[data-testid=budget-grid] .ag-row[row-index="${rowIndex}"] .ag-cell[col-id="${column}"]`);

/** A cell's value as shown, without the name tag of someone who has it selected. */
export const valueOf = (page: Page, rowIndex: number, column: string) =>
  cell(page, rowIndex, column).evaluate((element) => {
    const copy = element.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.presence-tag').forEach((tag) => tag.remove());
    return copy.textContent ?? '';
  });

export async function openGrid(person: Person, unit: string, query = '') {
  await person.page.goto(`/grid/${unit}${query}`);
  await expect.poll(() => person.page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
}

export async function typeInto(page: Page, rowIndex: number, column: string, text: string) {
  const editor = page.locator('[data-testid=budget-grid] .ag-cell-inline-editing input, .ag-popup-editor textarea');
  // An editor that opens and is then closed by a redraw of the grid (seen in CI while a renewed session token
  // reconnected the grid: "element was detached from the DOM") is opened again, up to three times; what was typed
  // is still checked by the caller. Known defect, issue 16's note: a renewal should not close an open editor.
  for (let attempt = 1; ; attempt++) {
    await cell(page, rowIndex, column).dblclick();
    try {
      await editor.fill(text, { timeout: attempt < 3 ? 5_000 : 30_000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  await editor.press('Enter');
}
