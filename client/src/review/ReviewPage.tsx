/**
 * The reviewer's diff view (`/review/:planId/:unit`): a unit's submitted versions (who submitted each, when,
 * its total and what became of it), the cells that changed in a version since the one before it, side by side
 * with their line and column in words and the totals before and after, and the decision (Approve, or Reject
 * with a comment) given right here, as the review step's input (submitStepInput on finance_review).
 * Version 1 has nothing before it: its cells are shown as submitted.
 * Live: a submit, review, withdraw or reopen elsewhere reads the page again, and so does each step of its review
 * workflow (followed from the event cursor read before the page), so the decision form appears as soon as the
 * review step waits for it.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { Link, useParams } from 'react-router';
import {
  ReviewChangesDocument, ReviewEventCursorDocument, ReviewPageDocument, ReviewSubmissionChangedDocument, SubmitStepInputDocument,
  type ReviewChangesQuery, type ReviewVersionFragment,
} from '../graphql/generated';
import { useFreshRefetch } from '../common/freshRefetch';
import { problemOf, type ProblemInfo } from '../common/errors';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, humanStatus, StatusBadge } from '../common/format';
import { COLUMN_LABELS, formatAmount, formatPercent, type EditableColumn } from '../grid/cells';
import { useSession } from '../auth/MeContext';
import type { WorkflowEvent } from '../workflows/cacheUpdates';
import { useWorkflowEvents } from '../workflows/useWorkflowEvents';
import type { Decision } from './outcome';
import { personName } from './ReviewOutcome';
import './review.css';

type Change = ReviewChangesQuery['submissionChanges'][number];

const isAmount = (column: string) => column === 'budgetAmount' || column === 'forecastSales';
const columnLabel = (column: string) => COLUMN_LABELS[column as EditableColumn] ?? column;

/** A submitted value as shown: amounts formatted, an empty cell as a dash. */
function shown(column: string, value: string | null): string {
  if (value === null || value === '') return '—';
  return isAmount(column) ? formatAmount(Number(value)) : value;
}

/** The change of an amount (after - before), when both sides have one. */
function delta(change: Change): number | null {
  if (!isAmount(change.column) || change.before === null || change.after === null) return null;
  return Number(change.after) - Number(change.before);
}

function signed(value: number): string {
  return `${value > 0 ? '+' : value < 0 ? '−' : ''}${formatAmount(Math.abs(value))}`;
}

/** What became of a version, in words. */
function outcomeOf(v: ReviewVersionFragment): string {
  if (v.status === 'APPROVED' || v.status === 'REJECTED') {
    const who = v.reviewedBy ? ` by ${personName(v.reviewedBy)}` : '';
    return `${humanStatus(v.status)}${who}${v.reviewedAt ? ` on ${formatDateTime(v.reviewedAt)}` : ''}${v.reviewComment ? `: ${v.reviewComment}` : ''}`;
  }
  if (v.status === 'WITHDRAWN') return 'Withdrawn before review';
  return 'Under review';
}

