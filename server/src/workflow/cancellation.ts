/**
 * Cancelling an execution: whoever may drive it (policies/workflowExecution.ts, `drive`) stops one that is
 * RUNNING, AWAITING_INPUT or FAILED. In one workflow transition (transitions.ts), under the execution's row
 * lock: every step not done (pending, running, waiting for input, failed) becomes SKIPPED, the execution
 * CANCELLED, each a status change with its event, streamed live after the commit like any other; the activity
 * entry (EXECUTION_CANCELLED, with the reason) is written in the same transaction.
 *
 * A cancelled budget_submission puts its unit back to DRAFT, when the unit's submission is still the one this
 * execution reviews and not yet decided (an approval stands: reopenSubmission takes it back, with a reason), and tells open grids and dashboards (SUBMISSION_STATUS_CHANGED): the unit is editable
 * again at once. Not in a closed plan (FORBIDDEN), which is read-only on every path.
 *
 * What is already running is not interrupted: a step job that finishes after the cancellation finds its
 * step no longer RUNNING and records nothing (engine.ts, "superseded"), and jobs still queued find the
 * execution CANCELLED and do nothing. Integrations already called are not undone.
 *
 * Out of scope: running transitions and publishing submission changes (the engine's, handed in as
 * `CancelDeps`).
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { BudgetPlan } from '../budget/BudgetPlan.js';
import { BudgetSubmission, type SubmissionStatus } from '../budget/BudgetSubmission.js';
import { PLAN_CLOSED } from '../budget/budgetLineWriter.js';
import { markWithdrawn } from '../budget/submissionVersions.js';
import { badUserInput, conflict, forbidden } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import type { Viewer } from '../policies/viewer.js';
import { executionScope } from '../policies/workflowExecution.js';
import { StepExecution } from './StepExecution.js';
import type { ExecutionStatus, StepStatus } from './statuses.js';
import type { Transition } from './transitions.js';
import { WorkflowExecution } from './WorkflowExecution.js';

/** What the engine lends a cancellation. */
export interface CancelDeps {
  em: EntityManager;
  /** Runs `work` as one workflow transition (the engine's, which wakes its workers for enqueued jobs). */
  transition<T>(work: (t: Transition) => Promise<T>): Promise<T>;
  /** Tells open grids and dashboards, after the commit, that the execution's unit's submission is now `status`. */
  publishSubmissionStatus(t: Transition, execution: WorkflowExecution, status: SubmissionStatus): Promise<void>;
}

/** Executions that can still be cancelled; the others (COMPLETED, CANCELLED) are over. */
const CANCELLABLE: ReadonlySet<ExecutionStatus> = new Set(['RUNNING', 'AWAITING_INPUT', 'FAILED']);
/** Steps that are over; every other one is skipped by a cancellation. */
const DONE: ReadonlySet<StepStatus> = new Set(['SUCCEEDED', 'SKIPPED']);
/** Longest reason kept. */
export const MAX_REASON_LENGTH = 2000;

const over = (status: ExecutionStatus) => conflict(`This execution is ${status.toLowerCase()}: only a running, waiting or failed one can be cancelled`);

/**
 * Cancels the execution `executionId` names, for `viewer`. Missing and hidden alike: NOT_FOUND; visible but not
 * theirs to drive: FORBIDDEN; already over: CONFLICT. Returns the execution as cancelled.
 */
