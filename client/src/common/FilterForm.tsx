/**
 * A list's filters kept in the address (`?unit=...&person=...`), so that a filtered view can be shared,
 * bookmarked and reloaded, and the form that edits them: typed into a draft, applied on submit (not on every
 * keystroke), cleared at once. Back and forward bring the form along with the list.
 */
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';

export type FilterValues<K extends string> = Record<K, string>;

export function useUrlFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const signature = keys.map((k) => `${k}=${params.get(k) ?? ''}`).join('&');
  // Recomputed only when these keys' values change, so that the list's variables keep their identity.
  const applied = useMemo(() => Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as FilterValues<K>, [signature]);
  const [draft, setDraft] = useState<FilterValues<K>>(applied);
  useEffect(() => setDraft(applied), [applied]);

  const write = (values: Partial<FilterValues<K>>) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const k of keys) {
        const value = (values[k] ?? '').trim();
        if (value) next.set(k, value);
        else next.delete(k);
      }
      return next;
    });
  return {
    applied,
    draft,
    /** Changes one field of the form (not the list). */
    edit: (key: K, value: string) => setDraft((d) => ({ ...d, [key]: value })),
    apply: () => write(draft),
    /** Drops one applied filter (a chip's remove button), keeping the others. */
    drop: (key: K) => write({ ...applied, [key]: '' }),
    clear: () => write({}),
    filtered: keys.some((k) => applied[k] !== ''),
  };
}

/** The filter bar: its fields, Apply, and Clear while something is applied. */
export function FilterForm({ label, filtered, onApply, onClear, children }: {
  label: string;
  filtered: boolean;
  onApply: () => void;
  onClear: () => void;
  children: ReactNode;
}) {
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply();
  };
  return (
    <form className="filters" role="search" aria-label={label} onSubmit={submit}>
      {children}
      <div className="filter-actions">
        <button type="submit">Apply</button>
        {filtered && <button type="button" className="secondary" onClick={onClear}>Clear</button>}
      </div>
    </form>
  );
}

/** The start of a local day (yyyy-mm-dd) as the server's DateTimeISO; empty: null. */
export function startOfDay(day: string): string | null {
  return day ? new Date(`${day}T00:00:00`).toISOString() : null;
}

/** The last millisecond of a local day (yyyy-mm-dd), so that "to" includes that whole day; empty: null. */
export function endOfDay(day: string): string | null {
  if (!day) return null;
  const next = new Date(`${day}T00:00:00`);
  next.setDate(next.getDate() + 1);
  return new Date(next.getTime() - 1).toISOString();
}
