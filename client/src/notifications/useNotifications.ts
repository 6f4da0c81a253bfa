/**
 * The signed-in person's notifications, one cached list for every view that shows them: the bell in the top bar
 * (NotificationBell.tsx) and the grid's marks of overwritten cells (grid/useCellHistory.ts). `useNotificationFeed`
 * (mounted once, by the bell) follows `notificationAdded` over graphql-ws and adds each one to the cached lists;
 * after the socket comes back from an unexpected close it reads them again (a subscription replays nothing).
 * Marking read counts at once, for the count, the dropdown and the marks together, and then tells the server.
 * What was marked here is kept beside Apollo's cache (`markedHere`), not only in it: while the bell's list is
 * being read again (it is each time the bell opens), Apollo shows no change to the cache, and that read, answered
 * before the mark reached the server, arrives after it saying "unread" (a fast "Mark all read" kept its count).
 * Nothing makes a notification unread again, so a mark the server took holds whatever a later answer says.
 */
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { makeVar, type ApolloClient, type ReactiveVar } from '@apollo/client';
import { useApolloClient, useMutation, useQuery, useReactiveVar, useSubscription } from '@apollo/client/react';
import {
  MarkNotificationsReadDocument,
  NotificationAddedDocument,
  NotificationsDocument,
  type NotificationItemFragment,
} from '../graphql/generated';
import { useSocket } from '../common/wsConnection';

export type NotificationItem = NotificationItemFragment;

/** How many of the newest the dropdown lists (the query's `recent`). */
const RECENT = 30;

/** Follows new notifications live into the cached lists. Mount once (the bell does). */
export function useNotificationFeed(): void {
  const { reconnects } = useSocket();
  const apollo = useApolloClient();
  useSubscription(NotificationAddedDocument, {
    onData: ({ client, data }) => {
      const added = data.data?.notificationAdded;
      if (!added) return;
      client.cache.updateQuery({ query: NotificationsDocument }, (current) => {
        if (!current || current.recent.some((n) => n.id === added.id)) return current;
        return {
          recent: [added, ...current.recent].slice(0, RECENT),
          unread: added.read ? current.unread : [added, ...current.unread],
        };
      });
    },
  });
  // Back after an unexpected close: what was added meanwhile was not heard.
  const first = useRef(reconnects);
  useEffect(() => {
    if (reconnects === first.current) return;
    void apollo.refetchQueries({ include: [NotificationsDocument] });
  }, [apollo, reconnects]);
}

export interface Notifications {
  /** The newest, read or not. */
  recent: readonly NotificationItem[];
  /** Every unread one the server answered (up to 200), newest first. */
  unread: readonly NotificationItem[];
  loaded: boolean;
  error: Error | undefined;
  /** Marks these read (without ids: every unread one). */
  markRead: (ids?: readonly string[]) => Promise<void>;
  /**
   * Reads them again from the server: what changed there without a new notification (a call to answer a step
   * that someone else answered meanwhile is read by then) shows.
   */
  refresh: () => void;
}

const NONE: readonly NotificationItem[] = [];

/** The ids marked read in this session (one set per client: a sign-in as someone else starts empty). */
const markedHereOf = new WeakMap<ApolloClient, ReactiveVar<ReadonlySet<string>>>();
function markedHere(apollo: ApolloClient): ReactiveVar<ReadonlySet<string>> {
  let marked = markedHereOf.get(apollo);
  if (!marked) markedHereOf.set(apollo, (marked = makeVar<ReadonlySet<string>>(new Set())));
  return marked;
}

export function useNotifications(): Notifications {
  const query = useQuery(NotificationsDocument);
  const [mark] = useMutation(MarkNotificationsReadDocument);
  const apollo = useApolloClient();
  const marked = markedHere(apollo);
  const readHere = useReactiveVar(marked);
  const refetch = useRef(query.refetch);
  refetch.current = query.refetch;

  // As the server sent them, each read if it was marked here since.
  const withMarks = useCallback(
    (list: readonly NotificationItem[] | undefined) => (list ?? NONE).map((n) => (n.read || !readHere.has(n.id) ? n : { ...n, read: true })),
    [readHere],
  );
  const recent = useMemo(() => withMarks(query.data?.recent), [withMarks, query.data?.recent]);
  // The same array while nothing changes, so what is derived from it (the grid's marks) is too.
  const unread = useMemo(() => withMarks(query.data?.unread).filter((n) => !n.read), [withMarks, query.data?.unread]);
  const unreadRef = useRef(unread);
  unreadRef.current = unread;

  const markRead = useCallback(
    async (ids?: readonly string[]) => {
      const targets = ids ?? unreadRef.current.map((n) => n.id);
      if (targets.length === 0) return;
      const before = marked();
      marked(new Set([...before, ...targets]));
      try {
        await mark({ variables: { ids: ids ? [...ids] : null } });
      } catch {
        // Not marked after all: unread again, and the server's list says what else is unread.
        const now = new Set(marked());
        for (const id of targets) if (!before.has(id)) now.delete(id);
        marked(now);
        void refetch.current();
      }
    },
    [marked, mark],
  );
  const refresh = useCallback(() => void refetch.current(), []);

  return {
    recent,
    unread,
    loaded: query.data !== undefined,
    error: query.error,
    markRead,
    refresh,
  };
}

export const KIND_LABEL: Record<string, string> = {
  CELL_OVERWRITTEN: 'Cell changed',
  SUBMISSION_REVIEWED: 'Budget reviewed',
  STEP_AWAITING_INPUT: 'Awaits your input',
  STEP_FAILED: 'Step failed',
};

/** "just now", "5 min ago", "14:02", "3 Dec, 14:02": how long ago, short. */
export function whenText(iso: string, now: number): string {
  const at = new Date(iso);
  const ago = now - at.getTime();
  if (ago < 60_000) return 'just now';
  if (ago < 3_600_000) return `${Math.floor(ago / 60_000)} min ago`;
  const sameDay = new Date(now).toDateString() === at.toDateString();
  return sameDay
    ? at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
