/**
 * The budget grid: AG Grid Community as a view over the unit's live Yjs document.
 *
 * - Edits never change the grid directly (read-only-edit mode): they go into the document as this person's
 *   transaction, and the grid re-renders from the document, for local and remote changes alike.
 * - Undo and redo act on this person's edits only (Y.UndoManager with the local origin).
 * - Pasting a block copied from Excel fills a range (written here: range paste is Enterprise-only in AG Grid).
 * - Other people's selected cells are outlined in their colour, with their name.
 */
import { forwardRef, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef } from 'react';
import { AgGridReact } from 'ag-grid-react';
import {
  AllCommunityModule,
  ModuleRegistry,
  themeQuartz,
  type CellClassParams,
  type CellEditRequestEvent,
  type CellFocusedEvent,
  type ColDef,
  type GetRowIdParams,
  type GridReadyEvent,
  type GridApi,
  type ICellRendererParams,
  type IRowNode,
} from 'ag-grid-community';
import type * as Y from 'yjs';
import { cellKey, COLUMN_LABELS, formatAmount, formatPercent, isEditable, parseCell, type EditableColumn } from './cells';
import { parseBlock, planPaste } from './paste';
import { othersPresence, type PresenceUser } from './presenceState';
import { LOCAL_EDIT, type GridDocument } from './useGridDocument';

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
}

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

/** Shows a value and, when others have this cell selected, a tag with their name. */
function PresenceCell(params: ICellRendererParams<GridRow> & { presenceOf: (key: string) => PresenceUser[] }) {
  const column = params.colDef?.field ?? '';
  const people = params.data && isEditable(column) ? params.presenceOf(cellKey(params.data.id, column)) : [];
  // A few names and a count: however many people share a cell, the tag stays a tag.
  const names = people.slice(0, 3).map((p) => p.name).join(', ') + (people.length > 3 ? ` +${people.length - 3}` : '');
  return (
    <span className="presence-cell">
      {params.valueFormatted ?? params.value}
      {people.length > 0 && (
        <span className={`presence-tag ${column === 'comment' ? 'right' : 'left'}`} style={{ background: people[0].color }} title={names}>
          {names}
        </span>
      )}
    </span>
  );
}

const DEFAULT_COLUMN: ColDef<GridRow> = { sortable: true, resizable: true, suppressHeaderMenuButton: true };
const rowId = (p: GetRowIdParams<GridRow>) => p.data.id;

/** The current filters, read by AG Grid's external filter (a module-level function keeps its identity). */
let activeFilters: Filters = { region: '', category: '', quarter: '' };
const isFilterPresent = () => Boolean(activeFilters.region || activeFilters.category || activeFilters.quarter);
const passesFilter = (node: IRowNode<GridRow>) => {
  const f = activeFilters;
  const d = node.data!;
  return (!f.region || d.region === f.region) && (!f.category || d.productCategory === f.category) && (!f.quarter || d.quarter === f.quarter);
};

