/**
 * The `budget_line` and `cell_change` SQL of the grid's projection (collab/gridProjection.ts), the one write
 * path of budget cells: read a line, lock a batch's lines, ask whether a unit is frozen, write a batch of
 * changed lines with their audit entries in one statement, and find who last wrote a value. Plain SQL on a
 * pooled connection (db/sql.ts), prepared once per connection. Deciding what a batch changes is the
 * projection's; this module only stores it.
 */
import type { ChangeSource } from './CellChange.js';
import { auditText, type CellValue, type EditableColumn } from './columns.js';
import { snapshotFromRow, type BudgetLineSnapshot, type LineSnapshotRow } from './lineSnapshot.js';
import type { SqlClient } from '../db/sql.js';

/** One line as it is now (to put a refused change's cells back). */
const READ_LINE = `SELECT id, business_unit_id, budget_amount, forecast_sales, comment, version FROM budget_line WHERE id = $1`;

/** Whether the unit's submission freezes it, waiting for a submission being committed (its row lock). */
const UNIT_FROZEN = `
  SELECT status IN ('SUBMITTED', 'APPROVED') AS frozen
    FROM budget_submission
   WHERE plan_id = $1 AND business_unit_id = $2
     FOR SHARE`;

/** The lines of a batch not known yet (or found changed), locked, with what the changes depend on. */
const LOCK_LINES = `
  SELECT id, business_unit_id, budget_amount, forecast_sales, comment, version
    FROM budget_line
   WHERE id = ANY($1::uuid[])
   ORDER BY id
     FOR UPDATE`;

/**
 * Every changed line's new state, where the row still is as expected ($1: one JSON object per line); the audit
 * entries ($2, JSON, in order) of the lines so updated, at $3; then the updated rows as `budgetLineChanged`
 * carries them, as one JSON array. Data-modifying WITH clauses run to completion whether read or not, and the
 * INSERT sees the UPDATE's rows through its RETURNING only.
 *
 * Why JSON both ways (issue 16): this runs on the main thread every 100 ms per document being edited, too
 * seldom for V8 to optimise the `pg` driver's code for it, and that code escaped every element of nineteen
 * arrays one by one going out and parsed nineteen typed columns per line coming back: with the pool, a
 * quarter of the main thread's time at 50 writers went to the grid's writes. `JSON.stringify` and `JSON.parse`
 * are the engine's own, as fast cold as hot; PostgreSQL reads and builds the JSON for next to nothing.
 *
 * Planned once per connection, not on every batch: `json_to_recordset` has the same row estimate whatever the
 * batch, so the generic plan (made once, for any values) costs what a custom one would, and after its first
 * five executions on a connection PostgreSQL keeps it. (With arrays passed directly, a custom plan counted the
 * lines and always looked cheaper, and was made again for every batch: 0.35 ms of PostgreSQL's CPU each time.)
 */
