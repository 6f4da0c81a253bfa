/**
 * A unit's submission over GraphQL: `budgetSubmissions` of a plan (the caller's units, in the query),
 * `submitBudget` (the unit's cells freeze, budgetLineWriter.ts `freezeWhile`, while the engine starts the
 * review workflow and asks the policies; refused in a closed plan), `submissionStatusChanged` (unitEvents.ts),
 * and what the caller may do with a submission now (`canEdit`, `canSubmit`, `canReview`, answered by policies/).
 *
 * Out of scope: the review itself (the budget_submission workflow) and a submission's review workflow field
 * (workflow/SubmissionWorkflowResolver.ts).
 */
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { forbidden } from '../errors.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import { canSubmit, canReview } from '../policies/budgetSubmission.js';
import { readableUnits, unitIdsOf } from '../policies/businessUnit.js';
import { can } from '../policies/authorize.js';
import type { SubmissionStatusChangedEvent } from './events.js';
import { PLAN_CLOSED } from './budgetLineWriter.js';
import { BudgetPlan, type PlanStatus } from './BudgetPlan.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { SubmissionReopening } from './ReviewTypes.js';
import type { SubmissionSnapshot } from './submissionSnapshot.js';
import { readablePlan, readableUnitByCode } from './unitLookup.js';
import { subscribeToUnitEvents } from './unitEvents.js';

