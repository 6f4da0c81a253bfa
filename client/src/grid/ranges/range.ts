/**
 * Ranges of the budget grid, as plain data: a rectangle of displayed rows and columns (what AG Grid Community
 * lacks: range selection, copy, fill and bulk changes are Enterprise there), and the changes each range action
 * makes. Every plan here is a Map of cell key -> value (null clears) that the grid writes into the document as
 * one edit of this person, the same path as typing: one undo step, validated by the server.
 */
import { cellKey, isEditable, parseCell, type EditableColumn } from '../cells.js';

export interface Cell {
  row: number;
  col: number;
}

/** Where the range started (the active cell, as in Excel) and where it was extended to. */
export interface Range {
  anchor: Cell;
  focus: Cell;
}

export interface Bounds {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

export const boundsOf = (r: Range): Bounds => ({
  top: Math.min(r.anchor.row, r.focus.row),
  bottom: Math.max(r.anchor.row, r.focus.row),
  left: Math.min(r.anchor.col, r.focus.col),
  right: Math.max(r.anchor.col, r.focus.col),
});

export const single = (cell: Cell): Range => ({ anchor: cell, focus: cell });
export const cellCount = (b: Bounds) => (b.bottom - b.top + 1) * (b.right - b.left + 1);
export const contains = (b: Bounds, row: number, col: number) => row >= b.top && row <= b.bottom && col >= b.left && col <= b.right;

/** The grid as displayed: line ids of the rows and column ids, in order, and a cell's raw value. */
export interface View {
  rowIds: readonly string[];
  columnIds: readonly string[];
  value(row: number, column: string): unknown;
}

/** A change set and what could not be taken. */
export interface Plan {
  changes: Map<string, number | string | null>;
  refused: string[];
  /** Cells left alone (read-only, empty where a value is needed, beyond the grid). */
  skipped: number;
}

const emptyPlan = (): Plan => ({ changes: new Map(), refused: [], skipped: 0 });

/** Editable cells of the range, row by row. */
function* editableCells(view: View, b: Bounds): Generator<{ row: number; lineId: string; column: EditableColumn }> {
  for (let row = b.top; row <= b.bottom; row++) {
    const lineId = view.rowIds[row];
    if (!lineId) continue;
    for (let col = b.left; col <= b.right; col++) {
      const column = view.columnIds[col];
      if (column && isEditable(column)) yield { row, lineId, column };
    }
  }
}

// ------------------------------------------------------------------------------------------------ copy

/** One cell as Excel reads it: raw numbers (no thousands separators), text quoted if it has a tab, newline or quote. */
function tsvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = String(value);
  return /[\t\n\r"]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The range as tab-separated text with a newline after each row (what Excel puts on the clipboard). */
export function toTsv(view: View, b: Bounds): string {
  const lines: string[] = [];
  for (let row = b.top; row <= b.bottom; row++) {
    const fields: string[] = [];
    for (let col = b.left; col <= b.right; col++) fields.push(tsvField(view.value(row, view.columnIds[col])));
    lines.push(fields.join('\t'));
  }
  return lines.join('\r\n') + '\r\n';
}

// ------------------------------------------------------------------------------------------------ edits

/** Delete: every editable cell of the range cleared. */
export function planClear(view: View, b: Bounds): Plan {
  const plan = emptyPlan();
  for (const { lineId, column } of editableCells(view, b)) plan.changes.set(cellKey(lineId, column), null);
  return plan;
}

/**
 * Fill from source rows into target rows, per editable column of the range, repeating the source rows (Ctrl+D:
 * the first row into the others; the fill handle: the selected rows into the rows dragged over).
 */
export function planFill(view: View, b: Bounds, sourceRows: [number, number], targetRows: [number, number]): Plan {
  const plan = emptyPlan();
  const [s0, s1] = sourceRows;
  const height = s1 - s0 + 1;
  for (let row = targetRows[0]; row <= targetRows[1]; row++) {
    const lineId = view.rowIds[row];
    const from = s0 + ((row - targetRows[0]) % height);
    for (let col = b.left; col <= b.right; col++) {
      const column = view.columnIds[col];
      if (!lineId || !column || !isEditable(column)) {
        plan.skipped += 1;
        continue;
      }
      const value = view.value(from, column);
      plan.changes.set(cellKey(lineId, column), value === '' || value === undefined ? null : (value as number | string | null));
    }
  }
  return plan;
}

/** Ctrl+D: the range's first row copied down over the others; a one-row range takes the row above, as in Excel. */
export function planFillDown(view: View, b: Bounds): Plan {
  if (b.bottom > b.top) return planFill(view, b, [b.top, b.top], [b.top + 1, b.bottom]);
  if (b.top === 0) return emptyPlan();
  return planFill(view, b, [b.top - 1, b.top - 1], [b.top, b.top]);
}

/** One entry typed for the whole range ("Set value"): parsed per column as typing it there would be. */
export function planSetValue(view: View, b: Bounds, text: string): Plan {
  const plan = emptyPlan();
  for (const { row, lineId, column } of editableCells(view, b)) {
    const parsed = parseCell(column, text);
    if (parsed.ok) plan.changes.set(cellKey(lineId, column), parsed.value);
    else plan.refused.push(`row ${row + 1}, ${column}: ${parsed.reason}`);
  }
  return plan;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Add or subtract a percentage to every amount of the range (empty cells stay empty, comments untouched). */
export function planPercent(view: View, b: Bounds, percent: number): Plan {
  const plan = emptyPlan();
  for (const { row, lineId, column } of editableCells(view, b)) {
    const current = view.value(row, column);
    if (column === 'comment' || typeof current !== 'number') {
      plan.skipped += 1;
      continue;
    }
    const parsed = parseCell(column, round2(current * (1 + percent / 100)));
    if (parsed.ok) plan.changes.set(cellKey(lineId, column), parsed.value);
    else plan.refused.push(`row ${row + 1}, ${column}: ${parsed.reason}`);
  }
  return plan;
}

/** The reference data a spread needs about every line of the unit (not only the displayed ones). */
export interface SpreadLine {
  id: string;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
}

export type SpreadMode = 'even' | 'seasonal';

/**
 * Spread an annual figure over the quarters of each (category, region) that the range touches, in each amount
 * column of the range: evenly, or by last year's seasonality (each quarter's share of the group's prior-year
 * actuals). `annual` null: the group's current total is spread again. Rounded to cents, the rounding remainder on
 * the last quarter so the quarters add up to the figure exactly. A group without usable prior-year actuals (none,
 * or a total of 0) is spread evenly, and counted in `evenFallback`.
 */
export function planSpread(
  view: View,
  b: Bounds,
  lines: readonly SpreadLine[],
  current: (lineId: string, column: EditableColumn) => number | null,
  annual: number | null,
  mode: SpreadMode,
): Plan & { groups: number; evenFallback: number } {
  const plan = { ...emptyPlan(), groups: 0, evenFallback: 0 };
  const byId = new Map(lines.map((l) => [l.id, l]));
  const groupKey = (l: SpreadLine) => `${l.productCategory}\u0000${l.region}`;
  const groups = new Map<string, SpreadLine[]>();
  for (const l of lines) groups.set(groupKey(l), [...(groups.get(groupKey(l)) ?? []), l]);
  const columns = new Set<EditableColumn>();
  const touched = new Set<string>();
  for (const { lineId, column } of editableCells(view, b)) {
    if (column === 'comment') continue;
    columns.add(column);
    const line = byId.get(lineId);
    if (line) touched.add(groupKey(line));
  }
  for (const key of touched) {
    const members = [...groups.get(key)!].sort((x, y) => x.quarter.localeCompare(y.quarter));
    const priors = members.map((m) => m.priorYearActual);
    const priorTotal = priors.reduce<number>((t, p) => t + (p ?? 0), 0);
    const seasonal = mode === 'seasonal' && priors.every((p) => p !== null && p >= 0) && priorTotal > 0;
    if (mode === 'seasonal' && !seasonal) plan.evenFallback += 1;
    plan.groups += 1;
    for (const column of columns) {
      const figure = annual ?? members.reduce((t, m) => t + (current(m.id, column) ?? 0), 0);
      let left = round2(figure);
      members.forEach((m, i) => {
        const share = seasonal ? (priors[i] as number) / priorTotal : 1 / members.length;
        const value = i === members.length - 1 ? round2(left) : round2(figure * share);
        left -= value;
        const parsed = parseCell(column, value);
        if (parsed.ok) plan.changes.set(cellKey(m.id, column), parsed.value);
        else plan.refused.push(`${m.productCategory}, ${m.region}, ${m.quarter}: ${parsed.reason}`);
      });
    }
  }
  return plan;
}
