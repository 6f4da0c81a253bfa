/**
 * What a viewer may do, asked before they try: the answers the client shows as navigation and buttons
 * (`me { can { … } }`, `WorkflowDefinition.canStart`, `WorkflowStep.canGiveInput`), so that it never
 * re-derives a rule from a role. Every answer here is composed from the policy that guards the operation
 * itself (businessUnit, cellChange, budgetSubmission, user, workflowExecution): an ability and the operation
 * it stands for cannot disagree, and a rule changed there changes here with it.
 *
 * Out of scope: row-level answers that already live with their rows (BudgetSubmission.canEdit / canSubmit /
 * canReview, WorkflowExecution.canDrive), and deciding anything: the operations still check for themselves.
 */
import type { Role } from '../config.js';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { StepKind, StepStatus } from '../workflow/statuses.js';
import { canReadActivityLog } from './activity.js';
import { canManagePlans } from './budgetPlan.js';
import { canReview } from './budgetSubmission.js';
import { canReadUnit } from './businessUnit.js';
import { canReadCellChange } from './cellChange.js';
import { canManageUsers, readableUsers } from './user.js';
import { canProvideStepInput, canStartWorkflow, readableExecutions, type ExecutionScope } from './workflowExecution.js';
import type { Viewer } from './viewer.js';

/** The viewer's abilities across the product: one boolean per view or action the client offers. */
export interface Abilities {
  /** Reads the budget of at least one unit (the grid). */
  readBudgets: boolean;
  /** Reads the audit entries of at least one unit. */
  readAuditLog: boolean;
  /** Reviews (approves or rejects) the submission of at least one unit. */
  reviewSubmissions: boolean;
  /** Sees the executions of at least one kind of workflow (the monitor). */
  readWorkflows: boolean;
  /** Reads people besides themselves (the people page). */
  listUsers: boolean;
  /** Changes roles and memberships and reads the sign-in log. */
  manageUsers: boolean;
  /** Reads the activity log (who did what to whom). */
  readActivityLog: boolean;
  /** Creates, closes and reopens plans, and creates business units. */
  managePlans: boolean;
}

/** A submission in the state a review is asked for: what `canReview` is asked about. */
const UNDER_REVIEW: SubmissionStatus = 'SUBMITTED';

/**
 * The viewer's abilities, given the ids of every business unit that exists (the unit rules are per unit, so
 * "at least one unit" is asked of the real ones, never of a made-up id).
 */
export function abilitiesOf(viewer: Viewer, unitIds: readonly string[]): Abilities {
  const users = readableUsers(viewer);
  return {
    readBudgets: unitIds.some((unitId) => canReadUnit(viewer, unitId)),
    readAuditLog: unitIds.some((unitId) => canReadCellChange(viewer, { unitId })),
    reviewSubmissions: unitIds.some((unitId) => canReview(viewer, { unitId, status: UNDER_REVIEW })),
    readWorkflows: readableExecutions(viewer).kind !== 'none',
    listUsers: users.kind === 'all' || (users.kind === 'some' && users.where.organizationId !== null),
    manageUsers: canManageUsers(viewer),
    readActivityLog: canReadActivityLog(viewer),
    managePlans: canManagePlans(viewer),
  };
}

/** Whether the viewer sees any execution of this kind of workflow (the monitor's type filter offers these). */
export function canReadExecutionsOf(viewer: Viewer, definitionKey: string): boolean {
  const scope = readableExecutions(viewer);
  if (scope.kind !== 'some') return scope.kind === 'all';
  return scope.where.definitionKeys.includes(definitionKey);
}

/**
 * Whether `startWorkflow` would let the viewer start this workflow (given valid input): it must be one that
 * starts on its own (budget_submission starts from submitBudget) and the viewer one who may start it.
 */
export function canStartDefinition(viewer: Viewer, definition: { key: string; startable: boolean }): boolean {
  return definition.startable && canStartWorkflow(viewer, definition.key);
}

/** A step as `canGiveStepInput` looks at it, with the roles its definition allows to answer it (if any). */
export interface StepInputScope {
  kind: StepKind;
  status: StepStatus;
  inputRoles?: readonly Role[];
}

/** Whether `submitStepInput` would take the viewer's input for this step now: a manual step that waits for it. */
export function canGiveStepInput(viewer: Viewer, execution: ExecutionScope, step: StepInputScope): boolean {
  return step.kind === 'MANUAL' && step.status === 'AWAITING_INPUT' && canProvideStepInput(viewer, execution, step.inputRoles);
}
