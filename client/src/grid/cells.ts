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

/** The decimal separator of the browser's language: "," in most of Europe, where "." groups thousands. */
const LOCALE_DECIMAL = new Intl.NumberFormat().formatToParts(1.5).find((part) => part.type === 'decimal')?.value ?? '.';

/**
 * Reads an amount as people type or paste it: spaces, apostrophes (Swiss grouping) and a currency sign are
 * ignored; Excel's accounting zero ("-") is 0; empty clears. Separators as Excel shows them in either convention:
 * with both "." and ",", the last one is the decimal point ("1.234,56" and "1,234.56" are the same amount); one of
 * them several times groups thousands ("1.234.567"); once, it groups thousands when it is not the browser
 * language's decimal separator and stands as one would ("1,234" in English, "1.234" in German), else it is the
 * decimal point ("1,5", "0,125" from a European Excel; "1.5").
 * `decimal` is the browser language's separator; a number's own text (String(n)) is read with ".".
 */
export function parseAmount(text: string, decimal = LOCALE_DECIMAL): Parsed {
  let t = text.trim().replace(/[\s\u00a0'’€$£]/g, '');
  if (t === '') return { ok: true, value: null };
  if (t === '-') t = '0';
  const normalised = withDecimalPoint(t, decimal);
  if (normalised === null || !/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(normalised)) {
    return { ok: false, reason: `"${text.trim().slice(0, 30)}" is not a number` };
  }
  const value = Number(normalised);
  if (!Number.isFinite(value)) return { ok: false, reason: 'The amount is too large' };
  if (value < 0) return { ok: false, reason: 'Amounts cannot be negative' };
  if (value > MAX_AMOUNT) return { ok: false, reason: 'Amounts must be at most 1,000,000,000,000' };
  // "-0" typed or pasted means 0: never store -0, which every other replica would show as "-0".
  return { ok: true, value: value === 0 ? 0 : value };
}

/** The amount's text with "." as its only separator (the decimal point), or null when its separators make no sense. */
function withDecimalPoint(t: string, decimal: string): string | null {
  const count = (sep: string) => t.split(sep).length - 1;
  // Thousands groups as Excel writes them (India's "12,34,567" too): the last of three digits.
  const grouped = (sep: string) => `\\d+((\\${sep}\\d{2,3})*\\${sep}\\d{3})?`;
  const dots = count('.');
  const commas = count(',');
  if (dots > 0 && commas > 0) {
    // "1.234,56" was read as 1.23456 when only "," was taken for a thousands separator.
    const point = t.lastIndexOf('.') > t.lastIndexOf(',') ? '.' : ',';
    const group = point === '.' ? ',' : '.';
    if (!new RegExp(`^-?${grouped(group)}\\${point}\\d*$`).test(t)) return null;
    return t.split(group).join('').replace(point, '.');
  }
  const sep = dots > 0 ? '.' : commas > 0 ? ',' : null;
  if (sep === null) return t;
  if (dots + commas > 1) return new RegExp(`^-?${grouped(sep)}$`).test(t) ? t.split(sep).join('') : null;
  // Once: a thousands group ("1,234") unless it is the language's decimal separator; else the decimal point.
  const [whole, fraction] = t.split(sep);
  const thousands = sep !== decimal && /^-?[1-9]\d{0,2}$/.test(whole) && /^\d{3}$/.test(fraction);
  return thousands ? whole + fraction : `${whole}.${fraction}`;
}

/**
 * What the server refuses in a comment besides its length (server/src/budget/columns.ts, db/storableText.ts): control
 * characters other than tab and line breaks, U+0000, unpaired surrogates, and the noncharacters U+FFFE and U+FFFF
 * (not allowed in XML: they broke the xlsx export). Pasted from another program they are invisible; taken here, the
 * comment showed, then vanished as the server reverted it.
 */
const UNSTORABLE_IN_COMMENT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|\p{Cs}/u;

export function parseComment(text: string): Parsed {
  if (text.length > MAX_COMMENT) return { ok: false, reason: `Comments must be at most ${MAX_COMMENT} characters` };
  if (UNSTORABLE_IN_COMMENT.test(text)) return { ok: false, reason: 'The comment holds invisible control characters (other than tabs and line breaks), which cannot be stored' };
  return { ok: true, value: text === '' ? null : text };
}

export function parseCell(column: EditableColumn, input: unknown): Parsed {
  if (column === 'comment') return parseComment(input == null ? '' : String(input));
  // A number's text has a decimal point whatever the browser's language.
  if (typeof input === 'number') return parseAmount(String(input), '.');
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
