/**
 * Pasting a block copied from Excel: tab-separated columns, newline-separated rows. The block lands from
 * the focused cell rightwards and downwards over the rows and columns as they are displayed (filters and
 * sorting included); read-only columns in the way are skipped, as Excel skips protected cells.
 */
import { cellKey, isEditable, parseCell, type EditableColumn } from './cells.js';

/**
 * Rows of cells from clipboard text (a trailing newline, as Excel adds, makes no empty row). A field that starts
 * with a double quote is quoted as Excel writes it (a comment with a tab or a line break; "" for a quote).
 */
export function parseBlock(text: string): string[][] {
  const t = text.replace(/\r\n?/g, '\n');
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (t[i] === '"') {
      let j = i + 1;
      for (;;) {
        const q = t.indexOf('"', j);
        if (q < 0) {
          field += t.slice(j);
          j = t.length;
          break;
        }
        field += t.slice(j, q);
        if (t[q + 1] === '"') {
          field += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      // Not a quoted field after all (text after the closing quote): taken as it is.
      const end = nextSeparator(t, j);
      if (end !== j) field = t.slice(i, end);
      i = end;
    } else {
      const end = nextSeparator(t, i);
      field = t.slice(i, end);
      i = end;
    }
    row.push(field);
    if (i >= t.length) break;
    if (t[i] === '\n') {
      rows.push(row);
      row = [];
      if (i + 1 >= t.length) return rows; // trailing newline
    }
    i += 1;
  }
  rows.push(row);
  return rows;
}

function nextSeparator(t: string, from: number): number {
  for (let k = from; k < t.length; k++) if (t[k] === '\t' || t[k] === '\n') return k;
  return t.length;
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
