/**
 * Pasting a block copied from Excel: tab-separated columns, newline-separated rows. The block lands from
 * the focused cell rightwards and downwards over the rows and columns as they are displayed (filters and
 * sorting included); read-only columns in the way are skipped, as Excel skips protected cells.
 */
import { cellKey, isEditable, parseCell, type EditableColumn } from './cells';

/** Rows of cells from clipboard text (a trailing newline, as Excel adds, makes no empty row). */
export function parseBlock(text: string): string[][] {
  const rows = text.replace(/\r\n?/g, '\n').split('\n');
  if (rows.length > 1 && rows[rows.length - 1] === '') rows.pop();
  return rows.map((row) => row.split('\t'));
}

export interface PasteTarget {
  /** Line ids of the displayed rows, in order. */
  rowIds: string[];
  /** Column ids as displayed, in order. */
  columnIds: string[];
  startRow: number;
  startColumn: number;
}

export interface PastePlan {
  /** Cell key -> value to set (null clears). */
  changes: Map<string, number | string | null>;
  /** Entries that could not be taken, with why. */
  refused: { row: number; column: string; reason: string }[];
  /** Cells skipped because the column is read-only or the block ran past the grid. */
  skipped: number;
}

export function planPaste(block: string[][], target: PasteTarget): PastePlan {
  const plan: PastePlan = { changes: new Map(), refused: [], skipped: 0 };
  block.forEach((cells, r) => {
    const rowIndex = target.startRow + r;
    const lineId = target.rowIds[rowIndex];
    cells.forEach((text, c) => {
      const column = target.columnIds[target.startColumn + c];
      if (!lineId || !column || !isEditable(column)) {
        plan.skipped += 1;
        return;
      }
      const parsed = parseCell(column as EditableColumn, text);
      if (parsed.ok) plan.changes.set(cellKey(lineId, column), parsed.value);
      else plan.refused.push({ row: rowIndex, column, reason: parsed.reason });
    });
  });
  return plan;
}
