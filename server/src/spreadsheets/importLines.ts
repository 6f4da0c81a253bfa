/**
 * An imported sheet judged and applied (CONTRACT.md, "Spreadsheets in and out"): each data row is matched to a
 * line of the plan by `Line id`, else by Business unit + Product category + Region + Quarter; only the editable
 * columns are read (Budget amount, Forecast sales, Comment), an empty cell clearing its column; each cell is
 * judged by the rules and rights of `updateBudgetLine`, and every refusal is listed with its row (as the file
 * numbers it, the header being row 1), its column and the reason.
 *
 * - A value the rules refuse (not a number, negative, above 1e12, a comment over 2,000 characters): that cell.
 * - A line missing, or outside the caller's units (the lookup is scoped in its WHERE clause: such lines are
 *   never read), alike: the row, column `Line id`, as `updateBudgetLines` answers a hidden line (NOT_FOUND).
 * - A line the caller may read but not change (a viewer's, a submitted or approved unit's): each cell that would
 *   change, with updateBudgetLine's reason. A cell that already holds the file's value is `unchanged`, never
 *   refused: exporting a read-only unit and importing the file back is not an error.
 * - The same line in two rows: the later row is refused.
 * - A row whose `Version` is older than its line's, last changed by someone else (a colleague changed the line
 *   after the file was exported; the importer's own later changes, such as importing the same file before, are
 *   theirs to set again): its cells still apply as the contract says, but each one that would change is listed in
 *   `changedSinceExport` with the line's value now and who set it, so that the person sees, before applying, which
 *   newer values their file would set back (the web client's preview says so) instead of learning it afterwards.
 *   When the importer changed the line last, a colleague may still have changed another of its cells in between
 *   (they set the forecast, then the importer a comment): the line's last editor hides it, so the audit log is
 *   asked which of the row's cells someone else changed after the row's `Updated at`, and those are listed.
 *
 * Accepted cells go through the one write path (budget/batchWrites.ts `updateLines`, with source IMPORT): the
 * grid documents' turns, the projection's audit entries and `budgetLineChanged`, as for every edit; chunks of
 * MAX_CHANGES_PER_CALL lines, each chunk one transaction per unit it touches. What a submission or a plan
 * closure committed since the judgement refuses is listed like any refusal. A dry run judges and applies nothing.
 * Once cells are in, a VALUES_IMPORTED activity entry (and by its trigger the webhook event budget.values_imported)
 * says who imported how many cells into which plan and units: in a transaction of its own after the cells', since
 * the cells are written by the grid's projection; a crash between the two loses the entry, never a cell.
 *
 * `applied`, `unchanged` and `rejected` count cells.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { MAX_CHANGES_PER_CALL, updateLines, updateRefusal, type LineChange } from '../budget/batchWrites.js';
import type { PlanStatus } from '../budget/BudgetPlan.js';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { CellChanges, LiveDocuments } from '../budget/budgetLineWriter.js';
import { cellValueProblem, EDITABLE_COLUMNS, type CellValue, type EditableColumn } from '../budget/columns.js';
import { withSqlClient } from '../db/sql.js';
import { exportableText } from '../db/storableText.js';
import { ErrorCode } from '../errors.js';
import { isUuid } from '../ids.js';
import { can } from '../policies/authorize.js';
import type { Viewer } from '../policies/viewer.js';
import { MalformedFile } from './csv.js';
import { EDITABLE_HEADERS, HEADERS, KEY_HEADERS, locateHeaders, type Header } from './sheetColumns.js';

/** A cell as read from a file: text, a number (xlsx), empty, or a spreadsheet error value (#DIV/0!, #REF!). */
export type SheetCell = string | number | null | { error: string };

export interface SheetRow {
  /** The row number the file shows (the header is row 1). */
  row: number;
  cells: SheetCell[];
}

export interface RejectedCell {
  row: number;
  column: string;
  reason: string;
}

export interface ImportOutcome {
  applied: number;
  unchanged: number;
  rejected: RejectedCell[];
  /**
   * Beyond the contract's three fields, once applied (not on a dry run): each changed cell with its value
   * before and after, and its line's version after the import, so that the person can undo the import
   * (updateBudgetLines back to `before`, with `expectedVersion`: a line changed since is kept, not clobbered).
   */
  changes?: AppliedCell[];
  /**
   * Beyond the contract's three fields: the cells this file changes (or, on a dry run, would change) on lines
   * changed since the file was exported (the row's `Version` is older than the line's). Applying the file sets
   * them to the file's value, which may undo a colleague's newer entry. Absent when there is none.
   */
  changedSinceExport?: ChangedSinceExport[];
  /** How many cells `changedSinceExport` would list without its bound (MAX_LISTED_CHANGED_SINCE_EXPORT). */
  changedSinceExportCount?: number;
}

