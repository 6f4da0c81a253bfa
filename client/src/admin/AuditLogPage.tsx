/**
 * The audit log (`/admin/audit`): every cell change the person may see, newest first, a page at a time,
 * with new changes appearing as they happen; the loaded entries export as CSV. Filtered on the server by
 * plan, unit, person, days and line, the filters kept in the address (`?plan=&unit=&person=&from=&to=&line=`)
 * so a filtered view can be shared and survives a reload; the export holds what the filters show.
 */
import { useEffect, useMemo, useRef } from 'react';
import { useQuery, useSubscription } from '@apollo/client/react';
import { AuditLineChangedDocument, AuditPlansDocument, AuditUnitsDocument } from '../graphql/generated';
import { endOfDay, FilterForm, startOfDay, useUrlFilters, type FilterValues } from '../common/FilterForm';
import { download } from '../common/csv';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime } from '../common/format';
import { LiveBadge, useSocket } from '../common/wsConnection';
import { auditCsv, columnLabel, formatValue, sourceLabel } from './auditFormat';
import { useAuditLog, type AuditEntry, type AuditFilterVariables } from './useAuditLog';

const FILTER_KEYS = ['plan', 'unit', 'person', 'from', 'to', 'line'] as const;
type AuditFilterKey = (typeof FILTER_KEYS)[number];

/** The address's filters as auditLog's arguments; from/to are the person's local days, both included. */
function filterVariables(filters: FilterValues<AuditFilterKey>): AuditFilterVariables {
  return {
    planId: filters.plan || null,
    businessUnitCode: filters.unit || null,
    userEmail: filters.person.trim() || null,
    since: startOfDay(filters.from),
    until: endOfDay(filters.to),
    lineId: filters.line || null,
  };
}

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
      {/* Every plan has the same units and lines: without the plan, FY2027's changes read as FY2028's. */}
      <td>{line.plan.name}</td>
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
  const filters = useUrlFilters(FILTER_KEYS);
  const { applied, draft, edit } = filters;
  // A range that ends before it starts is not asked for (the server would refuse it): the form says so.
  const badRange = applied.from !== '' && applied.to !== '' && applied.from > applied.to;
  const variables = useMemo(() => filterVariables(badRange ? { ...applied, to: '' } : applied), [applied, badRange]);
  const log = useAuditLog(variables);
  const plans = useQuery(AuditPlansDocument);
  const units = useQuery(AuditUnitsDocument);
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
    const planName = plans.data?.budgetPlans.find((plan) => plan.id === applied.plan)?.name;
    const scope = [planName?.replace(/[^\w-]+/g, '-'), applied.unit, applied.person.split('@')[0]].filter(Boolean).join('-');
    download(`plansync-audit${scope ? `-${scope}` : ''}-${stamp}.csv`, auditCsv(entries));
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
        <FilterForm label="Filter the audit log" filtered={filters.filtered} onApply={filters.apply} onClear={filters.clear}>
          <label>
            Plan
            <select value={draft.plan} onChange={(e) => edit('plan', e.target.value)}>
              <option value="">All plans</option>
              {plans.data?.budgetPlans.map((plan) => <option key={plan.id} value={plan.id}>{plan.name}</option>)}
              {/* A plan from a shared link that no longer exists: shown, so the error below makes sense. */}
              {draft.plan && plans.data && !plans.data.budgetPlans.some((p) => p.id === draft.plan) && <option value={draft.plan}>Unknown plan</option>}
            </select>
          </label>
          <label>
            Unit
            <select value={draft.unit} onChange={(e) => edit('unit', e.target.value)}>
              <option value="">All units</option>
              {units.data?.businessUnits.map((unit) => <option key={unit.code} value={unit.code}>{unit.name}</option>)}
              {/* A unit from a shared link that this person may not read: shown, so the refusal below makes sense. */}
              {draft.unit && units.data && !units.data.businessUnits.some((u) => u.code === draft.unit) && <option value={draft.unit}>{draft.unit}</option>}
            </select>
          </label>
          <label>
            Person (email)
            <input type="email" value={draft.person} placeholder="anyone" onChange={(e) => edit('person', e.target.value)} />
          </label>
          <label>
            From
            <input type="date" value={draft.from} max={draft.to || undefined} onChange={(e) => edit('from', e.target.value)} />
          </label>
          <label>
            To
            <input type="date" value={draft.to} min={draft.from || undefined} onChange={(e) => edit('to', e.target.value)} />
          </label>
        </FilterForm>
        {applied.line && (
          <p className="filter-chips">
            <span className="badge neutral">
              One line{entries?.[0] ? `: ${entries[0].line.businessUnit.name} · ${entries[0].line.productCategory} · ${entries[0].line.region} · ${entries[0].line.quarter}` : ''}
            </span>{' '}
            <button type="button" className="small-button secondary" onClick={() => filters.drop('line')}>Show every line</button>
          </p>
        )}
        {badRange && <div className="form-problem" role="alert">The “to” day is before the “from” day: only “from” is applied.</div>}
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
                    <th scope="col">Plan</th>
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
            {entries.length === 0 && (
              <p className="muted empty">
                {filters.filtered ? 'Nothing matches these filters.' : 'No changes yet. Edits in the grid or over the API appear here as they happen.'}
              </p>
            )}
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
