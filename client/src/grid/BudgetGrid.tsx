/**
 * The budget grid: AG Grid Community as a view over the unit's live Yjs document.
 *
 * - Edits never change the grid directly (read-only-edit mode): they go into the document as this person's
 *   transaction, and the grid re-renders from the document, for local and remote changes alike.
 * - Undo and redo act on this person's edits only (Y.UndoManager with the local origin).
 * - Pasting a block copied from Excel fills a range (written here: range paste is Enterprise-only in AG Grid).
 * - Ranges as in Excel (range selection, copy, fill and the fill handle are Enterprise-only in AG Grid too, so
 *   they are written here, ranges/): drag, Shift+click, Shift+arrows, a column's header label, a row's number;
 *   Ctrl+C copies tab-separated text, Delete clears, Ctrl+D fills down, the square at the corner fills by
 *   dragging, and the bar above sets a value, adds a percentage or spreads a year. Each is one edit of this
 *   person (one undo step), written into the document like typing, so the server validates it.
 * - Other people's selected cells are outlined in their colour, with their name.
 */
import { forwardRef, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { AgGridReact } from 'ag-grid-react';
import {
  AllCommunityModule,
  ModuleRegistry,
  themeQuartz,
  type CellClassParams,
  type CellClassRules,
  type CellEditRequestEvent,
  type CellFocusedEvent,
  type ColDef,
  type GetRowIdParams,
  type ColumnResizedEvent,
  type GridReadyEvent,
  type GridApi,
  type ICellRendererParams,
  type IRowNode,
  type ProcessUnpinnedColumnsParams,
} from 'ag-grid-community';
import type * as Y from 'yjs';
import { cellKey, COLUMN_LABELS, formatAmount, formatPercent, isEditable, parseCell, withUnit, type EditableColumn } from './cells';
import { parseBlock, planPaste } from './paste';
import { ContextMenu, type MenuItem } from './ranges/ContextMenu';
import { HeaderCell, type HeaderCellParams } from './ranges/HeaderCell';
import { RangeBar, type BulkAction } from './ranges/RangeBar';
import {
  boundsOf,
  cellCount,
  contains,
  planClear,
  planFill,
  planFillDown,
  planPercent,
  planSetValue,
  planSpread,
  single,
  toTsv,
  type Bounds,
  type Cell,
  type Plan,
  type Range,
  type View,
} from './ranges/range';
import './ranges/ranges.css';
import { othersPresence, type PresenceUser } from './presenceState';
import { LOCAL_EDIT, type GridDocument } from './useGridDocument';
import { readSetting, writeSetting } from '../common/personalSettings';

ModuleRegistry.registerModules([AllCommunityModule]);

export interface LineInfo {
  id: string;
  position: number;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
}

export interface GridRow extends LineInfo {
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  variance: number | null;
  variancePct: number | null;
}

export interface Filters {
  region: string;
  category: string;
  quarter: string;
}

export interface BudgetGridHandle {
  undo(): void;
  redo(): void;
}

interface Props {
  lines: LineInfo[];
  grid: GridDocument;
  readOnly: boolean;
  filters: Filters;
  /** Tells the person something happened to their edit (refused, pasted, skipped). */
  onNotice: (message: string) => void;
  /** The rows as shown after filters (for totals). */
  onVisibleRows: (rows: GridRow[]) => void;
  /**
   * Marked cells (a colleague overwrote them, say): key `${lineId}:${column}` (column 'budgetAmount' |
   * 'forecastSales' | 'comment') -> tooltip text. A marked cell gets the class `cell-marked` (a corner flag) and
   * the text as its title.
   */
  cellMarks?: ReadonlyMap<string, string>;
  /** A cell's history was asked for: its context menu's "History…" or Alt+H on the focused cell. */
  onCellHistory?: (lineId: string, column: string, anchor: DOMRect) => void;
  /** A marked cell got the focus (seen). */
  onCellSeen?: (lineId: string, column: string) => void;
  /** Whose column widths these are (they are kept in this browser for the person, common/personalSettings.ts). */
  widthsOf?: string;
  /**
   * The id of the element that tells the grid's keys: the grid (AG Grid's element with the grid role) is described
   * by it, so a screen reader says the keys, and how to leave the grid, on entering it; the legend that shows
   * them is hidden from screen readers, as every other legend of the page.
   */
  keysHintId?: string;
}

type ColumnWidths = Record<string, number>;
const isColumnWidths = (value: unknown): value is ColumnWidths =>
  typeof value === 'object' && value !== null && Object.values(value).every((w) => typeof w === 'number' && w >= 20 && w <= 2000);

/** The key of a cell in `cellMarks`. */
export const markKey = (lineId: string, column: string) => `${lineId}:${column}`;

/** A row from reference data and the document's cells. */
export function rowOf(line: LineInfo, cells: Y.Map<unknown>): GridRow {
  const amount = (column: EditableColumn) => {
    const v = cells.get(cellKey(line.id, column));
    return typeof v === 'number' ? v : null;
  };
  const budgetAmount = amount('budgetAmount');
  const comment = cells.get(cellKey(line.id, 'comment'));
  const prior = line.priorYearActual;
  const variance = budgetAmount !== null && prior !== null ? budgetAmount - prior : null;
  return {
    ...line,
    budgetAmount,
    forecastSales: amount('forecastSales'),
    comment: typeof comment === 'string' ? comment : '',
    variance,
    variancePct: variance !== null && prior ? variance / prior : null,
  };
}

const theme = themeQuartz.withParams({
  fontSize: 13,
  headerFontSize: 12,
  rowHeight: 32,
  headerHeight: 36,
  spacing: 6,
  accentColor: '#3b6cf6',
  headerBackgroundColor: '#f7f8fb',
  wrapperBorderRadius: 0,
});

/** Shows a value and, when others have this cell selected, a tag with their name; a marked cell's text as its title. */
function PresenceCell(
  params: ICellRendererParams<GridRow> & { presenceOf: (key: string) => PresenceUser[]; markOf: (lineId: string, column: string) => string | undefined },
) {
  const column = params.colDef?.field ?? '';
  const people = params.data && isEditable(column) ? params.presenceOf(cellKey(params.data.id, column)) : [];
  const mark = params.data ? params.markOf(params.data.id, column) : undefined;
  // A few names and a count: however many people share a cell, the tag stays a tag.
  const names = people.slice(0, 3).map((p) => p.name).join(', ') + (people.length > 3 ? ` +${people.length - 3}` : '');
  return (
    // The mark's text is this element's own attribute, rendered with the value it belongs to. It used to be set
    // by hand on AG Grid's cell element, which CI once saw left empty while the cell's mark class showed.
    <span className="presence-cell" title={mark}>
      {params.valueFormatted ?? params.value}
      {people.length > 0 && (
        <span className={`presence-tag ${column === 'comment' ? 'right' : 'left'}`} style={{ background: people[0].color }} title={names}>
          {names}
        </span>
      )}
    </span>
  );
}

const rowId = (p: GetRowIdParams<GridRow>) => p.data.id;

/** AG Grid's default order: empty first, then ascending (numbers as numbers, text by code point). */
function compareSortValues(a: unknown, b: unknown): number {
  const missingA = a === null || a === undefined || a === '';
  const missingB = b === null || b === undefined || b === '';
  if (missingA || missingB) return missingA && missingB ? 0 : missingA ? -1 : 1;
  return (a as number | string) < (b as number | string) ? -1 : (a as number | string) > (b as number | string) ? 1 : 0;
}

/** The row-number column (the row header: click to select the row). Not data: ranges count the columns after it. */
const ROW_NUMBER = 'rowNumber';

/** Read by the cell class rules (AG Grid's `context`): one mutable object per grid, so the rules never change. */
interface RangeContext {
  bounds: Bounds | null;
  /** Column id -> index among the data columns as displayed. */
  colIndex: Map<string, number>;
  /** The fill handle being dragged: the last row it reaches. */
  fillTo: number | null;
  readOnly: boolean;
  marks: ReadonlyMap<string, string>;
}

const where = (p: CellClassParams<GridRow>) => {
  const c = p.context as RangeContext;
  const row = p.node.rowIndex;
  const col = c.colIndex.get(p.column.getColId());
  return { c, b: c.bounds, row: row ?? -1, col: col ?? -1, ok: Boolean(c.bounds) && row !== null && col !== undefined };
};
const inSelection = (p: CellClassParams<GridRow>) => {
  const { b, row, col, ok } = where(p);
  return ok && cellCount(b!) > 1 && contains(b!, row, col);
};
/** The classes a range gives its cells (ranges/ranges.css), re-applied by a refresh when the range changes. */
const RANGE_RULES: CellClassRules<GridRow> = {
  'range-selected': inSelection,
  'range-top': (p) => inSelection(p) && where(p).row === where(p).b!.top,
  'range-bottom': (p) => inSelection(p) && where(p).row === where(p).b!.bottom,
  'range-left': (p) => inSelection(p) && where(p).col === where(p).b!.left,
  'range-right': (p) => inSelection(p) && where(p).col === where(p).b!.right,
  'range-corner': (p) => {
    const { c, b, row, col, ok } = where(p);
    return ok && !c.readOnly && row === b!.bottom && col === b!.right;
  },
  'fill-preview': (p) => {
    const { c, b, row, col, ok } = where(p);
    return ok && c.fillTo !== null && row > b!.bottom && row <= c.fillTo && col >= b!.left && col <= b!.right;
  },
  'fill-last': (p) => where(p).c.fillTo === p.node.rowIndex,
  'cell-marked': (p) => {
    const c = p.context as RangeContext;
    return Boolean(p.data) && c.marks.size > 0 && c.marks.has(markKey(p.data!.id, p.column.getColId()));
  },
};

/** The displayed cell under a mouse event's target: its row index and column id. */
function cellAt(target: EventTarget | null): { row: number; colId: string; element: HTMLElement } | null {
  const element = target instanceof Element ? target.closest<HTMLElement>('.ag-cell') : null;
  const rowElement = element?.closest('.ag-row');
  if (!element || !rowElement) return null;
  const row = Number(rowElement.getAttribute('row-index'));
  const colId = element.getAttribute('col-id');
  return Number.isInteger(row) && colId ? { row, colId, element } : null;
}

/**
 * When the pinned columns are wider than the grid (a phone), AG Grid unpins some; left to itself it takes them from
 * the left, so the row number and the category scroll away while the region and the quarter stay, and the columns
 * come out of order. Give up the last pinned ones instead, as many as AG Grid would: the category stays in view.
 */
function unpinFromTheRight({ api, columns }: ProcessUnpinnedColumnsParams<GridRow>) {
  let toFree = columns.reduce((sum, column) => sum + column.getActualWidth(), 0);
  const unpinned = [];
  for (const column of api.getDisplayedLeftColumns().slice().reverse()) {
    if (toFree <= 0) break;
    unpinned.push(column);
    toFree -= column.getActualWidth();
  }
  return unpinned;
}

/** Narrow screens pin the identifying columns (category, region, quarter), so the amounts scroll beside them. */
function useNarrow(maxWidth = 1100): boolean {
  const query = `(max-width: ${maxWidth}px)`;
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const onChange = () => setNarrow(list.matches);
    list.addEventListener('change', onChange);
    return () => list.removeEventListener('change', onChange);
  }, [query]);
  return narrow;
}