function Versions({ versions, current, onPick }: { versions: readonly ReviewVersionFragment[]; current: number; onPick: (v: number) => void }) {
  return (
    <div className="table-scroll">
      <table className="data" aria-label="Submitted versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Submitted</th>
            <th scope="col" className="num">Budget total</th>
            <th scope="col">Outcome</th>
            <th scope="col"><span className="visually-hidden">Show</span></th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} className={v.version === current ? 'current' : undefined} data-version={v.version} data-status={v.status}>
              <th scope="row">{v.version}</th>
              <td>
                {v.submittedBy ? personName(v.submittedBy) : 'Someone'}
                <div className="muted small">{formatDateTime(v.submittedAt)} · {v.lineCount} lines</div>
              </td>
              <td className="num">{formatAmount(v.total)}</td>
              <td><StatusBadge status={v.status} /> <span className="small">{outcomeOf(v)}</span></td>
              <td className="actions">
                {v.version === current ? (
                  <span className="muted small">Shown</span>
                ) : (
                  <button type="button" className="link" onClick={() => onPick(v.version)}>Show changes</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Totals({ before, after }: { before: ReviewVersionFragment | undefined; after: ReviewVersionFragment }) {
  const change = before ? after.total - before.total : null;
  return (
    <div className="diff-totals" data-testid="diff-totals">
      {before && (
        <div>
          <span className="muted small">Budget total, version {before.version}</span>
          <span className="figure" data-testid="total-before">{formatAmount(before.total)}</span>
        </div>
      )}
      <div>
        <span className="muted small">Budget total, version {after.version}</span>
        <span className="figure" data-testid="total-after">{formatAmount(after.total)}</span>
      </div>
      {change !== null && before && (
        <div>
          <span className="muted small">Change</span>
          <span className="figure" data-testid="total-change">{signed(change)} {before.total ? <span className="small">({formatPercent(change / before.total)})</span> : null}</span>
        </div>
      )}
    </div>
  );
}

function ChangesTable({ changes, firstVersion }: { changes: readonly Change[]; firstVersion: boolean }) {
  return (
    <div className="table-scroll">
      <table className="data diff" aria-label={firstVersion ? 'Values as submitted' : 'Changed cells'} data-testid="diff-table">
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col">Region</th>
            <th scope="col">Quarter</th>
            <th scope="col">Column</th>
            {!firstVersion && <th scope="col" className="num">Before</th>}
            <th scope="col" className="num">{firstVersion ? 'Submitted' : 'After'}</th>
            {!firstVersion && <th scope="col" className="num">Change</th>}
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => {
            const d = delta(c);
            return (
              <tr key={`${c.line.id}/${c.column}`} data-line={c.line.id} data-column={c.column}>
                <td>{c.line.productCategory}</td>
                <td>{c.line.region}</td>
                <td>{c.line.quarter}</td>
                <td>{columnLabel(c.column)}</td>
                {!firstVersion && <td className={`before changed${isAmount(c.column) ? ' num' : ''}`}>{shown(c.column, c.before)}</td>}
                <td className={`after${isAmount(c.column) ? ' num' : ''}`}>{shown(c.column, c.after)}</td>
                {!firstVersion && (
                  <td className={`num delta${d === null ? '' : d > 0 ? ' up' : d < 0 ? ' down' : ''}`}>{d === null ? '' : signed(d)}</td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function DecisionForm({ executionId, onDone }: { executionId: string; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [submit, { loading }] = useMutation(SubmitStepInputDocument);
  const decide = async (decision: Decision) => {
    setProblem(null);
    if (decision === 'REJECT' && comment.trim() === '') {
      setProblem({ message: 'Say what should change: a rejection needs a comment.' });
      return;
    }
    try {
      const input = comment.trim() ? { decision, comment: comment.trim() } : { decision };
      await submit({ variables: { executionId, stepKey: 'finance_review', input } });
      onDone();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <div className="decision" role="region" aria-label="Decision">
      <label className="stacked">
        Comment for the unit (required to reject)
        <textarea value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} rows={3} />
      </label>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="button" className="approve" disabled={loading} onClick={() => void decide('APPROVE')}>Approve</button>
        <button type="button" className="reject" disabled={loading} onClick={() => void decide('REJECT')}>Reject</button>
      </div>
    </div>
  );
}

export function ReviewPage() {
  const { planId = '', unit = '' } = useParams();
  const { me } = useSession();
  const cursor = useQuery(ReviewEventCursorDocument, { skip: !me.can.readWorkflows, fetchPolicy: 'network-only' });
  const page = useQuery(ReviewPageDocument, {
    variables: { planId, unit },
    // After the cursor, so that no step of the review happens unheard between the two reads.
    skip: me.can.readWorkflows && !cursor.data && !cursor.error,
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  const refetchPage = useFreshRefetch(page.observable, page.loading);
  useSubscription(ReviewSubmissionChangedDocument, { variables: { planId, unit }, onData: () => void refetchPage() });
  const executionId = page.data?.budgetSubmissions.find((s) => s.businessUnit.code === unit)?.execution?.id;
  const onEvent = useCallback((event: WorkflowEvent) => {
    // This unit's execution; or a review step of an execution the page may not know yet: a resubmission starts a
    // new execution, whose review can await its decision before the refetch that brings the new id has read
    // it, and that event is the one that must show the decision.
    if (event.executionId === executionId || event.stepKey === 'finance_review') void refetchPage();
  }, [executionId, refetchPage]);
  useWorkflowEvents(cursor.data?.workflowExecutions.eventCursor, onEvent);
  const versions = useMemo(() => [...(page.data?.submissionVersions ?? [])].sort((a, b) => b.version - a.version), [page.data]);
  const latest = versions[0]?.version ?? 0;
  const [picked, setPicked] = useState<number | null>(null);
  // A new version submitted while the page is open is the one to look at.
  useEffect(() => setPicked(null), [latest]);
  const current = picked ?? latest;
  const changes = useQuery(ReviewChangesDocument, {
    variables: { planId, unit, version: current },
    skip: current === 0,
    fetchPolicy: 'cache-and-network',
  });

  if (!page.data) return page.error ? <ErrorMessage error={page.error} retry={() => void refetchPage()} /> : <Loading what="the submission" />;
  const plan = page.data.budgetPlans.find((p) => p.id === planId);
  const submission = page.data.budgetSubmissions.find((s) => s.businessUnit.code === unit);
  if (!plan || !submission) {
    return (
      <section className="panel" role="alert">
        <h1>Not available</h1>
        <p>This submission does not exist, or you may not see it.</p>
      </section>
    );
  }
  const version = versions.find((v) => v.version === current);
  const before = versions.find((v) => v.version < current);
  const review = submission.execution?.steps.find((s) => s.key === 'finance_review');
  const mayDecide = Boolean(
    submission.canReview && submission.execution && review?.status === 'AWAITING_INPUT' && review.canGiveInput && current === latest && version?.status === 'SUBMITTED',
  );
  return (
    <div className="review-page" data-testid="review-page">
      <div className="page-head">
        <h1>{submission.businessUnit.name}: review</h1>
        <span className="plan-name">{plan.name}</span>
        <StatusBadge status={submission.status} />
        <Link to={`/grid/${encodeURIComponent(unit)}?plan=${encodeURIComponent(planId)}`}>Open the grid</Link>
        {submission.execution && <Link to={`/workflows/${submission.execution.id}`}>Open the workflow</Link>}
      </div>
      {versions.length === 0 ? (
        <section className="panel"><p className="muted">This unit has not been submitted yet.</p></section>
      ) : (
        <>
          <section className="panel" aria-labelledby="versions-heading">
            <h2 id="versions-heading">Versions</h2>
            <Versions versions={versions} current={current} onPick={setPicked} />
          </section>
          {version && (
            <section className="panel" aria-labelledby="changes-heading" data-testid="changes" data-version={current}>
              <h2 id="changes-heading">
                {before ? `What changed in version ${current} since version ${before.version}` : `Version ${current}: the values as submitted`}
              </h2>
              <Totals before={before} after={version} />
              {changes.error && <ErrorMessage error={changes.error} retry={() => void changes.refetch()} />}
              {!changes.data && !changes.error && <Loading what="the changes" />}
              {changes.data && changes.data.submissionChanges.length === 0 && (
                <p className="muted" data-testid="no-changes">{before ? `No cell changed since version ${before.version}.` : 'Every cell was empty.'}</p>
              )}
              {changes.data && changes.data.submissionChanges.length > 0 && (
                <>
                  <p className="muted small" data-testid="change-count">
                    {changes.data.submissionChanges.length} {changes.data.submissionChanges.length === 1 ? 'cell' : 'cells'}
                  </p>
                  <ChangesTable changes={changes.data.submissionChanges} firstVersion={!before} />
                </>
              )}
            </section>
          )}
          <section className="panel" aria-labelledby="decision-heading">
            <h2 id="decision-heading">Decision</h2>
            {mayDecide && submission.execution ? (
              <DecisionForm key={`${submission.execution.id}/${current}`} executionId={submission.execution.id} onDone={() => void refetchPage()} />
            ) : (
              <p data-testid="decision-outcome">
                {version ? outcomeOf(version) : '—'}
                {/* A closed plan takes no decision (the server refuses it): say so, rather than "Finance decides". */}
                {version?.status === 'SUBMITTED' && plan.status === 'CLOSED' && (
                  <span className="muted" data-testid="plan-closed"> · The plan is closed: it must be reopened before this budget can be approved or rejected.</span>
                )}
                {version?.status === 'SUBMITTED' && plan.status !== 'CLOSED' && !submission.canReview && <span className="muted"> · Finance decides.</span>}
                {current !== latest && <span className="muted"> · A later version exists.</span>}
              </p>
            )}
          </section>
        </>
      )}
    </div>
  );
}
