/**
 * The submission dashboard (`/admin/submissions`): each unit's status, who submitted it and when, how much
 * of its budget is filled, and how far its review has gone, with a link to the review in the monitor.
 * Live: submissionStatusChanged for statuses, budgetLineChanged for filled lines, workflowEvents (from the
 * cursor the page was read at) for the review steps.
 */
import { useCallback, useEffect, useMemo, useRef, type ReactNode } from 'react';
import { useApolloClient, useQuery, useSubscription } from '@apollo/client/react';
import { Link } from 'react-router';
import {
  DashboardLineChangedDocument, DashboardPlansDocument, DashboardSubmissionChangedDocument, SubmissionDashboardDocument,
} from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { PlanPicker, usePlanChoice } from '../common/planChoice';
import { formatDateTime, StatusBadge } from '../common/format';
import { LiveBadge } from '../common/wsConnection';
import { createRefetcher, type WorkflowEvent } from '../workflows/cacheUpdates';
import { useWorkflowEvents } from '../workflows/useWorkflowEvents';
import { SubmissionChart } from './SubmissionChart';
import { unitProgress, type UnitProgress } from './submissionProgress';
import { formatAmount, formatPercent } from '../grid/cells';
import { shownStatus } from '../review/outcome';
import { reviewPathOf } from '../review/paths';
import { unitTotals, type UnitTotals } from '../review/unitTotals';
import { VarianceChart } from '../review/VarianceChart';

function SubmissionTable({ planId, units, totals }: { planId: string; units: UnitProgress[]; totals: Map<string, UnitTotals> }) {
  return (
    <div className="table-scroll">
      <table className="data" aria-label="Submissions by business unit">
        <thead>
          <tr>
            <th scope="col">Unit</th>
            <th scope="col">Status</th>
            <th scope="col">Submitted</th>
            <th scope="col" className="num">Budget lines filled</th>
            <th scope="col" className="num">Budget total</th>
            <th scope="col" className="num">vs last year</th>
            <th scope="col">Review</th>
          </tr>
        </thead>
        <tbody>
          {units.map(({ submission, filled, lines, review }) => (
            <tr key={submission.id} data-unit={submission.businessUnit.code} data-status={submission.status}>
              <th scope="row">{submission.businessUnit.name}</th>
              <td><StatusBadge status={submission.status} /></td>
              <td>
                {submission.submittedAt ? (
                  <>
                    {submission.submittedBy?.displayName ?? 'Someone'}
                    <div className="muted small">{formatDateTime(submission.submittedAt)}</div>
                  </>
                ) : (
                  <span className="muted">Not yet</span>
                )}
              </td>
              <td className="num" data-filled={filled}>{filled} / {lines}</td>
              <td className="num" data-total={totals.get(submission.businessUnit.code)?.budget ?? 0}>{formatAmount(totals.get(submission.businessUnit.code)?.budget ?? 0)}</td>
              <td className="num" data-variance>
                {filled === 0 ? '—' : formatPercent(totals.get(submission.businessUnit.code)?.variancePct ?? null) || '—'}
                <div className="muted small">{formatAmount(totals.get(submission.businessUnit.code)?.priorYear ?? 0)} last year</div>
              </td>
              <td>
                {submission.execution && review ? (
                  <span className="review-cell">
                    <Link to={`/workflows/${submission.execution.id}`} data-execution={submission.execution.id}>
                      {review.done} of {review.total} steps
                    </Link>
                    <StatusBadge {...shownStatus(submission.execution)} />
                  </span>
                ) : null}
                {submission.status !== 'DRAFT' || submission.version > 0 ? (
                  <div className="small">
                    <Link to={reviewPathOf(planId, submission.businessUnit.code)} data-review-link={submission.businessUnit.code}>Versions and changes</Link>
                  </div>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Dashboard({ planId, heading }: { planId: string; heading: ReactNode }) {
  const apollo = useApolloClient();
  const { data, error, refetch } = useQuery(SubmissionDashboardDocument, {
    variables: { planId },
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  // Statuses and filled lines arrive normalised (by id) and update what is shown by themselves.
  useSubscription(DashboardSubmissionChangedDocument, { variables: { planId } });
  useSubscription(DashboardLineChangedDocument, { variables: { planId } });

  const refetchExecution = useMemo(() => createRefetcher(apollo, () => undefined), [apollo]);
  const onEvent = useCallback(
    (event: WorkflowEvent) => {
      const shown = apollo.cache.readQuery({ query: SubmissionDashboardDocument, variables: { planId } });
      if (shown?.budgetSubmissions.some((s) => s.execution?.id === event.executionId)) refetchExecution(event.executionId);
    },
    [apollo, planId, refetchExecution],
  );
  const live = useWorkflowEvents(data?.workflowExecutions.eventCursor, onEvent);
  // A review that starts while the page is open (a unit is submitted) can have events before its submission's
  // change arrives: they are separate streams, and events of an execution not shown yet are ignored above.
  // So an execution is read once when it first appears.
  const shownExecutions = useRef<Set<string> | null>(null);
  useEffect(() => {
    if (!data) return;
    const ids = new Set(data.budgetSubmissions.flatMap((s) => (s.execution ? [s.execution.id] : [])));
    const before = shownExecutions.current;
    if (before) for (const id of ids) if (!before.has(id)) refetchExecution(id);
    shownExecutions.current = ids;
  }, [data, refetchExecution]);

  const units = useMemo(() => (data ? unitProgress(data) : []), [data]);
  const totals = useMemo(() => unitTotals(data?.budgetLines ?? []), [data]);
  const submitted = units.filter((u) => u.submission.status !== 'DRAFT').length;
  const head = (
    <div className="page-head">
      {heading}
      <LiveBadge state={live.state} />
      {data && <span className="muted">{submitted} of {units.length} units submitted</span>}
    </div>
  );
  if (!data) {
    return <>{head}{error ? <ErrorMessage error={error} retry={() => void refetch()} /> : <Loading what="the submissions" />}</>;
  }
  return (
    <>
      {head}
      <section className="panel" aria-labelledby="chart-heading">
        <h2 id="chart-heading">Progress by unit</h2>
        <SubmissionChart units={units} />
      </section>
      <section className="panel" aria-labelledby="totals-heading">
        <h2 id="totals-heading">Budget against last year</h2>
        <VarianceChart units={units.map(({ submission: s, filled, lines }) => ({
          code: s.businessUnit.code, name: s.businessUnit.name, filled, lines,
          totals: totals.get(s.businessUnit.code) ?? { budget: 0, priorYear: 0, variance: 0, variancePct: null },
        }))} />
      </section>
      <section className="panel" aria-labelledby="table-heading">
        <h2 id="table-heading">Submissions</h2>
        <SubmissionTable planId={planId} units={units} totals={totals} />
      </section>
    </>
  );
}

export function SubmissionsPage() {
  const plans = useQuery(DashboardPlansDocument);
  const list = plans.data?.budgetPlans ?? [];
  const { plan, choose } = usePlanChoice(list);
  const planId = plan?.id;
  const heading = (
    <>
      <h1>Submissions</h1>
      <PlanPicker plans={list} current={planId} onPick={choose} inline />
    </>
  );
  return (
    <div className="admin-page dashboard">
      {!planId && <div className="page-head">{heading}</div>}
      {plans.error && <ErrorMessage error={plans.error} retry={() => void plans.refetch()} />}
      {!plans.data && !plans.error && <Loading what="the plans" />}
      {plans.data && !planId && <p className="muted">There is no budget plan yet.</p>}
      {planId && <Dashboard key={planId} planId={planId} heading={heading} />}
    </div>
  );
}