export async function cancelExecution(deps: CancelDeps, viewer: Viewer, executionId: string, reason: string | null): Promise<WorkflowExecution> {
  const em = deps.em.fork();
  const execution = isUuid(executionId) ? await em.findOne(WorkflowExecution, { id: executionId }) : null;
  authorize(viewer, 'drive', 'WorkflowExecution', execution && executionScope(execution), () => 'You may not cancel this workflow');
  const why = reason?.trim() || null;
  if (why && why.length > MAX_REASON_LENGTH) throw badUserInput(`The reason may have at most ${MAX_REASON_LENGTH} characters`, 'reason');
  if (!CANCELLABLE.has(execution!.status)) throw over(execution!.status);

  await deps.transition(async (t) => {
    const locked = await t.tx.findOneOrFail(WorkflowExecution, { id: execution!.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['businessUnit'] });
    // Checked again under the lock: a step may have completed or failed it meanwhile.
    if (!CANCELLABLE.has(locked.status)) throw over(locked.status);
    // A cancelled review still undecided puts its unit back to DRAFT: in a closed plan, which is read-only on every
    // path, that is withdrawSubmission's refused change by another door (a draft nobody can edit or submit until it
    // reopens). A decided one (its publish failed, say) changes no submission, and can be cancelled there.
    if (locked.definitionKey === 'budget_submission' && locked.plan && locked.businessUnit) {
      const submission = await t.tx.findOne(BudgetSubmission, { plan: locked.plan.id, businessUnit: locked.businessUnit.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const plan = await t.tx.findOneOrFail(BudgetPlan, { id: locked.plan.id }, { fields: ['status'], lockMode: LockMode.PESSIMISTIC_READ });
      if (submission && isUndecided(submission, locked) && !isPlanOpen(plan.status)) {
        throw forbidden(`${PLAN_CLOSED}: reopen the plan before cancelling the review of one of its budgets`);
      }
    }
    const { previousStatus, skipped, reopened } = await cancelLocked(deps, t, locked);
    recordActivity(t.tx, viewer, 'EXECUTION_CANCELLED', `${locked.definitionKey} ${locked.id}`, {
      executionId: locked.id,
      definitionKey: locked.definitionKey,
      reason: why,
      previousStatus,
      skippedSteps: skipped,
      ...(locked.businessUnit ? { businessUnitCode: locked.businessUnit.code } : {}),
      ...(locked.organization ? { organizationId: locked.organization.id } : {}),
      ...(reopened ? { submissionStatus: 'DRAFT' } : {}),
    });
    await t.tx.flush();
  });
  return deps.em.fork().findOneOrFail(WorkflowExecution, { id: execution!.id });
}

/** What cancelling an execution did. */
export interface Cancelled {
  previousStatus: ExecutionStatus;
  skipped: string[];
  /** Whether its unit's submission went back to DRAFT. */
  reopened: boolean;
}

/**
 * Cancels `locked` (an execution the caller holds the row lock of, in `t`, and found cancellable): its unfinished
 * steps SKIPPED, the execution CANCELLED, a budget_submission's unit back to DRAFT. The caller records the activity.
 * Used by cancelExecution and by withdrawSubmission (reviewActions.ts).
 */
export async function cancelLocked(deps: CancelDeps, t: Transition, locked: WorkflowExecution): Promise<Cancelled> {
  const previousStatus = locked.status;
  const steps = await t.tx.find(StepExecution, { execution: locked.id }, { orderBy: { position: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
  const skipped: string[] = [];
  const now = new Date();
  for (const step of steps) {
    if (DONE.has(step.status)) continue;
    step.finishedAt ??= now;
    skipped.push(step.key);
    t.setStep(locked, step, 'SKIPPED');
  }
  t.setExecution(locked, 'CANCELLED');
  const reopened = locked.definitionKey === 'budget_submission' && (await reopenSubmission(deps, t, locked));
  return { previousStatus, skipped, reopened };
}

/** Whether `submission` is still under the review `execution` runs, not yet decided. */
function isUndecided(submission: BudgetSubmission, execution: WorkflowExecution): boolean {
  return submission.executionId === execution.id && submission.status === 'SUBMITTED';
}

/** Executions that can still be cancelled. */
export function isCancellable(status: ExecutionStatus): boolean {
  return CANCELLABLE.has(status);
}

/**
 * Puts the unit of a cancelled budget_submission back to DRAFT, if its submission is still the one this
 * execution reviews (a later submission has an execution of its own) and still SUBMITTED (not yet decided).
 * True when it did.
 */
async function reopenSubmission(deps: CancelDeps, t: Transition, execution: WorkflowExecution): Promise<boolean> {
  if (!execution.plan || !execution.businessUnit) return false;
  const submission = await t.tx.findOne(
    BudgetSubmission,
    { plan: execution.plan.id, businessUnit: execution.businessUnit.id },
    { lockMode: LockMode.PESSIMISTIC_WRITE },
  );
  // Only a submission still under review: once decided, the decision stands. Cancelling the failed publish of an
  // approved budget put it back to DRAFT, an approval taken back with no reason and no word to the unit (that is
  // reopenSubmission's, with its reason); a rejected one is editable already.
  if (!submission || !isUndecided(submission, execution)) return false;
  submission.status = 'DRAFT';
  // The version it reviewed was never decided: withdrawn (its record keeps what was submitted).
  await markWithdrawn(t.tx, execution.id);
  await deps.publishSubmissionStatus(t, execution, 'DRAFT');
  return true;
}
