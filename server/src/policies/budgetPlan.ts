/**
 * Budget plans hold no figures of their own: anyone who may read some unit's budget may list them. Their
 * structure (creating, closing and reopening plans, adding and removing lines) is for admins only; a closed
 * plan is read-only for everyone (budgetLine.ts, grid.ts).
 */
import type { PlanStatus } from '../budget/BudgetPlan.js';
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';
import { readableUnits } from './businessUnit.js';

export function canReadPlans(viewer: Viewer): boolean {
  return readableUnits(viewer).kind !== 'none';
}

/** Creating plans, closing and reopening them, adding and removing their lines. */
export function canManagePlans(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}

/** Whether a plan's figures may change at all (whoever asks). */
export function isPlanOpen(status: PlanStatus): boolean {
  return status === 'OPEN';
}
