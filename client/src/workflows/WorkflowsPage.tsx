/**
 * The workflow monitor (`/workflows/:executionId?`): the executions list with its filters on the left, the
 * chosen execution's timeline (or the start forms) on the right, both live through one `workflowEvents`
 * subscription that starts where the list was read and resumes from its last cursor after a reconnect.
 * Filters live in the URL (?status=&type=), so a filtered view can be shared and survives a reload.
 */
import { useCallback, useMemo, useRef, useState } from 'react';
import { NetworkStatus } from '@apollo/client';
import { useApolloClient, useQuery } from '@apollo/client/react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { WorkflowDefinitionsDocument, WorkflowExecutionsDocument } from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { LiveBadge } from '../common/wsConnection';
import { createRefetcher, insertIntoList, listHas, mergePages, type ListVariables, type WorkflowEvent } from './cacheUpdates';
import { ExecutionDetail } from './ExecutionDetail';
import { ExecutionFilters, ExecutionList, type Filters } from './ExecutionList';
import type { Execution } from './model';
import { StartWorkflow } from './StartWorkflow';
import { useWorkflowEvents } from './useWorkflowEvents';

const PAGE = 20;

export function WorkflowsPage() {
  const apollo = useApolloClient();
  const navigate = useNavigate();
  const { executionId } = useParams();
  const [search, setSearch] = useSearchParams();
  const filters: Filters = { status: search.get('status') ?? '', definitionKey: search.get('type') ?? '' };
  const linkSearch = search.toString() ? `?${search.toString()}` : '';

  const definitionsQuery = useQuery(WorkflowDefinitionsDocument);
  const definitions = definitionsQuery.data?.workflowDefinitions;
  // The type filter offers the workflows whose runs the person sees; the start forms those they may start.
  const types = (definitions ?? []).filter((d) => d.canReadExecutions).map((d) => d.key);
  const startable = (definitions ?? []).filter((d) => d.canStart);

  const variables: ListVariables = useMemo(
    () => ({ status: filters.status || null, definitionKey: filters.definitionKey || null, first: PAGE }),
    [filters.status, filters.definitionKey],
  );
  const list = useQuery(WorkflowExecutionsDocument, {
    variables,
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
    notifyOnNetworkStatusChange: true,
  });
  const connection = list.data?.workflowExecutions;
  // An execution that stopped matching the status filter (it moved on) leaves the list at once.
  const executions = (connection?.edges ?? []).map((e) => e.node).filter((e) => !filters.status || e.status === filters.status);

  // What each event means for the views: the open execution is fetched again for its details; one the
  // list does not hold is fetched and joins the list if it matches the filters.
  const current = useRef({ variables, executionId });
  current.current = { variables, executionId };
  const refetch = useMemo(
    () => createRefetcher(apollo, (execution) => insertIntoList(apollo.cache, current.current.variables, execution)),
    [apollo],
  );
  const onEvent = useCallback(
    (event: WorkflowEvent) => {
      const { variables: vars, executionId: open } = current.current;
      if (event.executionId === open || !listHas(apollo.cache, vars, event.executionId)) refetch(event.executionId);
    },
    [apollo, refetch],
  );
  const live = useWorkflowEvents(connection?.eventCursor, onEvent);

  const [loadMoreProblem, setLoadMoreProblem] = useState<Error | null>(null);
  const loadMore = async () => {
    if (!connection?.pageInfo.endCursor) return;
    setLoadMoreProblem(null);
    try {
      await list.fetchMore({
        variables: { ...variables, after: connection.pageInfo.endCursor },
        updateQuery: (previous, { fetchMoreResult }) => mergePages(previous, fetchMoreResult),
      });
    } catch (error) {
      setLoadMoreProblem(error as Error);
    }
  };

  const onStarted = (execution: Execution) => {
    insertIntoList(apollo.cache, variables, execution);
    navigate(`/workflows/${execution.id}${linkSearch}`);
  };

  const setFilters = (next: Filters) => {
    const params = new URLSearchParams();
    if (next.status) params.set('status', next.status);
    if (next.definitionKey) params.set('type', next.definitionKey);
    setSearch(params);
  };

  return (
    <div className="monitor">
      <div className="page-head">
        <h1>Workflows</h1>
        <LiveBadge state={live.state} />
        {live.problem && (
          <span className="field-error" role="alert">
            Live updates stopped: {live.problem.message}{' '}
            <button type="button" className="link" onClick={live.retry}>Resume</button>
          </span>
        )}
      </div>
      <div className="monitor-columns">
        <section className="panel monitor-list" aria-labelledby="executions-title">
          <div className="list-head">
            <h2 id="executions-title">Executions</h2>
            {startable.length > 0 && executionId && (
              <Link className="button secondary small-button" to={`/workflows${linkSearch}`}>Start a workflow</Link>
            )}
          </div>
          <ExecutionFilters filters={filters} onChange={setFilters} types={types} definitions={definitions} />
          {list.error && !connection && <ErrorMessage error={list.error} retry={() => void list.refetch()} />}
          {!connection && !list.error && <Loading what="executions" />}
          {connection && (
            <>
              <ExecutionList executions={executions} selectedId={executionId} definitions={definitions} linkSearch={linkSearch} />
              {connection.pageInfo.hasNextPage && (
                <button type="button" className="secondary load-more" onClick={() => void loadMore()}
                  disabled={list.networkStatus === NetworkStatus.fetchMore}>
                  {list.networkStatus === NetworkStatus.fetchMore ? 'Loading…' : 'Load more'}
                </button>
              )}
              {loadMoreProblem && <ErrorMessage error={loadMoreProblem} retry={() => void loadMore()} />}
            </>
          )}
        </section>
        <div className="monitor-main">
          {executionId ? (
            <ExecutionDetail key={executionId} id={executionId} definitions={definitions} backTo={`/workflows${linkSearch}`} />
          ) : (
            <>
              {definitionsQuery.error && <ErrorMessage error={definitionsQuery.error} retry={() => void definitionsQuery.refetch()} />}
              {startable.length > 0 && <StartWorkflow definitions={startable} onStarted={onStarted} />}
              <p className="muted hint-choose">Choose an execution to follow its steps.</p>
            </>
          )}
        </div>
      </div>
    </div>
  );
}
