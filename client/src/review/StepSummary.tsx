/**
 * What the monitor shows under a budget_submission step: its output in words (see outcome.ts), and on the
 * finance review the way to the reviewer's diff view, where the decision is best made.
 */
import { Link } from 'react-router';
import type { Execution, Step } from '../workflows/model';
import { describeStep } from './outcome';
import { reviewPath } from './paths';

export function StepSummary({ execution, step }: { execution: Execution; step: Step }) {
  if (execution.definitionKey !== 'budget_submission') return null;
  const summary = describeStep(step);
  const path = step.key === 'finance_review' ? reviewPath(execution) : null;
  if (!summary && !path) return null;
  return (
    <p className="step-summary small" data-testid={`summary-${step.key}`}>
      {summary}
      {summary && path && ' · '}
      {path && (
        <Link to={path}>{step.status === 'AWAITING_INPUT' && step.canGiveInput ? 'Review the changes' : 'See what changed'}</Link>
      )}
    </p>
  );
}