export const BudgetGrid = forwardRef<BudgetGridHandle, Props>(function BudgetGrid({ lines, grid, readOnly, filters, onNotice, onVisibleRows }, ref) {
  const api = useRef<GridApi<GridRow> | null>(null);
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

  useImperativeHandle(ref, () => ({ undo: () => undo.undo(), redo: () => undo.redo() }), [undo]);

  const publishVisible = useCallback(() => {
    const rows: GridRow[] = [];
    api.current?.forEachNodeAfterFilterAndSort((node) => node.data && rows.push(node.data));
    onVisibleRows(rows);
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
              `Your change to ${COLUMN_LABELS[column] ?? column}${line ? ` (${line.productCategory}, ${line.region}, ${line.quarter})` : ''} was refused or overwritten by someone else.`,
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
      if (!gridApi || changed.length === 0) return;
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
    activeFilters = filters;
    api.current?.onFilterChanged();
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

  const columns = useMemo<ColDef<GridRow>[]>(() => {
    const readonlyCol = (col: ColDef<GridRow>): ColDef<GridRow> => ({ ...col, editable: false, cellClass: ['cell-readonly', ...(col.type === 'numericColumn' ? ['cell-number'] : [])] });
    const editableCol = (field: EditableColumn, col: ColDef<GridRow>): ColDef<GridRow> => ({
      field,
      headerName: COLUMN_LABELS[field],
      editable: !readOnly,
      cellClass: readOnly ? ['cell-readonly', field === 'comment' ? '' : 'cell-number'] : ['cell-editable', field === 'comment' ? '' : 'cell-number'],
      cellRenderer: PresenceCell,
      cellRendererParams: { presenceOf },
      cellStyle: presenceStyle as never,
      ...col,
    });
    return [
      readonlyCol({ field: 'productCategory', headerName: 'Category', pinned: 'left', width: 130 }),
      readonlyCol({ field: 'region', headerName: 'Region', width: 170 }),
      readonlyCol({ field: 'quarter', headerName: 'Quarter', width: 90 }),
      readonlyCol({ field: 'priorYearActual', headerName: 'Prior year actual', type: 'numericColumn', width: 150, valueFormatter: (p) => formatAmount(p.value) }),
      editableCol('budgetAmount', { type: 'numericColumn', width: 150, valueFormatter: (p) => formatAmount(p.value) }),
      readonlyCol({
        field: 'variance',
        headerName: 'Variance vs PY',
        type: 'numericColumn',
        width: 140,
        valueFormatter: (p) => (p.value === null || p.value === undefined ? '' : `${p.value >= 0 ? '+' : ''}${formatAmount(p.value)}`),
        cellClassRules: { 'cell-negative': (p) => (p.value ?? 0) < 0, 'cell-positive': (p) => (p.value ?? 0) > 0 },
      }),
      readonlyCol({ field: 'variancePct', headerName: 'Var %', type: 'numericColumn', width: 95, valueFormatter: (p) => formatPercent(p.value ?? null) }),
      editableCol('forecastSales', { type: 'numericColumn', width: 150, valueFormatter: (p) => formatAmount(p.value) }),
      editableCol('comment', { flex: 1, minWidth: 220, cellEditor: 'agLargeTextCellEditor', cellEditorPopup: true, cellEditorParams: { maxLength: 2000 } }),
    ];
  }, [readOnly, presenceOf, presenceStyle]);

  /** Writes values into the document as one edit of this person (one undo step). */
  const write = useCallback(
    (changes: Map<string, number | string | null>) => {
      grid.doc.transact(() => {
        for (const [key, value] of changes) {
          if (value === null) cells.delete(key);
          else cells.set(key, value);
          pending.current.set(key, { value: value ?? undefined, at: Date.now() });
        }
      }, LOCAL_EDIT);
    },
    [cells, grid.doc],
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

  const onCellFocused = useCallback(
    (event: CellFocusedEvent<GridRow>) => {
      const column = typeof event.column === 'string' ? event.column : event.column?.getColId();
      const row = event.rowIndex !== null && event.rowIndex !== undefined ? api.current?.getDisplayedRowAtIndex(event.rowIndex) : undefined;
      provider.awareness.setLocalStateField('cell', row?.data && column && isEditable(column) ? cellKey(row.data.id, column) : null);
    },
    [provider],
  );

  const onPaste = useCallback(
    (event: React.ClipboardEvent) => {
      const gridApi = api.current;
      if (!gridApi || gridApi.getEditingCells().length > 0) return; // pasting inside an editor: the editor's business
      event.preventDefault();
      if (readOnly) return onNotice('This budget is read-only: nothing was pasted.');
      const focused = gridApi.getFocusedCell();
      if (!focused) return onNotice('Select the cell where the pasted block should start.');
      const rowIds: string[] = [];
      for (let i = 0; i < gridApi.getDisplayedRowCount(); i++) rowIds.push(gridApi.getDisplayedRowAtIndex(i)!.data!.id);
      const columnIds = gridApi.getAllDisplayedColumns().map((c) => c.getColId());
      const block = parseBlock(event.clipboardData.getData('text/plain'));
      const plan = planPaste(block, { rowIds, columnIds, startRow: focused.rowIndex, startColumn: columnIds.indexOf(focused.column.getColId()) });
      if (plan.changes.size > 0) write(plan.changes);
      const notes = [`Pasted ${plan.changes.size} cell${plan.changes.size === 1 ? '' : 's'}`];
      if (plan.skipped > 0) notes.push(`skipped ${plan.skipped} read-only or out-of-grid`);
      if (plan.refused.length > 0) notes.push(`refused ${plan.refused.length}: ${plan.refused[0].reason}`);
      onNotice(notes.join('; ') + '.');
    },
    [onNotice, readOnly, write],
  );

  const onKeyDown = useCallback(
    (event: React.KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || api.current?.getEditingCells().length) return;
      const key = event.key.toLowerCase();
      if (key === 'z' && !event.shiftKey) {
        event.preventDefault();
        undo.undo();
      } else if (key === 'y' || (key === 'z' && event.shiftKey)) {
        event.preventDefault();
        undo.redo();
      }
    },
    [undo],
  );

  // Every prop handed to AG Grid is stable: a new object or function on a re-render makes the grid
  // re-apply its options, which ends an edit in progress.
  const showDocumentNow = useRef(showDocument);
  useLayoutEffect(() => {
    showDocumentNow.current = showDocument;
  }, [showDocument]);
  const gridReady = useCallback((e: GridReadyEvent<GridRow>) => {
    api.current = e.api;
    showDocumentNow.current();
  }, []);

  return (
    <div className="grid-frame" onPaste={onPaste} onKeyDownCapture={onKeyDown} data-testid="budget-grid">
      <AgGridReact<GridRow>
        theme={theme}
        rowData={initialRows}
        columnDefs={columns}
        getRowId={rowId}
        readOnlyEdit
        onCellEditRequest={onCellEditRequest}
        onCellFocused={onCellFocused}
        stopEditingWhenCellsLoseFocus
        enterNavigatesVertically
        enterNavigatesVerticallyAfterEdit
        isExternalFilterPresent={isFilterPresent}
        doesExternalFilterPass={passesFilter}
        onGridReady={gridReady}
        onFilterChanged={publishVisible}
        onSortChanged={publishVisible}
        defaultColDef={DEFAULT_COLUMN}
      />
    </div>
  );
});