const WRITE_LINES = `
  WITH v AS (
    SELECT *
      FROM json_to_recordset($1::json)
        AS v(id uuid, budget_amount float8, forecast_sales float8, comment text, version int, updated_by_id uuid,
             was_version int, was_budget_amount float8, was_forecast_sales float8, was_comment text)
  ), updated AS (
    UPDATE budget_line l
       SET budget_amount = v.budget_amount, forecast_sales = v.forecast_sales, comment = v.comment,
           version = v.version, updated_at = $3::timestamptz, updated_by_id = v.updated_by_id
      FROM v
     WHERE l.id = v.id
       AND l.version = v.was_version
       AND l.budget_amount IS NOT DISTINCT FROM v.was_budget_amount
       AND l.forecast_sales IS NOT DISTINCT FROM v.was_forecast_sales
       AND l.comment = v.was_comment
       -- Never after a submission of the unit (its lock is waited for while one commits, and the status read is
       -- the committed one): such a line goes the careful way, which refuses the change. A unit without a
       -- submission row is not frozen, as UNIT_FROZEN has it: the two must agree, or a change this statement
       -- skips and the careful way lets through would be skipped again there, and lost without a word.
       AND coalesce((SELECT s.status NOT IN ('SUBMITTED', 'APPROVED') FROM budget_submission s
                      WHERE s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
                        FOR SHARE), true)
    RETURNING l.*
  ), audited AS (
    INSERT INTO cell_change (line_id, business_unit_id, plan_id, column_name, old_value, new_value, user_id, source, at)
    SELECT a.line_id, a.unit_id, u.plan_id, a.column_name, a.old_value, a.new_value, a.user_id, a.source, $3::timestamptz
      FROM ROWS FROM (json_to_recordset($2::json)
                        AS (line_id uuid, unit_id uuid, column_name text, old_value text, new_value text, user_id uuid, source change_source))
           WITH ORDINALITY AS a(line_id, unit_id, column_name, old_value, new_value, user_id, source, n)
      JOIN updated u ON u.id = a.line_id
     ORDER BY a.n
  )
  SELECT coalesce(json_agg(r), '[]') AS lines
    FROM (SELECT u.id, u.plan_id, u.business_unit_id AS unit_id, b.code AS unit_code, b.name AS unit_name, u.product_category,
                 u.region, u.quarter, u.position, u.prior_year_actual, u.budget_amount, u.forecast_sales, u.comment, u.version,
                 u.updated_at, p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
            FROM updated u
            JOIN business_unit b ON b.id = u.business_unit_id
            LEFT JOIN app_user p ON p.id = u.updated_by_id) r`;

/** A line as this instance last committed (or read) it: what applying a change depends on. */
export interface KnownLine {
  id: string;
  unitId: string;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
}

interface KnownLineRow {
  id: string;
  business_unit_id: string;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
}

function knownLine(row: KnownLineRow): KnownLine {
  return {
    id: row.id,
    unitId: row.business_unit_id,
    budgetAmount: row.budget_amount,
    forecastSales: row.forecast_sales,
    comment: row.comment,
    version: row.version,
  };
}

/** A line as the batch leaves it. */
export interface PlannedLine extends KnownLine {
  was: KnownLine;
  updatedAt: Date;
  updatedById: string | null;
}

export interface AuditRow {
  lineId: string;
  unitId: string;
  column: EditableColumn;
  oldValue: string | null;
  newValue: string | null;
  userId: string | null;
  source: ChangeSource;
}

export interface BatchPlan {
  /** Lines that change, in the order of their first change. */
  lines: PlannedLine[];
  audit: AuditRow[];
}

/** The write statement; returns the lines it updated (those still as expected). */
export async function writeLines(client: SqlClient, plan: BatchPlan, now: Date): Promise<BudgetLineSnapshot[]> {
  const { lines, audit } = plan;
  const at = now.toISOString();
  const { rows } = await client.query<{ lines: LineSnapshotRow[] }>({
    name: 'grid_projection_write',
    text: WRITE_LINES,
    values: [
      JSON.stringify(
        lines.map((l) => ({
          id: l.id,
          budget_amount: l.budgetAmount,
          forecast_sales: l.forecastSales,
          comment: l.comment,
          version: l.version,
          updated_by_id: l.updatedById,
          was_version: l.was.version,
          was_budget_amount: l.was.budgetAmount,
          was_forecast_sales: l.was.forecastSales,
          was_comment: l.was.comment,
        })),
      ),
      JSON.stringify(
        audit.map((a) => ({
          line_id: a.lineId,
          unit_id: a.unitId,
          column_name: a.column,
          old_value: a.oldValue,
          new_value: a.newValue,
          user_id: a.userId,
          source: a.source,
        })),
      ),
      at,
    ],
  });
  return rows[0].lines.map(snapshotFromRow);
}

/** One line as it is now (to put a refused change's cells back); null when it is gone. */
export async function readKnownLine(client: SqlClient, lineId: string): Promise<KnownLine | null> {
  const { rows } = await client.query<KnownLineRow>({ name: 'grid_projection_row', text: READ_LINE, values: [lineId] });
  return rows[0] ? knownLine(rows[0]) : null;
}

