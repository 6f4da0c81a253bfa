/**
 * The executions the person may see, newest first, filtered by status and type, a page at a time. The
 * list follows events through the cache: statuses change in place, a run that no longer matches the
 * status filter leaves it, and new runs join it (see cacheUpdates.ts).
 */
import { Link } from 'react-router';
import { formatDateTime, humanStatus, StatusBadge } from '../common/format';
import { shownStatus } from '../review/outcome';
import { definitionName, EXECUTION_STATUSES, stepProgress, subjectOf, type Definition, type Execution } from './model';

export interface Filters {
  status: string;
  definitionKey: string;
}

export function ExecutionFilters({ filters, onChange, types, definitions }: {
  filters: Filters;
  onChange: (next: Filters) => void;
  types: string[];
  definitions: readonly Definition[] | undefined;
}) {
  return (
    <div className="filters" role="group" aria-label="Filters">
      <label>
        Status
        <select value={filters.status} onChange={(e) => onChange({ ...filters, status: e.target.value })}>
          <option value="">All statuses</option>
          {EXECUTION_STATUSES.map((s) => (
            <option key={s} value={s}>{humanStatus(s)}</option>
          ))}
        </select>
      </label>
      {types.length > 1 && (
        <label>
          Type
          <select value={filters.definitionKey} onChange={(e) => onChange({ ...filters, definitionKey: e.target.value })}>
            <option value="">All types</option>
            {types.map((key) => (
              <option key={key} value={key}>{definitionName(definitions, key)}</option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
}

function ProgressBar({ done, total }: { done: number; total: number }) {
  return (
    <span className="mini-progress" role="img" aria-label={`${done} of ${total} steps done`}>
      <span style={{ width: `${total ? (100 * done) / total : 0}%` }} />
    </span>
  );
}

export function ExecutionList({ executions, selectedId, definitions, linkSearch }: {
  executions: readonly Execution[];
  selectedId: string | undefined;
  definitions: readonly Definition[] | undefined;
  linkSearch: string;
}) {
  if (executions.length === 0) return <p className="muted empty">No executions match these filters.</p>;
  return (
    <ul className="execution-list" aria-label="Executions">
      {executions.map((execution) => {
        const { done, total } = stepProgress(execution);
        const selected = execution.id === selectedId;
        return (
          <li key={execution.id}>
            <Link
              to={`/workflows/${execution.id}${linkSearch}`}
              className={`execution-item${selected ? ' selected' : ''}`}
              aria-current={selected ? 'page' : undefined}
              data-execution={execution.id}
              data-status={execution.status}
            >
              <span className="execution-line">
                <strong>{definitionName(definitions, execution.definitionKey)}</strong>
                <StatusBadge {...shownStatus(execution)} />
              </span>
              <span className="execution-subject">{subjectOf(execution) || '\u00a0'}</span>
              <span className="execution-line muted small">
                <span>{formatDateTime(execution.createdAt)}</span>
                <span className="progress-label">
                  <ProgressBar done={done} total={total} /> {done}/{total}
                </span>
              </span>
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
