/**
 * The review loop's own moves on a submission (CONTRACT.md v1.1, "The grid's history, notifications and the
 * review loop"), each one workflow transition:
 * - `withdrawSubmission`: the unit's writers (its leaders, and admins, who may submit any unit: `submit` and
 *   `withdraw` share one rule), while it is SUBMITTED and not yet reviewed: its review execution is cancelled
 *   through the cancellation path (cancellation.ts `cancelLocked`: steps SKIPPED, execution CANCELLED, the unit
 *   back to DRAFT, the version marked WITHDRAWN), with the activity entry SUBMISSION_WITHDRAWN. In a closed plan:
 *   FORBIDDEN (it could not be submitted again there).
 * - `reopenSubmission`: admins, APPROVED -> DRAFT with a reason (SUBMISSION_REOPENED). The approved version keeps
 *   its record; the submission's review fields are cleared (the unit is a draft again); the unit's leaders and
 *   whoever submitted are told, with the reason (a SUBMISSION_REVIEWED notification, notifications/submissionReopened.ts). In a closed plan:
 *   FORBIDDEN, as every change to a closed plan is.
 * Both are refused with CONFLICT in any other status; the webhook `submission.status_changed` (a trigger on the
 * row) and `submissionStatusChanged` follow from the status change.
 *
 * Locks are taken in the review's order (execution, then submission), so a withdrawal racing the review's
 * decision waits for it and then finds the submission reviewed.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { BudgetSubmission } from '../budget/BudgetSubmission.js';
import { PLAN_CLOSED } from '../budget/budgetLineWriter.js';
import { badUserInput, conflict, forbidden } from '../errors.js';
import { notifySubmissionReopened } from '../notifications/submissionReopened.js';
import { authorize } from '../policies/authorize.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import type { Viewer } from '../policies/viewer.js';
import { cancelLocked, isCancellable, MAX_REASON_LENGTH, type CancelDeps } from './cancellation.js';
import type { Transition } from './transitions.js';
import { WorkflowExecution } from './WorkflowExecution.js';

export interface ReviewDeps extends CancelDeps {
  /** Tells open grids and dashboards, after the commit, that the unit's submission is now `status`. */
  publishUnitSubmission(t: Transition, planId: string, unitId: string): Promise<void>;
}

const notWithdrawable = (status: string) =>
  conflict(`This budget is ${status.toLowerCase()}: only a submitted budget not yet reviewed can be withdrawn`);

async function lockedSubmission(tx: EntityManager, planId: string, unitId: string): Promise<BudgetSubmission> {
  return tx.findOneOrFail(BudgetSubmission, { plan: planId, businessUnit: unitId }, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['businessUnit', 'plan'] });
}

/**
 * Whether the plan is open, read under a share lock held to the end of the transaction: setBudgetPlanStatus
 * takes the row FOR UPDATE, so a close cannot commit between this check and the change it guards. (Today the
 * submission's locking read joins its plan, and PostgreSQL locks the joined row too; that is how the ORM
 * happens to populate it, not something to lean on: this lock says what the check needs.)
 */
async function planOpenUnderLock(tx: EntityManager, planId: string): Promise<boolean> {
  const [row] = await tx
    .getConnection()
    .execute<{ status: string }[]>('select "status" from "budget_plan" where "id" = ? for share', [planId], 'all', tx.getTransactionContext());
  return row !== undefined && isPlanOpen(row.status as 'OPEN' | 'CLOSED');
}

/** The caller has checked the viewer may read the plan and the unit. Returns the submission's id. */
export async function withdrawSubmission(deps: ReviewDeps, viewer: Viewer, planId: string, unitId: string): Promise<string> {
  const first = await deps.em.fork().findOneOrFail(BudgetSubmission, { plan: planId, businessUnit: unitId });
  authorize(viewer, 'withdraw', 'BudgetSubmission', { unitId, status: first.status }, () => "You may not withdraw this unit's submission");
  if (first.status !== 'SUBMITTED' || !first.executionId) throw notWithdrawable(first.status);
  return deps.transition(async (t) => {
    const execution = await t.tx.findOneOrFail(WorkflowExecution, { id: first.executionId! }, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['businessUnit'] });
    const submission = await lockedSubmission(t.tx, planId, unitId);
    // Checked again under the locks: reviewed, withdrawn or resubmitted meanwhile.
    if (submission.status !== 'SUBMITTED' || submission.executionId !== execution.id) throw notWithdrawable(submission.status);
    // A closed plan refuses submitBudget: a withdrawal there could not be resubmitted until the plan is reopened, and
    // the review waiting for it would be gone (a finance QA pass withdrew one and was stuck). Closed is read-only.
    if (!(await planOpenUnderLock(t.tx, planId))) throw forbidden(`${PLAN_CLOSED}: a budget submitted to it cannot be withdrawn until the plan is reopened`);
    if (!isCancellable(execution.status)) throw notWithdrawable(submission.status);
    const { skipped } = await cancelLocked(deps, t, execution);
    recordActivity(t.tx, viewer, 'SUBMISSION_WITHDRAWN', `${submission.plan.name} / ${submission.businessUnit.code}`, {
      planId,
      businessUnitCode: submission.businessUnit.code,
      version: submission.version,
      executionId: execution.id,
      skippedSteps: skipped,
    });
    await t.tx.flush();
    return submission.id;
  });
}

/** The caller has checked the viewer may read the plan and the unit. Returns the submission's id. */
export async function reopenSubmission(deps: ReviewDeps, viewer: Viewer, planId: string, unitId: string, reason: string): Promise<string> {
  const first = await deps.em.fork().findOneOrFail(BudgetSubmission, { plan: planId, businessUnit: unitId });
  authorize(viewer, 'reopen', 'BudgetSubmission', { unitId, status: first.status }, () => 'Only administrators may reopen an approved budget');
  const why = reason.trim();
  if (!why) throw badUserInput('A reason is required to reopen an approved budget', 'reason');
  if (why.length > MAX_REASON_LENGTH) throw badUserInput(`The reason may have at most ${MAX_REASON_LENGTH} characters`, 'reason');
  return deps.transition(async (t) => {
    const submission = await lockedSubmission(t.tx, planId, unitId);
    if (submission.status !== 'APPROVED') throw conflict(`This budget is ${submission.status.toLowerCase()}: only an approved budget can be reopened`);
    // A closed plan is read-only on every path: reopening an approved unit in it turned a closed year's approved
    // figures into a draft nobody could edit or submit (the grid and submitBudget refuse a closed plan), with the
    // plan still closed in every report. The plan is reopened first, on purpose.
    if (!(await planOpenUnderLock(t.tx, planId))) throw forbidden(`${PLAN_CLOSED}: reopen the plan before reopening one of its budgets`);
    const reviewed = { reviewedAt: submission.reviewedAt?.toISOString() ?? null, reviewComment: submission.reviewComment };
    submission.status = 'DRAFT';
    submission.reviewComment = null;
    submission.reviewedBy = null;
    submission.reviewedAt = null;
    recordActivity(t.tx, viewer, 'SUBMISSION_REOPENED', `${submission.plan.name} / ${submission.businessUnit.code}`, {
      planId,
      businessUnitCode: submission.businessUnit.code,
      version: submission.version,
      reason: why,
      ...reviewed,
    });
    await t.tx.flush();
    // The unit's leaders learn it was reopened, and why, in their bell (they no longer read "Approved").
    await notifySubmissionReopened(t.tx, submission.id, viewer.userId, why);
    await deps.publishUnitSubmission(t, planId, unitId);
    return submission.id;
  });
}