/** Locks these lines (sorted ids: always the same lock order) for the rest of the transaction, and reads them. */
export async function lockKnownLines(client: SqlClient, sortedIds: readonly string[]): Promise<KnownLine[]> {
  const { rows } = await client.query<KnownLineRow>({ name: 'grid_projection_lock', text: LOCK_LINES, values: [sortedIds] });
  return rows.map(knownLine);
}

/** Whether the unit's submission freezes it now, waiting for a submission being committed (its row lock). */
export async function unitIsFrozen(client: SqlClient, planId: string, unitId: string): Promise<boolean> {
  const { rows } = await client.query<{ frozen: boolean }>({ name: 'grid_projection_frozen', text: UNIT_FROZEN, values: [planId, unitId] });
  return rows[0]?.frozen ?? false;
}

/** The latest audit entry that set this cell to `value`: who wrote it (null: nobody we know). */
export async function lastWriterOf(client: SqlClient, lineId: string, column: EditableColumn, value: CellValue): Promise<{ userId: string | null } | null> {
  const { rows } = await client.query<{ user_id: string | null }>({
    name: 'grid_projection_author',
    text: `SELECT user_id FROM cell_change WHERE line_id = $1 AND column_name = $2 AND new_value IS NOT DISTINCT FROM $3 ORDER BY id DESC LIMIT 1`,
    values: [lineId, column, auditText(value)],
  });
  return rows[0] ? { userId: rows[0].user_id } : null;
}

/**
 * The system-only column priorYearActual (not in BudgetLineInput, read-only in the grid and not in its document),
 * written for many lines at once: each line's new value, `version` + 1, `updatedAt`/`updatedBy`, and one audit
 * entry (column priorYearActual, source API) per line; then the lines as `budgetLineChanged` carries them. The
 * caller passes only lines whose value really changes, read under lock in its transaction (`was`).
 */
const WRITE_PRIOR_YEAR_ACTUALS = `
  WITH v AS (
    SELECT * FROM unnest($1::uuid[], $2::float8[], $3::text[], $4::text[]) AS v(id, prior_year_actual, old_text, new_text)
  ), updated AS (
    UPDATE budget_line l
       SET prior_year_actual = v.prior_year_actual, version = l.version + 1, updated_at = $6::timestamptz, updated_by_id = $5::uuid
      FROM v
     WHERE l.id = v.id
    RETURNING l.*
  ), audited AS (
    INSERT INTO cell_change (line_id, business_unit_id, plan_id, column_name, old_value, new_value, user_id, source, at)
    SELECT u.id, u.business_unit_id, u.plan_id, 'priorYearActual', v.old_text, v.new_text, $5::uuid, 'API', $6::timestamptz
      FROM updated u JOIN v ON v.id = u.id
     ORDER BY u.id
  )
  SELECT u.id, u.plan_id, u.business_unit_id AS unit_id, b.code AS unit_code, b.name AS unit_name, u.product_category,
         u.region, u.quarter, u.position, u.prior_year_actual, u.budget_amount, u.forecast_sales, u.comment, u.version,
         u.updated_at, p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
    FROM updated u
    JOIN business_unit b ON b.id = u.business_unit_id
    LEFT JOIN app_user p ON p.id = u.updated_by_id
   ORDER BY u.id`;

export interface PriorYearActualChange {
  lineId: string;
  was: number | null;
  value: number;
}

/** Writes priorYearActual of these lines (see WRITE_PRIOR_YEAR_ACTUALS); returns them as they are now. */
export async function writePriorYearActuals(client: SqlClient, changes: readonly PriorYearActualChange[], userId: string, now: Date): Promise<BudgetLineSnapshot[]> {
  if (changes.length === 0) return [];
  const { rows } = await client.query<LineSnapshotRow>({
    name: 'prior_year_actuals_write',
    text: WRITE_PRIOR_YEAR_ACTUALS,
    values: [
      changes.map((c) => c.lineId),
      changes.map((c) => c.value),
      changes.map((c) => auditText(c.was)),
      changes.map((c) => auditText(c.value)),
      userId,
      now.toISOString(),
    ],
  });
  return rows.map(snapshotFromRow);
}
