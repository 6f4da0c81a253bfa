/**
 * Workflow executions: who sees them, who starts them, who drives them (manual inputs, retries).
 * ADMIN: everything. PARTNER_ADMIN: `new_partner_user` and `offboard_partner_user` executions of their own
 * organisation (they add and remove their organisation's people; a whole organisation's offboarding is ADMIN's).
 * ANALYST: every `budget_submission` (and reviews it). BU_LEADER: the `budget_submission` of their units.
 * The same rules filter list queries (in SQL) and live events (on the event's own fields).
 */
import type { Role } from '../config.js';
import { noteConsulted } from './consulted.js';
import { ALL, NONE, some, type Scope } from './scope.js';
import type { Viewer } from './viewer.js';

/** What visibility depends on: fields every execution row and every event carries. */
export interface ExecutionScope {
  definitionKey: string;
  organizationId: string | null;
  businessUnitId: string | null;
}

/** The fields of a loaded execution that its policy looks at (its organisation and unit may be unloaded references). */
export function executionScope(execution: {
  definitionKey: string;
  organization?: { id: string } | null;
  businessUnit?: { id: string } | null;
}): ExecutionScope {
  return {
    definitionKey: execution.definitionKey,
    organizationId: execution.organization?.id ?? null,
    businessUnitId: execution.businessUnit?.id ?? null,
  };
}

/** The workflows a partner admin starts, sees and drives for their own organisation: adding and removing its people. */
export const PARTNER_ADMIN_WORKFLOWS: readonly string[] = ['new_partner_user', 'offboard_partner_user'];

export function canReadExecution(viewer: Viewer, execution: ExecutionScope): boolean {
  switch (viewer.role) {
    case 'ADMIN':
      return true;
    case 'PARTNER_ADMIN':
      return (
        PARTNER_ADMIN_WORKFLOWS.includes(execution.definitionKey) &&
        viewer.organizationId !== null &&
        execution.organizationId === viewer.organizationId
      );
    case 'ANALYST':
      return execution.definitionKey === 'budget_submission';
    case 'BU_LEADER':
      return (
        execution.definitionKey === 'budget_submission' &&
        execution.businessUnitId !== null &&
        viewer.unitIds.has(execution.businessUnitId)
      );
    default:
      return false;
  }
}

/** The executions a list query may return: of some definitions, and of one organisation or some units. */
export type ExecutionListScope = Scope<{ definitionKeys: readonly string[]; organizationId?: string; businessUnitIds?: string[] }>;

export function readableExecutions(viewer: Viewer): ExecutionListScope {
  noteConsulted();
  switch (viewer.role) {
    case 'ADMIN':
      return ALL;
    case 'PARTNER_ADMIN':
      return viewer.organizationId ? some({ definitionKeys: PARTNER_ADMIN_WORKFLOWS, organizationId: viewer.organizationId }) : NONE;
    case 'ANALYST':
      return some({ definitionKeys: ['budget_submission'] });
    case 'BU_LEADER':
      return viewer.unitIds.size > 0 ? some({ definitionKeys: ['budget_submission'], businessUnitIds: [...viewer.unitIds] }) : NONE;
    default:
      return NONE;
  }
}

export function canStartWorkflow(viewer: Viewer, definitionKey: string): boolean {
  if (definitionKey === 'new_partner' || definitionKey === 'offboard_partner') return viewer.role === 'ADMIN';
  if (definitionKey === 'new_partner_user' || definitionKey === 'offboard_partner_user') {
    return viewer.role === 'ADMIN' || (viewer.role === 'PARTNER_ADMIN' && viewer.organizationId !== null);
  }
  return false; // budget_submission starts from submitBudget
}

/**
 * Starting a workflow for an organisation: the definition's rule, and a partner admin acts for their own
 * organisation only (adding people to another one, or offboarding someone of another one, is refused, whatever
 * the form says).
 */
export function canStartWorkflowFor(viewer: Viewer, start: { definitionKey: string; organizationId?: string | null }): boolean {
  if (!canStartWorkflow(viewer, start.definitionKey)) return false;
  if (viewer.role === 'PARTNER_ADMIN' && start.organizationId != null) return start.organizationId === viewer.organizationId;
  return true;
}

/**
 * Retrying steps and giving manual input (subject to the step's own roles, below). The contract: each role
 * "sees and drives" the same executions, so a BU_LEADER retries their units' submissions too (and still may
 * not give finance_review, which names its roles).
 */
export function canDriveExecution(viewer: Viewer, execution: ExecutionScope): boolean {
  if (!canReadExecution(viewer, execution)) return false;
  if (viewer.role === 'ADMIN') return true;
  if (viewer.role === 'PARTNER_ADMIN') return PARTNER_ADMIN_WORKFLOWS.includes(execution.definitionKey);
  if (viewer.role === 'ANALYST' || viewer.role === 'BU_LEADER') return execution.definitionKey === 'budget_submission';
  return false;
}

/** May the viewer provide the input of a manual step that names the roles allowed to (or none)? */
export function canProvideStepInput(viewer: Viewer, execution: ExecutionScope, inputRoles?: readonly Role[]): boolean {
  return canDriveExecution(viewer, execution) && (!inputRoles || inputRoles.includes(viewer.role));
}
