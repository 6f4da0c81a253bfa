/**
 * Modal dialogs. A native <dialog> opened with showModal(): focus stays inside, the page behind is inert, and
 * Escape cancels, as people expect of a confirmation. Every "are you sure?" of the admin pages is a
 * ConfirmDialog: what will happen, the server's refusal in its own words, and the two choices.
 */
import { useId, useLayoutEffect, useRef, type ReactNode } from 'react';
import type { ProblemInfo } from './errors';

export function Modal({ title, onCancel, children, wide = false }: {
  title: ReactNode; onCancel: () => void; children: ReactNode; wide?: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  // A layout effect, so that close() runs while the dialog is still in the page: the browser then gives the focus
  // back to what opened it (the button a keyboard or screen reader user pressed). Closed after React removed it,
  // as a passive effect's cleanup runs, the focus fell to the page's body and they had to find their place again.
  useLayoutEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog ref={dialog} className={`confirm${wide ? ' wide' : ''}`} aria-labelledby={titleId} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}

export function ConfirmDialog({ title, children, problem, busy, confirmLabel, busyLabel, danger = false, cancelLabel = 'Cancel', onConfirm, onCancel }: {
  title: ReactNode;
  /** What confirming does, in the reader's terms. */
  children: ReactNode;
  problem: ProblemInfo | null;
  busy: boolean;
  confirmLabel: string;
  /** Shown on the confirm button while the change is on its way ("Deleting…"). */
  busyLabel: string;
  /** Destructive: the confirm button is red. */
  danger?: boolean;
  cancelLabel?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Modal title={title} onCancel={onCancel}>
      {children}
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="button" className={danger ? 'danger' : undefined} onClick={onConfirm} disabled={busy}>{busy ? busyLabel : confirmLabel}</button>
        <button type="button" className="secondary" onClick={onCancel} disabled={busy}>{cancelLabel}</button>
      </div>
    </Modal>
  );
}
