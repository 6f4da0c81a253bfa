/**
 * Yjs internals the grid's validation works with (collab/GridDocument.ts): the struct store's pending
 * structs and delete set, a shared type's own items (`_map`, `_start` and each item's `right`), and the
 * transaction's `local` flag as Yjs's client-id clash check reads it.
 *
 * Relies on yjs 13.6 (checked on 13.6.33):
 * - `doc.store.pendingStructs` (`{ missing, update } | null`) and `doc.store.pendingDs` (`Uint8Array | null`) hold
 *   what `applyUpdate` could not integrate yet because a dependency is missing; Yjs applies them inside whichever
 *   later transaction supplies it, and `encodeStateAsUpdate` sends them along. Setting both to null forgets them.
 * - `type._map` (key to last Item) and `type._start` / `item.right` (the item list) are all of a type's content,
 *   deleted items included; `item.delete(tr)` deletes one in a transaction. The last Item of a key is the value
 *   that won it, and its id names the client that wrote it (`mapValueWriter`: whom a settled cell is credited to).
 * - At the end of a transaction that is not `local` and advanced the document's own client id, Yjs takes the id
 *   for one someone else uses and picks a new one (utils/Transaction.js, `cleanupTransactions`).
 *
 * Why we reach in: not for speed but for the grid's rules. Yjs has no public way to refuse what it holds back
 * (pending structs would be applied, unvalidated, inside a later transaction and credited to its author; commit
 * 5902d31), to delete a type's content whatever kind it is (a client may write a list under the `cells` map, or
 * a nested type), to say who wrote the value a map key holds (a turn's edits settle in one transaction, and each
 * settled cell is credited to its writer), or to say "these changes are ours" in a transaction opened by
 * `applyUpdate` (our reverts of refused content would otherwise make Yjs give the server a new client id on every
 * refusal, and the client-id table, collab/clientIds.ts, would no longer know the server's own).
 *
 * Fallback: none that would be safe, so each function fails closed: `dropPendingStructs` throws when the store
 * no longer has the two fields (an update then closes its connection as invalid instead of holding content
 * unvalidated), and the deletions throw a TypeError on a type without `_map` or `_start`. yjsStore.test.ts fails
 * first, saying what changed, so an upgrade of yjs cannot reach production with these broken.
 *
 * Out of scope: everything Yjs exports (applyUpdate, diffUpdate, parseUpdateMeta, getState...).
 */
import type * as Y from 'yjs';

/** Any shared type: a root or nested Y.Map, Y.Array, Y.Text... */
type SharedType = Y.AbstractType<any>;

/**
 * Forgets whatever `doc` holds back because its dependencies are missing (structs and deletions); true if there
 * was any. What could be integrated stays. Throws when yjs no longer keeps them where this module looks.
 */
export function dropPendingStructs(doc: Y.Doc): boolean {
  const store = doc.store;
  if (!('pendingStructs' in store) || !('pendingDs' in store)) {
    throw new Error('yjs no longer keeps pendingStructs/pendingDs on doc.store: see server/src/internals/yjsStore.ts');
  }
  if (store.pendingStructs === null && store.pendingDs === null) return false;
  store.pendingStructs = null;
  store.pendingDs = null;
  return true;
}

/** Deletes, in `tr`, every live entry of `type`'s map content (its keys), whatever kind of type it is. */
export function deleteMapContent(type: SharedType, tr: Y.Transaction): void {
  type._map.forEach((item) => {
    if (!item.deleted) item.delete(tr);
  });
}

/** Deletes, in `tr`, every live item of `type`'s sequence (list) content, whatever kind of type it is. */
export function deleteSequenceContent(type: SharedType, tr: Y.Transaction): void {
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted) item.delete(tr);
  }
}

/**
 * The client id that wrote the value `type` holds under `key` now (the map's last item for the key), or undefined
 * when it never held one. Concurrent sets of one key leave one value standing; this says whose it is.
 */
export function mapValueWriter(type: SharedType, key: string): number | undefined {
  return type._map.get(key)?.id.client;
}

/**
 * Makes Yjs treat `tr` (opened by `applyUpdate`, so remote) as local when it cleans up: changes made in it under
 * the document's own client id (our reverts) are then not taken for a clash with another client.
 */
export function treatAsLocal(tr: Y.Transaction): void {
  tr.local = true;
}
