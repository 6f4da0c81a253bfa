/**
 * Finding the plan and the business unit a request names, through the policies: a unit that is missing is
 * answered exactly like one that is hidden (policies/authorize.ts), and a plan is asked for only by who may
 * read plans.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { forbidden, notFound } from '../errors.js';
import { authorize } from '../policies/authorize.js';
import type { Viewer } from '../policies/viewer.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { isUuid } from '../ids.js';
import { canReadPlans } from '../policies/budgetPlan.js';

/** Longer codes name no unit (and are not looked up). */
export const MAX_UNIT_CODE_LENGTH = 100;

export async function readableUnitByCode(em: EntityManager, viewer: Viewer, code: string): Promise<BusinessUnit> {
  const unit = code.length <= MAX_UNIT_CODE_LENGTH ? await em.findOne(BusinessUnit, { code }) : null;
  requireReadableUnit(viewer, unit?.id ?? null);
  return unit!;
}

/**
 * `unitId` is what `code` names (null: no unit), looked up by the caller: throws unless the viewer may read
 * it, with the same answer for a missing unit as for a hidden one.
 */
export function requireReadableUnit(viewer: Viewer, unitId: string | null): string {
  authorize(viewer, 'read', 'BusinessUnit', unitId === null ? null : { id: unitId });
  return unitId!;
}

export async function readablePlan(em: EntityManager, viewer: Viewer, planId: string): Promise<BudgetPlan> {
  requirePlanReader(viewer, planId);
  const plan = await em.findOne(BudgetPlan, { id: planId });
  if (!plan) throw planNotFound();
  return plan;
}

/**
 * The checks of `readablePlan` made before the plan is looked up: FORBIDDEN for someone who may read no
 * plan, NOT_FOUND for an id that cannot name one. Afterwards the caller looks up a uuid.
 */
export function requirePlanReader(viewer: Viewer, planId: string): void {
  if (!canReadPlans(viewer)) throw forbidden('You may not read budget plans');
  if (!isUuid(planId)) throw planNotFound();
}

export function planNotFound() {
  return notFound('Budget plan');
}
