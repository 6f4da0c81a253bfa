/**
 * `updateBudgetLines` over GraphQL (contract v1.1, "Tools and scripts"): many cell changes in one call, for
 * scripts, judged and applied by batchWrites.ts through the one write path. Its types: the change input, and the
 * result with the lines updated and the changes refused, each with the code `updateBudgetLine` would answer.
 */
import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import type { CellChanges } from './budgetLineWriter.js';
import { MAX_CHANGES_PER_CALL, updateLines, type BatchOutcome } from './batchWrites.js';
import { BudgetLineInput } from './BudgetLineResolver.js';
import { BudgetLineType } from './BudgetLineType.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';
import { restoreCells } from './restoreCells.js';

@InputType({ description: 'One change of updateBudgetLines: the line, its new values, and optionally the version last seen.' })
export class BudgetLineChangeInput {
  @Field(() => ID)
  id!: string;

  @Field(() => BudgetLineInput)
  input!: BudgetLineInput;

  @Field(() => Int, { nullable: true, description: 'CONFLICT for this change when the line is at another version.' })
  expectedVersion?: number | null;
}

@InputType({ description: 'One cell of restoreCells: the line, the column, and optionally the version last seen.' })
export class RestoreCellInput {
  @Field(() => ID)
  lineId!: string;

  @Field(() => String, { description: 'budgetAmount, forecastSales or comment.' })
  column!: string;

  @Field(() => Int, { nullable: true, description: 'CONFLICT for this line when it is at another version (one version a line).' })
  expectedVersion?: number | null;
}

@ObjectType({ description: 'A change updateBudgetLines did not apply, with the code updateBudgetLine would have answered.' })
export class RejectedChange {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  code!: string;

  @Field(() => String)
  message!: string;
}

@ObjectType()
export class BatchUpdateResult {
  @Field(() => [BudgetLineType], { description: 'The lines changed, as they are now, in the order of the call.' })
  updated!: BudgetLineSnapshot[];

  @Field(() => [RejectedChange], { description: 'The changes refused, in the order of the call.' })
  rejected!: RejectedChange[];
}

@Resolver()
export class BatchWriteResolver {
  @Mutation(() => BatchUpdateResult, {
    description:
      `Changes many lines at once (at most ${MAX_CHANGES_PER_CALL}; more: BAD_USER_INPUT for the whole call). Each change is judged ` +
      'as updateBudgetLine would judge it, a missing or hidden line being NOT_FOUND, and the same line twice: the later ' +
      'one BAD_USER_INPUT. atomic: one refusal and nothing is applied.',
  })
  async updateBudgetLines(
    @Arg('changes', () => [BudgetLineChangeInput]) changes: BudgetLineChangeInput[],
    // Nullable with its default, as the contract writes it (`atomic: Boolean = false`): null is not atomic either.
    @Arg('atomic', () => Boolean, { nullable: true, defaultValue: false }) atomic: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BatchOutcome> {
    const viewer = requireViewer(ctx);
    const lineChanges = changes.map((c) => {
      const cells: CellChanges = {};
      if (c.input.budgetAmount !== undefined) cells.budgetAmount = c.input.budgetAmount;
      if (c.input.forecastSales !== undefined) cells.forecastSales = c.input.forecastSales;
      if (c.input.comment !== undefined) cells.comment = c.input.comment ?? '';
      return { id: c.id, changes: cells, expectedVersion: c.expectedVersion };
    });
    return updateLines(ctx.em, ctx.services.budgetLines, viewer, lineChanges, atomic === true);
  }

  @Mutation(() => BatchUpdateResult, {
    description:
      "Sets many cells back, each to the old value of its latest audit entry (as restoreCell of that entry), audited RESTORE: " +
      `an import undone. At most ${MAX_CHANGES_PER_CALL}. A line's cells are one change of it, judged as updateBudgetLines judges ` +
      'one; a cell without an audit entry the caller may read: NOT_FOUND. atomic: one refusal and nothing is applied.',
  })
  async restoreCells(
    @Arg('cells', () => [RestoreCellInput]) cells: RestoreCellInput[],
    @Arg('atomic', () => Boolean, { nullable: true, defaultValue: false }) atomic: boolean | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BatchOutcome> {
    return restoreCells(ctx.em, ctx.services.budgetLines, requireViewer(ctx), cells, atomic === true);
  }
}
