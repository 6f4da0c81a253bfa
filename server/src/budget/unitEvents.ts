/**
 * Subscriptions to a plan's events, of one unit or of every unit the caller may read: the unit and the
 * caller's scope are checked once, when the subscription starts; each event is then filtered on the plan
 * and unit it carries, without a query, once per group of identical subscribers (realtime/fanout.ts).
 */
import { forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadPlans } from '../policies/budgetPlan.js';
import { inScope, readableUnits } from '../policies/businessUnit.js';
import { liveTopics } from '../realtime/liveContext.js';
import type { BudgetTopics } from './events.js';
import { readableUnitByCode } from './unitLookup.js';

type UnitTopic = 'BUDGET_LINE_CHANGED' | 'SUBMISSION_STATUS_CHANGED' | 'BUDGET_LINES_RESTRUCTURED';

export async function subscribeToUnitEvents(
  context: unknown,
  topic: UnitTopic,
  args: { planId: string; businessUnitCode?: string | null },
) {
  const ctx = context as GraphQLContext;
  const viewer = requireViewer(ctx);
  if (!canReadPlans(viewer)) throw forbidden('You may not read budget plans');
  const unitId = args.businessUnitCode != null ? (await readableUnitByCode(ctx.em, viewer, args.businessUnitCode)).id : null;
  const scope = readableUnits(viewer);
  const live = liveTopics<BudgetTopics>(ctx);
  // Subscribers with the same person and arguments share a group in the fanout: this is the same for all of them.
  const visible = (event: { planId: string; unitId: string }) =>
    event.planId === args.planId && (unitId === null || event.unitId === unitId) && inScope(scope, event.unitId);
  return live.fanout(topic).follow(live.delivery, { visible });
}
