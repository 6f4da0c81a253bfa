/**
 * Showing only some of a unit's lines in the grid ("the 108 lines without a budget"), from the submit dialog.
 * The grid shows the lines it is given, and adds back the others (in their place, from the live document) when
 * they are given again, so narrowing is handing it fewer lines; the grid's own filters still apply on top.
 * The page says what is shown and offers the way back.
 */
import { useCallback, useMemo, useState } from 'react';

export interface LineFocus {
  ids: ReadonlySet<string>;
  /** What the shown lines are, after "Showing 108 lines": "without a budget". */
  label: string;
}

export function useLineFocus<L extends { id: string }>(lines: L[] | undefined) {
  const [focus, setFocus] = useState<LineFocus | null>(null);
  // The same array while nothing changes: the grid re-applies its rows when it is given a new one.
  const shown = useMemo(() => (lines && focus ? lines.filter((l) => focus.ids.has(l.id)) : lines), [lines, focus]);
  const show = useCallback((ids: Iterable<string>, label: string) => setFocus({ ids: new Set(ids), label }), []);
  const clear = useCallback(() => setFocus(null), []);
  return { focus, shown, show, clear };
}

export function LineFocusBanner({ focus, count, onClear }: { focus: LineFocus | null; count: number; onClear: () => void }) {
  if (!focus) return null;
  return (
    <p className="banner info line-focus" role="status" data-testid="line-focus">
      Showing {count.toLocaleString()} {count === 1 ? 'line' : 'lines'} {focus.label}.{' '}
      <button type="button" className="link" onClick={onClear}>Show all lines</button>
    </p>
  );
}
