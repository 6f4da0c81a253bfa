/**
 * The activity log (`/admin/activity`, admins): who did what to whom, newest first, filtered on the server by
 * action, person and time (kept in the address, so a filtered view can be shared and survives a reload), a
 * page at a time; the loaded entries export as CSV.
 */
import { useMemo, useState } from 'react';
import { NetworkStatus } from '@apollo/client';
import { useQuery } from '@apollo/client/react';
import { ActivityLogDocument } from '../graphql/generated';
import { download } from '../common/csv';
import { appendPage } from '../common/pages';
import { ErrorMessage, Loading } from '../common/Status';
import { FilterForm, startOfDay, useUrlFilters, type FilterValues } from '../common/FilterForm';
import { formatDateTime } from '../common/format';
import { ACTION_LABELS, actionLabel, activityCsv, detailsText } from './activityFormat';

const PAGE = 50;

/** `since` is a local date (yyyy-mm-dd) from which on. */
const FILTER_KEYS = ['action', 'person', 'since'] as const;

function variablesOf(filters: FilterValues<(typeof FILTER_KEYS)[number]>) {
  return {
    first: PAGE,
    after: null,
    action: filters.action || null,
    actorEmail: filters.person.trim() || null,
    // The start of that day where the admin is.
    since: startOfDay(filters.since),
  };
}

export function ActivityLogPage() {
  // What the form shows, and what the list was asked with (applied on submit, not on every keystroke).
  const filters = useUrlFilters(FILTER_KEYS);
  const { applied, draft, edit, filtered } = filters;
  const variables = useMemo(() => variablesOf(applied), [applied]);
  const [loadMoreError, setLoadMoreError] = useState<Error | null>(null);
  const query = useQuery(ActivityLogDocument, { variables, fetchPolicy: 'network-only', notifyOnNetworkStatusChange: true });
  const connection = query.data?.activityLog;
  const entries = connection?.edges.map((e) => e.node);

  const loadMore = async () => {
    if (!connection?.pageInfo.endCursor) return;
    setLoadMoreError(null);
    try {
      await query.fetchMore({
        variables: { ...variables, after: connection.pageInfo.endCursor },
        updateQuery: (previous, { fetchMoreResult }) => ({ ...previous, activityLog: appendPage(previous.activityLog, fetchMoreResult.activityLog) }),
      });
    } catch (error) {
      setLoadMoreError(error as Error);
    }
  };
  const exportCsv = () => {
    if (!entries) return;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
    download(`plansync-activity-${stamp}.csv`, activityCsv(entries));
  };

  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Activity log</h1>
        <span className="spacer" />
        <button type="button" className="secondary" onClick={exportCsv} disabled={!entries || entries.length === 0}>
          Export CSV{entries ? ` (${entries.length} loaded)` : ''}
        </button>
      </div>
      <section className="panel" aria-labelledby="activity-title">
        <h2 id="activity-title" className="visually-hidden">Who did what</h2>
        <FilterForm label="Filter the activity log" filtered={filtered} onApply={filters.apply} onClear={filters.clear}>
          <label>
            Action
            <select value={draft.action} onChange={(e) => edit('action', e.target.value)}>
              <option value="">All actions</option>
              {Object.entries(ACTION_LABELS).map(([action, label]) => (
                <option key={action} value={action}>{label}</option>
              ))}
            </select>
          </label>
          <label>
            By (email)
            <input type="email" value={draft.person} placeholder="anyone" onChange={(e) => edit('person', e.target.value)} />
          </label>
          <label>
            Since
            <input type="date" value={draft.since} onChange={(e) => edit('since', e.target.value)} />
          </label>
        </FilterForm>
        {query.error && !entries && <ErrorMessage error={query.error} retry={() => void query.refetch()} />}
        {!entries && !query.error && <Loading what="the activity log" />}
        {entries && (
          <>
            <div className="table-scroll">
              <table className="data activity" aria-label="Activity, newest first">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">What</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((entry) => (
                    <tr key={entry.id} data-entry={entry.id} data-action={entry.action}>
                      <td className="nowrap">{formatDateTime(entry.at)}</td>
                      <td>{entry.actor?.email ?? <span className="muted">Plansync</span>}</td>
                      <td>{actionLabel(entry.action)}</td>
                      <td>{entry.subject}</td>
                      <td className="muted small">{detailsText(entry.details)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {entries.length === 0 && (
              <p className="muted empty">{filtered ? 'Nothing matches these filters.' : 'Nothing yet. Changes of people, plans and access appear here.'}</p>
            )}
            {connection?.pageInfo.hasNextPage && (
              <button type="button" className="secondary load-more" onClick={() => void loadMore()} disabled={query.networkStatus === NetworkStatus.fetchMore}>
                {query.networkStatus === NetworkStatus.fetchMore ? 'Loading…' : 'Load more'}
              </button>
            )}
            {loadMoreError && <ErrorMessage error={loadMoreError} retry={() => void loadMore()} />}
          </>
        )}
      </section>
    </div>
  );
}
