/**
 * The review loop over GraphQL (CONTRACT.md v1.1, "The grid's history, notifications and the review loop"):
 * `submissionVersions` and `submissionChanges` (the frozen versions, submissionVersions.ts), `withdrawSubmission`
 * and `reopenSubmission` (workflow/reviewActions.ts, through the engine), and `submissionReadiness`, what the
 * submit dialog tells before a submit.
 *
 * Whoever may read the unit's budget may read its versions and changes. The plan and the unit are found as
 * submitBudget finds them (unitLookup.ts): a unit the caller may not read answers exactly like a missing one
 * (NOT_FOUND to who reads every unit, FORBIDDEN to everyone else).
 */
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { User } from '../directory/User.js';
import { badUserInput, notFound } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { authorize } from '../policies/authorize.js';
import type { Viewer } from '../policies/viewer.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { CellDiff, SubmissionReadiness, SubmissionVersion } from './ReviewTypes.js';
import { diffStoredVersions, listVersions } from './submissionVersions.js';
import { readablePlan, readableUnitByCode } from './unitLookup.js';

/** A line's budget this far (in percent of the prior-year actual) from last year wants a comment. */
export const FAR_FROM_LAST_YEAR_PERCENT = 50;

async function readableSubmission(ctx: GraphQLContext, viewer: Viewer, planId: string, unitCode: string): Promise<BudgetSubmission> {
  const plan = await readablePlan(ctx.em, viewer, planId);
  const unit = await readableUnitByCode(ctx.em, viewer, unitCode);
  const submission = await ctx.em.findOne(BudgetSubmission, { plan: plan.id, businessUnit: unit.id }, { populate: ['businessUnit', 'plan'] });
  authorize(viewer, 'read', 'BudgetSubmission', submission && { unitId: unit.id, status: submission.status });
  return submission!;
}

function reloaded(ctx: GraphQLContext, id: string): Promise<BudgetSubmission> {
  return ctx.em.findOneOrFail(BudgetSubmission, { id }, { populate: ['businessUnit', 'submittedBy', 'reviewedBy'], refresh: true });
}

@Resolver(() => SubmissionVersion)
export class ReviewResolver {
  @Query(() => [SubmissionVersion], {
    description: "A unit's submitted versions in the plan, oldest first (whoever may read the unit's budget).",
  })
  async submissionVersions(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SubmissionVersion[]> {
    const submission = await readableSubmission(ctx, requireViewer(ctx), planId, businessUnitCode);
    return (await listVersions(ctx.em, submission.id)) as SubmissionVersion[];
  }

  @Query(() => [CellDiff], {
    description:
      'The cells whose submitted values differ between `version` and `againstVersion` (default: the version before it). ' +
      'Against version 0 (the default of version 1), every non-empty cell of `version` is a change from null. A line in ' +
      'only one of the two versions is a change of each of its non-empty cells. Ordered as the newer version lists its ' +
      'lines, then removed lines; a version the unit does not have: NOT_FOUND.',
  })
  async submissionChanges(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Arg('version', () => Int) version: number,
    @Arg('againstVersion', () => Int, { nullable: true }) againstVersion: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CellDiff[]> {
    const submission = await readableSubmission(ctx, requireViewer(ctx), planId, businessUnitCode);
    const against = againstVersion ?? version - 1;
    if (version < 1) throw badUserInput('version must be 1 or more', 'version');
    if (against < 0) throw badUserInput('againstVersion must be 0 or more', 'againstVersion');
    const diffs = await diffStoredVersions(ctx.em, submission.id, version, against);
    if (!diffs) throw notFound('Submission version');
    return diffs;
  }

  @Mutation(() => BudgetSubmission, {
    description:
      "Withdraws a submitted budget before it is reviewed (the unit's leaders, and admins): back to DRAFT, its review " +
      'execution CANCELLED. Reviewed, or not submitted: CONFLICT. In a closed plan: FORBIDDEN (reopen the plan first).',
  })
  async withdrawSubmission(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission> {
    const viewer = requireViewer(ctx);
    const submission = await readableSubmission(ctx, viewer, planId, businessUnitCode);
    const id = await ctx.services.workflows.withdrawSubmission(viewer, submission.plan.id, submission.businessUnit.id);
    return reloaded(ctx, id);
  }

  @Mutation(() => BudgetSubmission, {
    description: 'Reopens an approved budget (admins): APPROVED -> DRAFT, with a reason (required). Any other status: CONFLICT. In a closed plan: FORBIDDEN (reopen the plan first).',
  })
  async reopenSubmission(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Arg('reason', () => String) reason: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission> {
    const viewer = requireViewer(ctx);
    const submission = await readableSubmission(ctx, viewer, planId, businessUnitCode);
    const id = await ctx.services.workflows.reopenSubmission(viewer, submission.plan.id, submission.businessUnit.id, reason);
    return reloaded(ctx, id);
  }

  @Query(() => SubmissionReadiness, {
    description: "What is incomplete in a unit's budget before it is submitted (whoever may read the unit's budget).",
  })
  async submissionReadiness(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SubmissionReadiness> {
    const submission = await readableSubmission(ctx, requireViewer(ctx), planId, businessUnitCode);
    const [row] = await ctx.em.execute<Record<string, string | null>[]>(
      `select count(*) as "lineCount",
              count(*) filter (where "budget_amount" is null) as "missingBudget",
              count(*) filter (where "forecast_sales" is null) as "missingForecast",
              count(*) filter (where "budget_amount" is not null and "prior_year_actual" is not null and "comment" = ''
                                 and abs("budget_amount" - "prior_year_actual") > abs("prior_year_actual") * ? / 100.0) as "far",
              coalesce(sum("budget_amount"), 0) as "total",
              coalesce(sum("prior_year_actual"), 0) as "priorYearTotal"
         from "budget_line" where "plan_id" = ? and "business_unit_id" = ?`,
      [FAR_FROM_LAST_YEAR_PERCENT, submission.plan.id, submission.businessUnit.id],
    );
    const missingBudget = Number(row.missingBudget);
    return {
      lineCount: Number(row.lineCount),
      missingBudget,
      missingForecast: Number(row.missingForecast),
      farFromLastYearWithoutComment: Number(row.far),
      farThresholdPercent: FAR_FROM_LAST_YEAR_PERCENT,
      total: Number(row.total),
      priorYearTotal: Number(row.priorYearTotal),
      completeRequired: submission.plan.requireCompleteSubmission,
      submittable: !submission.plan.requireCompleteSubmission || missingBudget === 0,
    };
  }

  @FieldResolver(() => User, { nullable: true })
  submittedBy(@Root() version: SubmissionVersion, @Ctx() ctx: GraphQLContext): Promise<User | null> | null {
    return version.submittedById ? ctx.em.findOne(User, { id: version.submittedById }) : null;
  }

  @FieldResolver(() => User, { nullable: true })
  reviewedBy(@Root() version: SubmissionVersion, @Ctx() ctx: GraphQLContext): Promise<User | null> | null {
    return version.reviewedById ? ctx.em.findOne(User, { id: version.reviewedById }) : null;
  }
}
