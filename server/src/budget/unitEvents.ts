/**
 * Subscriptions to a plan's events, of one unit or of every unit the caller may read: the unit and the
 * caller's scope are checked once, when the subscription starts; each event is then filtered on the plan
 * and unit it carries, without a query.
 */
import { filter, pipe } from '@graphql-yoga/subscription';
import { forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadPlans } from '../policies/budgetPlan.js';
import { inScope, readableUnits } from '../policies/businessUnit.js';
import { readableUnitByCode } from './unitLookup.js';

type UnitTopic = 'BUDGET_LINE_CHANGED' | 'SUBMISSION_STATUS_CHANGED';

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
  return pipe(
    ctx.services.events.subscribe(topic) as AsyncIterable<{ planId: string; unitId: string }>,
    filter((event) => event.planId === args.planId && (unitId === null || event.unitId === unitId) && inScope(scope, event.unitId)),
  );
}
