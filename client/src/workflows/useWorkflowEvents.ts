/**
 * Follows `workflowEvents` from a cursor and never misses one: it starts after the cursor the list was
 * read at (its `eventCursor`), remembers the cursor of every event it applies, and after the socket comes
 * back from an unexpected close it subscribes again with `after` = the last one, so the server replays what
 * happened meanwhile. graphql-ws also resends the old subscription by itself after a reconnect, with its
 * old `after`: whatever a subscription delivers after a close is ignored, the new one covers it. Cursors
 * already applied are skipped too, in case a replay overlaps.
 */
import { useEffect, useRef, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { MonitorWorkflowEventsDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { socketNow, useSocket, type SocketState } from '../common/wsConnection';
import { applyStepEvent, type WorkflowEvent } from './cacheUpdates';

const REMEMBERED = 2000;

export function useWorkflowEvents(startAfter: string | undefined, onEvent: (event: WorkflowEvent) => void): {
  state: SocketState;
  problem: ProblemInfo | null;
  retry: () => void;
} {
  const apollo = useApolloClient();
  const { state, reconnects } = useSocket();
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [attempt, setAttempt] = useState(0);
  const firstCursor = useRef<string | undefined>(undefined);
  const lastCursor = useRef<string | null>(null);
  const seen = useRef(new Set<string>());
  const handler = useRef(onEvent);
  useEffect(() => {
    handler.current = onEvent;
  }, [onEvent]);

  if (firstCursor.current === undefined && startAfter !== undefined) firstCursor.current = startAfter;
  // Once started it stays started: a list re-read for other filters does not interrupt the stream.
  const ready = firstCursor.current !== undefined;

  useEffect(() => {
    if (!ready) return;
    const after = lastCursor.current ?? firstCursor.current ?? null;
    const closesAtStart = socketNow(apollo).closes;
    const subscription = apollo.subscribe({ query: MonitorWorkflowEventsDocument, variables: { after } }).subscribe({
      next: (result) => {
        if (result.error) {
          setProblem(problemOf(result.error));
          return;
        }
        if (socketNow(apollo).closes !== closesAtStart) return; // superseded after a reconnect
        const event = result.data?.workflowEvents;
        if (!event || seen.current.has(event.cursor)) return;
        seen.current.add(event.cursor);
        if (seen.current.size > REMEMBERED) seen.current.delete(seen.current.values().next().value!);
        lastCursor.current = event.cursor;
        setProblem(null);
        applyStepEvent(apollo.cache, event);
        handler.current(event);
      },
      error: (error) => setProblem(problemOf(error)),
    });
    return () => subscription.unsubscribe();
  }, [apollo, ready, reconnects, attempt]);

  return { state, problem, retry: () => setAttempt((n) => n + 1) };
}
