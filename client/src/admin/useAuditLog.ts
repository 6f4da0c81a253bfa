/**
 * The audit log as the page shows it: the newest page first, older pages on demand, and new entries
 * prepended as they happen. A line change (budgetLineChanged) or a reconnect asks for the newest entries:
 * pages are read from the top until one reaches an entry already shown, so a burst larger than a page
 * (a pasted block) is not cut short. One refresh runs at a time; changes meanwhile ask for one more.
 * Filters are the server's (auditLog's arguments): every page of a view, and each catch-up, asks with them.
 */
import { useCallback, useMemo, useRef, useState } from 'react';
import { NetworkStatus } from '@apollo/client';
import { useApolloClient, useQuery } from '@apollo/client/react';
import { AuditLogDocument, type AuditLogQuery, type AuditLogQueryVariables } from '../graphql/generated';
import { appendPage } from '../common/pages';

export const AUDIT_PAGE = 50;
const MAX_CATCH_UP_PAGES = 10;
export type AuditEntry = AuditLogQuery['auditLog']['edges'][number]['node'];
/** What narrows the log; null: not filtered on. */
export type AuditFilterVariables = Pick<AuditLogQueryVariables, 'lineId' | 'planId' | 'businessUnitCode' | 'userEmail' | 'since' | 'until'>;
type Edge = AuditLogQuery['auditLog']['edges'][number];

/** `filters` must keep its identity while the filters stay the same (a new object reads the log again). */
export function useAuditLog(filters: AuditFilterVariables) {
  const apollo = useApolloClient();
  const variables = useMemo(() => ({ first: AUDIT_PAGE, after: null, ...filters }), [filters]);
  const query = useQuery(AuditLogDocument, {
    variables,
    fetchPolicy: 'cache-and-network',
    nextFetchPolicy: 'cache-first',
    notifyOnNetworkStatusChange: true,
  });
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [loadMoreError, setLoadMoreError] = useState<Error | null>(null);
  const refreshing = useRef<'idle' | 'running' | 'again'>('idle');

  const catchUp = useCallback(async () => {
    const shown = apollo.cache.readQuery({ query: AuditLogDocument, variables });
    if (!shown || shown.auditLog.edges.length === 0) {
      await apollo.query({ query: AuditLogDocument, variables, fetchPolicy: 'network-only' });
      return;
    }
    const known = new Set(shown.auditLog.edges.map((e) => e.node.id));
    const newer: Edge[] = [];
    let after: string | null = null;
    let overlap = false;
    let last: AuditLogQuery['auditLog'] | null = null;
    for (let page = 0; page < MAX_CATCH_UP_PAGES && !overlap; page++) {
      // no-cache: these pages must not replace the list the page shows, only feed it.
      const pageVariables: AuditLogQueryVariables = { ...variables, after };
      const { data } = await apollo.query({ query: AuditLogDocument, variables: pageVariables, fetchPolicy: 'no-cache' });
      if (!data) return;
      last = data.auditLog;
      for (const edge of data.auditLog.edges) {
        if (known.has(edge.node.id)) {
          overlap = true;
          break;
        }
        newer.push(edge);
      }
      if (!data.auditLog.pageInfo.hasNextPage) overlap = true;
      after = data.auditLog.pageInfo.endCursor;
    }
    if (newer.length === 0) return;
    apollo.cache.updateQuery({ query: AuditLogDocument, variables }, (data) => {
      if (!data) return undefined;
      const ids = new Set(data.auditLog.edges.map((e) => e.node.id));
      const added = newer.filter((e) => !ids.has(e.node.id));
      // No overlap within the pages read: what is shown is too old to join, start again from these pages.
      if (!overlap && last) return { ...data, auditLog: { ...data.auditLog, edges: newer, pageInfo: last.pageInfo } };
      return { ...data, auditLog: { ...data.auditLog, edges: [...added, ...data.auditLog.edges] } };
    });
    setFresh(new Set(newer.map((e) => e.node.id)));
  }, [apollo, variables]);

  const refreshNewest = useCallback(() => {
    if (refreshing.current !== 'idle') {
      refreshing.current = 'again';
      return;
    }
    refreshing.current = 'running';
    const run = async (): Promise<void> => {
      try {
        await catchUp();
      } catch {
        // The next change tries again; the page keeps what it shows.
      }
      if (refreshing.current === 'again') {
        refreshing.current = 'running';
        return run();
      }
      refreshing.current = 'idle';
    };
    void run();
  }, [catchUp]);

  const connection = query.data?.auditLog;
  const loadMore = async () => {
    if (!connection?.pageInfo.endCursor) return;
    setLoadMoreError(null);
    try {
      await query.fetchMore({
        variables: { ...variables, after: connection.pageInfo.endCursor },
        updateQuery: (previous, { fetchMoreResult }) => ({ ...previous, auditLog: appendPage(previous.auditLog, fetchMoreResult.auditLog) }),
      });
    } catch (error) {
      setLoadMoreError(error as Error);
    }
  };

  return {
    entries: connection?.edges.map((e) => e.node),
    hasMore: !!connection?.pageInfo.hasNextPage,
    loadingMore: query.networkStatus === NetworkStatus.fetchMore,
    loadMore,
    loadMoreError,
    error: query.error,
    retry: () => void query.refetch(),
    fresh,
    refreshNewest,
  };
}
