/**
 * The confirmation before a unit is submitted for review: what submitting does, and what is incomplete in
 * words ("108 of 120 lines have no budget", lines far from last year without a comment), each with a button
 * that closes the dialog and shows those lines in the grid. When the plan requires a complete budget, Submit
 * is disabled and the dialog says why (the server refuses such a submission anyway).
 */
import { useMemo, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { SubmitReadinessDocument } from '../graphql/generated';
import { Modal } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatAmount, formatPercent } from '../grid/cells';
import type { GridRow } from '../grid/BudgetGrid';
import { describeFar, describeMissing, FAR_FROM_PRIOR_YEAR, isComplete, lineLabel, readinessOf } from './readiness';
import './review.css';

/** How many of the far-from-last-year lines the dialog lists by name (the button shows them all). */
const LISTED = 5;

export function SubmitDialog({ unitName, rows, requiresComplete, busy, problem, onShowLines, onConfirm, onCancel }: {
  unitName: string;
  /** Every line of the unit as the grid has it now. */
  rows: readonly GridRow[];
  /** The plan refuses a submission while any line has no budget. */
  requiresComplete: boolean;
  busy: boolean;
  problem: ProblemInfo | null;
  /** Close the dialog and show only these lines in the grid. */
  onShowLines: (ids: string[], label: string) => void;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const readiness = useMemo(() => readinessOf(rows), [rows]);
  const { lines, missingBudget, farWithoutComment, totalBudget, budgetedPriorYear } = readiness;
  const blocked = requiresComplete && missingBudget.length > 0;
  const change = budgetedPriorYear ? (totalBudget - budgetedPriorYear) / budgetedPriorYear : null;
  const budgeted = lines - missingBudget.length;
  return (
    <Modal title={`Submit the ${unitName} budget for review?`} onCancel={onCancel} wide>
      <div data-testid="submit-dialog">
        <p>It becomes read-only until Finance decides. You can withdraw it while it is not yet reviewed.</p>
        <dl className="change-summary">
          <dt>Budget total</dt>
          <dd data-testid="submit-total">
            {formatAmount(totalBudget)} on {budgeted.toLocaleString()} {budgeted === 1 ? 'line' : 'lines'}
            {budgetedPriorYear > 0 && <span className="muted"> · last year {formatAmount(budgetedPriorYear)} on the same lines ({formatPercent(change)})</span>}
          </dd>
        </dl>
        {isComplete(readiness) ? (
          <p className="banner good" data-testid="submit-complete">Every line has a budget, and every line far from last year has a comment.</p>
        ) : (
          <ul className="readiness" aria-label="What is incomplete">
            {missingBudget.length > 0 && (
              <li data-testid="missing-budget">
                <span>{describeMissing(readiness)}</span>
                <button type="button" className="link" onClick={() => onShowLines(missingBudget.map((r) => r.id), 'without a budget')}>
                  Show these lines
                </button>
              </li>
            )}
            {farWithoutComment.length > 0 && (
              <li data-testid="far-without-comment">
                <span>{describeFar(readiness)}</span>
                <button type="button" className="link"
                  onClick={() => onShowLines(farWithoutComment.map((r) => r.id), `more than ${FAR_FROM_PRIOR_YEAR * 100}% from last year without a comment`)}>
                  Show these lines
                </button>
                <ul className="far-lines">
                  {farWithoutComment.slice(0, LISTED).map((r) => (
                    <li key={r.id}>
                      {lineLabel(r)}: {formatAmount(r.budgetAmount)} against {formatAmount(r.priorYearActual)} ({formatPercent(r.variancePct)})
                    </li>
                  ))}
                  {farWithoutComment.length > LISTED && <li className="muted">and {farWithoutComment.length - LISTED} more</li>}
                </ul>
              </li>
            )}
          </ul>
        )}
        {blocked && (
          <p className="banner bad" role="alert" data-testid="submit-blocked">
            This plan requires a budget on every line before the unit is submitted.
          </p>
        )}
        {problem && <div className="form-problem" role="alert">{problem.message}</div>}
        <div className="form-actions">
          <button type="button" onClick={onConfirm} disabled={busy || blocked} title={blocked ? 'Every line needs a budget first' : undefined}>
            {busy ? 'Submitting…' : 'Submit for review'}
          </button>
          <button type="button" className="secondary" onClick={onCancel} disabled={busy}>Keep editing</button>
        </div>
      </div>
    </Modal>
  );
}

/**
 * The grid page's "Submit for review" button and its dialog. `rows` is asked for when the dialog opens (the
 * grid's live values then: the counts are the person's, edits on their way included); whether the plan requires
 * a complete budget is the server's (submissionReadiness); `submit` sends submitBudget and throws what the
 * server refuses, shown in the dialog.
 */
export function SubmitForReview({ planId, unitCode, unitName, rows, submit, onSubmitted, onShowLines }: {
  planId: string;
  unitCode: string;
  unitName: string;
  rows: () => GridRow[];
  submit: () => Promise<unknown>;
  onSubmitted: () => void;
  onShowLines: (ids: string[], label: string) => void;
}) {
  const apollo = useApolloClient();
  const [open, setOpen] = useState<readonly GridRow[] | null>(null);
  const [requiresComplete, setRequiresComplete] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const start = async () => {
    setProblem(null);
    setBusy(true);
    try {
      const { data } = await apollo.query({ query: SubmitReadinessDocument, variables: { planId, unit: unitCode }, fetchPolicy: 'network-only' });
      setRequiresComplete(Boolean(data?.submissionReadiness.completeRequired));
    } catch {
      setRequiresComplete(false); // the dialog still opens; the server refuses an incomplete submit if it must
    } finally {
      setBusy(false);
    }
    setOpen(rows());
  };
  const confirm = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await submit();
      setOpen(null);
      onSubmitted();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {/* Not disabled while the readiness is asked: a disabled button drops the focus to the page's body, and the
          dialog, closed, would give it back there instead of to this button. */}
      <button type="button" onClick={() => { if (!busy) void start(); }} aria-busy={busy || undefined}>
        {/* Before the dialog opens it is only asking whether the plan requires a complete budget. */}
        {busy ? (open ? 'Submitting…' : 'Checking…') : 'Submit for review'}
      </button>
      {open && (
        <SubmitDialog unitName={unitName} rows={open} requiresComplete={requiresComplete} busy={busy} problem={problem}
          onShowLines={(ids, label) => { setOpen(null); onShowLines(ids, label); }}
          onConfirm={() => void confirm()} onCancel={() => setOpen(null)} />
      )}
    </>
  );
}
