/**
 * Unit submissions: read with the unit; submitted by its writers; reviewed by analysts and admins. Nothing of a
 * closed plan is edited or submitted (`planStatus`, where a rule needs it).
 */
import type { PlanStatus } from '../budget/BudgetPlan.js';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { Viewer } from './viewer.js';
import { isFrozen } from './budgetLine.js';
import { isPlanOpen } from './budgetPlan.js';
import { canReadUnit, canWriteUnit } from './businessUnit.js';

export interface SubmissionScope {
  unitId: string;
  status: SubmissionStatus;
  /** Its plan's status: needed to edit or submit (a closed plan allows neither). */
  planStatus?: PlanStatus;
}

function planStatusOf(submission: SubmissionScope): PlanStatus {
  if (submission.planStatus === undefined) throw new Error("Policy: a submission's plan status is needed; load it before asking");
  return submission.planStatus;
}

export function canReadSubmission(viewer: Viewer, submission: SubmissionScope): boolean {
  return canReadUnit(viewer, submission.unitId);
}

/** Whether the viewer's role lets them submit this unit at all (its status may still say "not now"). */
export function maySubmitUnit(viewer: Viewer, submission: SubmissionScope): boolean {
  return canWriteUnit(viewer, submission.unitId);
}

/** May the viewer change the unit's cells now (its writers, while the submission is not frozen)? */
export function canEditSubmission(viewer: Viewer, submission: SubmissionScope): boolean {
  return canWriteUnit(viewer, submission.unitId) && !isFrozen(submission.status) && isPlanOpen(planStatusOf(submission));
}

/** A draft or a rejected budget can be (re)submitted; a submitted or approved one cannot. */
export function isSubmittable(status: SubmissionStatus): boolean {
  return status === 'DRAFT' || status === 'REJECTED';
}

export function canSubmit(viewer: Viewer, submission: SubmissionScope): boolean {
  return maySubmitUnit(viewer, submission) && isSubmittable(submission.status) && isPlanOpen(planStatusOf(submission));
}

/** Finance review of a submitted budget. */
export function canReview(viewer: Viewer, submission: SubmissionScope): boolean {
  return (viewer.role === 'ANALYST' || viewer.role === 'ADMIN') && canReadUnit(viewer, submission.unitId);
}

/** Withdrawing a submission before its review: whoever may submit the unit (its leaders; admins). */
export function mayWithdrawUnit(viewer: Viewer, submission: SubmissionScope): boolean {
  return maySubmitUnit(viewer, submission);
}

/** Reopening an approved budget: administrators. */
export function mayReopen(viewer: Viewer, submission: SubmissionScope): boolean {
  return viewer.role === 'ADMIN' && canReadUnit(viewer, submission.unitId);
}