@Resolver(() => BudgetSubmission)
export class SubmissionResolver {
  @Query(() => [BudgetSubmission], { description: "Each readable unit's submission in the plan." })
  async budgetSubmissions(
    @Arg('planId', () => ID) planId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission[]> {
    const viewer = requireViewer(ctx);
    const unitIds = unitIdsOf(readableUnits(viewer));
    // A caller who may read no unit gets no submissions (an empty list, as for every list query).
    if (unitIds?.length === 0) return [];
    const plan = await readablePlan(ctx.em, viewer, planId);
    return ctx.em.find(
      BudgetSubmission,
      { plan: plan.id, ...(unitIds === null ? {} : { businessUnit: { $in: unitIds } }) },
      { populate: ['businessUnit', 'submittedBy', 'reviewedBy'], orderBy: { businessUnit: { code: 'asc' } } },
    );
  }

  @Mutation(() => BudgetSubmission, {
    description:
      "Submits a unit's budget for review; its cells become read-only until it is rejected (or withdrawn, or reopened), and " +
      'what was submitted is kept as a new version (submissionVersions). A plan that requires complete submissions refuses ' +
      'a unit with lines lacking a budget amount: BAD_USER_INPUT ("108 of 120 lines have no budget…").',
  })
  async submitBudget(
    @Arg('planId', () => ID) planId: string,
    @Arg('businessUnitCode', () => String) businessUnitCode: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetSubmission> {
    const viewer = requireViewer(ctx);
    const plan = await readablePlan(ctx.em, viewer, planId);
    const unit = await readableUnitByCode(ctx.em, viewer, businessUnitCode);
    if (!isPlanOpen(plan.status)) throw forbidden(PLAN_CLOSED);
    // The review must see exactly what is submitted: edits accepted before the submission are in the rows first,
    // and none is accepted after it (grid or API).
    const id = await ctx.services.budgetLines.freezeWhile({ planId: plan.id, unitId: unit.id, unitCode: unit.code }, async () => {
      // A plan closed while this waited its turn: nothing is submitted from it.
      const now = await ctx.em.fork().findOne(BudgetPlan, { id: plan.id }, { fields: ['status'] });
      if (now && !isPlanOpen(now.status)) throw forbidden(PLAN_CLOSED);
      return ctx.services.workflows.submitBudget(viewer, plan.id, unit.id);
    });
    return ctx.em.findOneOrFail(BudgetSubmission, { id }, { populate: ['businessUnit', 'submittedBy', 'reviewedBy'], refresh: true });
  }

  @Subscription(() => BudgetSubmission, {
    description: 'Every change of a submission status in the plan (of one unit, or of every unit the caller may read).',
    subscribe: ({ args, context }) => subscribeToUnitEvents(context, 'SUBMISSION_STATUS_CHANGED', args),
  })
  submissionStatusChanged(
    @Root() event: SubmissionStatusChangedEvent,
    @Arg('planId', () => ID) _planId: string,
    @Arg('businessUnitCode', () => String, { nullable: true }) _businessUnitCode: string | null,
  ): SubmissionSnapshot {
    return event.submission;
  }

  @FieldResolver(() => Boolean, { description: "Whether the caller may change this unit's cells now (never in a closed plan)." })
  async canEdit(@Root() submission: BudgetSubmission | SubmissionSnapshot, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const planStatus = await planStatusOf(ctx, submission);
    return can(requireViewer(ctx), 'edit', 'BudgetSubmission', { unitId: submission.businessUnit.id, status: submission.status, planStatus });
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may submit this unit now (never in a closed plan).' })
  async canSubmit(@Root() submission: BudgetSubmission | SubmissionSnapshot, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const planStatus = await planStatusOf(ctx, submission);
    return canSubmit(requireViewer(ctx), { unitId: submission.businessUnit.id, status: submission.status, planStatus });
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may withdraw this submission now (withdrawSubmission: submitted, not yet reviewed, never in a closed plan).' })
  async canWithdraw(@Root() submission: BudgetSubmission | SubmissionSnapshot, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    if (submission.status !== 'SUBMITTED' || !can(requireViewer(ctx), 'withdraw', 'BudgetSubmission', { unitId: submission.businessUnit.id, status: submission.status })) return false;
    // withdrawSubmission refuses a closed plan: the Withdraw button is not offered there.
    return isPlanOpen(await planStatusOf(ctx, submission));
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may reopen this submission now (reopenSubmission: admins, approved, never in a closed plan).' })
  async canReopen(@Root() submission: BudgetSubmission | SubmissionSnapshot, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    if (submission.status !== 'APPROVED' || !can(requireViewer(ctx), 'reopen', 'BudgetSubmission', { unitId: submission.businessUnit.id, status: submission.status })) return false;
    // reopenSubmission refuses a closed plan: the Reopen… button is not offered there.
    return isPlanOpen(await planStatusOf(ctx, submission));
  }

  @FieldResolver(() => SubmissionReopening, {
    nullable: true,
    description: 'While this is a draft because an admin reopened its approved version (reopenSubmission): when, by whom and why.',
  })
  reopening(@Root() submission: BudgetSubmission | SubmissionSnapshot, @Ctx() ctx: GraphQLContext): Promise<SubmissionReopening | null> {
    return reopeningOf(ctx, submission);
  }

  @FieldResolver(() => Boolean, { description: 'Whether the caller may review (approve or reject) this submission (never in a closed plan).' })
  async canReview(@Root() submission: BudgetSubmission, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    if (!canReview(requireViewer(ctx), { unitId: submission.businessUnit.id, status: submission.status })) return false;
    // The finance review refuses a closed plan: Approve and Reject are not offered there.
    return isPlanOpen(await planStatusOf(ctx, submission));
  }
}

/**
 * The reopening that made a draft of this submission, read from its activity entry (SUBMISSION_REOPENED, written in
 * the reopen's transaction with the version and the reason): only while the submission is still a draft of that
 * version (a submit adds a version, so a resubmitted unit shows none). The leader's grid page says it, with the
 * reason, where it used to say nothing at all.
 */
async function reopeningOf(ctx: GraphQLContext, submission: BudgetSubmission | SubmissionSnapshot): Promise<SubmissionReopening | null> {
  if (submission.status !== 'DRAFT' || submission.version < 1) return null;
  const planId = 'planId' in submission ? submission.planId : submission.plan.id;
  const [entry] = await ctx.em.fork().getConnection().execute<{ at: Date; reason: string; name: string | null }[]>(
    `select a."at", a."details"->>'reason' as "reason", u."display_name" as "name"
       from "activity_entry" a left join "app_user" u on u."id" = a."actor_id"
      where a."action" = 'SUBMISSION_REOPENED' and a."details"->>'planId' = ? and a."details"->>'businessUnitCode' = ?
        and (a."details"->>'version')::int = ?
      order by a."id" desc limit 1`,
    [planId, submission.businessUnit.code, submission.version],
  );
  return entry ? { at: new Date(entry.at), reason: entry.reason ?? '', reopenedByName: entry.name } : null;
}

/**
 * The status of a submission's plan, read now: a row (its plan reference) or an event's snapshot (its planId).
 * Read on a fork, so that a subscription's long-lived context never answers from a plan it read before it closed.
 */
async function planStatusOf(ctx: GraphQLContext, submission: BudgetSubmission | SubmissionSnapshot): Promise<PlanStatus> {
  const planId = 'planId' in submission ? submission.planId : submission.plan.id;
  const plan = await ctx.em.fork().findOne(BudgetPlan, { id: planId }, { fields: ['status'] });
  return plan?.status ?? 'OPEN';
}
