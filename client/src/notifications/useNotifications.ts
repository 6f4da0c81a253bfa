/**
 * The signed-in person's notifications, one cached list for every view that shows them: the bell in the top bar
 * (NotificationBell.tsx) and the grid's marks of overwritten cells (grid/useCellHistory.ts). `useNotificationFeed`
 * (mounted once, by the bell) follows `notificationAdded` over graphql-ws and adds each one to the cached lists;
 * after the socket comes back from an unexpected close it reads them again (a subscription replays nothing).
 * Marking read sets `read` on the cached entries at once (Apollo normalises them by id), so the count, the
 * dropdown and the marks change together, and then tells the server.
 */
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { useApolloClient, useMutation, useQuery, useSubscription } from '@apollo/client/react';
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

export function useNotifications(): Notifications {
  const query = useQuery(NotificationsDocument);
  const [mark] = useMutation(MarkNotificationsReadDocument);
  const apollo = useApolloClient();
  const unread = query.data?.unread;
  const unreadRef = useRef(unread);
  unreadRef.current = unread;
  const refetch = useRef(query.refetch);
  refetch.current = query.refetch;

  const markRead = useCallback(
    async (ids?: readonly string[]) => {
      const targets = ids ?? (unreadRef.current ?? []).filter((n) => !n.read).map((n) => n.id);
      if (targets.length === 0) return;
      for (const id of targets) {
        apollo.cache.modify({ id: apollo.cache.identify({ __typename: 'Notification', id }), fields: { read: () => true } });
      }
      try {
        await mark({ variables: { ids: ids ? [...ids] : null } });
      } catch {
        // Not marked after all: the server's list says what is unread.
        void refetch.current();
      }
    },
    [apollo, mark],
  );
  const refresh = useCallback(() => void refetch.current(), []);
  // The same array while nothing changes, so what is derived from it (the grid's marks) is too.
  const unreadNow = useMemo(() => (unread ?? []).filter((n) => !n.read), [unread]);

  return {
    recent: query.data?.recent ?? NONE,
    unread: unreadNow,
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
