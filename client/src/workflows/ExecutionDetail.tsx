/**
 * One execution: what it is about, who started it, where it stands, and its step timeline, kept live by the
 * page's events; and, for whoever may drive it, cancelling it (with a reason, after a confirmation).
 */
import { useState } from 'react';
import { ConfirmDialog } from '../common/Dialogs';
import { useMutation, useQuery } from '@apollo/client/react';
import { Link } from 'react-router';
import { CancelExecutionDocument, WorkflowExecutionDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, formatDuration, StatusBadge } from '../common/format';
import { useNow } from '../common/useNow';
import { useSession } from '../auth/MeContext';
import { definitionName, isFinished, stepProgress, subjectOf, type Definition, type Execution } from './model';
import { StepTimeline } from './StepTimeline';
import { shownStatus } from '../review/outcome';

function Elapsed({ execution }: { execution: Execution }) {
  const done = isFinished(execution.status);
  const now = useNow(!done);
  const end = done ? Date.parse(execution.updatedAt) : now;
  const elapsed = formatDuration(end - Date.parse(execution.createdAt));
  return <>{done ? `took ${elapsed} in all` : `open for ${elapsed}`}</>;
}

function CancelDialog({ execution, onDone }: { execution: Execution; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [cancel, { loading }] = useMutation(CancelExecutionDocument);
  const confirm = async () => {
    setProblem(null);
    try {
      await cancel({ variables: { executionId: execution.id, reason: reason.trim() || null } });
      onDone();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <ConfirmDialog title="Cancel this workflow?" problem={problem} busy={loading} danger confirmLabel="Cancel workflow"
      busyLabel="Cancelling…" cancelLabel="Keep it running" onConfirm={() => void confirm()} onCancel={onDone}>
      <p>
        Its unfinished steps are skipped and it cannot be resumed.
        {execution.definitionKey === 'budget_submission' && ' The unit goes back to draft, editable again.'}
      </p>
      <label className="stacked">
        Reason (kept in the activity log)
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} rows={3} />
      </label>
    </ConfirmDialog>
  );
}

export function ExecutionDetail({ id, definitions, backTo }: { id: string; definitions: readonly Definition[] | undefined; backTo: string }) {
  const { data, error, loading, refetch } = useQuery(WorkflowExecutionDocument, {
    variables: { id },
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  const execution = data?.workflowExecution;
  const [cancelling, setCancelling] = useState(false);
  const { me } = useSession();
  if (!execution) {
    if (error) return <ErrorMessage error={error} retry={() => void refetch()} />;
    if (loading) return <Loading what="the execution" />;
    return (
      <section className="panel">
        <h2>Not found</h2>
        <p className="muted">This execution does not exist, or you may not see it.</p>
        <Link to={backTo}>Back to the list</Link>
      </section>
    );
  }
  const definition = definitions?.find((d) => d.key === execution.definitionKey);
  const { done, total } = stepProgress(execution);
  const subject = subjectOf(execution);
  return (
    <section className="panel execution-detail" aria-labelledby="execution-title" data-testid="execution-detail" data-status={execution.status}>
      <header className="execution-header">
        <div>
          <h2 id="execution-title">
            {definitionName(definitions, execution.definitionKey)}
            {subject && <span className="subject"> — {subject}</span>}
          </h2>
          <p className="muted small">
            Started {execution.requestedBy ? <>by {execution.requestedBy.displayName} </> : null}{formatDateTime(execution.createdAt)} · last change {formatDateTime(execution.updatedAt)} · <Elapsed execution={execution} />
          </p>
        </div>
        <div className="execution-status">
          <StatusBadge {...shownStatus(execution)} />
          <span className="muted small">{done} of {total} steps done</span>
          {execution.canDrive && !isFinished(execution.status) && (
            <button type="button" className="secondary small" onClick={() => setCancelling(true)}>Cancel…</button>
          )}
        </div>
      </header>
      {execution.organization && (
        <p className="small">
          Organisation:{' '}
          {/* Its page is for admins (who may rename or delete it); others read the name. */}
          {me.can.manageUsers ? (
            <Link to={`/admin/organizations/${execution.organization.id}`}><strong>{execution.organization.name}</strong></Link>
          ) : (
            <strong>{execution.organization.name}</strong>
          )}
        </p>
      )}
      {execution.businessUnit && (
        <p className="small">Business unit: <strong>{execution.businessUnit.name}</strong></p>
      )}
      <StepTimeline execution={execution} definition={definition} />
      {cancelling && <CancelDialog execution={execution} onDone={() => setCancelling(false)} />}
    </section>
  );
}
