/**
 * Reading budget lines in bulk, for `budgetLines`: one SQL query that returns the lines as plain snapshots
 * (the shape events carry), with their unit and last editor joined in. Reports and tools read hundreds of
 * lines at a time; hydrating and tracking each as an ORM entity cost more than the query itself.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BudgetLineSnapshot } from './lineSnapshot.js';

interface LineRow {
  id: string;
  plan_id: string;
  position: number;
  product_category: string;
  region: string;
  quarter: string;
  prior_year_actual: number | null;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
  updated_at: Date;
  unit_id: string;
  unit_code: string;
  unit_name: string;
  user_id: string | null;
  user_email: string | null;
  user_name: string | null;
  user_role: string | null;
}

/**
 * The lines of a plan in the given units (all units when `unitIds` is null), ordered by unit code and grid
 * position. The caller has applied the policies: `unitIds` is the viewer's scope.
 */
export async function readLines(em: EntityManager, planId: string, unitIds: string[] | null): Promise<BudgetLineSnapshot[]> {
  if (unitIds !== null && unitIds.length === 0) return [];
  const rows = await em.getConnection().execute<LineRow[]>(
    `SELECT l.id, l.plan_id, l.position, l.product_category, l.region, l.quarter, l.prior_year_actual, l.budget_amount,
            l.forecast_sales, l.comment, l.version, l.updated_at,
            u.id AS unit_id, u.code AS unit_code, u.name AS unit_name,
            p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
       FROM budget_line l
       JOIN business_unit u ON u.id = l.business_unit_id
       LEFT JOIN app_user p ON p.id = l.updated_by_id
      WHERE l.plan_id = ? ${unitIds === null ? '' : `AND l.business_unit_id IN (${unitIds.map(() => '?').join(', ')})`}
      ORDER BY u.code, l.position`,
    [planId, ...(unitIds ?? [])],
  );
  return rows.map((r) => ({
    id: r.id,
    planId: r.plan_id,
    businessUnit: { id: r.unit_id, code: r.unit_code, name: r.unit_name },
    productCategory: r.product_category,
    region: r.region,
    quarter: r.quarter,
    position: r.position,
    priorYearActual: r.prior_year_actual,
    budgetAmount: r.budget_amount,
    forecastSales: r.forecast_sales,
    comment: r.comment,
    version: r.version,
    updatedAt: new Date(r.updated_at),
    updatedBy: r.user_id ? { id: r.user_id, email: r.user_email!, displayName: r.user_name!, role: r.user_role! } : null,
  }));
}
