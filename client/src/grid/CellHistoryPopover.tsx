/**
 * A cell's history, beside the cell: every change of that line's column, newest first (who, when, from what to
 * what, and by which path: the grid, the API, a spreadsheet import, a restore), from `cellHistory`. Each entry
 * can set the cell back to the value it replaced (`restoreCell`: the one write path, audited as RESTORE, every
 * open grid shows it at once); offered to who may change the budget now, and not for the value the cell already
 * holds. The server's refusals are shown as it words them.
 *
 * A non-modal dialog: it takes the focus when it opens, Escape or a click elsewhere closes it and the focus goes
 * back to where it was (the grid's cell).
 */
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { CellHistoryDocument, RestoreCellDocument, type CellHistoryQuery } from '../graphql/generated';
import { problemOf } from '../common/errors';
import { formatDateTime } from '../common/format';
import { COLUMN_LABELS, formatAmount, isEditable } from './cells';
import './history.css';

export type HistoryEntry = CellHistoryQuery['cellHistory'][number];

export const SOURCE_WORDS: Record<string, string> = {
  GRID: 'in the grid',
  API: 'through the API',
  IMPORT: 'by a spreadsheet import',
  RESTORE: 'by restoring an earlier value',
};

/** An audit entry's value as the grid shows it: amounts formatted, comments quoted, nothing as "empty". */
export function auditValueText(column: string, text: string | null | undefined): string {
  if (text === null || text === undefined || text === '') return 'empty';
  if (column === 'comment') return `“${text.length > 80 ? `${text.slice(0, 80)}…` : text}”`;
  const n = Number(text);
  return Number.isFinite(n) ? formatAmount(n) : text;
}

export const columnLabel = (column: string) => (isEditable(column) ? COLUMN_LABELS[column] : column);

interface Props {
  lineId: string;
  column: string;
  /** Where the cell is on screen: the popover opens below it (above when there is no room). */
  anchor: DOMRect;
  /** What the line is, for the title ("Hardware · North · Q1"). */
  lineLabel: string;
  /** Whether the person may change the budget now (the grid is not read-only). */
  canEdit: boolean;
  onClose: () => void;
}

/** "Restore 500", "Restore empty"; a comment's text is in the button's name and title, not its face. */
function restoreLabel(column: string, oldValue: string | null): string {
  return column === 'comment' && oldValue ? 'Restore' : `Restore ${auditValueText(column, oldValue)}`;
}

const WIDTH = 420;
const GAP = 6;

export function CellHistoryPopover({ lineId, column, anchor, lineLabel, canEdit, onClose }: Props) {
  const history = useQuery(CellHistoryDocument, { variables: { lineId, column }, fetchPolicy: 'network-only' });
  const [restore] = useMutation(RestoreCellDocument);
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const [position, setPosition] = useState<{ top: number; left: number }>({ top: anchor.bottom + GAP, left: anchor.left });
  const close = useRef(onClose);
  close.current = onClose;

  // Below the cell, or above it when it would leave the window; never past the window's sides.
  useLayoutEffect(() => {
    const height = box.current?.offsetHeight ?? 0;
    const width = Math.min(WIDTH, window.innerWidth - 16);
    const left = Math.max(8, Math.min(anchor.left, window.innerWidth - width - 8));
    const below = anchor.bottom + GAP;
    const top = below + height > window.innerHeight - 8 && anchor.top - GAP - height > 8 ? anchor.top - GAP - height : below;
    setPosition({ top: Math.max(8, top), left });
  }, [anchor, history.data]);

  // The focus comes in on opening and goes back where it was on closing.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    box.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        close.current();
      }
    };
    const onPointer = (event: PointerEvent) => {
      if (!box.current?.contains(event.target as Node)) close.current();
    };
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('pointerdown', onPointer);
      if (before && document.contains(before)) before.focus();
    };
  }, []);

  const entries = history.data?.cellHistory ?? [];
  const current = entries[0]?.newValue ?? null;

  async function restoreTo(entry: HistoryEntry) {
    setBusy(entry.id);
    setProblem(null);
    setDone(null);
    try {
      await restore({ variables: { changeId: entry.id } });
      setDone(`Set back to ${auditValueText(column, entry.oldValue)}.`);
      await history.refetch();
    } catch (err) {
      setProblem(problemOf(err).message);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div
      ref={box}
      className="history-popover"
      role="dialog"
      aria-labelledby={titleId}
      tabIndex={-1}
      style={{ top: position.top, left: position.left, width: Math.min(WIDTH, window.innerWidth - 16) }}
      data-testid="cell-history"
    >
      <div className="history-head">
        <div>
          <h2 id={titleId}>History of {columnLabel(column)}</h2>
          <p className="muted small">
            {lineLabel}
            {entries.length > 0 && <> · now <span data-testid="history-now">{auditValueText(column, current)}</span></>}
          </p>
        </div>
        <button type="button" className="history-close" aria-label="Close history" onClick={onClose}>
          ×
        </button>
      </div>
      {history.error && (
        <p className="history-note error" role="alert">
          {problemOf(history.error).message}
        </p>
      )}
      {!history.data && !history.error && <p className="history-note">Loading…</p>}
      {history.data && entries.length === 0 && <p className="history-note">No change yet: this cell holds its first value.</p>}
      {problem && (
        <p className="history-note error" role="alert">
          Could not restore: {problem}
        </p>
      )}
      {done && (
        <p className="history-note good" role="status">
          {done}
        </p>
      )}
      {entries.length > 0 && (
        <ol className="history-list" aria-label="Changes, newest first">
          {entries.map((entry) => {
            const same = (entry.oldValue ?? '') === (current ?? '');
            const reason = !canEdit ? 'You cannot change this budget now' : same ? 'The cell holds this value now' : undefined;
            return (
              <li key={entry.id} data-testid="history-entry">
                <div className="history-who">
                  <strong>{entry.user?.displayName ?? 'Someone no longer here'}</strong>{' '}
                  <span className="muted">{SOURCE_WORDS[entry.source] ?? entry.source.toLowerCase()}</span>
                  <time className="muted small" dateTime={entry.at}>
                    {formatDateTime(entry.at)}
                  </time>
                </div>
                <div className="history-change">
                  <span className="history-values">
                    <span className="history-old">{auditValueText(column, entry.oldValue)}</span>
                    <span aria-hidden="true"> → </span>
                    <span className="visually-hidden"> to </span>
                    <span className="history-new">{auditValueText(column, entry.newValue)}</span>
                  </span>
                  <button
                    type="button"
                    className="secondary small-button"
                    disabled={reason !== undefined || busy !== null}
                    title={reason ?? `Set the cell back to ${auditValueText(column, entry.oldValue)}`}
                    aria-label={`Restore ${auditValueText(column, entry.oldValue)}`}
                    onClick={() => void restoreTo(entry)}
                  >
                    {busy === entry.id ? 'Restoring…' : restoreLabel(column, entry.oldValue)}
                  </button>
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
