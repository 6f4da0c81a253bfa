/**
 * Above the grid: what is selected (size, sum of its amounts) and the bulk actions on it: set a value, add or
 * subtract a percentage, spread an annual figure over the quarters (evenly or by last year's seasonality).
 */
import { useState, type FormEvent } from 'react';
import { formatAmount } from '../cells';
import type { SpreadMode } from './range';

export type BulkAction = { kind: 'set'; text: string } | { kind: 'percent'; percent: number } | { kind: 'spread'; annual: number | null; mode: SpreadMode };

interface Props {
  rows: number;
  columns: number;
  sum: number | null;
  /** Editable cells in the range; amount cells among them (percent and spread need amounts). */
  editable: number;
  amounts: number;
  readOnly: boolean;
  onAction: (action: BulkAction) => string | null;
}

type Open = 'set' | 'percent' | 'spread' | null;

export function RangeBar({ rows, columns, sum, editable, amounts, readOnly, onAction }: Props) {
  const [open, setOpen] = useState<Open>(null);
  const [text, setText] = useState('');
  const [mode, setMode] = useState<SpreadMode>('even');
  const [error, setError] = useState<string | null>(null);
  const toggle = (which: Open) => {
    setOpen(open === which ? null : which);
    setText('');
    setError(null);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let action: BulkAction;
    if (open === 'set') action = { kind: 'set', text };
    else if (open === 'percent') {
      const percent = Number(text.replace('%', '').replace(',', '.').trim());
      if (!text.trim() || !Number.isFinite(percent)) return setError('Type a percentage, e.g. 5 or -2.5');
      action = { kind: 'percent', percent };
    } else {
      const t = text.replace(/[\s,€$£]/g, '');
      const annual = t === '' ? null : Number(t);
      if (annual !== null && (!Number.isFinite(annual) || annual < 0)) return setError('Type an annual amount, or leave it empty to spread the current totals');
      action = { kind: 'spread', annual, mode };
    }
    const problem = onAction(action);
    if (problem) setError(problem);
    else setOpen(null);
  };
  const cells = rows * columns;
  return (
    <div className="range-bar" data-testid="range-bar">
      <span className="range-size" data-testid="range-size">
        {cells > 1 ? `${rows} × ${columns} selected` : '1 cell selected'}
        {sum !== null && cells > 1 && <> · Sum <b data-testid="range-sum">{formatAmount(sum)}</b></>}
      </span>
      {/* Bulk changes are not offered to someone who may only read (the size and sum are of use to them too). */}
      {!readOnly && (
        <>
          <button type="button" className="secondary small" disabled={editable === 0} aria-expanded={open === 'set'} onClick={() => toggle('set')}>
            Set value…
          </button>
          <button type="button" className="secondary small" disabled={amounts === 0} aria-expanded={open === 'percent'} onClick={() => toggle('percent')}>
            ± %…
          </button>
          <button type="button" className="secondary small" disabled={amounts === 0} aria-expanded={open === 'spread'} onClick={() => toggle('spread')}
            title="Spread an annual figure over the four quarters of each category and region in the selection">
            Spread year…
          </button>
        </>
      )}
      {open && (
        <form className="range-form" onSubmit={submit} aria-label="Bulk change">
          <label>
            {open === 'set' ? 'Value for the selected editable cells' : open === 'percent' ? 'Change amounts by (%)' : 'Annual amount per category and region'}
            <input
              autoFocus
              value={text}
              onChange={(e) => setText(e.target.value)}
              placeholder={open === 'percent' ? 'e.g. 5 or -2.5' : open === 'spread' ? 'empty: spread the current totals' : 'empty clears'}
              aria-label={open === 'set' ? 'Value' : open === 'percent' ? 'Percentage' : 'Annual amount'}
              onKeyDown={(e) => e.key === 'Escape' && setOpen(null)}
            />
          </label>
          {open === 'spread' && (
            <label>
              Over the quarters
              <select value={mode} onChange={(e) => setMode(e.target.value as SpreadMode)} aria-label="Spread">
                <option value="even">evenly</option>
                <option value="seasonal">by last year's seasonality</option>
              </select>
            </label>
          )}
          <button type="submit" className="small">Apply</button>
          <button type="button" className="link small" onClick={() => setOpen(null)}>Cancel</button>
          {error && <span className="range-error" role="alert">{error}</span>}
        </form>
      )}
      {editable > 0 && <span className="muted small range-hint">{editable} editable cell{editable === 1 ? '' : 's'}</span>}
    </div>
  );
}
