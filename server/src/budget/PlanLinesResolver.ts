/**
 * A plan's lines administered over GraphQL (admins; everyone else FORBIDDEN): `addBudgetLines` and
 * `removeBudgetLines`, which planLines.ts carries out; and `budgetLinesStructureChanged`, how open grids learn of
 * added and removed rows without a reload.
 *
 * Why a subscription of its own. A grid's rows (category, region, quarter, prior-year actual) come from
 * `budgetLines`; its Yjs document holds only the editable cells (CONTRACT.md, "Collaborative grid"), and an
 * added line has no cell yet, so nothing in the document could tell a client a row appeared. A server-written
 * part of the document would break the contract's "one root map `cells`" for every stock client, and would
 * have to carry reference data the document deliberately leaves out. `budgetLineChanged` carries one line's new
 * values; a removal is not a line's new state. So one event per unit says which lines came (as `budgetLines`
 * shows them) and which went, filtered like `budgetLineChanged`: only to people who may read that unit.
 */
import { Arg, Ctx, Field, Float, ID, InputType, Int, Mutation, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { BudgetLineType } from './BudgetLineType.js';
import type { LinesRestructuredEvent } from './events.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';
import { addLines, MAX_LINES_PER_CALL, removeLines } from './planLines.js';
import { subscribeToUnitEvents } from './unitEvents.js';

@InputType({
  description:
    "A line to add to a plan: a unit, a product category and a region (the plan layout's, or others: 1 to 80 characters, trimmed), and a quarter.",
})
export class NewBudgetLineInput {
  @Field(() => String)
  businessUnitCode!: string;

  @Field(() => String)
  productCategory!: string;

  @Field(() => String)
  region!: string;

  @Field(() => String, { description: 'Q1 to Q4.' })
  quarter!: string;

  @Field(() => Float, { nullable: true, description: 'Finite, 0 to 1e12; absent or null: none.' })
  priorYearActual?: number | null;
}

@ObjectType({ description: "Lines added to or removed from one unit of a plan (one event per unit)." })
export class BudgetLinesStructureChange {
  @Field(() => ID)
  planId!: string;

  @Field(() => BusinessUnit)
  businessUnit!: BusinessUnit;

  @Field(() => [BudgetLineType], { description: 'The new lines, as budgetLines shows them.' })
  added!: BudgetLineSnapshot[];

  @Field(() => [ID], { description: 'Lines that are gone (their audit history stays readable).' })
  removedLineIds!: string[];
}

/** What the subscription answers for an event. */
export function structureChangeOf(event: LinesRestructuredEvent): BudgetLinesStructureChange {
  return { planId: event.planId, businessUnit: event.unit as BusinessUnit, added: event.added, removedLineIds: event.removedLineIds };
}

@Resolver()
export class PlanLinesResolver {
  @Mutation(() => [BudgetLineType], {
    description:
      `Adds lines to a plan, all or none (admins). At most ${MAX_LINES_PER_CALL}. A closed plan: FORBIDDEN; a submitted or ` +
      'approved unit: CONFLICT; an unknown unit, an empty or over-long category or region, a quarter other than Q1 to Q4, ' +
      'a line that exists or is given twice, a priorYearActual out of range: BAD_USER_INPUT. A category and region outside ' +
      "the plan layout's come after the layout's lines in the grid's order, their quarters together.",
  })
  addBudgetLines(
    @Arg('planId', () => ID) planId: string,
    @Arg('lines', () => [NewBudgetLineInput]) lines: NewBudgetLineInput[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetLineSnapshot[]> {
    return addLines(ctx.em, ctx.services.events, requireViewer(ctx), planId, lines);
  }

  @Mutation(() => Int, {
    description:
      'Removes lines, all or none (admins), and answers how many were removed: ids that name no line do not count. ' +
      `At most ${MAX_LINES_PER_CALL}. A closed plan: FORBIDDEN; a submitted or approved unit: CONFLICT. Their audit history stays readable.`,
  })
  removeBudgetLines(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: GraphQLContext): Promise<number> {
    return removeLines(ctx.em, ctx.services.events, requireViewer(ctx), ids);
  }

  @Subscription(() => BudgetLinesStructureChange, {
    description: 'Lines added to or removed from the plan (of one unit, or of every unit the caller may read).',
    subscribe: ({ args, context }) => subscribeToUnitEvents(context, 'BUDGET_LINES_RESTRUCTURED', args),
  })
  budgetLinesStructureChanged(
    @Root() event: LinesRestructuredEvent,
    @Arg('planId', () => ID) _planId: string,
    @Arg('businessUnitCode', () => String, { nullable: true }) _businessUnitCode: string | null,
  ): BudgetLinesStructureChange {
    return structureChangeOf(event);
  }
}
