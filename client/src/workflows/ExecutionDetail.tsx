/** One execution: what it is about, where it stands, and its step timeline. Kept live by the page's events. */
import { useQuery } from '@apollo/client/react';
import { Link } from 'react-router';
import { WorkflowExecutionDocument } from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, formatDuration, StatusBadge } from '../common/format';
import { useNow } from '../common/useNow';
import { definitionName, isFinished, stepProgress, subjectOf, type Definition, type Execution } from './model';
import { StepTimeline } from './StepTimeline';

function Elapsed({ execution }: { execution: Execution }) {
  const done = isFinished(execution.status);
  const now = useNow(!done);
  const end = done ? Date.parse(execution.updatedAt) : now;
  const elapsed = formatDuration(end - Date.parse(execution.createdAt));
  return <>{done ? `took ${elapsed} in all` : `open for ${elapsed}`}</>;
}

export function ExecutionDetail({ id, definitions, backTo }: { id: string; definitions: readonly Definition[] | undefined; backTo: string }) {
  const { data, error, loading, refetch } = useQuery(WorkflowExecutionDocument, {
    variables: { id },
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
  });
  const execution = data?.workflowExecution;
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
            Started {formatDateTime(execution.createdAt)} · last change {formatDateTime(execution.updatedAt)} · <Elapsed execution={execution} />
          </p>
        </div>
        <div className="execution-status">
          <StatusBadge status={execution.status} />
          <span className="muted small">{done} of {total} steps done</span>
        </div>
      </header>
      {execution.organization && (
        <p className="small">Organisation: <strong>{execution.organization.name}</strong></p>
      )}
      {execution.businessUnit && (
        <p className="small">Business unit: <strong>{execution.businessUnit.name}</strong></p>
      )}
      <StepTimeline execution={execution} definition={definition} />
    </section>
  );
}
