/**
 * The monitor's vocabulary: the shapes it works with, what an execution is about, how far it got. What a
 * person may see, start and answer is the server's to say (`canReadExecutions`, `canStart` on a definition,
 * `canDrive` on an execution, `canGiveInput` on a step), never derived here from the role.
 */
import type { MonitorExecutionFragment, MonitorStepFragment, WorkflowDefinitionsQuery } from '../graphql/generated';

export type Execution = MonitorExecutionFragment;
export type Step = MonitorStepFragment;
export type Definition = WorkflowDefinitionsQuery['workflowDefinitions'][number];

export const EXECUTION_STATUSES = ['RUNNING', 'AWAITING_INPUT', 'FAILED', 'COMPLETED', 'CANCELLED'] as const;

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
    case 'offboard_partner_user': {
      const who = String(input.email ?? 'A person');
      return execution.organization ? `${who} · ${execution.organization.name}` : who;
    }
    case 'offboard_partner':
      return String(input.organizationName ?? execution.organization?.name ?? '');
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
