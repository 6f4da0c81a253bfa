/**
 * A unit's grid document kept in this browser (IndexedDB, y-indexeddb) while the person may edit it, so that
 * edits made offline survive closing the tab: opened again, the document starts from the stored copy, and the
 * connection sends what the server lacks, where it is validated like any other change (refused values are put
 * back by the server, a unit submitted meanwhile takes nothing).
 *
 * Kept only while the unit is editable for the person: a read-only document has nothing of theirs to keep, and
 * its stored copy (with edits the server would drop) is deleted. Signing out deletes every copy in this browser
 * (`clearLocalCopies`), so a shared computer keeps no budget behind; an expired session keeps them, since
 * bringing them back after signing in again is the point.
 */
import { useEffect } from 'react';
import type * as Y from 'yjs';
import { clearDocument, IndexeddbPersistence } from 'y-indexeddb';

/** The stored copies' names, so that signing out can delete them all. */
const INDEX_KEY = 'plansync.localGridCopies';

function storedNames(): string[] {
  try {
    const names = JSON.parse(localStorage.getItem(INDEX_KEY) ?? '[]');
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

function setStoredNames(names: string[]): void {
  if (names.length === 0) localStorage.removeItem(INDEX_KEY);
  else localStorage.setItem(INDEX_KEY, JSON.stringify(names));
}

/** The copy's name: per person and document, so two people sharing a browser never mix their edits. */
export function localCopyName(email: string, docName: string): string {
  return `plansync-grid:${email}:${docName}`;
}

/** Deletes every grid copy kept in this browser (signing out). */
export async function clearLocalCopies(): Promise<void> {
  const names = storedNames();
  setStoredNames([]);
  await Promise.all(names.map((name) => clearDocument(name).catch(() => undefined)));
}

/** `keep`: whether the person may edit the unit now (undefined while not known yet: nothing is done). */
export function useLocalCopy(doc: Y.Doc | undefined, name: string, keep: boolean | undefined): void {
  useEffect(() => {
    if (!doc || keep === undefined || typeof indexedDB === 'undefined') return;
    if (!keep) {
      if (storedNames().includes(name)) {
        setStoredNames(storedNames().filter((n) => n !== name));
        void clearDocument(name).catch(() => undefined);
      }
      return;
    }
    if (!storedNames().includes(name)) setStoredNames([...storedNames(), name]);
    const store = new IndexeddbPersistence(name, doc);
    return () => void store.destroy();
  }, [doc, name, keep]);
}