/**
 * At most this many cells are listed in `changedSinceExport`, the first of the file; the count says how many there
 * are. Past a page of them the person's answer is the same (export again), and a large old file changed everywhere
 * since would otherwise answer hundreds of thousands of entries.
 */
export const MAX_LISTED_CHANGED_SINCE_EXPORT = 200;

export interface ChangedSinceExport {
  row: number;
  column: string;
  /** The line's value now, and the file's. */
  now: CellValue;
  file: CellValue;
  /** The version the file was exported at, and the line's now. */
  fileVersion: number;
  version: number;
  /** Who last changed the line, and when (ISO). */
  updatedBy: string | null;
  updatedAt: string;
}

export interface AppliedCell {
  lineId: string;
  column: EditableColumn;
  before: CellValue;
  after: CellValue;
  version: number;
}

export interface ImportPlan {
  id: string;
  name: string;
  status: PlanStatus;
}

/** What an import learns of a line it may touch. */
interface KnownLine {
  id: string;
  unit_id: string;
  unit_code: string;
  product_category: string;
  region: string;
  quarter: string;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
  updated_at: Date;
  updated_by: string | null;
  updated_by_id: string | null;
  submission_status: SubmissionStatus;
}

const LINE_COLUMNS = `l.id, l.business_unit_id AS unit_id, u.code AS unit_code, l.product_category, l.region, l.quarter,
  l.budget_amount, l.forecast_sales, l.comment, l.version, l.updated_at, ua.email AS updated_by, l.updated_by_id,
  COALESCE(s.status, 'DRAFT') AS submission_status
  FROM budget_line l
  JOIN business_unit u ON u.id = l.business_unit_id
  LEFT JOIN app_user ua ON ua.id = l.updated_by_id
  LEFT JOIN budget_submission s ON s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id`;

/** The plan's lines with these ids, within the scope (null: every unit). */
const LINES_BY_ID = `SELECT ${LINE_COLUMNS}
  WHERE l.plan_id = $1::uuid AND l.id = ANY($2::uuid[]) AND ($3::uuid[] IS NULL OR l.business_unit_id = ANY($3::uuid[]))`;

/** The plan's lines with these keys (compared as `lineKey` writes them), within the scope. */
const LINES_BY_KEY = `SELECT ${LINE_COLUMNS}
  JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS k(unit, category, region, quarter)
    ON lower(u.code) = k.unit AND lower(btrim(l.product_category)) = k.category AND lower(btrim(l.region)) = k.region
   AND lower(l.quarter) = k.quarter
  WHERE l.plan_id = $1::uuid AND ($6::uuid[] IS NULL OR l.business_unit_id = ANY($6::uuid[]))`;

/** How a row's key cells, or a line's key columns, are compared: trimmed and case-insensitive. */
function lineKey(parts: readonly string[]): string {
  return JSON.stringify(parts.map((p) => p.trim().toLowerCase()));
}

/**
 * Refused cells beyond which a file is refused whole, before anything is applied: it is not an edited export of
 * this plan (a plan of 100,000 lines exports 300,000 editable cells, and an edit refuses a few). Listing every one
 * of a 10 MB file's millions of refusals took seconds of the event loop and a 135 MB answer.
 */
export const MAX_REFUSED_CELLS = 100_000;
/** Rows judged between two turns of the event loop: other people's requests are served meanwhile. */
const ROWS_PER_TURN = 10_000;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const NOT_FOUND_REASON = 'No budget line of this plan that you may read matches this row (Budget line was not found)';

/** The text of a cell, as a key or an id is read. */
function cellText(cell: SheetCell | undefined): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return String(cell);
  if (typeof cell === 'string') return cell.trim();
  return '';
}

function isBlank(cell: SheetCell | undefined): boolean {
  return cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '');
}

