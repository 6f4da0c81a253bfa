/**
 * How a workflow event reaches what the monitor shows, through Apollo's cache:
 * - the event's `execution { id status updatedAt }` is written by the subscription itself (normalised);
 * - the step it names gets its new status at once (`applyStepEvent`), so the timeline and the list's
 *   progress move without waiting for a round trip;
 * - the execution is then fetched again (`createRefetcher`, at most one request in flight per execution)
 *   for what the event does not carry: attempts, errors, outputs and times;
 * - an execution the list does not hold yet joins it when it matches the filters (`insertIntoList`).
 */
import type { ApolloCache, ApolloClient } from '@apollo/client';
import {
  WorkflowExecutionDocument, WorkflowExecutionsDocument,
  type MonitorWorkflowEventsSubscription, type WorkflowExecutionsQuery, type WorkflowExecutionsQueryVariables,
} from '../graphql/generated';
import type { Execution, Step } from './model';
import { appendPage } from '../common/pages';
import { RefetchQueue } from '../common/freshRefetch';

export type WorkflowEvent = MonitorWorkflowEventsSubscription['workflowEvents'];

const TERMINAL_STEP = new Set(['SUCCEEDED', 'FAILED', 'SKIPPED']);

export function applyStepEvent(cache: ApolloCache, event: WorkflowEvent): void {
  if (!event.stepKey) return;
  cache.modify({
    id: cache.identify({ __typename: 'WorkflowExecution', id: event.executionId }),
    fields: {
      // Steps have no id of their own: the cache keeps them inside their execution, as plain objects.
      steps(existing) {
        return (existing as readonly Step[]).map((step) => {
          if (step.key !== event.stepKey) return step;
          const status = event.status as Step['status'];
          return {
            ...step,
            status,
            startedAt: status === 'RUNNING' ? event.at : step.startedAt,
            finishedAt: TERMINAL_STEP.has(status) ? event.at : status === 'RUNNING' || status === 'PENDING' ? null : step.finishedAt,
            error: status === 'RUNNING' || status === 'PENDING' ? null : step.error,
          };
        }) as typeof existing;
      },
    },
  });
}

export type ListVariables = WorkflowExecutionsQueryVariables;
type Edge = WorkflowExecutionsQuery['workflowExecutions']['edges'][number];

const newestFirst = (a: Edge, b: Edge) =>
  Date.parse(b.node.createdAt) - Date.parse(a.node.createdAt) || (b.node.id < a.node.id ? -1 : b.node.id > a.node.id ? 1 : 0);

export function listHas(cache: ApolloCache, variables: ListVariables, executionId: string): boolean {
  const data = cache.readQuery({ query: WorkflowExecutionsDocument, variables });
  return !!data?.workflowExecutions.edges.some((e) => e.node.id === executionId);
}

/** Adds an execution to the loaded list when it matches its filters and belongs in the loaded range. */
export function insertIntoList(cache: ApolloCache, variables: ListVariables, execution: Execution): void {
  if (variables.definitionKey && execution.definitionKey !== variables.definitionKey) return;
  if (variables.status && execution.status !== variables.status) return;
  cache.updateQuery({ query: WorkflowExecutionsDocument, variables }, (data) => {
    if (!data) return undefined;
    const { edges, pageInfo } = data.workflowExecutions;
    if (edges.some((e) => e.node.id === execution.id)) return undefined;
    const oldest = edges.at(-1);
    // Older than everything loaded while more pages exist: "Load more" brings it in its place.
    if (pageInfo.hasNextPage && oldest && Date.parse(execution.createdAt) < Date.parse(oldest.node.createdAt)) return undefined;
    const edge = { __typename: 'WorkflowExecutionEdge', cursor: `live:${execution.id}`, node: execution } as Edge;
    return { ...data, workflowExecutions: { ...data.workflowExecutions, edges: [...edges, edge].sort(newestFirst) } };
  });
}

/** Appends a further page, without duplicates (an execution may have joined the list live meanwhile). */
export function mergePages(previous: WorkflowExecutionsQuery, next: WorkflowExecutionsQuery): WorkflowExecutionsQuery {
  return { ...previous, workflowExecutions: appendPage(previous.workflowExecutions, next.workflowExecutions) };
}

/**
 * Fetches executions again after their events, coalescing (common/freshRefetch.ts): while one request for an
 * execution is on its way, further events only ask for one more request after it.
 */
export function createRefetcher(apollo: ApolloClient, fetched: (execution: Execution) => void): (executionId: string) => void {
  const queues = new Map<string, RefetchQueue>();
  const read = async (id: string) => {
    try {
      // A request of its own: joining an identical one already on its way (the execution page's first load, say)
      // would give that one's answer, read before the event.
      const { data } = await apollo.query({ query: WorkflowExecutionDocument, variables: { id }, fetchPolicy: 'network-only', context: { queryDeduplication: false } });
      if (data?.workflowExecution) fetched(data.workflowExecution);
    } catch {
      // A failed refresh is not the person's problem: the next event or the live badge says more.
    }
  };
  return (id) => {
    let queue = queues.get(id);
    if (!queue) queues.set(id, (queue = new RefetchQueue(() => read(id), () => false)));
    void queue.request().then(() => {
      if (!queue.busy && queues.get(id) === queue) queues.delete(id);
    });
  };
}
