/**
 * The budget page of one business unit: the unit picker, the live grid, filters, totals, the connection
 * badge, who else is here, and the unit's submission (its status, and the submit button). Whether the grid
 * is editable and the unit may be submitted is the server's answer (`canEdit`, `canSubmit`), not the role's.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { CloseCode } from '../../../schema/codes';
import { useSession } from '../auth/MeContext';
import { useFreshRefetch } from '../common/freshRefetch';
import { ErrorBoundary } from '../common/ErrorBoundary';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime } from '../common/format';
import {
  GridLineReferenceDocument,
  GridLinesDocument,
  GridLinesRestructuredDocument,
  GridSetupDocument,
  GridSubmissionChangedDocument,
  SubmitBudgetDocument,
} from '../graphql/generated';
import { BudgetGrid, rowOf, type BudgetGridHandle, type Filters, type GridRow } from './BudgetGrid';
import { Presence } from './Presence';
import { Totals } from './Totals';
import { useGridDocument, type ConnectionStatus } from './useGridDocument';
import { useUndoState } from './useUndoState';
import { useNotices, Notices } from '../common/Notices';
import { PlanPicker, usePlanChoice } from '../common/planChoice';
import { SpreadsheetExport } from './SpreadsheetExport';
import { SpreadsheetImport } from './SpreadsheetImport';
import { localCopyName, useLocalCopy } from './useLocalCopy';
import { usePersonalSetting } from '../common/personalSettings';
import { rememberGridPlan } from './prefetch';

const NO_FILTERS: Filters = { region: '', category: '', quarter: '' };
/** The legend of the grid's keys, which also describes the grid to screen readers. */
const GRID_KEYS_ID = 'grid-keys';
const isFilters = (value: unknown): value is Filters =>
  typeof value === 'object' && value !== null && ['region', 'category', 'quarter'].every((k) => typeof (value as Record<string, unknown>)[k] === 'string');
import { CellHistoryPopover } from './CellHistoryPopover';
import { useCellHistory } from './useCellHistory';
import { LineFocusBanner, useLineFocus } from '../review/lineFocus';
import { SubmitForReview } from '../review/SubmitDialog';
import { ReviewOutcome } from '../review/ReviewOutcome';

const STATUS_LABEL: Record<ConnectionStatus, string> = {
  connecting: 'Connecting…',
  syncing: 'Loading…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline: edits are kept and sent on return',
  closed: 'Disconnected',
};

const SUBMISSION_BADGE: Record<string, string> = { DRAFT: 'neutral', SUBMITTED: 'warn', APPROVED: 'good', REJECTED: 'bad' };

export function GridPage() {
  const { unit: unitParam } = useParams();
  const navigate = useNavigate();
  const setup = useQuery(GridSetupDocument);
  const units = setup.data?.businessUnits ?? [];
  const plans = setup.data?.budgetPlans ?? [];
  const { plan, choose, query } = usePlanChoice(plans);
  const unit = units.find((u) => u.code === unitParam) ?? (unitParam ? undefined : units[0]);

  // The first unit goes into the address, unless the person has gone elsewhere meanwhile: a view opened while this
  // one was loading leaves it on screen until that view's code is in (the router's navigations are transitions),
  // and a replace from here would take them back to the grid. The browser's address is already the new one.
  const { pathname } = useLocation();
  useEffect(() => {
    if (!unitParam && units[0] && window.location.pathname === pathname) navigate(`/grid/${units[0].code}${query}`, { replace: true });
  }, [unitParam, units, navigate, query, pathname]);

  if (setup.error) return <ErrorMessage error={setup.error} retry={() => void setup.refetch()} />;
  if (!setup.data) return <Loading what="your budgets" />;
  if (!plan) return <section className="panel">There is no budget plan yet.</section>;
  if (!unit) {
    return (
      <section className="panel" role="alert">
        <h1>Not available</h1>
        <p>You may not open the budget of {unitParam}. {units.length > 0 && 'Pick one of your units instead:'}</p>
        <UnitPicker units={units} current={null} onPick={(code) => navigate(`/grid/${code}${query}`)} />
      </section>
    );
  }
  return (
    <UnitBudget
      key={`${plan.id}/${unit.code}`}
      planId={plan.id}
      planName={plan.name}
      unitCode={unit.code}
      unitName={unit.name}
      units={units}
      planPicker={<PlanPicker plans={plans} current={plan.id} onPick={choose} />}
      planQuery={query}
    />
  );
}