/**
 * A number as people type it into a spreadsheet: digits with an optional decimal point and exponent; with a
 * `;`-separated CSV (where Excel writes a decimal comma) a decimal comma too. Thousands separators only where they
 * cannot be read otherwise: the file's delimiter says which separator is the decimal one (a `,`-separated file
 * has a decimal point, a `;`-separated one a decimal comma), and grouping that ends in a decimal part ("1,234.57",
 * "1.234,57") or repeats ("1,234,567") is read as grouping. Excel's "Save as CSV" writes each amount as the cell
 * shows it, and our xlsx export formats amounts "#,##0.00": an exported workbook saved as CSV in Excel had every
 * amount from 1,000 up refused. A lone "1.234" in a `;`-separated file stays refused as ambiguous (below).
 */
function parseAmount(text: string, decimalComma: boolean): number | null {
  const t = text.trim();
  // Where the comma is the decimal separator the dot groups thousands: Excel saves a cell formatted "#.##0" as
  // "1.234", which means 1234 there. Read as a decimal point it would land a thousand times too small, silently.
  if (decimalComma && DOT_THOUSANDS.test(t)) return null;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (decimalComma && /^[+-]?\d+,\d+$/.test(t)) return Number(t.replace(',', '.'));
  if (!decimalComma && /^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$/.test(t)) return Number(t.replace(/,/g, ''));
  if (decimalComma && /^[+-]?[1-9]\d{0,2}(\.\d{3})+,\d+$|^[+-]?[1-9]\d{0,2}(\.\d{3}){2,}$/.test(t)) return Number(t.replace(/\./g, '').replace(',', '.'));
  return null;
}

/** "1.234", "12.500": one dot before exactly three digits, as a thousands separator writes it (not "0.500"). */
const DOT_THOUSANDS = /^[+-]?[1-9]\d{0,2}\.\d{3}$/;

/** The value a cell sets in `column`, or why it cannot. */
function cellValue(column: EditableColumn, cell: SheetCell | undefined, decimalComma: boolean): { value: CellValue } | { problem: string } {
  const header = EDITABLE_HEADERS[column];
  if (cell !== null && typeof cell === 'object') return { problem: `The cell holds the spreadsheet error ${cell.error}, not a value` };
  let value: CellValue;
  if (column === 'comment') value = cell === null || cell === undefined ? '' : String(cell);
  else if (isBlank(cell)) value = null;
  else if (typeof cell === 'number') value = cell;
  else {
    value = parseAmount(cell as string, decimalComma);
    const text = (cell as string).trim();
    if (value === null && decimalComma && DOT_THOUSANDS.test(text)) {
      const [whole, decimal] = [text.replace('.', ''), text.replace('.', ',')];
      return { problem: `${header} "${text}" is ambiguous in a file with decimal commas (is the dot a thousands separator?): write ${whole} or ${decimal}` };
    }
    if (value === null) return { problem: `${header} must be a number, like 1234.56 or 1,234.56 (without a currency sign)` };
  }
  const problem = cellValueProblem(column, value);
  // The rules name the API's column (budgetAmount); a file's reader knows it by its header.
  return problem ? { problem: problem.replace(column, header) } : { value };
}

interface JudgedRow {
  row: number;
  line: KnownLine;
  /** The cells that change the line. */
  changes: CellChanges;
}

export interface ImportRequest {
  em: EntityManager;
  live: Pick<LiveDocuments, 'applyEditBatch'>;
  viewer: Viewer;
  plan: ImportPlan;
  /** Unit ids the viewer may read (null: every unit). */
  scope: readonly string[] | null;
  rows: readonly SheetRow[];
  /** A `;`-separated CSV: amounts may have a decimal comma. */
  decimalComma: boolean;
  dryRun: boolean;
  /** What the activity log says the file was ("csv", "xlsx"). */
  format: string;
}

