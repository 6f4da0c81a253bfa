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

/** The cell editor open in the grid: the inline input, or the comment's popup textarea. */
export const EDITOR = '[data-testid=budget-grid] .ag-cell-inline-editing input, .ag-popup-editor textarea';

export async function typeInto(page: Page, rowIndex: number, column: string, text: string) {
  await cell(page, rowIndex, column).dblclick();
  const editor = page.locator(EDITOR);
  await editor.fill(text);
  await editor.press('Enter');
}