function UnitPicker({ units, current, onPick }: { units: { code: string; name: string }[]; current: string | null; onPick: (code: string) => void }) {
  if (units.length <= 1 && current) return null;
  return (
    <label>
      Business unit
      <select value={current ?? ''} onChange={(e) => onPick(e.target.value)} aria-label="Business unit">
        {!current && <option value="">Choose…</option>}
        {units.map((u) => (
          <option key={u.code} value={u.code}>
            {u.name}
          </option>
        ))}
      </select>
    </label>
  );
}

interface UnitProps {
  planId: string;
  planName: string;
  unitCode: string;
  unitName: string;
  units: { code: string; name: string }[];
  /** The plan picker, shown in the toolbar. */
  planPicker: ReactNode;
  /** `?plan=…` when the address names the plan, for links to the same plan's other units. */
  planQuery: string;
}

function UnitBudget({ planId, planName, unitCode, unitName, units, planPicker, planQuery }: UnitProps) {
  const { me, token, rejected } = useSession();
  const navigate = useNavigate();
  const lines = useQuery(GridLinesDocument, { variables: { planId, unit: unitCode } });
  // The submission status follows live: a submit or a review elsewhere flips the grid's rights at once.
  const submissionChanged = useFreshRefetch(lines.observable, lines.loading);
  useSubscription(GridSubmissionChangedDocument, { variables: { planId, unit: unitCode }, onData: () => void submissionChanged() });
  // Rows added or removed by an admin while the page is open (the document holds cells, not rows): the page's
  // lines change in the cache, and the grid adds and drops the rows; the removed rows' cells leave the document
  // from the server's side.
  useSubscription(GridLinesRestructuredDocument, {
    variables: { planId, unit: unitCode },
    onData: ({ client, data }) => {
      const change = data.data?.budgetLinesStructureChanged;
      if (!change) return;
      const removed = new Set(change.removedLineIds);
      client.cache.updateQuery({ query: GridLinesDocument, variables: { planId, unit: unitCode } }, (current) => {
        if (!current) return current;
        const known = new Set(current.budgetLines.map((l) => l.id));
        const kept = current.budgetLines.filter((l) => !removed.has(l.id));
        const added = change.added.filter((l) => !known.has(l.id));
        if (added.length === 0 && kept.length === current.budgetLines.length) return current;
        return { ...current, budgetLines: [...kept, ...added].sort((a, b) => a.position - b.position) };
      });
    },
  });
  // Prior-year actuals are not in the grid document: a load (admins, from Power BI) reaches the row's read-only
  // column through the cache, which this subscription's lines update by id.
  useSubscription(GridLineReferenceDocument, { variables: { planId, unit: unitCode } });
  const [submit] = useMutation(SubmitBudgetDocument);
  useEffect(() => rememberGridPlan(planId), [planId]);
  const grid = useGridDocument(`budget:${planId}:${unitCode}`, token, me);
  const gridRef = useRef<BudgetGridHandle>(null);
  const { canUndo, canRedo } = useUndoState(grid?.undo);
  // The person's last filters, kept in this browser (common/personalSettings.ts); one the unit lacks is dropped below.
  const [storedFilters, setFilters] = usePersonalSetting<Filters>(me.email, 'grid.filters', NO_FILTERS, isFilters);
  const [visible, setVisible] = useState<GridRow[]>([]);
  const { notices, notify, dismiss } = useNotices();
  // Colleagues' overwrites of this person's values marked on the grid until seen, and a cell's history popover.
  const history = useCellHistory(lines.data?.budgetLines);
  const focus = useLineFocus(lines.data?.budgetLines);

  const submission = lines.data?.budgetSubmissions.find((s) => s.businessUnit.code === unitCode);
  // Edits made offline survive closing the tab, while the unit is the person's to edit.
  useLocalCopy(grid?.doc, localCopyName(me.email, `budget:${planId}:${unitCode}`), submission ? submission.canEdit : undefined);
  const options = useMemo(() => {
    const all = lines.data?.budgetLines ?? [];
    const distinct = (pick: (l: (typeof all)[number]) => string) => [...new Set(all.map(pick))];
    return { regions: distinct((l) => l.region), categories: distinct((l) => l.productCategory), quarters: distinct((l) => l.quarter).sort() };
  }, [lines.data]);
  const region = options.regions.includes(storedFilters.region) ? storedFilters.region : '';
  const category = options.categories.includes(storedFilters.category) ? storedFilters.category : '';
  const quarter = options.quarters.includes(storedFilters.quarter) ? storedFilters.quarter : '';
  // A new object only when a filter changes, not whenever the lines are read again (after a reconnect, a
  // submission or line change): the grid re-filters on a new one, which redraws its rows and ends an edit in
  // progress.
  const filters = useMemo<Filters>(
    () => (region || category || quarter ? { region, category, quarter } : NO_FILTERS),
    [region, category, quarter],
  );
  const onVisibleRows = useCallback((rows: GridRow[]) => setVisible(rows), []);
  // Back live after a disconnect (a server restart, say): lines added or removed meanwhile were not heard (a
  // subscription replays nothing), so the rows are read again.
  const wasLive = useRef(false);
  const refetchLines = useRef(lines.refetch);
  refetchLines.current = lines.refetch;
  useEffect(() => {
    if (grid?.status !== 'live') return;
    if (wasLive.current) void refetchLines.current();
    wasLive.current = true;
  }, [grid?.status]);
  useEffect(() => {
    if (grid?.closedCode === CloseCode.Unauthorized) rejected();
  }, [grid?.closedCode, rejected]);

  if (lines.error) return <ErrorMessage error={lines.error} retry={() => void lines.refetch()} />;
  if (!lines.data || !grid) return <Loading what={`the ${unitName} budget`} />;
  if (grid.closedCode === CloseCode.Forbidden) return <ErrorMessage error={{ message: `You may not open the budget of ${unitName}.` }} />;

  // Until the server's content is in, the grid looks blank: an entry then would overwrite a colleague's value.
  const readOnly = !submission?.canEdit || grid.closedCode !== null || !grid.loaded;
  const readOnlyReason = !submission?.canEdit
    ? submission && submission.status !== 'DRAFT' && submission.status !== 'REJECTED'
      ? `This budget is ${submission.status.toLowerCase()} and cannot be changed.`
      : 'You can read this budget but not change it.'
    : null;

  return (
    <section aria-labelledby="grid-title">
      <div className="grid-toolbar">
        <div>
          <h1 id="grid-title">
            {unitName} <span className="muted small" data-testid="plan-name">{planName}</span>
          </h1>
          <div className="people">
            <span className={`connection ${grid.status}`} role="status" aria-live="polite" data-testid="connection">
              {STATUS_LABEL[grid.status]}
            </span>
            {submission && (
              <span className={`badge ${SUBMISSION_BADGE[submission.status]}`} data-testid="submission-status">
                {submission.status}
              </span>
            )}
            <ErrorBoundary what="who else is here" inline>
              <Presence awareness={grid.provider.awareness} />
            </ErrorBoundary>
          </div>
        </div>
        <div className="spacer" />
        {planPicker}
        <UnitPicker units={units} current={unitCode} onPick={(code) => navigate(`/grid/${code}${planQuery}`)} />
        <FilterSelect label="Region" all="All regions" choices={options.regions} value={filters.region} onChange={(region) => setFilters({ ...filters, region })} />
        <FilterSelect label="Category" all="All categories" choices={options.categories} value={filters.category} onChange={(category) => setFilters({ ...filters, category })} />
        <FilterSelect label="Quarter" all="All quarters" choices={options.quarters} value={filters.quarter} onChange={(quarter) => setFilters({ ...filters, quarter })} />
        <SpreadsheetExport token={token} planId={planId} unitCode={unitCode} onNotice={notify} onUnauthenticated={rejected} />
        {/* Offered to who may change the unit now (the server's canEdit); otherwise the banner says why not. */}
        {submission?.canEdit && (
          <SpreadsheetImport token={token} planId={planId} planName={planName} onNotice={notify} onUnauthenticated={rejected} />
        )}
        <button className="secondary" onClick={() => gridRef.current?.undo()} disabled={readOnly || !canUndo} title="Undo your last edit (Ctrl+Z)">
          Undo
        </button>
        <button className="secondary" onClick={() => gridRef.current?.redo()} disabled={readOnly || !canRedo} title="Redo (Ctrl+Y)">
          Redo
        </button>
        {submission?.canSubmit && (
          <SubmitForReview planId={planId} unitCode={unitCode} unitName={unitName} rows={() => lines.data!.budgetLines.map((l) => rowOf(l, grid.cells))}
            submit={() => submit({ variables: { planId, unit: unitCode } }).then(submissionChanged)}
            onSubmitted={() => { focus.clear(); notify('Submitted for review.'); }} onShowLines={focus.show} />
        )}
      </div>
      <ReviewOutcome planId={planId} unitCode={unitCode} status={submission?.status} onNotice={notify} />
      {readOnlyReason && <p className="banner warn" role="status">{readOnlyReason}</p>}
      {submission?.submittedBy && (
        <p className="muted small" data-testid="submitted-by">
          {/* A draft again (withdrawn, or an approval reopened): "Submitted by" next to DRAFT read as if it still were. */}
          {submission.status === 'DRAFT'
            ? `Last submitted by ${submission.submittedBy.displayName} on ${formatDateTime(submission.submittedAt)}; a draft again since (withdrawn, or reopened by an administrator).`
            : `Submitted by ${submission.submittedBy.displayName} on ${formatDateTime(submission.submittedAt)}.`}
        </p>
      )}
      <div className="legend" aria-hidden="true">
        <span><span className="swatch editable" />Editable (✎)</span>
        <span><span className="swatch readonly" />Read-only</span>
        {/* Only the keys that do something here: someone who may only read is not told how to edit. */}
        {/* Also the grid's description for screen readers (BudgetGrid's keysHintId), the way out of it included. */}
        <span data-testid="grid-keys" id={GRID_KEYS_ID}>
          {readOnly
            ? 'Tab, arrows, Home/End to move · Shift+arrows, Shift+click or drag to select · Ctrl+C copies to Excel · Ctrl+End then Tab leaves the grid'
            : 'Enter, F2 or type to edit · Tab, arrows, Home/End to move · Shift+arrows, Shift+click or drag to select · Ctrl+C / Ctrl+V copy and paste with Excel · Delete clears · Ctrl+D or the corner square fills down · Ctrl+Z / Ctrl+Y undo and redo your own edits · Ctrl+End then Tab leaves the grid'}
        </span>
      </div>
      <LineFocusBanner focus={focus.focus} count={focus.shown?.length ?? 0} onClear={focus.clear} />
      {/* The document lives above the boundary: "Try again" redraws the grid from it, edits kept. */}
      <ErrorBoundary what="the budget grid">
        <BudgetGrid
          ref={gridRef}
          keysHintId={GRID_KEYS_ID}
          lines={focus.shown ?? lines.data.budgetLines}
          grid={grid}
          readOnly={readOnly}
          filters={filters}
          widthsOf={me.email}
          onNotice={notify}
          onVisibleRows={onVisibleRows}
          cellMarks={history.cellMarks}
          onCellSeen={history.onCellSeen}
          onCellHistory={history.onCellHistory}
        />
      </ErrorBoundary>
      {history.open && <CellHistoryPopover key={`${history.open.lineId}:${history.open.column}`} {...history.open} canEdit={!readOnly} onClose={history.close} />}
      <ErrorBoundary what="the totals" resetKey={visible}>
        <Totals rows={visible} />
      </ErrorBoundary>
      <Notices notices={notices} dismiss={dismiss} />
    </section>
  );
}

/** One of the grid's filters: every value of a column, or all of them (""). */
function FilterSelect({ label, all, choices, value, onChange }: {
  label: string;
  all: string;
  choices: readonly string[];
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{all}</option>
        {choices.map((choice) => <option key={choice}>{choice}</option>)}
      </select>
    </label>
  );
}
