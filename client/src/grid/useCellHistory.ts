/**
 * The grid page's side of "history where people look": which cells a colleague overwrote (the person's unread
 * CELL_OVERWRITTEN notifications for lines of the open unit, live from the bell's feed) as `cellMarks` for the
 * grid, "Changed by <name> at <time>: was <value>"; a marked cell seen (focused) or its history opened marks
 * those notifications read and the mark goes. And which cell's history popover is open: from the grid (its
 * context menu or Alt+H), or on arriving from the bell with `?line=&column=` (then taken out of the address).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { useSearchParams } from 'react-router';
import { CellHistoryDocument } from '../graphql/generated';
import { useNotifications, type NotificationItem } from '../notifications/useNotifications';
import { auditValueText } from './CellHistoryPopover';

export interface LineLabel {
  id: string;
  productCategory: string;
  region: string;
  quarter: string;
}

export interface OpenHistory {
  lineId: string;
  column: string;
  anchor: DOMRect;
  lineLabel: string;
}

const markKey = (lineId: string, column: string) => `${lineId}:${column}`;

function timeText(iso: string): string {
  const at = new Date(iso);
  return new Date().toDateString() === at.toDateString()
    ? at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function useCellHistory(lines: readonly LineLabel[] | undefined) {
  const apollo = useApolloClient();
  const { unread, markRead } = useNotifications();
  const [params, setParams] = useSearchParams();
  const [open, setOpen] = useState<OpenHistory | null>(null);
  /** Notification id -> the value the overwrite replaced (from the cell's history), once read. */
  const [was, setWas] = useState<ReadonlyMap<string, string>>(new Map());
  const asked = useRef(new Set<string>());

  const lineById = useMemo(() => new Map((lines ?? []).map((l) => [l.id, l])), [lines]);
  const labelOf = useCallback((lineId: string) => {
    const line = lineById.get(lineId);
    return line ? `${line.productCategory} · ${line.region} · ${line.quarter}` : '';
  }, [lineById]);

  /** The unread overwrites of this unit's cells, by cell, newest first. */
  const overwrites = useMemo(() => {
    const byCell = new Map<string, NotificationItem[]>();
    for (const n of unread) {
      if (n.kind !== 'CELL_OVERWRITTEN' || !n.line || !n.column || !lineById.has(n.line.id)) continue;
      const key = markKey(n.line.id, n.column);
      byCell.set(key, [...(byCell.get(key) ?? []), n]);
    }
    return byCell;
  }, [unread, lineById]);

  // What each overwrite replaced: the cell's history entry made at the notification's moment.
  useEffect(() => {
    const missing = [...overwrites.values()].map((list) => list[list.length - 1]).filter((n) => !asked.current.has(n.id));
    if (missing.length === 0) return;
    for (const n of missing.slice(0, 20)) {
      asked.current.add(n.id);
      apollo
        .query({ query: CellHistoryDocument, variables: { lineId: n.line!.id, column: n.column! }, fetchPolicy: 'network-only' })
        .then(({ data }) => {
          const entries = data?.cellHistory ?? [];
          const at = new Date(n.at).getTime();
          const entry = entries.find((e) => e.at === n.at) ?? entries.find((e) => new Date(e.at).getTime() <= at);
          if (entry) setWas((current) => new Map(current).set(n.id, auditValueText(n.column!, entry.oldValue)));
        })
        .catch(() => undefined); // the mark says who and when without it
    }
  }, [apollo, overwrites]);

  const cellMarks = useMemo(() => {
    const marks = new Map<string, string>();
    for (const [key, list] of overwrites) {
      const newest = list[0];
      // Overwritten more than once: what the person had set is what the first overwrite replaced.
      const before = was.get(list[list.length - 1].id);
      const others = list.length > 1 ? ` (${list.length} changes)` : '';
      marks.set(key, `Changed by ${newest.actor?.displayName ?? 'someone'} at ${timeText(newest.at)}${others}${before ? `: was ${before}` : ''}`);
    }
    return marks as ReadonlyMap<string, string>;
  }, [overwrites, was]);

  const onCellSeen = useCallback(
    (lineId: string, column: string) => {
      const list = overwrites.get(markKey(lineId, column));
      if (list) void markRead(list.map((n) => n.id));
    },
    [overwrites, markRead],
  );

  const onCellHistory = useCallback(
    (lineId: string, column: string, anchor: DOMRect) => {
      setOpen({ lineId, column, anchor, lineLabel: labelOf(lineId) });
      onCellSeen(lineId, column);
    },
    [labelOf, onCellSeen],
  );

  // Arriving from the bell: the cell's history, beside the cell when it is drawn, else at the grid's top. Once
  // for each arrival (the address is cleaned up after it, but not within the same render).
  const wantedLine = params.get('line');
  const wantedColumn = params.get('column');
  const openFor = useRef(onCellHistory);
  openFor.current = onCellHistory;
  const arrived = useRef<string | null>(null);
  useEffect(() => {
    if (!wantedLine || !wantedColumn || !lineById.has(wantedLine)) return;
    const arrival = `${wantedLine}:${wantedColumn}`;
    if (arrived.current === arrival) return;
    arrived.current = arrival;
    const cell = document.querySelector(`[data-testid=budget-grid] .ag-row[row-id="${CSS.escape(wantedLine)}"] .ag-cell[col-id="${CSS.escape(wantedColumn)}"]`);
    const frame = document.querySelector('[data-testid=budget-grid]');
    const anchor = cell?.getBoundingClientRect() ?? frame?.getBoundingClientRect() ?? new DOMRect(16, 120, 0, 0);
    openFor.current(wantedLine, wantedColumn, cell ? anchor : new DOMRect(anchor.left + 16, anchor.top + 40, 0, 0));
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        next.delete('line');
        next.delete('column');
        return next;
      },
      { replace: true },
    );
  }, [wantedLine, wantedColumn, lineById, setParams]);
  useEffect(() => {
    if (!wantedLine) arrived.current = null;
  }, [wantedLine]);

  return { cellMarks, onCellSeen, onCellHistory, open, close: useCallback(() => setOpen(null), []) };
}
