/**
 * The grid page's Export menu: the unit's lines of the plan as an Excel or a CSV file, as the server writes
 * them (every line the person may read of the unit, whatever the grid's filters show).
 */
import { useEffect, useRef, useState } from 'react';
import { downloadSheet, SheetRequestError, type SheetFormat } from './spreadsheetHttp';

const CHOICES: { format: SheetFormat; label: string }[] = [
  { format: 'xlsx', label: 'Excel (.xlsx)' },
  { format: 'csv', label: 'CSV (.csv)' },
];

export function SpreadsheetExport({ token, planId, unitCode, onNotice, onUnauthenticated }: {
  token: string;
  planId: string;
  unitCode: string;
  onNotice: (text: string) => void;
  onUnauthenticated: () => void;
}) {
  const menu = useRef<HTMLDetailsElement>(null);
  const [busy, setBusy] = useState<SheetFormat | null>(null);
  const [open, setOpen] = useState(false);
  // A click elsewhere or Escape closes the menu, as a menu does (a <details> alone stays open). Escape pressed
  // within the menu (the focus is on its summary once clicked) is handled on the element itself, at once: the
  // document listener below only exists once the toggle event has come and React has re-rendered, and an Escape
  // pressed right after opening would otherwise find nobody listening.
  useEffect(() => {
    if (!open) return;
    const close = () => {
      if (menu.current) menu.current.open = false;
    };
    const onPointer = (event: PointerEvent) => {
      if (!menu.current?.contains(event.target as Node)) close();
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') close();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  async function exportAs(format: SheetFormat) {
    if (menu.current) {
      // As for Escape: the choice just pressed is hidden with the menu, so the focus goes back to its button.
      menu.current.open = false;
      menu.current.querySelector('summary')?.focus();
    }
    setBusy(format);
    try {
      const name = await downloadSheet(token, planId, unitCode, format);
      onNotice(`Exported ${name}.`);
    } catch (err) {
      if (err instanceof SheetRequestError && err.unauthenticated) onUnauthenticated();
      onNotice(`Could not export: ${(err as Error).message}`);
    } finally {
      setBusy(null);
    }
  }

  return (
    <details
      className="menu"
      ref={menu}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      onKeyDown={(e) => {
        if (e.key !== 'Escape' || !e.currentTarget.open) return;
        // The focus goes back to the menu's button: left on a choice that closing hides, it would fall to the
        // page's body, and a keyboard user would start again from the top.
        e.currentTarget.open = false;
        e.currentTarget.querySelector('summary')?.focus();
      }}
    >
      <summary className="button secondary" aria-busy={busy !== null}>{busy ? 'Exporting…' : 'Export'}</summary>
      <div className="menu-items" role="group" aria-label="Export as">
        {CHOICES.map(({ format, label }) => (
          <button key={format} type="button" className="secondary" onClick={() => void exportAs(format)} disabled={busy !== null}>
            {label}
          </button>
        ))}
      </div>
    </details>
  );
}
