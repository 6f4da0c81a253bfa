/**
 * A budget line as plain data, shaped like the GraphQL BudgetLine type: what events carry, so that a
 * subscriber renders it without touching the database, and the bus can send it to other instances as JSON
 * (realtime/eventBus.ts). One mapping from a stored row (`snapshotFromRow`), for the grid projection's writes
 * and `budgetLines` alike.
 */
import type { BudgetLine } from './BudgetLine.js';
import type { RemovedBudgetLine } from './RemovedBudgetLine.js';

export interface BudgetLineSnapshot {
  id: string;
  planId: string;
  businessUnit: { id: string; code: string; name: string };
  productCategory: string;
  region: string;
  quarter: string;
  position: number;
  priorYearActual: number | null;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
  updatedAt: Date;
  updatedBy: { id: string; email: string; displayName: string; role: string } | null;
  /** When the line was removed (removeBudgetLines); absent for a line that is in the plan. */
  removedAt?: Date;
}

/** Needs `businessUnit` and `updatedBy` loaded. */
export function snapshotLine(line: BudgetLine): BudgetLineSnapshot {
  const unit = line.businessUnit;
  const by = line.updatedBy;
  return {
    id: line.id,
    planId: line.plan.id,
    businessUnit: { id: unit.id, code: unit.code, name: unit.name },
    productCategory: line.productCategory,
    region: line.region,
    quarter: line.quarter,
    position: line.position,
    priorYearActual: line.priorYearActual,
    budgetAmount: line.budgetAmount,
    forecastSales: line.forecastSales,
    comment: line.comment,
    version: line.version,
    updatedAt: line.updatedAt,
    updatedBy: by ? { id: by.id, email: by.email, displayName: by.displayName, role: by.role } : null,
  };
}

/**
 * A line as SQL reads it for a snapshot: the `budget_line` columns, its unit's (`unit_*`) and its last
 * editor's (`user_*`, null when nobody edited it). Every statement that returns lines selects these names.
 */
export interface LineSnapshotRow {
  id: string;
  plan_id: string;
  unit_id: string;
  unit_code: string;
  unit_name: string;
  product_category: string;
  region: string;
  quarter: string;
  position: number;
  prior_year_actual: number | null;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
  updated_at: Date | string;
  user_id: string | null;
  user_email: string | null;
  user_name: string | null;
  user_role: string | null;
}

/** The one mapping of a line row to its snapshot (the projection's writes and `budgetLines` alike). */
export function snapshotFromRow(row: LineSnapshotRow): BudgetLineSnapshot {
  return {
    id: row.id,
    planId: row.plan_id,
    businessUnit: { id: row.unit_id, code: row.unit_code, name: row.unit_name },
    productCategory: row.product_category,
    region: row.region,
    quarter: row.quarter,
    position: row.position,
    priorYearActual: row.prior_year_actual,
    budgetAmount: row.budget_amount,
    forecastSales: row.forecast_sales,
    comment: row.comment,
    version: row.version,
    updatedAt: new Date(row.updated_at),
    updatedBy: row.user_id ? { id: row.user_id, email: row.user_email!, displayName: row.user_name!, role: row.user_role! } : null,
  };
}

/** A removed line as it was when it was removed (audit entries' `line`); needs `businessUnit` and `updatedBy` loaded. */
export function removedLineSnapshot(line: RemovedBudgetLine): BudgetLineSnapshot {
  return { ...snapshotLine(line as unknown as BudgetLine), removedAt: line.removedAt };
}
