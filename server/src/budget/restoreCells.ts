/**
 * `restoreCells`: many cells set back, each to the old value of its latest audit entry (what `restoreCell` of
 * that entry does), in one call through the batch write path (batchWrites.ts `updateLines`), audited RESTORE.
 * The web client's "Undo this import" is its user: it sends the cells the import changed with the versions the
 * import left, so a line somebody changed since is kept (CONFLICT), never overwritten. It used updateBudgetLines
 * before, which audited the undo as API, as if someone had typed the old values in; the audit now says what
 * happened, and the server, not the caller, decides the values (the entries' old values): RESTORE is never a
 * label a caller puts on values of its own.
 *
 * A cell without an audit entry the caller may read answers NOT_FOUND, as restoreCell answers a missing or hidden
 * entry; a line's cells go together as one change of that line (one expectedVersion a line).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { badUserInput, ErrorCode, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { can } from '../policies/authorize.js';
import { readableUnits } from '../policies/businessUnit.js';
import type { Viewer } from '../policies/viewer.js';
import { MAX_CHANGES_PER_CALL, updateLines, type BatchOutcome, type LineChange, type RejectedLineChange } from './batchWrites.js';
import type { CellChanges, LiveDocuments } from './budgetLineWriter.js';
import { cellValueOfAuditText } from './CellHistoryResolver.js';
import { isEditableColumn, type EditableColumn } from './columns.js';

export interface CellToRestore {
  lineId: string;
  column: string;
  expectedVersion?: number | null;
}

interface LatestEntry {
  line_id: string;
  column_name: string;
  business_unit_id: string;
  old_value: string | null;
}

export async function restoreCells(
  em: EntityManager,
  live: Pick<LiveDocuments, 'applyEditBatch'>,
  viewer: Viewer,
  cells: readonly CellToRestore[],
  atomic: boolean,
): Promise<BatchOutcome> {
  // The policy first, even for an empty call: every root field consults it (graphql/policyGuard.ts).
  readableUnits(viewer);
  if (cells.length > MAX_CHANGES_PER_CALL) throw badUserInput(`At most ${MAX_CHANGES_PER_CALL} cells may be restored at once`, 'cells');
  // One answer a line, as updateBudgetLines gives: a line with a bad cell is refused whole, never both updated and refused.
  const rejected: RejectedLineChange[] = [];
  const lines = new Map<string, { id: string; columns: EditableColumn[]; expectedVersion: number | null; refusal?: string }>();
  for (const cell of cells) {
    const key = cell.lineId.toLowerCase();
    let line = lines.get(key);
    if (!line) lines.set(key, (line = { id: cell.lineId, columns: [], expectedVersion: cell.expectedVersion ?? null }));
    if (!isEditableColumn(cell.column)) line.refusal ??= `${cell.column.slice(0, 100)} is not an editable column and cannot be restored`;
    else if ((cell.expectedVersion ?? null) !== line.expectedVersion) line.refusal ??= 'Cells of one line are restored at one expected version';
    else if (!line.columns.includes(cell.column)) line.columns.push(cell.column);
  }
  for (const line of lines.values()) {
    if (line.refusal) rejected.push({ id: line.id, code: ErrorCode.BAD_USER_INPUT, message: line.refusal });
  }

  // Each cell's latest audit entry: the value it had before its last change.
  const ids = [...lines.values()].filter((l) => !l.refusal).map((l) => l.id).filter(isUuid);
  const latest = new Map<string, LatestEntry>();
  if (ids.length > 0) {
    const rows = await em.getConnection().execute<LatestEntry[]>(
      `select distinct on ("line_id", "column_name") "line_id", "column_name", "business_unit_id", "old_value"
         from "cell_change" where "line_id" in (${ids.map(() => '?').join(', ')}) order by "line_id", "column_name", "id" desc`,
      ids,
    );
    for (const row of rows) latest.set(`${row.line_id}/${row.column_name}`, row);
  }
  const changes: LineChange[] = [];
  for (const line of lines.values()) {
    if (line.refusal) continue;
    const cellChanges: CellChanges = {};
    let missing = !isUuid(line.id);
    for (const column of line.columns) {
      const entry = latest.get(`${line.id.toLowerCase()}/${column}`);
      if (!entry || !can(viewer, 'read', 'CellChange', { unitId: entry.business_unit_id })) missing = true;
      else cellChanges[column] = cellValueOfAuditText(column, entry.old_value);
    }
    if (missing) rejected.push({ id: line.id, code: ErrorCode.NOT_FOUND, message: notFound('Audit entry').message });
    else changes.push({ id: line.id, changes: cellChanges, expectedVersion: line.expectedVersion });
  }
  if (atomic && rejected.length > 0) return { updated: [], rejected };
  const outcome = await updateLines(em, live, viewer, changes, atomic, 'RESTORE');
  return { updated: outcome.updated, rejected: [...rejected, ...outcome.rejected] };
}
