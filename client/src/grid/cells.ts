/**
 * Cells of the budget grid: keys, the editable columns, and the same value rules as the server (amounts
 * finite, 0..1e12; comments at most 2000 characters), so a person is told at once why an entry cannot be
 * taken instead of watching it bounce back from the server.
 */
export const EDITABLE = ['budgetAmount', 'forecastSales', 'comment'] as const;
export type EditableColumn = (typeof EDITABLE)[number];
export const COLUMN_LABELS: Record<EditableColumn, string> = {
  budgetAmount: 'Budget amount',
  forecastSales: 'Forecast sales',
  comment: 'Comment',
};

/**
 * The currency the plan's amounts are in, shown in the grid's headers and totals. Plans have no currency of their
 * own (one company, one reporting currency): this is the one place to change it.
 */
export const CURRENCY = 'USD';

/** A column header with its unit: "Budget amount (USD)". */
export const withUnit = (label: string) => `${label} (${CURRENCY})`;

export const MAX_AMOUNT = 1e12;
export const MAX_COMMENT = 2000;

export function isEditable(column: string): column is EditableColumn {
  return (EDITABLE as readonly string[]).includes(column);
}

export function cellKey(lineId: string, column: EditableColumn): string {
  return `${lineId}/${column}`;
}

/** What to store for a typed or pasted entry: a value, `null` to clear the cell, or a reason it is refused. */
export type Parsed = { ok: true; value: number | string | null } | { ok: false; reason: string };

/**
 * Reads an amount as people type or paste it: spaces, thousands separators and a currency sign are
 * ignored; "1,5" with a single comma and no dot is read as a decimal comma (European Excel). Empty clears.
 */
export function parseAmount(text: string): Parsed {
  let t = text.trim().replace(/[\s\u00a0€$£]/g, '');
  if (t === '') return { ok: true, value: null };
  if (/^-?\d+,\d{1,2}$/.test(t)) t = t.replace(',', '.');
  else t = t.replace(/,/g, '');
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return { ok: false, reason: `"${text.trim().slice(0, 30)}" is not a number` };
  const value = Number(t);
  if (!Number.isFinite(value)) return { ok: false, reason: 'The amount is too large' };
  if (value < 0) return { ok: false, reason: 'Amounts cannot be negative' };
  if (value > MAX_AMOUNT) return { ok: false, reason: 'Amounts must be at most 1,000,000,000,000' };
  // "-0" typed or pasted means 0: never store -0, which every other replica would show as "-0".
  return { ok: true, value: value === 0 ? 0 : value };
}

export function parseComment(text: string): Parsed {
  if (text.length > MAX_COMMENT) return { ok: false, reason: `Comments must be at most ${MAX_COMMENT} characters` };
  return { ok: true, value: text === '' ? null : text };
}

export function parseCell(column: EditableColumn, input: unknown): Parsed {
  if (column === 'comment') return parseComment(input == null ? '' : String(input));
  if (typeof input === 'number') return parseAmount(String(input));
  return parseAmount(input == null ? '' : String(input));
}

const amountFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function formatAmount(value: unknown): string {
  // -0 (stored by another client), or a negative amount that rounds to no cent (a variance of -0.001), reads "-0"
  // in Intl: shown as the 0 it is.
  if (typeof value !== 'number') return '';
  return amountFormat.format(Math.abs(value) < 0.005 ? 0 : value);
}

export function formatPercent(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '' : `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;
}
