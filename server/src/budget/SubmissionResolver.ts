import { LockMode } from '@mikro-orm/postgresql';
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { conflict, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isFrozen } from '../policies/budgetLine.js';
import { canSubmit, canReview, isSubmittable, maySubmitUnit } from '../policies/budgetSubmission.js';
import { canWriteUnit, readableUnits } from '../policies/businessUnit.js';
import { User } from '../directory/User.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { readablePlan, readableUnitByCode } from './unitLookup.js';

@Resolver(() => BudgetSubmission)
export class SubmissionResolver {
  @Query(() => [BudgetSubmission], { description: "Each readable unit's submission in the plan." })
  async budgetSubmissions(
    @Arg('planId', () => ID) planId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission[]> {
    const viewer = requireViewer(ctx);
    const scope = readableUnits(viewer);
    // A caller who may read no unit gets no submissions (an empty list, as for every list query).
    if (!scope.all && scope.unitIds.size === 0) return [];
    const plan = await readablePlan(ctx.em, viewer, planId);
    return ctx.em.find(
      BudgetSubmission,
      { plan: plan.id, ...(scope.all ? {} : { businessUnit: { $in: [...scope.unitIds] } }) },
      { populate: ['businessUnit', 'submittedBy'], orderBy: { businessUnit: { code: 'asc' } } },
    );
  }

  @Mutation(() => BudgetSubmission, {
    description: "Submits a unit's budget for review; its cells become read-only until it is rejected.",
  })
  async submitBudget(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission> {
    const viewer = requireViewer(ctx);
    const plan = await readablePlan(ctx.em, viewer, planId);
    const unit = await readableUnitByCode(ctx.em, viewer, businessUnitCode);
    const submission = await ctx.em.transactional(async (tx) => {
      const row = await tx.findOneOrFail(
        BudgetSubmission,
        { plan: plan.id, businessUnit: unit.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const scope = { unitId: unit.id, status: row.status };
      if (!maySubmitUnit(viewer, scope)) throw forbidden("You may not submit this unit's budget");
      if (!isSubmittable(row.status)) throw conflict(`This budget is already ${row.status.toLowerCase()}`);
      row.status = 'SUBMITTED';
      row.submittedAt = new Date();
      row.submittedBy = tx.getReference(User, viewer.userId);
      return row;
    });
    ctx.services.events.publish('SUBMISSION_STATUS_CHANGED', { planId: plan.id, unitId: unit.id, status: submission.status });
    await ctx.em.populate(submission, ['businessUnit', 'submittedBy']);
    return submission;
  }

  @FieldResolver(() => Boolean, { description: "Whether the caller may change this unit's cells now." })
  canEdit(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): boolean {
    const viewer = requireViewer(ctx);
    return canWriteUnit(viewer, submission.businessUnit.id) && !isFrozen(submission.status);
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may submit this unit now.' })
  canSubmit(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): boolean {
    return canSubmit(requireViewer(ctx), { unitId: submission.businessUnit.id, status: submission.status });
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may review (approve or reject) this submission.' })
  canReview(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): boolean {
    return canReview(requireViewer(ctx), { unitId: submission.businessUnit.id, status: submission.status });
  }
}
