/**
 * The columns of an exported budget-lines file, as the contract names them ("Spreadsheets in and out"), in
 * order; which of them an import reads (the editable ones, and the ones that find the line); and the one rule
 * that keeps a spreadsheet from reading our text as a formula (CSV injection, after OWASP's guidance).
 */
import type { EditableColumn } from '../budget/columns.js';

export const HEADERS = [
  'Line id',
  'Business unit',
  'Product category',
  'Region',
  'Quarter',
  'Prior-year actual',
  'Budget amount',
  'Forecast sales',
  'Comment',
  'Version',
  'Updated at',
  'Updated by',
] as const;
export type Header = (typeof HEADERS)[number];

/** The editable columns an import reads, by header. */
export const EDITABLE_HEADERS: Readonly<Record<EditableColumn, Header>> = {
  budgetAmount: 'Budget amount',
  forecastSales: 'Forecast sales',
  comment: 'Comment',
};

/** The columns that find a line when `Line id` is empty. */
export const KEY_HEADERS = ['Business unit', 'Product category', 'Region', 'Quarter'] as const satisfies readonly Header[];

/** How a header cell is compared: trimmed, case-insensitive, inner runs of blanks as one. */
export function headerKey(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Which column of the file holds each header we know (0-based), from its header row; other columns are ignored.
 * A header given twice: the first one counts (null when absent).
 */
export function locateHeaders(cells: readonly string[]): Map<Header, number> {
  const byKey = new Map(HEADERS.map((h) => [headerKey(h), h]));
  const found = new Map<Header, number>();
  cells.forEach((cell, i) => {
    const header = byKey.get(headerKey(cell));
    if (header && !found.has(header)) found.set(header, i);
  });
  return found;
}

/**
 * Characters that make a spreadsheet read a cell as a formula (or as the start of one) when it opens a CSV file:
 * = + - @, tab and carriage return, which some strip before looking, and the full-width ＝ ＋ － ＠, which Apple
 * Numbers folds into them (the web client's own CSV exports, client/src/common/csv.ts, neutralise them too).
 * OWASP's remedy is a leading apostrophe, which spreadsheets take as "this is text". A text that already starts
 * with apostrophes before such a character gets one more, so that an import can take exactly one off and every
 * text comes back as it was.
 */
const FORMULA_START = /^'*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** The inverse of `neutraliseFormula`, for a text read back from a CSV file. */
export function restoreNeutralised(text: string): string {
  return text.startsWith("'") && FORMULA_START.test(text) ? text.slice(1) : text;
}
