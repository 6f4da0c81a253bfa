/**
 * Settings a person makes for themselves in a view (the grid's column widths and filters), kept in this
 * browser under their email, so that two people sharing a browser each find theirs. Not on the server: they
 * are habits of a screen, not data, and a new browser starting from the defaults harms nobody.
 */
import { useCallback, useState } from 'react';

const PREFIX = 'plansync.settings';

function keyOf(email: string, name: string): string {
  return `${PREFIX}.${email}.${name}`;
}

/** The stored value, or `fallback` when there is none or it is not readable (an older shape, say). */
export function readSetting<T>(email: string, name: string, fallback: T, valid: (value: unknown) => value is T): T {
  try {
    const raw = localStorage.getItem(keyOf(email, name));
    if (raw === null) return fallback;
    const value: unknown = JSON.parse(raw);
    return valid(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

export function writeSetting(email: string, name: string, value: unknown): void {
  try {
    localStorage.setItem(keyOf(email, name), JSON.stringify(value));
  } catch {
    // Storage full or refused (private mode): the setting lasts for this page only.
  }
}

/** useState that starts from, and writes to, the person's stored setting. */
export function usePersonalSetting<T>(email: string, name: string, fallback: T, valid: (value: unknown) => value is T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => readSetting(email, name, fallback, valid));
  const set = useCallback(
    (next: T) => {
      setValue(next);
      writeSetting(email, name, next);
    },
    [email, name],
  );
  return [value, set];
}
