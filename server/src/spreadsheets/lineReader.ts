/**
 * The lines of an export, read a chunk at a time so that memory does not grow with the plan: the units in
 * scope (by code), then each unit's lines by keyset on (position, id), which the index on (plan_id,
 * business_unit_id, position) serves without sorting the plan. Scoped in the WHERE clause as `budgetLines` is
 * (lineQueries.ts): rows outside the caller's units are never fetched.
 *
 * Each chunk is its own statement: a slow reader (a large file over a slow link) holds no connection and no
 * transaction between chunks. A line edited meanwhile is exported as it is when its chunk is read.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { withSqlClient } from '../db/sql.js';

/** One exported line, as SQL reads it. */
export interface ExportRow {
  id: string;
  unit_code: string;
  product_category: string;
  region: string;
  quarter: string;
  position: number;
  prior_year_actual: number | null;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
  updated_at: Date;
  updated_by: string | null;
}

/** Rows per statement: bounds the memory of one export whatever the plan's size. */
export const CHUNK_ROWS = 1000;

const UNITS = {
  name: 'plansync.export.units',
  text: `SELECT u.id, u.code FROM business_unit u
          WHERE ($2::uuid IS NULL OR u.id = $2::uuid) AND ($3::uuid[] IS NULL OR u.id = ANY($3::uuid[]))
            AND EXISTS (SELECT 1 FROM budget_line l WHERE l.plan_id = $1::uuid AND l.business_unit_id = u.id)
          ORDER BY u.code`,
};

const CHUNK = {
  name: 'plansync.export.chunk',
  text: `SELECT l.id, $2::text AS unit_code, l.product_category, l.region, l.quarter, l.position, l.prior_year_actual,
                l.budget_amount, l.forecast_sales, l.comment, l.version, l.updated_at, p.email AS updated_by
           FROM budget_line l
           LEFT JOIN app_user p ON p.id = l.updated_by_id
          WHERE l.plan_id = $1::uuid AND l.business_unit_id = $3::uuid AND (l.position, l.id) > ($4::int, $5::uuid)
          ORDER BY l.position, l.id
          LIMIT ${CHUNK_ROWS}`,
};

const BEFORE_EVERY_ID = '00000000-0000-0000-0000-000000000000';

/**
 * The lines of `planId` (of unit `unitId` only, when given) within `scope` (unit ids; null: every unit), by unit
 * code and grid position, a chunk at a time.
 */
export async function* exportedLines(
  em: EntityManager,
  planId: string,
  unitId: string | null,
  scope: readonly string[] | null,
): AsyncGenerator<ExportRow[]> {
  const units = await withSqlClient(em, (client) => client.query<{ id: string; code: string }>({ ...UNITS, values: [planId, unitId, scope] }));
  for (const unit of units.rows) {
    let after: [number, string] = [-2147483648, BEFORE_EVERY_ID];
    for (;;) {
      const { rows } = await withSqlClient(em, (client) =>
        client.query<ExportRow>({ ...CHUNK, values: [planId, unit.code, unit.id, after[0], after[1]] }),
      );
      if (rows.length > 0) yield rows;
      if (rows.length < CHUNK_ROWS) break;
      const last = rows[rows.length - 1];
      after = [last.position, last.id];
    }
  }
}
