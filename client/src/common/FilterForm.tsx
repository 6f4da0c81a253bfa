/**
 * A list's filters kept in the address (`?unit=...&person=...`), so that a filtered view can be shared,
 * bookmarked and reloaded, and the form that edits them: typed into a draft, applied on submit (not on every
 * keystroke), cleared at once. Back and forward bring the form along with the list.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';

export type FilterValues<K extends string> = Record<K, string>;

export function useUrlFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const signatureOf = (values: Partial<FilterValues<K>>) => keys.map((k) => `${k}=${(values[k] ?? '').trim()}`).join('&');
  const signature = keys.map((k) => `${k}=${params.get(k) ?? ''}`).join('&');
  // Recomputed only when these keys' values change, so that the list's variables keep their identity.
  const applied = useMemo(() => Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as FilterValues<K>, [signature]);
  const [draft, setDraft] = useState<FilterValues<K>>(applied);
  // The address this form wrote last, until it is shown: the form already holds it, and may hold more typed since
  // (a field filled right after Clear), which taking the address's values again would wipe.
  const written = useRef<string | null>(null);
  useEffect(() => {
    if (written.current === signature) {
      written.current = null;
      return;
    }
    // The address changed by itself (back, forward, a link): the form follows it.
    setDraft(applied);
  }, [applied]);

  const write = (values: Partial<FilterValues<K>>) => {
    const next = signatureOf(values);
    written.current = next === signature ? null : next;
    setParams((current) => {
      const updated = new URLSearchParams(current);
      for (const k of keys) {
        const value = (values[k] ?? '').trim();
        if (value) updated.set(k, value);
        else updated.delete(k);
      }
      return updated;
    });
  };
  const empty = Object.fromEntries(keys.map((k) => [k, ''])) as FilterValues<K>;
  return {
    applied,
    draft,
    /** Changes one field of the form (not the list). */
    edit: (key: K, value: string) => setDraft((d) => ({ ...d, [key]: value })),
    apply: () => write(draft),
    /** Drops one applied filter (a chip's remove button), keeping the others. */
    drop: (key: K) => {
      setDraft((d) => ({ ...d, [key]: '' }));
      write({ ...applied, [key]: '' });
    },
    clear: () => {
      setDraft(empty);
      write({});
    },
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