/** The current filters, read by AG Grid's external filter (a module-level function keeps its identity). */
let activeFilters: Filters = { region: '', category: '', quarter: '' };
const isFilterPresent = () => Boolean(activeFilters.region || activeFilters.category || activeFilters.quarter);
const passesFilter = (node: IRowNode<GridRow>) => {
  const f = activeFilters;
  const d = node.data!;
  return (!f.region || d.region === f.region) && (!f.category || d.productCategory === f.category) && (!f.quarter || d.quarter === f.quarter);
};

const NO_MARKS: ReadonlyMap<string, string> = new Map();

export const BudgetGrid = forwardRef<BudgetGridHandle, Props>(function BudgetGrid(
  { lines, grid, readOnly, filters, onNotice, onVisibleRows, cellMarks = NO_MARKS, onCellHistory, onCellSeen, widthsOf, keysHintId },
  ref,
) {
  const api = useRef<GridApi<GridRow> | null>(null);
  /** The widths the person gave columns (by column id): the column definitions start from them. */
  const widths = useRef<ColumnWidths>(widthsOf ? readSetting(widthsOf, 'grid.columnWidths', {}, isColumnWidths) : {});
  const frame = useRef<HTMLDivElement>(null);
  const narrow = useNarrow();
  /** What the cell class rules read (stable identity: handed to AG Grid once). */
  const context = useRef<RangeContext>({ bounds: null, colIndex: new Map(), fillTo: null, readOnly, marks: cellMarks }).current;
  context.readOnly = readOnly;
  const [range, setRangeState] = useState<Range | null>(null);
  const rangeRef = useRef<Range | null>(null);
  /** Bumped when the document changes, so the bar's sum follows the values. */
  const [, setDocTick] = useState(0);
  /**
   * The cells that a click or a move of the grid's own (Home/End, a range's arrows) put AG Grid's focus on, as
   * `row/column`, each until its focus event arrives (or a second has passed): that event keeps the range, where
   * other focus moves (AG Grid's own arrows, Tab) collapse it to the focused cell, as in Excel. AG Grid may send
   * the event after later keys (End, Home, Shift+End typed quickly: CI saw Home's event arrive after Shift+End and
   * collapse its 1 x 9 range to one cell), so each is matched to its own cell, not to "the last key".
   */
  const keepRangeOn = useRef(new Map<string, number>());
  /** The cell of AG Grid's last focus event ("row/colId"): a focus event for it again is no move. */
  const lastFocused = useRef<string | null>(null);
  /** A focus we are about to give AG Grid (see keepRangeOn). */
  const expectFocus = useCallback((cell: string) => {
    const now = performance.now();
    for (const [key, until] of keepRangeOn.current) if (until < now) keepRangeOn.current.delete(key);
    keepRangeOn.current.set(cell, now + 1000);
  }, []);
  /** Whether a focus event is one we asked for (consumed: a later focus of that cell is a move again). */
  const focusExpected = useCallback((cell: string) => {
    const until = keepRangeOn.current.get(cell);
    if (until === undefined) return false;
    keepRangeOn.current.delete(cell);
    return until >= performance.now();
  }, []);
  /** A mouse drag in progress: selecting cells, whole rows, or dragging the fill handle. */
  const dragging = useRef<'cells' | 'rows' | 'fill' | null>(null);
  /** Tab-separated text waiting for the copy event that Ctrl+C is about to fire. */
  const pendingCopy = useRef<string | null>(null);
  const [menu, setMenu] = useState<{ x: number; y: number; lineId: string | null; column: string; element: HTMLElement } | null>(null);
  /** Cell key -> the other people who have it selected. */
  const presence = useRef(new Map<string, PresenceUser[]>());
  /** This person's edits not yet confirmed: a remote change to one of them means it did not stick. */
  const pending = useRef(new Map<string, { value: unknown; at: number }>());
  const { cells, undo, provider } = grid;
  const lineById = useMemo(() => new Map(lines.map((l) => [l.id, l])), [lines]);
  // Only the grid's starting rows (so not recomputed when the lines change): the document keeps changing before
  // the grid is ready, and lines an admin adds or removes later arrive as transactions (see showDocument).
  const initialRows = useMemo(() => lines.map((l) => rowOf(l, cells)), [cells]);
  /** The rows the grid has been given (its starting rows, then showDocument's transactions), by line id. */
  const shown = useRef<ReadonlySet<string>>(new Set(lines.map((l) => l.id)));
  /**
   * The rows as they were when the person last sorted, by line id: a sort orders by these, once, as Excel's does.
   * Sorted by the live values, every entry (a colleague's, or one's own) moved its row at once, and the focused
   * cell, which AG Grid keeps by position, then stood on another line: the next figure typed went there.
   */
  const sortedFrom = useRef(new Map<string, GridRow>());

  useImperativeHandle(ref, () => ({ undo: () => undo.undo(), redo: () => undo.redo() }), [undo]);

  const publishVisible = useCallback(() => {
    const rows: GridRow[] = [];
    api.current?.forEachNodeAfterFilterAndSort((node) => node.data && rows.push(node.data));
    onVisibleRows(rows);
    if (rangeRef.current) setDocTick((t) => t + 1);
  }, [onVisibleRows]);

  /**
   * Document -> grid, whole: every row from the document as it is now. AG Grid takes its rows at the first
   * render but has no api until its onGridReady, a moment later; the first sync's changes often land in
   * between, where the change observer below has no grid to update. So the grid is brought up to the
   * document whenever it becomes ready and whenever the observer (re)attaches, and later changes only add
   * to that. Asynchronous like the observer's transactions, so the two apply in the order they were made.
   */
  const showDocument = useCallback(() => {
    const gridApi = api.current;
    if (!gridApi) return;
    // Lines added or removed since the grid last heard (an admin changed the plan while it is open): the rows go
    // and come in the same queue as the cell updates, so no update ever names a row the grid no longer has, and
    // each new row takes its place in the lines' order.
    const ids = new Set(lines.map((l) => l.id));
    const removed = [...shown.current].filter((id) => !ids.has(id));
    if (removed.length > 0) gridApi.applyTransactionAsync({ remove: removed.map((id) => ({ id }) as GridRow) }, publishVisible);
    gridApi.applyTransactionAsync({ update: lines.filter((l) => shown.current.has(l.id)).map((l) => rowOf(l, cells)) }, publishVisible);
    lines.forEach((l, index) => {
      if (!shown.current.has(l.id)) gridApi.applyTransactionAsync({ add: [rowOf(l, cells)], addIndex: index }, publishVisible);
    });
    shown.current = ids;
  }, [lines, cells, publishVisible]);

  // Document -> grid: every change (local, remote, undo) updates exactly the rows it touched.
  useEffect(() => {
    const observer = (event: Y.YMapEvent<unknown>, tr: Y.Transaction) => {
      const touched = new Set<string>();
      for (const key of event.keysChanged) {
        const lineId = key.slice(0, key.indexOf('/'));
        if (lineById.has(lineId)) touched.add(lineId);
        const mine = pending.current.get(key);
        if (mine && tr.origin !== LOCAL_EDIT && tr.origin !== undo) {
          pending.current.delete(key);
          if (cells.get(key) !== mine.value && Date.now() - mine.at < 5000) {
            const line = lineById.get(lineId);
            const column = key.slice(key.indexOf('/') + 1) as EditableColumn;
            onNotice(
              `Your change to ${COLUMN_LABELS[column] ?? column}${line ? ` (${line.productCategory}, ${line.region}, ${line.quarter})` : ''} did not stay: someone changed it at the same moment, or the server refused it. Its history (Alt+H) says which.`,
            );
          }
        }
      }
      if (touched.size === 0) return;
      // No grid yet: onGridReady shows the document as it is then, this change included.
      api.current?.applyTransactionAsync({ update: [...touched].map((id) => rowOf(lineById.get(id)!, cells)) }, publishVisible);
    };
    cells.observe(observer);
    showDocument(); // whatever changed between the first render and now
    return () => cells.unobserve(observer);
  }, [cells, lineById, onNotice, publishVisible, showDocument, undo]);

  // Presence: remember who is where, and redraw the cells concerned.
  useEffect(() => {
    const awareness = provider.awareness;
    const signature = (people: PresenceUser[] | undefined) => (people ?? []).map((p) => `${p.email}:${p.color}`).join('|');
    const onChange = () => {
      const next = new Map<string, PresenceUser[]>();
      for (const { user, cell } of othersPresence(awareness.getStates(), awareness.clientID, (id) => lineById.has(id))) {
        if (cell) next.set(cell, [...(next.get(cell) ?? []), user]);
      }
      // Redraw only the cells whose people changed: a forced redraw of the cell being edited would end the
      // edit, and this person's own moves change nothing here.
      const changed = [...new Set([...presence.current.keys(), ...next.keys()])].filter(
        (key) => signature(presence.current.get(key)) !== signature(next.get(key)),
      );
      presence.current = next;
      const gridApi = api.current;
      // Destroyed already when the page is left: React unmounts the page (whose cleanup closes the connection,
      // which drops everyone's presence, calling this) before this effect's cleanup stops listening, and a
      // destroyed grid answers `getEditingCells()` with undefined.
      if (!gridApi || gridApi.isDestroyed() || changed.length === 0) return;
      const editing = new Set(gridApi.getEditingCells().map((c) => `${c.rowIndex}/${c.column?.getColId()}`));
      for (const key of changed) {
        const slash = key.indexOf('/');
        const node = gridApi.getRowNode(key.slice(0, slash));
        const column = key.slice(slash + 1);
        if (!node || editing.has(`${node.rowIndex}/${column}`)) continue;
        gridApi.refreshCells({ force: true, rowNodes: [node], columns: [column] });
      }
    };
    awareness.on('change', onChange);
    onChange();
    return () => awareness.off('change', onChange);
  }, [provider, lineById]);

  useEffect(() => {
    const previous = activeFilters;
    activeFilters = filters;
    // Re-filtering redraws the rows, which ends an edit in progress: only for a filter that changed.
    if (previous.region !== filters.region || previous.category !== filters.category || previous.quarter !== filters.quarter) {
      api.current?.onFilterChanged();
    }
  }, [filters]);

  const presenceOf = useCallback((key: string) => presence.current.get(key) ?? [], []);
  const presenceStyle = useCallback(
    (params: CellClassParams<GridRow>) => {
      const column = params.colDef.field ?? '';
      const people = params.data && isEditable(column) ? presenceOf(cellKey(params.data.id, column)) : [];
      // An explicit 'none': AG Grid keeps a previous inline style when the function returns nothing.
      return { boxShadow: people.length > 0 ? `inset 0 0 0 2px ${people[0].color}` : 'none' };
    },
    [presenceOf],
  );

  const markOf = useCallback((lineId: string, column: string) => context.marks.get(markKey(lineId, column)), [context]);
  const columns = useMemo<ColDef<GridRow>[]>(() => {
    const withRules = (col: ColDef<GridRow>): ColDef<GridRow> => ({ ...col, cellClassRules: { ...RANGE_RULES, ...col.cellClassRules } });
    const readonlyCol = (col: ColDef<GridRow>): ColDef<GridRow> =>
      withRules({ ...col, editable: false, cellClass: ['cell-readonly', ...(col.type === 'numericColumn' ? ['cell-number'] : [])] });
    const editableCol = (field: EditableColumn, col: ColDef<GridRow>): ColDef<GridRow> =>
      withRules({
        field,
        headerName: field === 'comment' ? COLUMN_LABELS[field] : withUnit(COLUMN_LABELS[field]),
        editable: !readOnly,
        cellClass: readOnly ? ['cell-readonly', field === 'comment' ? '' : 'cell-number'] : ['cell-editable', field === 'comment' ? '' : 'cell-number'],
        cellRenderer: PresenceCell,
        cellRendererParams: { presenceOf, markOf },
        cellStyle: presenceStyle as never,
        ...col,
      });
    // The identifying columns stay in view on a narrow screen; the category always.
    // null, not undefined: AG Grid keeps a column's pinned state when the new definition leaves it unsaid.
    const pinOnNarrow = narrow ? ('left' as const) : null;
    return ([
      {
        colId: ROW_NUMBER,
        headerName: '#',
        headerTooltip: 'Select all',
        valueGetter: (p) => (p.node?.rowIndex ?? 0) + 1,
        width: 46,
        pinned: 'left',
        sortable: false,
        resizable: false,
        suppressNavigable: true,
        cellClass: 'row-number',
      },
      readonlyCol({ field: 'productCategory', headerName: 'Category', pinned: 'left', width: 130 }),
      readonlyCol({ field: 'region', headerName: 'Region', width: 150, pinned: pinOnNarrow }),
      readonlyCol({ field: 'quarter', headerName: 'Quarter', width: 84, pinned: pinOnNarrow }),
      readonlyCol({ field: 'priorYearActual', headerName: withUnit('Prior year actual'), type: 'numericColumn', width: 172, valueFormatter: (p) => formatAmount(p.value) }),
      editableCol('budgetAmount', { type: 'numericColumn', width: 180, valueFormatter: (p) => formatAmount(p.value) }),
      readonlyCol({
        field: 'variance',
        headerName: withUnit('Variance vs PY'),
        type: 'numericColumn',
        width: 160,
        valueFormatter: (p) => (p.value === null || p.value === undefined ? '' : `${p.value >= 0 ? '+' : ''}${formatAmount(p.value)}`),
        cellClassRules: { 'cell-negative': (p) => (p.value ?? 0) < 0, 'cell-positive': (p) => (p.value ?? 0) > 0 },
      }),
      readonlyCol({ field: 'variancePct', headerName: 'Var %', type: 'numericColumn', width: 90, valueFormatter: (p) => formatPercent(p.value ?? null) }),
      editableCol('forecastSales', { type: 'numericColumn', width: 180, valueFormatter: (p) => formatAmount(p.value) }),
      editableCol('comment', { flex: 1, minWidth: 200, cellEditor: 'agLargeTextCellEditor', cellEditorPopup: true, cellEditorParams: { maxLength: 2000 } }),
    ] satisfies ColDef<GridRow>[] as ColDef<GridRow>[]).map((col) => {
      // The person's own width for a column they resized (not for the one that fills the rest).
      const saved = widths.current[col.colId ?? col.field ?? ''];
      const sized = saved && !col.flex && col.resizable !== false ? { ...col, width: saved } : col;
      const field = col.field;
      if (!field) return sized;
      // Sorted by the values the rows had when the person sorted (sortedFrom), not by the live ones.
      const sortValue = (node: IRowNode<GridRow>, live: unknown) => {
        const then = node.data ? sortedFrom.current.get(node.data.id) : undefined;
        return then ? then[field] : live;
      };
      return { ...sized, comparator: (a: unknown, b: unknown, nodeA: IRowNode<GridRow>, nodeB: IRowNode<GridRow>) => compareSortValues(sortValue(nodeA, a), sortValue(nodeB, b)) };
    });
  }, [readOnly, presenceOf, presenceStyle, markOf, narrow]);
  const onColumnResized = useCallback(
    (e: ColumnResizedEvent<GridRow>) => {
      if (!e.finished || e.source !== 'uiColumnResized' || !widthsOf) return;
      for (const column of e.columns ?? []) {
        if (!column.getColDef().flex) widths.current[column.getColId()] = column.getActualWidth();
      }
      writeSetting(widthsOf, 'grid.columnWidths', widths.current);
    },
    [widthsOf],
  );

  /** Writes values into the document as one edit of this person (one undo step). */
  const write = useCallback(
    (changes: Map<string, number | string | null>) => {
      // Its own undo step, whatever came just before or comes just after (the manager merges edits within 300 ms).
      undo.stopCapturing();
      grid.doc.transact(() => {
        for (const [key, value] of changes) {
          if (value === null) cells.delete(key);
          else cells.set(key, value);
          pending.current.set(key, { value: value ?? undefined, at: Date.now() });
        }
      }, LOCAL_EDIT);
      undo.stopCapturing();
    },
    [cells, grid.doc, undo],
  );

  const onCellEditRequest = useCallback(
    (event: CellEditRequestEvent<GridRow>) => {
      const column = event.colDef.field ?? '';
      if (readOnly || !event.data || !isEditable(column)) return;
      const parsed = parseCell(column, event.newValue);
      if (!parsed.ok) return onNotice(parsed.reason);
      write(new Map([[cellKey(event.data.id, column), parsed.value]]));
    },
    [onNotice, readOnly, write],
  );

  // ------------------------------------------------------------------------------------------ ranges
  /** The data columns as displayed (the row numbers excluded), in order. */
  const dataColumns = useCallback((): string[] => {
    const ids = api.current?.getAllDisplayedColumns().map((c) => c.getColId()) ?? [];
    return ids.filter((id) => id !== ROW_NUMBER);
  }, []);
  const indexColumns = useCallback(() => {
    context.colIndex = new Map(dataColumns().map((id, i) => [id, i]));
  }, [context, dataColumns]);

  const view = useCallback((): View => {
    const gridApi = api.current!;
    const rowIds: string[] = [];
    for (let i = 0; i < gridApi.getDisplayedRowCount(); i++) rowIds.push(gridApi.getDisplayedRowAtIndex(i)!.data!.id);
    return { rowIds, columnIds: dataColumns(), value: (row, column) => (gridApi.getDisplayedRowAtIndex(row)?.data as Record<string, unknown> | undefined)?.[column] };
  }, [dataColumns]);

  /** Redraws the range's classes on the rendered cells (not forced: values and editors are left alone). */
  const redrawRange = useCallback(() => api.current?.refreshCells({ suppressFlash: true }), []);

  const setRange = useCallback(
    (next: Range | null) => {
      const previous = rangeRef.current;
      if (previous && next && JSON.stringify(previous) === JSON.stringify(next)) return;
      rangeRef.current = next;
      context.bounds = next ? boundsOf(next) : null;
      setRangeState(next);
      redrawRange();
    },
    [context, redrawRange],
  );

  const clampCell = useCallback((cell: Cell): Cell => {
    const rows = api.current?.getDisplayedRowCount() ?? 0;
    const cols = context.colIndex.size;
    return { row: Math.max(0, Math.min(rows - 1, cell.row)), col: Math.max(0, Math.min(cols - 1, cell.col)) };
  }, [context]);

  /** Scrolls a cell into view. */
  const reveal = useCallback((cell: Cell) => {
    const gridApi = api.current;
    if (!gridApi) return;
    gridApi.ensureIndexVisible(cell.row);
    const colId = dataColumns()[cell.col];
    if (colId) gridApi.ensureColumnVisible(colId);
  }, [dataColumns]);

  /** Moves AG Grid's focus (the active cell) without collapsing the range when `keep`. */
  const focusCell = useCallback((cell: Cell, keep: boolean) => {
    const colId = dataColumns()[cell.col];
    if (!colId) return;
    if (keep) expectFocus(`${cell.row}/${colId}`);
    api.current?.setFocusedCell(cell.row, colId);
  }, [dataColumns, expectFocus]);

  /** Writes a plan as one edit and says what happened. */
  const apply = useCallback(
    (plan: Plan, done: string): boolean => {
      if (readOnly) {
        onNotice('This budget is read-only: nothing was changed.');
        return false;
      }
      if (plan.changes.size > 0) write(plan.changes);
      const notes = [`${done} ${plan.changes.size} cell${plan.changes.size === 1 ? '' : 's'}`];
      if (plan.refused.length > 0) notes.push(`refused ${plan.refused.length}: ${plan.refused[0]}`);
      onNotice(notes.join('; ') + '.');
      return plan.changes.size > 0;
    },
    [onNotice, readOnly, write],
  );

  /** The current range, or the focused cell as a range of one. */
  const currentBounds = useCallback((): Bounds | null => {
    if (rangeRef.current) return boundsOf(rangeRef.current);
    const focused = api.current?.getFocusedCell();
    const col = focused ? context.colIndex.get(focused.column.getColId()) : undefined;
    return focused && col !== undefined ? boundsOf(single({ row: focused.rowIndex, col })) : null;
  }, [context]);

  const copyText = useCallback((): string | null => {
    const b = currentBounds();
    if (!b || !api.current) return null;
    onNotice(`Copied ${b.bottom - b.top + 1} × ${b.right - b.left + 1} cell${cellCount(b) === 1 ? '' : 's'}.`);
    return toTsv(view(), b);
  }, [currentBounds, onNotice, view]);

  const clearRange = useCallback(() => {
    const b = currentBounds();
    if (b) apply(planClear(view(), b), 'Cleared');
  }, [apply, currentBounds, view]);

  const fillDown = useCallback(() => {
    const b = currentBounds();
    if (b) apply(planFillDown(view(), b), 'Filled down');
  }, [apply, currentBounds, view]);

  const history = useCallback(
    (row: number, colId: string, element?: HTMLElement | null) => {
      const lineId = api.current?.getDisplayedRowAtIndex(row)?.data?.id;
      if (!onCellHistory || !lineId || !isEditable(colId)) return;
      const cellElement = element ?? frame.current?.querySelector<HTMLElement>(`.ag-row[row-index="${row}"] .ag-cell[col-id="${colId}"]`);
      onCellHistory(lineId, colId, (cellElement ?? frame.current!).getBoundingClientRect());
    },
    [onCellHistory],
  );

  const onBulk = useCallback(
    (action: BulkAction): string | null => {
      const b = currentBounds();
      if (!b || !api.current) return 'Select the cells first.';
      const v = view();
      if (action.kind === 'set') {
        const plan = planSetValue(v, b, action.text);
        if (plan.changes.size === 0 && plan.refused.length > 0) return plan.refused[0].replace(/^[^:]*: /, '');
        apply(plan, 'Set');
      } else if (action.kind === 'percent') {
        apply(planPercent(v, b, action.percent), `${action.percent >= 0 ? 'Added' : 'Subtracted'} ${Math.abs(action.percent)}% to`);
      } else {
        const current = (lineId: string, column: EditableColumn) => {
          const value = cells.get(cellKey(lineId, column));
          return typeof value === 'number' ? value : null;
        };
        const plan = planSpread(v, b, lines, current, action.annual, action.mode);
        const fallback = plan.evenFallback > 0 ? ` (${plan.evenFallback} without last year's actuals: evenly)` : '';
        apply(plan, `Spread over the quarters of ${plan.groups} category and region${plan.groups === 1 ? '' : 's'}${fallback}:`);
      }
      // Back to the grid, the range kept, so the keys (Ctrl+Z, arrows) work on it at once.
      if (rangeRef.current) focusCell(rangeRef.current.anchor, true);
      return null;
    },
    [apply, cells, currentBounds, lines, view, focusCell],
  );

  // Ctrl+C: the keydown leaves the text here and the copy event that follows puts it on the clipboard.
  useEffect(() => {
    const onCopy = (event: ClipboardEvent) => {
      const text = pendingCopy.current;
      if (text === null || !event.clipboardData) return;
      pendingCopy.current = null;
      event.clipboardData.setData('text/plain', text);
      event.preventDefault();
    };
    document.addEventListener('copy', onCopy);
    return () => document.removeEventListener('copy', onCopy);
  }, []);

  // Marks: the cells whose mark came or went are redrawn (their class and title), not the one being edited.
  useEffect(() => {
    const previous = context.marks;
    context.marks = cellMarks;
    const gridApi = api.current;
    if (!gridApi || previous === cellMarks) return;
    const changed = [...new Set([...previous.keys(), ...cellMarks.keys()])].filter((key) => previous.get(key) !== cellMarks.get(key));
    const editing = new Set(gridApi.getEditingCells().map((c) => `${c.rowIndex}/${c.column?.getColId()}`));
    for (const key of changed) {
      const colon = key.lastIndexOf(':');
      const node = gridApi.getRowNode(key.slice(0, colon));
      const column = key.slice(colon + 1);
      if (!node || editing.has(`${node.rowIndex}/${column}`) || !isEditable(column)) continue;
      gridApi.refreshCells({ force: true, rowNodes: [node], columns: [column] });
    }
  }, [cellMarks, context]);

  // onCellSeen changes whenever the lines or the person's notifications do; the grid is handed one function for good.
  const cellSeen = useRef(onCellSeen);
  useLayoutEffect(() => {
    cellSeen.current = onCellSeen;
  }, [onCellSeen]);
  const onCellFocused = useCallback(
    (event: CellFocusedEvent<GridRow>) => {
      const column = typeof event.column === 'string' ? event.column : event.column?.getColId();
      const row = event.rowIndex !== null && event.rowIndex !== undefined ? api.current?.getDisplayedRowAtIndex(event.rowIndex) : undefined;
      provider.awareness.setLocalStateField('cell', row?.data && column && isEditable(column) ? cellKey(row.data.id, column) : null);
      if (row?.data && column && context.marks.has(markKey(row.data.id, column))) cellSeen.current?.(row.data.id, column);
      const focused = `${event.rowIndex}/${column}`;
      const again = lastFocused.current === focused;
      lastFocused.current = focused;
      if (focusExpected(focused)) return;
      // AG Grid focuses the focused cell again on its own (after a scroll redraws it, say): that is no move, and
      // must not collapse a range that Shift extended from it meanwhile. CI saw Shift+End's 1 × 9 range fall
      // back to one cell. Moves the grid makes itself set the range first (focusCell with keep).
      if (again) return;
      const col = column ? context.colIndex.get(column) : undefined;
      if (event.rowIndex !== null && event.rowIndex !== undefined && col !== undefined) setRange(single({ row: event.rowIndex, col }));
    },
    [provider, context, setRange, focusExpected],
  );

  const onPaste = useCallback(
    (event: React.ClipboardEvent) => {
      const gridApi = api.current;
      if (!gridApi || gridApi.getEditingCells().length > 0) return; // pasting inside an editor: the editor's business
      event.preventDefault();
      if (readOnly) return onNotice('This budget is read-only: nothing was pasted.');
      const b = currentBounds();
      if (!b) return onNotice('Select the cell where the pasted block should start.');
      const v = view();
      const block = parseBlock(event.clipboardData.getData('text/plain'));
      // One value onto a range fills the range, as in Excel.
      if (block.length === 1 && block[0].length === 1 && cellCount(b) > 1) {
        apply(planSetValue(v, b, block[0][0]), 'Pasted into');
        return;
      }
      const plan = planPaste(block, { rowIds: [...v.rowIds], columnIds: [...v.columnIds], startRow: b.top, startColumn: b.left });
      if (plan.changes.size > 0) write(plan.changes);
      const notes = [`Pasted ${plan.changes.size} cell${plan.changes.size === 1 ? '' : 's'}`];
      if (plan.skipped > 0) notes.push(`skipped ${plan.skipped} read-only or out-of-grid`);
      if (plan.refused.length > 0) notes.push(`refused ${plan.refused.length}: ${plan.refused[0].reason}`);
      onNotice(notes.join('; ') + '.');
      // The pasted block becomes the range.
      const width = Math.max(...block.map((r) => r.length));
      setRange({ anchor: { row: b.top, col: b.left }, focus: clampCell({ row: b.top + block.length - 1, col: b.left + width - 1 }) });
    },
    [apply, clampCell, currentBounds, onNotice, readOnly, setRange, view, write],
  );

  /**
   * Tab (Shift+Tab) while editing: the entry is committed and the next (previous) editable cell of the row, or of
   * the next (previous) row, gets the focus without an editor, as Enter moves down and as Excel does; typing then
   * starts a fresh entry from that key. AG Grid's own Tab opens the next cell's editor at once and selects its text
   * a moment later (its focus is handed over in a timer), selecting whatever was typed meanwhile, so the next key
   * replaced it: "500, Tab, 4200" typed briskly stored 200.
   */
  const tabOutOfEditor = useCallback(
    (backwards: boolean): boolean => {
      const gridApi = api.current;
      const editing = gridApi?.getEditingCells()[0];
      if (!gridApi || !editing?.column) return false;
      const columnIds = dataColumns();
      const editable = columnIds.map((id, col) => ({ id, col })).filter((c) => isEditable(c.id));
      const from = columnIds.indexOf(editing.column.getColId());
      const inRow = backwards ? editable.filter((c) => c.col < from).pop() : editable.find((c) => c.col > from);
      const row = inRow ? editing.rowIndex : editing.rowIndex + (backwards ? -1 : 1);
      const target = inRow ?? (backwards ? editable[editable.length - 1] : editable[0]);
      gridApi.stopEditing();
      if (!target || row < 0 || row >= gridApi.getDisplayedRowCount()) return true; // the grid's edge: stay
      reveal({ row, col: target.col });
      focusCell({ row, col: target.col }, false);
      return true;
    },
    [dataColumns, focusCell, reveal],
  );

  /** The cell last told read-only (`onKeyDown`), and when. */
  const lastReadOnlyNotice = useRef({ cell: '', at: 0 });
  const onKeyDown = useCallback(
    (event: React.KeyboardEvent) => {
      const gridApi = api.current;
      if (!gridApi) return;
      if (gridApi.getEditingCells().length) {
        if (event.key === 'Tab' && !event.ctrlKey && !event.metaKey && !event.altKey && tabOutOfEditor(event.shiftKey)) {
          event.preventDefault();
          event.stopPropagation();
        }
        return;
      }
      // Keys typed in the header (its sort buttons) or a menu are theirs.
      if (!(event.target instanceof Element) || !event.target.closest('.ag-body, .ag-body-viewport, .ag-center-cols-viewport, .ag-pinned-left-cols-container, .ag-row')) return;
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      const handled = () => {
        event.preventDefault();
        event.stopPropagation();
      };
      if (mod && key === 'z' && !event.shiftKey) {
        handled();
        undo.undo();
      } else if (mod && (key === 'y' || (key === 'z' && event.shiftKey))) {
        handled();
        undo.redo();
      } else if (mod && key === 'c') {
        pendingCopy.current = copyText();
        // Had no copy event followed (no selection to copy, say), the clipboard API takes the text.
        const text = pendingCopy.current;
        setTimeout(() => {
          if (text !== null && pendingCopy.current === text) {
            pendingCopy.current = null;
            void navigator.clipboard?.writeText(text).catch(() => onNotice('The browser did not let the grid use the clipboard.'));
          }
        }, 0);
      } else if (mod && key === 'd') {
        handled();
        fillDown();
      } else if (mod && key === 'a') {
        handled();
        const rows = gridApi.getDisplayedRowCount();
        if (rows > 0) setRange({ anchor: { row: 0, col: 0 }, focus: { row: rows - 1, col: context.colIndex.size - 1 } });
      } else if (!mod && !event.altKey && (key === 'Delete' || key === 'Backspace')) {
        handled();
        clearRange();
      } else if (event.altKey && !mod && (event.code === 'KeyH' || key === 'h')) {
        handled();
        const focused = gridApi.getFocusedCell();
        if (focused) history(focused.rowIndex, focused.column.getColId());
      } else if (key === 'Escape' && rangeRef.current) {
        const a = rangeRef.current.anchor;
        setRange(single(a));
      } else if (['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown'].includes(key)) {
        const focusedCell = gridApi.getFocusedCell();
        const focusedCol = focusedCell ? context.colIndex.get(focusedCell.column.getColId()) : undefined;
        const r = rangeRef.current ?? (focusedCell && focusedCol !== undefined ? single({ row: focusedCell.rowIndex, col: focusedCol }) : null);
        if (!r) return;
        const lastRow = gridApi.getDisplayedRowCount() - 1;
        const lastCol = context.colIndex.size - 1;
        const from = event.shiftKey ? r.focus : r.anchor;
        let to: Cell | null = null;
        // Home/End: the row's first or last column; with Ctrl, the grid's first or last cell (as in Excel).
        if (key === 'Home') to = mod ? { row: 0, col: 0 } : { row: from.row, col: 0 };
        else if (key === 'End') to = mod ? { row: lastRow, col: lastCol } : { row: from.row, col: lastCol };
        else if (event.shiftKey && !key.startsWith('Page')) {
          // Shift+arrow extends by one; Ctrl+Shift+arrow to the edge.
          const step = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[key as 'ArrowUp']!;
          to = mod
            ? { row: step[0] < 0 ? 0 : step[0] > 0 ? lastRow : from.row, col: step[1] < 0 ? 0 : step[1] > 0 ? lastCol : from.col }
            : { row: from.row + step[0], col: from.col + step[1] };
        }
        if (!to) return; // plain arrows and pages: AG Grid moves the focus, which collapses the range
        handled();
        to = clampCell(to);
        reveal(to);
        if (event.shiftKey) setRange({ anchor: r.anchor, focus: to });
        else {
          setRange(single(to));
          focusCell(to, true);
        }
      } else if (!mod && !event.altKey && (key.length === 1 || key === 'F2')) {
        // Typing into a cell that takes no input: AG Grid does nothing, so the person (who may not see the tints,
        // or the screen) is told why, once per cell and key burst rather than per keystroke.
        const focusedCell = gridApi.getFocusedCell();
        const colId = focusedCell?.column.getColId();
        if (!focusedCell || !colId || colId === ROW_NUMBER || (!readOnly && isEditable(colId))) return;
        const cell = `${focusedCell.rowIndex}/${colId}`;
        const now = Date.now();
        if (lastReadOnlyNotice.current.cell === cell && now - lastReadOnlyNotice.current.at < 5000) return;
        lastReadOnlyNotice.current = { cell, at: now };
        const name = focusedCell.column.getColDef().headerName ?? colId;
        onNotice(
          readOnly
            ? 'This budget is read-only: nothing can be typed in.'
            : `${name} is read-only. You can type in ${Object.values(COLUMN_LABELS).join(', ')} (the columns marked ✎).`,
        );
      }
    },
    [undo, copyText, onNotice, fillDown, setRange, context, clearRange, history, clampCell, reveal, focusCell, tabOutOfEditor, readOnly],
  );

  // Mouse: press on a cell to start a range (Shift: extend it), drag to grow it; a row number selects rows; the
  // square at the range's corner drags a fill.
  const onMouseDown = useCallback(
    (event: React.MouseEvent) => {
      if (event.button !== 0) return;
      const hit = cellAt(event.target);
      const gridApi = api.current;
      if (!hit || !gridApi || hit.element.classList.contains('ag-cell-inline-editing')) return;
      const lastCol = context.colIndex.size - 1;
      const r = rangeRef.current;
      if (hit.colId === ROW_NUMBER) {
        const anchorRow = event.shiftKey && r ? r.anchor.row : hit.row;
        dragging.current = 'rows';
        setRange({ anchor: { row: anchorRow, col: 0 }, focus: { row: hit.row, col: lastCol } });
        event.preventDefault();
        event.stopPropagation();
        focusCell({ row: anchorRow, col: 0 }, true);
        frame.current?.classList.add('selecting');
        return;
      }
      const col = context.colIndex.get(hit.colId);
      if (col === undefined) return;
      if (r && !readOnly && hit.element.classList.contains('range-corner')) {
        const box = hit.element.getBoundingClientRect();
        if (event.clientX >= box.right - 10 && event.clientY >= box.bottom - 10) {
          event.preventDefault();
          event.stopPropagation();
          dragging.current = 'fill';
          context.fillTo = boundsOf(r).bottom;
          frame.current?.classList.add('filling');
          return;
        }
      }
      expectFocus(`${hit.row}/${hit.colId}`);
      dragging.current = 'cells';
      frame.current?.classList.add('selecting');
      if (event.shiftKey && r) {
        event.preventDefault();
        setRange({ anchor: r.anchor, focus: { row: hit.row, col } });
      } else setRange(single({ row: hit.row, col }));
    },
    [context, readOnly, setRange, focusCell, expectFocus],
  );

  useEffect(() => {
    const onMove = (event: MouseEvent) => {
      const mode = dragging.current;
      const r = rangeRef.current;
      if (!mode || !r) return;
      if (event.buttons === 0) return onUp();
      const hit = cellAt(event.target);
      if (!hit) return;
      if (mode === 'fill') {
        const to = Math.max(boundsOf(r).bottom, hit.row);
        if (to !== context.fillTo) {
          context.fillTo = to;
          redrawRange();
        }
      } else if (mode === 'rows') setRange({ anchor: r.anchor, focus: { row: hit.row, col: r.focus.col } });
      else {
        const col = context.colIndex.get(hit.colId);
        if (col !== undefined) setRange({ anchor: r.anchor, focus: { row: hit.row, col } });
      }
    };
    const onUp = () => {
      const mode = dragging.current;
      dragging.current = null;
      frame.current?.classList.remove('selecting', 'filling');
      const r = rangeRef.current;
      if (mode !== 'fill' || !r) return;
      const b = boundsOf(r);
      const to = context.fillTo ?? b.bottom;
      context.fillTo = null;
      if (to > b.bottom) {
        apply(planFill(view(), b, [b.top, b.bottom], [b.bottom + 1, to]), 'Filled');
        setRange({ anchor: { row: b.top, col: b.left }, focus: { row: to, col: b.right } });
      } else redrawRange();
    };
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    return () => {
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
    };
  }, [apply, context, redrawRange, setRange, view]);

  const onSelectColumn = useCallback(
    (colId: string, extend: boolean) => {
      const gridApi = api.current;
      const rows = gridApi?.getDisplayedRowCount() ?? 0;
      if (!gridApi || rows === 0) return;
      const lastCol = context.colIndex.size - 1;
      // The row numbers' header: everything.
      if (colId === ROW_NUMBER) {
        setRange({ anchor: { row: 0, col: 0 }, focus: { row: rows - 1, col: lastCol } });
        focusCell({ row: 0, col: 0 }, true);
        return;
      }
      const col = context.colIndex.get(colId);
      if (col === undefined) return;
      const r = rangeRef.current;
      const anchorCol = extend && r ? r.anchor.col : col;
      setRange({ anchor: { row: 0, col: anchorCol }, focus: { row: rows - 1, col } });
      focusCell({ row: 0, col: anchorCol }, true);
    },
    [context, focusCell, setRange],
  );
  const selectColumn = useRef(onSelectColumn);
  useLayoutEffect(() => {
    selectColumn.current = onSelectColumn;
  }, [onSelectColumn]);
  const defaultColumn = useMemo<ColDef<GridRow>>(
    () => ({
      sortable: true,
      resizable: true,
      suppressHeaderMenuButton: true,
      // Dragging from a header never moves a column by accident.
      suppressMovable: true,
      headerComponent: HeaderCell,
      headerComponentParams: { onSelectColumn: (colId: string, extend: boolean) => selectColumn.current(colId, extend) } satisfies HeaderCellParams,
    }),
    [],
  );

  const onContextMenu = useCallback(
    (event: React.MouseEvent) => {
      const hit = cellAt(event.target);
      const gridApi = api.current;
      if (!hit || !gridApi || hit.colId === ROW_NUMBER) return;
      event.preventDefault();
      const col = context.colIndex.get(hit.colId);
      const b = rangeRef.current ? boundsOf(rangeRef.current) : null;
      if (col !== undefined && !(b && contains(b, hit.row, col))) {
        setRange(single({ row: hit.row, col }));
        focusCell({ row: hit.row, col }, true);
      }
      const lineId = gridApi.getDisplayedRowAtIndex(hit.row)?.data?.id ?? null;
      setMenu({ x: event.clientX, y: event.clientY, lineId, column: hit.colId, element: hit.element });
    },
    [context, focusCell, setRange],
  );
  const closeMenu = useCallback(() => setMenu(null), []);
  const menuItems = (): MenuItem[] => {
    if (!menu) return [];
    const items: MenuItem[] = [
      {
        label: 'Copy',
        shortcut: 'Ctrl+C',
        run: () => {
          const text = copyText();
          if (text !== null) void navigator.clipboard?.writeText(text).catch(() => onNotice('The browser did not let the grid use the clipboard: use Ctrl+C.'));
        },
      },
      { label: 'Clear', shortcut: 'Delete', disabled: readOnly, run: clearRange },
      { label: 'Fill down', shortcut: 'Ctrl+D', disabled: readOnly, run: fillDown },
    ];
    if (onCellHistory && menu.lineId && isEditable(menu.column)) {
      const rowIndex = api.current?.getRowNode(menu.lineId)?.rowIndex;
      const { column, element } = menu;
      items.push({ label: 'History…', shortcut: 'Alt+H', run: () => rowIndex != null && history(rowIndex, column, element.isConnected ? element : null) });
    }
    return items;
  };

  // What the bar above says about the range.
  const bar = (() => {
    const b = range ? boundsOf(range) : null;
    const gridApi = api.current;
    if (!b || !gridApi) return null;
    const columnIds = dataColumns();
    let sum: number | null = null;
    let editable = 0;
    let amounts = 0;
    for (let row = b.top; row <= b.bottom; row++) {
      const data = gridApi.getDisplayedRowAtIndex(row)?.data as Record<string, unknown> | undefined;
      for (let col = b.left; col <= b.right; col++) {
        const column = columnIds[col];
        const value = data?.[column];
        if (typeof value === 'number' && column !== 'variancePct') sum = (sum ?? 0) + value;
        if (isEditable(column)) {
          editable += 1;
          if (column !== 'comment') amounts += 1;
        }
      }
    }
    return { rows: b.bottom - b.top + 1, columns: b.right - b.left + 1, sum, editable, amounts };
  })();

  // Every prop handed to AG Grid is stable: a new object or function on a re-render makes the grid
  // re-apply its options, which ends an edit in progress.
  const showDocumentNow = useRef(showDocument);
  useLayoutEffect(() => {
    showDocumentNow.current = showDocument;
  }, [showDocument]);
  const gridReady = useCallback(
    (e: GridReadyEvent<GridRow>) => {
      api.current = e.api;
      indexColumns();
      showDocumentNow.current();
      // Filters set before the grid was ready (the person's kept ones, at once): AG Grid asked the external filter
      // when it started, before the effect above set them, and asks again only when told.
      if (isFilterPresent()) e.api.onFilterChanged();
      if (keysHintId) frame.current?.querySelector('[role="grid"], [role="treegrid"]')?.setAttribute('aria-describedby', keysHintId);
    },
    [indexColumns, keysHintId],
  );
  // Sorting or filtering moves the rows under the range: it starts again from the focused cell; row numbers follow.
  const onRowsReordered = useCallback(() => {
    publishVisible();
    setRange(null);
    api.current?.refreshCells({ columns: [ROW_NUMBER] });
  }, [publishVisible, setRange]);
  const onSortChanged = useCallback(() => {
    const gridApi = api.current;
    if (gridApi) {
      // AG Grid sorts on the same event (its own listener runs first), still by the values of the previous sort: this
      // sort is by the rows as they are now, so it is done again with those.
      const rows = new Map<string, GridRow>();
      gridApi.forEachNode((node) => node.data && rows.set(node.data.id, node.data));
      sortedFrom.current = rows;
      gridApi.refreshClientSideRowModel('sort');
    }
    onRowsReordered();
  }, [onRowsReordered]);
  const onColumnsChanged = useCallback(() => {
    indexColumns();
    setRange(null);
  }, [indexColumns, setRange]);

  return (
    <>
      <RangeBar
        rows={bar?.rows ?? 0}
        columns={bar?.columns ?? 0}
        sum={bar?.sum ?? null}
        editable={bar?.editable ?? 0}
        amounts={bar?.amounts ?? 0}
        readOnly={readOnly || !bar}
        onAction={onBulk}
      />
      <div
        ref={frame}
        className="grid-frame"
        onPaste={onPaste}
        onKeyDownCapture={onKeyDown}
        onMouseDownCapture={onMouseDown}
        onContextMenu={onContextMenu}
        data-testid="budget-grid"
      >
        <AgGridReact<GridRow>
          theme={theme}
          rowData={initialRows}
          columnDefs={columns}
          getRowId={rowId}
          context={context}
          readOnlyEdit
          onCellEditRequest={onCellEditRequest}
          onCellFocused={onCellFocused}
          stopEditingWhenCellsLoseFocus
          enterNavigatesVerticallyAfterEdit
          isExternalFilterPresent={isFilterPresent}
          doesExternalFilterPass={passesFilter}
          onGridReady={gridReady}
          onFilterChanged={onRowsReordered}
          onSortChanged={onSortChanged}
          onDisplayedColumnsChanged={onColumnsChanged}
          onColumnResized={onColumnResized}
          defaultColDef={defaultColumn}
          processUnpinnedColumns={unpinFromTheRight}
        />
      </div>
      {menu && <ContextMenu x={menu.x} y={menu.y} items={menuItems()} onClose={closeMenu} />}
    </>
  );
});
