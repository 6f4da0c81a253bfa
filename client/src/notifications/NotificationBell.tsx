/**
 * The bell in the top bar: how many notifications are unread (live, from `notificationAdded`), and a dropdown of
 * the newest with where each leads: an overwritten cell to its unit's grid (its history open), a review to the
 * grid page, a step awaiting input or failed to its execution in the workflow monitor. Opening one marks it read;
 * "Mark all read" marks every one. The button names the count for screen readers; Escape, a click elsewhere or
 * tabbing out closes the dropdown, and Escape gives the focus back to the button.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useNow } from '../common/useNow';
import { notificationTarget } from './notificationTarget';
import { KIND_LABEL, useNotificationFeed, useNotifications, whenText, type NotificationItem } from './useNotifications';
import './notifications.css';

export function NotificationBell() {
  useNotificationFeed();
  const { recent, unread, loaded, error, markRead, refresh } = useNotifications();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const now = useNow(open, 30_000);
  const count = unread.length;
  const shown = count > 99 ? '99+' : String(count);
  const label = count === 0 ? 'Notifications, none unread' : `Notifications, ${count} unread`;

  // Opened: read from the server again (a call to answer a step someone else has answered is read by now).
  useEffect(() => {
    if (open) refresh();
  }, [open, refresh]);

  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  function opened(n: NotificationItem) {
    setOpen(false);
    if (!n.read) void markRead([n.id]);
  }

  return (
    <div
      className="bell"
      ref={root}
      // Tabbing out of the dropdown closes it, as a click elsewhere does.
      onBlur={(event) => {
        if (open && event.relatedTarget && !root.current?.contains(event.relatedTarget as Node)) setOpen(false);
      }}
    >
      <button
        ref={button}
        type="button"
        className="bell-button"
        aria-label={label}
        aria-expanded={open}
        aria-haspopup="dialog"
        title={label}
        data-testid="bell"
        onClick={() => setOpen((o) => !o)}
      >
        <BellIcon />
        {count > 0 && (
          <span className="bell-count" data-testid="bell-count" aria-hidden="true">
            {shown}
          </span>
        )}
      </button>
      {open && (
        <div className="bell-panel" role="dialog" aria-labelledby={titleId} ref={panel} tabIndex={-1} data-testid="bell-panel">
          <div className="bell-head">
            <h2 id={titleId}>Notifications</h2>
            <button type="button" className="link" onClick={() => void markRead()} disabled={count === 0}>
              Mark all read
            </button>
          </div>
          {error && <p className="bell-empty" role="alert">Could not load your notifications: {error.message}</p>}
          {!error && !loaded && <p className="bell-empty">Loading…</p>}
          {loaded && recent.length === 0 && <p className="bell-empty">Nothing yet. You are told here when a colleague changes a value you set, your budget is reviewed, or a step needs you.</p>}
          {recent.length > 0 && (
            <ul className="bell-list">
              {recent.map((n) => (
                <li key={n.id} className={n.read ? 'read' : 'unread'}>
                  <Link to={notificationTarget(n)} onClick={() => opened(n)} data-kind={n.kind}>
                    <span className="bell-kind">
                      {!n.read && <span className="bell-dot" aria-label="Unread" />}
                      {KIND_LABEL[n.kind] ?? n.kind}
                    </span>
                    <span className="bell-message">{messageOf(n)}</span>
                    <span className="bell-meta">
                      {n.actor && !messageOf(n).includes(n.actor.displayName) ? `${n.actor.displayName} · ` : ''}
                      <time dateTime={n.at} title={new Date(n.at).toLocaleString()}>{whenText(n.at, now)}</time>
                    </span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

const COLUMN_WORDS: Record<string, string> = { budgetAmount: 'Budget amount', forecastSales: 'Forecast sales', comment: 'Comment' };

/** The server's words, except an overwritten cell's, said with the column's label as the grid shows it. */
function messageOf(n: NotificationItem): string {
  if (n.kind !== 'CELL_OVERWRITTEN' || !n.line || !n.column) return n.message;
  const { line } = n;
  return `${n.actor?.displayName ?? 'Someone'} changed ${COLUMN_WORDS[n.column] ?? n.column} of ${line.productCategory} · ${line.region} · ${line.quarter} (${line.businessUnit.code}), which you set last`;
}

function BellIcon() {
  return (
    <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-1.7 1.7A1 1 0 0 0 4 19.4h16a1 1 0 0 0 .7-1.7Z"
      />
    </svg>
  );
}
