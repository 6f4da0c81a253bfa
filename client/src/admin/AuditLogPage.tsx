/**
 * The audit log (`/admin/audit`): every cell change the person may see, newest first, a page at a time,
 * with new changes appearing as they happen; the loaded entries export as CSV.
 */
import { useEffect, useRef } from 'react';
import { useQuery, useSubscription } from '@apollo/client/react';
import { AuditLineChangedDocument, AuditPlansDocument } from '../graphql/generated';
import { download } from '../common/csv';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime } from '../common/format';
import { LiveBadge, useSocket } from '../common/wsConnection';
import { auditCsv, columnLabel, formatValue, sourceLabel } from './auditFormat';
import { useAuditLog, type AuditEntry } from './useAuditLog';

/** Listens to one plan's line changes; each one means new audit entries to show. */
function PlanWatcher({ planId, onChange }: { planId: string; onChange: () => void }) {
  useSubscription(AuditLineChangedDocument, { variables: { planId }, onData: onChange, fetchPolicy: 'no-cache' });
  return null;
}

function AuditRow({ entry, fresh }: { entry: AuditEntry; fresh: boolean }) {
  const { line } = entry;
  return (
    <tr data-entry={entry.id} className={fresh ? 'fresh' : undefined}>
      <td className="nowrap">{formatDateTime(entry.at)}</td>
      <td>{entry.user?.displayName ?? <span className="muted">—</span>}<div className="muted small">{entry.user?.email}</div></td>
      <td>{line.businessUnit.name}</td>
      <td>{line.productCategory} · {line.region} · {line.quarter}</td>
      <td>{columnLabel(entry.column)}</td>
      <td className="change">
        <span className="old" title={entry.oldValue ?? ''}>{formatValue(entry.column, entry.oldValue)}</span>
        {' '}<span role="img" aria-label="changed to">→</span>{' '}
        <span className="new" title={entry.newValue ?? ''}>{formatValue(entry.column, entry.newValue)}</span>
      </td>
      <td><span className={`badge ${entry.source === 'GRID' ? '' : 'neutral'}`}>{sourceLabel(entry.source)}</span></td>
    </tr>
  );
}

export function AuditLogPage() {
  const log = useAuditLog();
  const plans = useQuery(AuditPlansDocument);
  const { state, reconnects } = useSocket();

  // After an unexpected close nothing was announced meanwhile: read the newest entries again.
  const seenReconnects = useRef(reconnects);
  const { refreshNewest } = log;
  useEffect(() => {
    if (reconnects !== seenReconnects.current) {
      seenReconnects.current = reconnects;
      refreshNewest();
    }
  }, [reconnects, refreshNewest]);

  const entries = log.entries;
  const exportCsv = () => {
    if (!entries) return;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
    download(`plansync-audit-${stamp}.csv`, auditCsv(entries));
  };

  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Audit log</h1>
        <LiveBadge state={state} />
        <span className="spacer" />
        <button type="button" className="secondary" onClick={exportCsv} disabled={!entries || entries.length === 0}>
          Export CSV{entries ? ` (${entries.length} loaded)` : ''}
        </button>
      </div>
      {plans.data?.budgetPlans.map((plan) => <PlanWatcher key={plan.id} planId={plan.id} onChange={log.refreshNewest} />)}
      <section className="panel" aria-labelledby="audit-title">
        <h2 id="audit-title" className="visually-hidden">Cell changes</h2>
        {log.error && !entries && <ErrorMessage error={log.error} retry={log.retry} />}
        {!entries && !log.error && <Loading what="the audit log" />}
        {entries && (
          <>
            <div className="table-scroll">
              <table className="data audit" aria-label="Cell changes, newest first">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Unit</th>
                    <th scope="col">Line</th>
                    <th scope="col">Column</th>
                    <th scope="col">Old → new</th>
                    <th scope="col">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((entry) => <AuditRow key={entry.id} entry={entry} fresh={log.fresh.has(entry.id)} />)}
                </tbody>
              </table>
            </div>
            {entries.length === 0 && <p className="muted empty">No changes yet. Edits in the grid or over the API appear here as they happen.</p>}
            {log.hasMore && (
              <button type="button" className="secondary load-more" onClick={() => void log.loadMore()} disabled={log.loadingMore}>
                {log.loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
            {log.loadMoreError && <ErrorMessage error={log.loadMoreError} retry={() => void log.loadMore()} />}
          </>
        )}
      </section>
    </div>
  );
}
