/** Finding the business unit a request names, answering alike for a unit that is missing or hidden. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { forbidden, notFound } from '../errors.js';
import { canReadUnit, hiddenRowAnswer } from '../policies/businessUnit.js';
import type { Viewer } from '../policies/viewer.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from './BusinessUnit.js';
import { isUuid } from '../ids.js';
import { canReadPlans } from '../policies/budgetPlan.js';

export async function readableUnitByCode(em: EntityManager, viewer: Viewer, code: string): Promise<BusinessUnit> {
  const unit = code.length <= 100 ? await em.findOne(BusinessUnit, { code }) : null;
  if (!unit || !canReadUnit(viewer, unit.id)) {
    throw hiddenRowAnswer(viewer) === 'NOT_FOUND'
      ? notFound(`Business unit ${code.slice(0, 100)}`)
      : forbidden('You may not read this business unit');
  }
  return unit;
}

export async function readablePlan(em: EntityManager, viewer: Viewer, planId: string): Promise<BudgetPlan> {
  if (!canReadPlans(viewer)) throw forbidden('You may not read budget plans');
  const plan = isUuid(planId) ? await em.findOne(BudgetPlan, { id: planId }) : null;
  if (!plan) throw notFound('Budget plan');
  return plan;
}
