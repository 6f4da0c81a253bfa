/**
 * A budget line as plain data, shaped like the GraphQL BudgetLine type: what events carry, so that a
 * subscriber renders it without touching the database and the bus can serialise it (Redis, later).
 */
import type { BudgetLine } from './BudgetLine.js';

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
