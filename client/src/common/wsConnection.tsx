/**
 * The state of the GraphQL websocket, for views that must act on a reconnect. graphql-ws resubscribes
 * silently after a reconnect with the variables it was first given and replays nothing, so a view that
 * follows a cursor (workflowEvents `after`) resubscribes itself with the latest one when `reconnects`
 * changes. The graphql-ws client is found behind the Apollo link built by apollo.ts (a split link whose
 * subscription side is a GraphQLWsLink), so nothing else has to hand it around.
 */
import { useSyncExternalStore } from 'react';
import type { ApolloClient, ApolloLink } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { useApolloClient } from '@apollo/client/react';
import type { Client } from 'graphql-ws';
import { CloseCode } from '../../../schema/codes';

export type SocketState = 'connecting' | 'live' | 'reconnecting';

interface Snapshot {
  state: SocketState;
  /** How many times the socket closed unexpectedly (counted the moment it happens). */
  closes: number;
  /** How many times the socket came back after an unexpected close. */
  reconnects: number;
}

function findWsClient(link: ApolloLink | undefined, depth = 0): Client | null {
  if (!link || depth > 8) return null;
  if (link instanceof GraphQLWsLink) return link.client;
  return findWsClient(link.left, depth + 1) ?? findWsClient(link.right, depth + 1);
}

interface Tracker {
  snapshot: Snapshot;
  subscribe(listener: () => void): () => void;
}

const trackers = new WeakMap<ApolloClient, Tracker>();
const NO_SOCKET: Tracker = { snapshot: { state: 'live', closes: 0, reconnects: 0 }, subscribe: () => () => undefined };

/** One tracker per Apollo client, listening from its first use for as long as the client lives. */
function trackerOf(apollo: ApolloClient): Tracker {
  const existing = trackers.get(apollo);
  if (existing) return existing;
  const ws = findWsClient(apollo.link);
  if (!ws) return NO_SOCKET;
  const listeners = new Set<() => void>();
  const tracker: Tracker = {
    snapshot: { state: 'connecting', closes: 0, reconnects: 0 },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const set = (next: Partial<Snapshot>) => {
    const merged = { ...tracker.snapshot, ...next };
    const current = tracker.snapshot;
    if (merged.state === current.state && merged.closes === current.closes && merged.reconnects === current.reconnects) return;
    tracker.snapshot = merged;
    listeners.forEach((l) => l());
  };
  // CloseCode.NormalClosure is graphql-ws closing an idle lazy socket: nothing was missed. Anything else (the
  // server closing with CloseCode.Forbidden after an access change, a network drop, a restart) may have lost
  // events.
  let unexpectedClose = false;
  ws.on('closed', (event) => {
    const code = (event as CloseEvent | undefined)?.code;
    if (code !== CloseCode.NormalClosure) {
      unexpectedClose = true;
      set({ state: 'reconnecting', closes: tracker.snapshot.closes + 1 });
    }
  });
  ws.on('connected', () => {
    const reconnects = tracker.snapshot.reconnects + (unexpectedClose ? 1 : 0);
    unexpectedClose = false;
    set({ state: 'live', reconnects });
  });
  // A socket opened before this tracker existed announces itself with its first message.
  ws.on('message', () => {
    if (tracker.snapshot.state === 'connecting') set({ state: 'live' });
  });
  trackers.set(apollo, tracker);
  return tracker;
}

/** The socket's state right now, for event handlers that must not wait for a render. */
export function socketNow(apollo: ApolloClient): Snapshot {
  return trackerOf(apollo).snapshot;
}

export function useSocket(): Snapshot {
  const tracker = trackerOf(useApolloClient());
  return useSyncExternalStore(tracker.subscribe, () => tracker.snapshot);
}

export function LiveBadge({ state }: { state: SocketState }) {
  const label = state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <span className={`connection ${state}`} role="status" aria-live="polite" data-testid="live-state">
      {label}
    </span>
  );
}