/** Judges the sheet, applies what passes unless a dry run, and says what happened to every cell. */
export async function importSheet(request: ImportRequest): Promise<ImportOutcome> {
  const { em, viewer, plan, scope, rows, decimalComma } = request;
  const header = rows[0];
  if (!header || header.cells.every(isBlank)) {
    throw new MalformedFile(rows.length === 0 ? 'The file is empty: it needs the header row of an export, then the lines' : 'The first row must be the header row of an export (Line id, Business unit, …)');
  }
  const columns = locateHeaders(header.cells.map(cellText));
  const byKey = KEY_HEADERS.every((h) => columns.has(h));
  if (!columns.has('Line id') && !byKey) {
    throw new MalformedFile(`The header row must name the column Line id, or ${KEY_HEADERS.join(', ')}: it has ${describeHeader(header.cells)}`);
  }
  const editable = EDITABLE_COLUMNS.filter((c) => columns.has(EDITABLE_HEADERS[c]));
  if (editable.length === 0) {
    throw new MalformedFile(`The header row names none of the editable columns (${Object.values(EDITABLE_HEADERS).join(', ')}): nothing to import`);
  }
  const cellOf = (row: SheetRow, h: Header) => (columns.has(h) ? row.cells[columns.get(h)!] : undefined);

  const rejected: RejectedCell[] = [];
  // While the file is judged; what the write refuses afterwards is bounded by what was judged applicable.
  let judging = true;
  const reject = (row: number, column: string, reason: string) => {
    if (judging && rejected.length >= MAX_REFUSED_CELLS) {
      const [first] = rejected;
      throw new MalformedFile(
        `More than ${MAX_REFUSED_CELLS.toLocaleString('en-US')} cells of this file are refused, so nothing was imported: is it an export of this plan? ` +
          `The first: row ${first.row}, ${first.column}: ${first.reason}`,
      );
    }
    rejected.push({ row, column, reason });
  };

  // Each data row's values and how it names its line.
  interface Parsed {
    row: number;
    id: string | null;
    key: string | null;
    /** The line's version when the file was exported (its Version cell), when the row has one. */
    version: number | null;
    /** When the line was last changed as the file was exported (its Updated at cell), when the row has one. */
    updatedAt: Date | null;
    values: CellChanges;
  }
  const parsed: Parsed[] = [];
  for (let i = 1; i < rows.length; i++) {
    if (i % ROWS_PER_TURN === 0) await nextTurn();
    const row = rows[i];
    if (row.cells.every(isBlank)) continue;
    const values: CellChanges = {};
    let anyValid = false;
    for (const column of editable) {
      const judged = cellValue(column, cellOf(row, EDITABLE_HEADERS[column]), decimalComma);
      if ('problem' in judged) reject(row.row, EDITABLE_HEADERS[column], judged.problem);
      else {
        values[column] = judged.value;
        anyValid = true;
      }
    }
    const idText = cellText(cellOf(row, 'Line id'));
    const keyParts = KEY_HEADERS.map((h) => cellText(cellOf(row, h)));
    if (idText === '' && !(byKey && keyParts.every((p) => p !== ''))) {
      reject(row.row, 'Line id', `Give the Line id, or all of ${KEY_HEADERS.join(', ')}, to say which line this row changes`);
      continue;
    }
    if (!anyValid) continue;
    const versionText = cellText(cellOf(row, 'Version'));
    const version = /^\d{1,9}$/.test(versionText) ? Number(versionText) : null;
    const updatedAt = exportedAt(cellOf(row, 'Updated at'));
    parsed.push({ row: row.row, id: idText === '' ? null : idText.toLowerCase(), key: idText === '' ? lineKey(keyParts) : null, version, updatedAt, values });
  }

  // The lines the rows name, within the caller's units only.
  const ids = [...new Set(parsed.flatMap((p) => (p.id && isUuid(p.id) ? [p.id] : [])))];
  // A key with a NUL names no line, and PostgreSQL cannot take it as text: not looked up.
  const keyed = [...new Set(parsed.flatMap((p) => (p.key ? [p.key] : [])))]
    .map((k) => JSON.parse(k) as string[])
    .filter((parts) => parts.every((part) => !part.includes('\u0000')));
  const [foundById, foundByKey] = await withSqlClient(em, async (client) => [
    ids.length ? (await client.query<KnownLine>({ text: LINES_BY_ID, values: [plan.id, ids, scope] })).rows : [],
    keyed.length
      ? (await client.query<KnownLine>({ text: LINES_BY_KEY, values: [plan.id, ...[0, 1, 2, 3].map((i) => keyed.map((k) => k[i])), scope] })).rows
      : [],
  ]);
  const lineById = new Map(foundById.map((l) => [l.id, l]));
  const linesByKey = new Map<string, KnownLine[]>();
  for (const line of foundByKey) {
    const key = lineKey([line.unit_code, line.product_category, line.region, line.quarter]);
    linesByKey.set(key, [...(linesByKey.get(key) ?? []), line]);
  }

  const judged: JudgedRow[] = [];
  const changedSinceExport: ChangedSinceExport[] = [];
  // Rows of lines changed since the export whose last change is the importer's own: someone else may have changed
  // one of their cells in between, which the audit log says (askAudit below).
  const lastChangedByImporter: { p: Parsed; line: KnownLine; changes: CellChanges; since: Date }[] = [];
  const firstRowOf = new Map<string, number>();
  let unchanged = 0;
  for (const [i, p] of parsed.entries()) {
    if (i % ROWS_PER_TURN === ROWS_PER_TURN - 1) await nextTurn();
    let line: KnownLine | undefined;
    if (p.id !== null) line = lineById.get(p.id);
    else {
      const matches = linesByKey.get(p.key!) ?? [];
      if (matches.length > 1) {
        reject(p.row, 'Line id', 'More than one line matches this Business unit, Product category, Region and Quarter: give the Line id');
        continue;
      }
      line = matches[0];
    }
    if (!line) {
      reject(p.row, 'Line id', NOT_FOUND_REASON);
      continue;
    }
    const earlier = firstRowOf.get(line.id);
    if (earlier !== undefined) {
      reject(p.row, 'Line id', `Row ${earlier} already changes this line: give each line one row`);
      continue;
    }
    firstRowOf.set(line.id, p.row);
    const changes: CellChanges = {};
    for (const [column, value] of Object.entries(p.values) as [EditableColumn, CellValue][]) {
      // A comment stored with a character exports write as U+FFFD (db/storableText.ts) comes back with U+FFFD:
      // the file's cell still holds what the line holds, as its export showed it.
      if (line[columnOf(column)] === value || (column === 'comment' && exportableText(line.comment) === value)) unchanged += 1;
      else changes[column] = value;
    }
    if (Object.keys(changes).length === 0) continue;
    const row = { unitId: line.unit_id, submissionStatus: line.submission_status, planStatus: plan.status };
    if (!can(viewer, 'update', 'BudgetLine', row)) {
      const reason = updateRefusal(plan.status, line.submission_status);
      for (const column of Object.keys(changes) as EditableColumn[]) reject(p.row, EDITABLE_HEADERS[column], reason);
      continue;
    }
    judged.push({ row: p.row, line, changes });
    if (p.version !== null && p.version < line.version && line.updated_by_id === viewer.userId && p.updatedAt !== null) {
      lastChangedByImporter.push({ p, line, changes, since: p.updatedAt });
    } else if (p.version !== null && p.version < line.version && line.updated_by_id !== viewer.userId) {
      for (const [column, value] of Object.entries(changes) as [EditableColumn, CellValue][]) {
        changedSinceExport.push({
          row: p.row,
          column: EDITABLE_HEADERS[column],
          now: line[columnOf(column)],
          file: value,
          fileVersion: p.version,
          version: line.version,
          updatedBy: line.updated_by,
          updatedAt: new Date(line.updated_at).toISOString(),
        });
      }
    }
  }

  if (lastChangedByImporter.length > 0) {
    const others = await withSqlClient(em, async (client) =>
      (
        await client.query<{ line_id: string; column_name: string; at: Date; email: string | null }>({
          text: CHANGED_BY_OTHERS_SINCE,
          values: [lastChangedByImporter.map((c) => c.line.id), lastChangedByImporter.map((c) => c.since.toISOString()), viewer.userId],
        })
      ).rows,
    );
    const byCell = new Map(others.map((o) => [`${o.line_id}/${o.column_name}`, o]));
    for (const { p, line, changes } of lastChangedByImporter) {
      for (const [column, value] of Object.entries(changes) as [EditableColumn, CellValue][]) {
        const other = byCell.get(`${line.id}/${column}`);
        if (!other) continue;
        changedSinceExport.push({
          row: p.row,
          column: EDITABLE_HEADERS[column],
          now: line[columnOf(column)],
          file: value,
          fileVersion: p.version!,
          version: line.version,
          updatedBy: other.email,
          updatedAt: new Date(other.at).toISOString(),
        });
      }
    }
    // In the file's order, as the rest of the answer.
    changedSinceExport.sort((a, b) => a.row - b.row || HEADERS.indexOf(a.column as Header) - HEADERS.indexOf(b.column as Header));
  }

  judging = false;
  const cellCount = (j: JudgedRow) => Object.keys(j.changes).length;
  let applied = 0;
  const appliedCells: AppliedCell[] = [];
  if (request.dryRun) {
    for (const j of judged) applied += cellCount(j);
  } else {
    const units = new Set<string>();
    for (let start = 0; start < judged.length; start += MAX_CHANGES_PER_CALL) {
      const chunk = judged.slice(start, start + MAX_CHANGES_PER_CALL);
      const changes: LineChange[] = chunk.map((j) => ({ id: j.line.id, changes: j.changes }));
      const outcome = await updateLines(em, request.live, viewer, changes, false, 'IMPORT');
      const byId = new Map(chunk.map((j) => [j.line.id, j]));
      for (const line of outcome.updated) {
        const j = byId.get(line.id);
        if (!j) continue;
        applied += cellCount(j);
        units.add(j.line.unit_code);
        for (const [column, after] of Object.entries(j.changes) as [EditableColumn, CellValue][]) {
          appliedCells.push({ lineId: line.id, column, before: j.line[columnOf(column)], after, version: line.version });
        }
      }
      // Refused in turn (a submission or a plan closure committed since the judgement, a line removed).
      for (const refusal of outcome.rejected) {
        const j = byId.get(refusal.id);
        if (!j) continue;
        if (refusal.code === ErrorCode.NOT_FOUND) reject(j.row, 'Line id', NOT_FOUND_REASON);
        else for (const column of Object.keys(j.changes) as EditableColumn[]) reject(j.row, EDITABLE_HEADERS[column], refusal.message);
      }
    }
    if (applied > 0) {
      // The activity entry (and with it the webhook event budget.values_imported, written by its trigger).
      await em.fork().transactional(async (tx) => {
        recordActivity(tx, { userId: viewer.userId, email: viewer.email }, 'VALUES_IMPORTED', plan.name, {
          planId: plan.id,
          businessUnitCodes: [...units].sort(),
          applied,
          unchanged,
          rejected: rejected.length,
          format: request.format,
        });
      });
    }
  }
  const order = (c: string) => HEADERS.indexOf(c as Header);
  rejected.sort((a, b) => a.row - b.row || order(a.column) - order(b.column));
  // Once applied, the cells that were (a refused one set nothing back).
  const landed = new Set(appliedCells.map((c) => `${c.lineId}/${EDITABLE_HEADERS[c.column]}`));
  const rowLine = new Map(judged.map((j) => [j.row, j.line.id]));
  const overwritten = request.dryRun ? changedSinceExport : changedSinceExport.filter((c) => landed.has(`${rowLine.get(c.row)}/${c.column}`));
  return {
    applied,
    unchanged,
    rejected,
    ...(overwritten.length
      ? { changedSinceExport: overwritten.slice(0, MAX_LISTED_CHANGED_SINCE_EXPORT), changedSinceExportCount: overwritten.length }
      : {}),
    ...(request.dryRun ? {} : { changes: appliedCells }),
  };
}

