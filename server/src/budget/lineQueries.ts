/**
 * Reading budget lines in bulk, for `budgetLines`: one SQL query that returns the lines as plain snapshots
 * (the shape events carry), with their unit and last editor joined in. Reports and tools read hundreds of
 * lines at a time; hydrating and tracking each as an ORM entity cost more than the query itself.
 *
 * The same query looks up the plan and the unit the request names, so that a request makes one round trip
 * for all three; the caller applies the policies to what it finds, and the WHERE clause carries the viewer's
 * scope, so that rows outside the caller's units are never fetched, whatever the lookups find.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { withSqlClient } from '../db/sql.js';
import { snapshotFromRow, type BudgetLineSnapshot, type LineSnapshotRow } from './lineSnapshot.js';

/** A line of the answer, or the one row of a request that matched no line (`id` null, the rest too). */
type LineRow = { found_plan_id: string | null; found_unit_id: string | null } & (LineSnapshotRow | { id: null });

export interface PlanLines {
  /** Whether the plan exists. */
  planFound: boolean;
  /** The id of the unit `unitCode` names (null: none, or no code given). */
  unitId: string | null;
  /** Empty unless the plan was found; of the named unit only (when a code was given) and only in `scope`. */
  lines: BudgetLineSnapshot[];
}

/** The statement for each shape of request: by unit code or not, within a scope of unit ids or not. */
function linesStatement(byCode: boolean, scoped: boolean): { name: string; text: string } {
  const scopeParam = byCode ? '$3' : '$2';
  return {
    name: `plansync.budgetLines.${byCode ? 'unit' : 'plan'}.${scoped ? 'scoped' : 'all'}`,
    text: `WITH target AS (
       SELECT (SELECT id FROM budget_plan WHERE id = $1::uuid) AS plan_id,
              ${byCode ? '(SELECT id FROM business_unit WHERE code = $2::text)' : 'NULL::uuid'} AS unit_id
     )
     SELECT t.plan_id AS found_plan_id, t.unit_id AS found_unit_id,
            l.id, l.plan_id, l.position, l.product_category, l.region, l.quarter, l.prior_year_actual, l.budget_amount,
            l.forecast_sales, l.comment, l.version, l.updated_at,
            u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
            p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
       FROM target t
       LEFT JOIN (budget_line l
                  JOIN business_unit u ON u.id = l.business_unit_id
                  LEFT JOIN app_user p ON p.id = l.updated_by_id)
         ON l.plan_id = t.plan_id ${byCode ? 'AND l.business_unit_id = t.unit_id' : ''}
            ${scoped ? `AND l.business_unit_id = ANY(${scopeParam}::uuid[])` : ''}
      ORDER BY u.code, l.position`,
  };
}

const STATEMENTS = {
  plan: { all: linesStatement(false, false), scoped: linesStatement(false, true) },
  unit: { all: linesStatement(true, false), scoped: linesStatement(true, true) },
};

/**
 * The lines of plan `planId` (a uuid), of the unit with code `unitCode` (null: of every unit), within the
 * viewer's `scope` (unit ids, null for every unit), ordered by unit code and grid position; and what the
 * plan id and the unit code name, for the caller's checks.
 *
 * A prepared statement (of fixed text, so PostgreSQL parses and plans it once per connection) on a
 * connection of MikroORM's pool, outside any transaction of `em`.
 */
export async function readPlanLines(
  em: EntityManager,
  planId: string,
  unitCode: string | null,
  scope: readonly string[] | null,
): Promise<PlanLines> {
  const statement = (unitCode === null ? STATEMENTS.plan : STATEMENTS.unit)[scope === null ? 'all' : 'scoped'];
  const values: unknown[] = [planId];
  if (unitCode !== null) values.push(unitCode);
  if (scope !== null) values.push(scope);
  const { rows } = await withSqlClient(em, (client) => client.query<LineRow>({ ...statement, values }));
  const first = rows[0];
  const foundPlanId = first?.found_plan_id ?? null;
  const lines: BudgetLineSnapshot[] = [];
  for (const r of rows) if (r.id !== null) lines.push(snapshotFromRow(r));
  return { planFound: foundPlanId !== null, unitId: first?.found_unit_id ?? null, lines };
}
