/**
 * The monitor's vocabulary: the shapes it works with, which definitions a person may see and start, who
 * may give a manual step's input, and what an execution is about. These mirror the server's rules
 * (server/src/policies/workflowExecution.ts) only to offer the right choices; the server decides.
 */
import type { Me } from '../auth/MeContext';
import type { MonitorExecutionFragment, MonitorStepFragment, WorkflowDefinitionsQuery } from '../graphql/generated';

export type Execution = MonitorExecutionFragment;
export type Step = MonitorStepFragment;
export type Definition = WorkflowDefinitionsQuery['workflowDefinitions'][number];

export const EXECUTION_STATUSES = ['RUNNING', 'AWAITING_INPUT', 'FAILED', 'COMPLETED', 'CANCELLED'] as const;

/** The workflow types whose executions a role can see: the type filter offers these only. */
export function visibleDefinitionKeys(me: Me): string[] {
  switch (me.role) {
    case 'ADMIN':
      return ['new_partner', 'new_partner_user', 'budget_submission'];
    case 'PARTNER_ADMIN':
      return ['new_partner_user'];
    case 'ANALYST':
    case 'BU_LEADER':
      return ['budget_submission'];
    default:
      return [];
  }
}

/** ADMIN starts both onboarding workflows; a partner admin adds people to their own organisation. */
export function mayStart(me: Me, definitionKey: string): boolean {
  if (definitionKey === 'new_partner') return me.role === 'ADMIN';
  if (definitionKey === 'new_partner_user') return me.role === 'ADMIN' || (me.role === 'PARTNER_ADMIN' && !!me.organization);
  return false;
}

/** Whether this person may give the input of a manual step (finance_review names its roles). */
export function mayGiveInput(me: Me, execution: Execution, stepDefinition: Definition['steps'][number] | undefined): boolean {
  if (!execution.canDrive || !stepDefinition) return false;
  return !stepDefinition.inputRoles || stepDefinition.inputRoles.includes(me.role);
}

/** What a run is about, in a few words: the organisation, the person, or the business unit. */
export function subjectOf(execution: Execution): string {
  const input = (execution.input ?? {}) as Record<string, unknown>;
  switch (execution.definitionKey) {
    case 'new_partner':
      return String(input.organizationName ?? execution.organization?.name ?? '');
    case 'new_partner_user': {
      const details = execution.steps.find((s) => s.key === 'input_user_details')?.input as { email?: string } | null | undefined;
      const who = details?.email ?? 'New person';
      return execution.organization ? `${who} · ${execution.organization.name}` : who;
    }
    case 'budget_submission':
      return execution.businessUnit?.name ?? '';
    default:
      return '';
  }
}

export function definitionName(definitions: readonly Definition[] | undefined, key: string): string {
  return definitions?.find((d) => d.key === key)?.name ?? key;
}

/** Steps done (succeeded or skipped) out of all, for progress bars. */
export function stepProgress(execution: Pick<Execution, 'steps'>): { done: number; total: number } {
  const done = execution.steps.filter((s) => s.status === 'SUCCEEDED' || s.status === 'SKIPPED').length;
  return { done, total: execution.steps.length };
}

export const isFinished = (status: string) => status === 'COMPLETED' || status === 'CANCELLED';
