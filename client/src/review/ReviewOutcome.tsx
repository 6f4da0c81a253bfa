/**
 * The review's outcome where the unit works (the grid page): "Rejected by <name> on <date>: <comment>" or
 * "Approved by <name> on <date>", "Waiting for Finance's review" with Withdraw for the unit's leaders while it
 * is not yet reviewed, Reopen… (with a reason) for admins on an approved unit, and "Reopened by <name> on <date>:
 * <reason>" on the draft a reopen made. The mutations answer the
 * submission with the grid's fields too, so the grid's rights follow at once from the cache.
 */
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { Link } from 'react-router';
import { GridReviewOutcomeDocument, ReopenSubmissionDocument, WithdrawSubmissionDocument } from '../graphql/generated';
import { useFreshRefetch } from '../common/freshRefetch';
import { ConfirmDialog } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime } from '../common/format';
import { reviewPathOf } from './paths';
import './review.css';

/** A person as the review loop names them: their display name, else their address. */
export const personName = (p: { displayName?: string | null; email: string }) => p.displayName || p.email;

type Action = 'withdraw' | 'reopen';

function ActionDialog({ action, planId, unitCode, onDone }: { action: Action; planId: string; unitCode: string; onDone: (message?: string) => void }) {
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [withdraw, withdrawing] = useMutation(WithdrawSubmissionDocument);
  const [reopen, reopening] = useMutation(ReopenSubmissionDocument);
  const confirm = async () => {
    setProblem(null);
    try {
      if (action === 'withdraw') {
        await withdraw({ variables: { planId, unit: unitCode } });
        onDone('Submission withdrawn: the budget is a draft again.');
      } else {
        if (!reason.trim()) return setProblem({ message: 'Say why it is reopened (kept in the activity log).' });
        await reopen({ variables: { planId, unit: unitCode, reason: reason.trim() } });
        onDone('Reopened: the budget is a draft again.');
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  const busy = withdrawing.loading || reopening.loading;
  return action === 'withdraw' ? (
    <ConfirmDialog title="Withdraw this submission?" problem={problem} busy={busy} confirmLabel="Withdraw" busyLabel="Withdrawing…"
      cancelLabel="Keep it submitted" onConfirm={() => void confirm()} onCancel={() => onDone()}>
      <p>Finance will not review it. The budget goes back to draft and can be changed and submitted again.</p>
    </ConfirmDialog>
  ) : (
    <ConfirmDialog title="Reopen the approved budget?" problem={problem} busy={busy} danger confirmLabel="Reopen" busyLabel="Reopening…"
      onConfirm={() => void confirm()} onCancel={() => onDone()}>
      <p>The approval is withdrawn and the unit can change its budget and submit it again.</p>
      <label className="stacked">
        Reason
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} rows={3} />
      </label>
    </ConfirmDialog>
  );
}

export function ReviewOutcome({ planId, unitCode, status, onNotice }: {
  planId: string;
  unitCode: string;
  /** The unit's status as the page knows it: the outcome is read again when it changes. */
  status: string | undefined;
  onNotice: (message: string) => void;
}) {
  const outcome = useQuery(GridReviewOutcomeDocument, { variables: { planId }, fetchPolicy: 'cache-and-network' });
  const { data } = outcome;
  const refetch = useFreshRefetch(outcome.observable, outcome.loading);
  const [action, setAction] = useState<Action | null>(null);
  useEffect(() => {
    if (status) void refetch();
  }, [status, refetch]);
  const submission = data?.budgetSubmissions.find((s) => s.businessUnit.code === unitCode);
  if (!submission) return null;
  if (submission.status === 'DRAFT') {
    // A draft because an admin reopened its approval: the unit is told why, where it works (a plain draft: nothing).
    const reopening = submission.reopening;
    if (!reopening) return null;
    return (
      <div className="banner info review-outcome" role="status" data-testid="review-outcome" data-status="REOPENED">
        <span>
          Reopened{reopening.reopenedByName ? ` by ${reopening.reopenedByName}` : ''} on {formatDateTime(reopening.at)}:{' '}
          <span className="comment">{reopening.reason}</span>
        </span>
        <span className="spacer" />
        <Link to={reviewPathOf(planId, unitCode)}>Versions and changes</Link>
      </div>
    );
  }
  const reviewed = submission.reviewedAt !== null && submission.reviewedAt !== undefined;
  // Who may withdraw (the unit's leaders, admins, before review) or reopen (admins, once approved): the server's answer.
  const mayWithdraw = submission.canWithdraw && !reviewed;
  const mayReopen = submission.canReopen;
  const by = submission.reviewedBy ? ` by ${personName(submission.reviewedBy)}` : '';
  const on = submission.reviewedAt ? ` on ${formatDateTime(submission.reviewedAt)}` : '';
  const tone = submission.status === 'REJECTED' ? 'bad' : submission.status === 'APPROVED' ? 'good' : 'info';
  return (
    <div className={`banner ${tone} review-outcome`} role="status" data-testid="review-outcome" data-status={submission.status}>
      <span>
        {submission.status === 'REJECTED' && <>Rejected{by}{on}{submission.reviewComment ? <>: <span className="comment">{submission.reviewComment}</span></> : '.'}</>}
        {submission.status === 'APPROVED' && <>Approved{by}{on}{submission.reviewComment ? <>: <span className="comment">{submission.reviewComment}</span></> : '.'}</>}
        {submission.status === 'SUBMITTED' && <>Waiting for Finance&apos;s review of version {submission.version}.</>}
      </span>
      <span className="spacer" />
      <Link to={reviewPathOf(planId, unitCode)}>{submission.canReview && submission.status === 'SUBMITTED' ? 'Review the changes' : 'Versions and changes'}</Link>
      {mayWithdraw && <button type="button" className="secondary small" onClick={() => setAction('withdraw')}>Withdraw</button>}
      {mayReopen && <button type="button" className="secondary small" onClick={() => setAction('reopen')}>Reopen…</button>}
      {action && (
        <ActionDialog action={action} planId={planId} unitCode={unitCode}
          onDone={(message) => { setAction(null); if (message) onNotice(message); }} />
      )}
    </div>
  );
}