/**
 * Per line (with the `Updated at` of the file's row), the latest change of each of its cells by someone other than
 * the importer ($3) after that moment. A line's `updated_at` and its audit entries' `at` are written as one
 * timestamp (budget/lineStore.ts), so a change at or before the export is never after it. The file says that moment
 * to the millisecond (PostgreSQL keeps microseconds, an xlsx date may come back a fraction off): a change counts from
 * the next millisecond on, or the change the file already holds would be taken for a newer one.
 */
const CHANGED_BY_OTHERS_SINCE = `SELECT DISTINCT ON (c.line_id, c.column_name) c.line_id, c.column_name, c.at, u.email
  FROM unnest($1::uuid[], $2::timestamptz[]) AS k(line_id, since)
  JOIN cell_change c ON c.line_id = k.line_id AND c.at >= k.since + interval '1 millisecond'
  LEFT JOIN app_user u ON u.id = c.user_id
  WHERE c.user_id IS DISTINCT FROM $3::uuid
  ORDER BY c.line_id, c.column_name, c.id DESC`;

/** A row's `Updated at` as the export wrote it (ISO text in CSV, a date in xlsx read as ISO), or null. */
function exportedAt(cell: SheetCell | undefined): Date | null {
  const text = cellText(cell);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(text)) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

function columnOf(column: EditableColumn): 'budget_amount' | 'forecast_sales' | 'comment' {
  return column === 'budgetAmount' ? 'budget_amount' : column === 'forecastSales' ? 'forecast_sales' : 'comment';
}

function describeHeader(cells: readonly SheetCell[]): string {
  const names = cells.map(cellText).filter((t) => t !== '');
  const shown = names.slice(0, 12).map((n) => JSON.stringify(n.length > 40 ? `${n.slice(0, 40)}…` : n));
  return shown.length ? shown.join(', ') + (names.length > 12 ? ', …' : '') : 'no names';
}
