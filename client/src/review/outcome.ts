/**
 * A budget submission's workflow in words: its outcome (Approved, Rejected) where the monitor would say only
 * Completed, and each step's output as a sentence ("120 lines, 108 without budget", "Rejected by Ann Analyst:
 * too high in Q3") where it would show raw JSON. Pure functions over the monitor's execution fragment.
 */
import type { MonitorExecutionFragment as Execution, MonitorStepFragment as Step } from '../graphql/generated.js';
import { formatAmount } from '../grid/cells.js';

export type Decision = 'APPROVE' | 'REJECT';

interface ReviewInput { decision?: Decision; comment?: string }
interface ReviewOutput { providedBy?: string; providedByName?: string; reviewedBy?: string; submissionStatus?: string }

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);

/** The finance review's decision, once given. */
export function reviewDecision(execution: Pick<Execution, 'definitionKey' | 'steps'>): Decision | null {
  if (execution.definitionKey !== 'budget_submission') return null;
  const step = execution.steps.find((s) => s.key === 'finance_review');
  if (!step || step.status !== 'SUCCEEDED') return null;
  const decision = (record(step.input) as ReviewInput).decision;
  return decision === 'APPROVE' || decision === 'REJECT' ? decision : null;
}

/**
 * The status to show for an execution: a reviewed budget submission is Approved or Rejected (once its review is
 * given, whatever the remaining steps are doing, unless it failed or was cancelled), other runs their own status.
 */
export function shownStatus(execution: Pick<Execution, 'definitionKey' | 'steps' | 'status'>): { status: string; label?: string } {
  const decision = reviewDecision(execution);
  if (!decision || execution.status === 'FAILED' || execution.status === 'CANCELLED') return { status: execution.status };
  return decision === 'APPROVE' ? { status: 'APPROVED', label: 'Approved' } : { status: 'REJECTED', label: 'Rejected' };
}

/** Who answered the review: the display name when the output carries one, else the address. */
function reviewer(output: ReviewOutput): string {
  return output.providedByName ?? output.reviewedBy ?? output.providedBy ?? 'someone';
}

/** The review in a sentence: "Rejected by Ann Analyst: too high in Q3". */
export function describeReview(step: Pick<Step, 'input' | 'output' | 'status'>): string | null {
  if (step.status !== 'SUCCEEDED') return null;
  const input = record(step.input) as ReviewInput;
  const output = record(step.output) as ReviewOutput;
  if (input.decision !== 'APPROVE' && input.decision !== 'REJECT') return null;
  const verdict = input.decision === 'APPROVE' ? 'Approved' : 'Rejected';
  const comment = text(input.comment);
  return `${verdict} by ${reviewer(output)}${comment ? `: ${comment}` : ''}`;
}

/** A budget_submission step's output in words, or null to show nothing (the raw data stays available). */
export function describeStep(step: Pick<Step, 'key' | 'input' | 'output' | 'status'>): string | null {
  const output = record(step.output);
  switch (step.key) {
    case 'validate_budget': {
      const lines = num(output.lines);
      if (lines === null) return null;
      const missing = num(output.missingBudgetAmount) ?? 0;
      const parts = [`${lines.toLocaleString()} lines, ${missing === 0 ? 'every one with a budget' : `${missing.toLocaleString()} without budget`}`];
      const total = num(output.totalBudgetAmount);
      const prior = num(output.totalPriorYearActual);
      if (total !== null) parts.push(`budget total ${formatAmount(total)}${prior ? `; last year's actuals ${formatAmount(prior)}` : ''}`);
      return parts.join('; ');
    }
    case 'lock_budget': {
      const versions = record(output.versions);
      const count = Object.keys(versions).length;
      const version = num(output.version);
      return count > 0 || version !== null
        ? `Locked ${count.toLocaleString()} lines${version !== null ? ` as version ${version}` : ''}`
        : null;
    }
    case 'finance_review':
      return describeReview(step);
    case 'publish_to_powerbi': {
      if (step.status === 'SKIPPED') return text(output.reason) ? `Not published: ${String(output.reason).replace(/^The budget was/, 'the budget was')}` : 'Not published';
      if (step.status !== 'SUCCEEDED') return null;
      const rows = num(output.rowsPushed);
      return rows !== null ? `Published ${rows.toLocaleString()} lines to Power BI` : 'Published to Power BI';
    }
    case 'notify_business_unit':
      return text(output.message) ? `Told the unit: “${String(output.message)}”` : null;
    default:
      return null;
  }
}
