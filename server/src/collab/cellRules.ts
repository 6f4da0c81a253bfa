/**
 * What a grid document may hold, per CONTRACT.md: in the root map `cells`, keys `<lineId>/<column>` of this
 * unit's lines and editable columns only; amounts finite numbers in 0..1e12; comments strings of at most
 * 2000 characters; a deleted key clears its cell. The value rules are the API's (budget/columns.ts).
 */
import { cellValueProblem, isEditableColumn, type CellValue, type EditableColumn } from '../budget/columns.js';

export const CELLS_MAP = 'cells';

export interface CellKey {
  lineId: string;
  column: EditableColumn;
}

export function cellKey(lineId: string, column: EditableColumn): string {
  return `${lineId}/${column}`;
}

/** The line and column of a key, when it names an editable cell of one of `lineIds`. */
export function parseCellKey(key: string, lineIds: ReadonlySet<string>): CellKey | null {
  const slash = key.indexOf('/');
  if (slash < 0) return null;
  const lineId = key.slice(0, slash);
  const column = key.slice(slash + 1);
  if (!lineIds.has(lineId) || !isEditableColumn(column)) return null;
  return { lineId, column };
}

/**
 * Why a change to `key` (to `value`, or a deletion when `deleted`) is not allowed, or null when it is.
 */
export function cellChangeProblem(key: string, value: unknown, deleted: boolean, lineIds: ReadonlySet<string>): string | null {
  const cell = parseCellKey(key, lineIds);
  if (!cell) return `"${key.slice(0, 80)}" is not an editable cell of this unit`;
  if (deleted) return null;
  // In the document a cell is cleared by deleting its key; null is not a value there.
  if (value === null) return `${cell.column} must be a ${cell.column === 'comment' ? 'string' : 'number'}`;
  return cellValueProblem(cell.column, value);
}

/** The projected value of a cell given its document value (a deleted key clears: null, or "" for a comment). */
export function projectedValue(column: EditableColumn, value: unknown): CellValue {
  if (value === undefined) return column === 'comment' ? '' : null;
  return value as CellValue;
}
