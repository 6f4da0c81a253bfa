/**
 * The budget's units, plans and lines over GraphQL: `businessUnits` and `budgetPlans` (what the caller may
 * read), `budgetLines` (one SQL query scoped in its WHERE clause: lineQueries.ts), `updateBudgetLine` (the
 * one write path, budgetLineWriter.ts, which asks the policies) and `budgetLineChanged` (unitEvents.ts).
 *
 * Out of scope: a line's GraphQL type (BudgetLineType.ts, and why it is not the entity) and its relations
 * (RelationResolvers.ts).
 */
import { Arg, Ctx, Field, Float, ID, InputType, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadPlans } from '../policies/budgetPlan.js';
import { readableUnits, unitIdsOf } from '../policies/businessUnit.js';
import type { BudgetLineChangedEvent } from './events.js';
import type { BudgetLine } from './BudgetLine.js';
import { BudgetLineType } from './BudgetLineType.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import type { CellChanges } from './budgetLineWriter.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';
import { readPlanLines } from './lineQueries.js';
import { MAX_UNIT_CODE_LENGTH, planNotFound, requirePlanReader, requireReadableUnit } from './unitLookup.js';
import { subscribeToUnitEvents } from './unitEvents.js';

@InputType({ description: 'The editable columns of a budget line. Omit a column to leave it as it is; null clears an amount.' })
export class BudgetLineInput {
  @Field(() => Float, { nullable: true })
  budgetAmount?: number | null;

  @Field(() => Float, { nullable: true })
  forecastSales?: number | null;

  @Field(() => String, { nullable: true, description: 'At most 2000 characters; null or "" clears it.' })
  comment?: string | null;
}

@Resolver()
export class BudgetLineResolver {
  @Query(() => [BusinessUnit], { description: 'The business units the caller may read.' })
  async businessUnits(@Ctx() ctx: GraphQLContext): Promise<BusinessUnit[]> {
    const unitIds = unitIdsOf(readableUnits(requireViewer(ctx)));
    if (unitIds?.length === 0) return [];
    return ctx.em.find(BusinessUnit, unitIds === null ? {} : { id: { $in: unitIds } }, { orderBy: { code: 'asc' } });
  }

  @Query(() => [BudgetPlan])
  async budgetPlans(@Ctx() ctx: GraphQLContext): Promise<BudgetPlan[]> {
    if (!canReadPlans(requireViewer(ctx))) return [];
    return ctx.em.find(BudgetPlan, {}, { orderBy: { fiscalYear: 'desc', name: 'asc' } });
  }

  @Query(() => [BudgetLineType], {
    description: 'Lines of a plan: of one unit, or every line the caller may read. A unit the caller may not read: FORBIDDEN.',
  })
  async budgetLines(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String, { nullable: true }) businessUnitCode: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetLineSnapshot[]> {
    const viewer = requireViewer(ctx);
    const scope = unitIdsOf(readableUnits(viewer));
    // Every line the caller may read, when they may read none: nothing (not FORBIDDEN, which names a unit).
    if (businessUnitCode == null && scope?.length === 0) return [];
    requirePlanReader(viewer, planId);
    // One query looks up the plan and the unit and reads the lines, scoped in its WHERE clause itself: rows
    // outside the caller's units are never fetched. The checks then answer as readablePlan and
    // readableUnitByCode do, in the same order.
    // A code too long to name a unit is not looked up, and no line is read for it.
    const unnamable = businessUnitCode != null && businessUnitCode.length > MAX_UNIT_CODE_LENGTH;
    const found = await readPlanLines(ctx.em, planId, unnamable ? null : (businessUnitCode ?? null), unnamable ? [] : scope);
    if (!found.planFound) throw planNotFound();
    if (businessUnitCode != null) requireReadableUnit(viewer, found.unitId);
    return found.lines;
  }

  @Mutation(() => BudgetLineType, {
    description:
      'Changes the editable columns of a line. FORBIDDEN outside writable units and while the unit is submitted or ' +
      'approved; CONFLICT when expectedVersion is stale; BAD_USER_INPUT for a value out of range.',
  })
  async updateBudgetLine(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => BudgetLineInput) input: BudgetLineInput,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetLine> {
    const viewer = requireViewer(ctx);
    const changes: CellChanges = {};
    if (input.budgetAmount !== undefined) changes.budgetAmount = input.budgetAmount;
    if (input.forecastSales !== undefined) changes.forecastSales = input.forecastSales;
    if (input.comment !== undefined) changes.comment = input.comment ?? '';
    const line = await ctx.services.budgetLines.updateLine(ctx.em, viewer, id, changes, expectedVersion);
    await ctx.em.populate(line, ['businessUnit', 'updatedBy']);
    return line;
  }

  @Subscription(() => BudgetLineType, {
    description: 'Every change to a line of the plan (of one unit, or of every unit the caller may read).',
    subscribe: ({ args, context }) => subscribeToUnitEvents(context, 'BUDGET_LINE_CHANGED', args),
  })
  budgetLineChanged(
    @Root() event: BudgetLineChangedEvent,
    @Arg('planId', () => ID) _planId: string,
    @Arg('businessUnitCode', () => String, { nullable: true }) _businessUnitCode: string | null,
  ): BudgetLineSnapshot {
    return event.line;
  }
}
