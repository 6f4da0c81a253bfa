import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { deleteMapContent, deleteSequenceContent, dropPendingStructs, mapValueWriter, treatAsLocal } from './yjsStore.js';

const HINT = 'See server/src/internals/yjsStore.ts and the grid validation that relies on it (collab/GridDocument.ts).';

/** Two updates of one writer, the second depending on the first (the same client's next clock). */
function twoUpdates(change1: (doc: Y.Doc) => void, change2: (doc: Y.Doc) => void): [Uint8Array, Uint8Array] {
  const writer = new Y.Doc();
  const updates: Uint8Array[] = [];
  writer.on('update', (update: Uint8Array) => updates.push(update));
  change1(writer);
  change2(writer);
  expect(updates).toHaveLength(2);
  return [updates[0], updates[1]];
}

/** What a peer that receives everything `doc` would send (encodeStateAsUpdate) ends up with. */
function copyOf(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

describe("Yjs's pending structs and delete set (dropPendingStructs)", () => {
  const [first, second] = twoUpdates(
    (doc) => doc.getMap('cells').set('a', 1),
    (doc) => doc.getMap('cells').set('b', 2),
  );

  it('holds an update with a missing dependency in store.pendingStructs, and applies it once the dependency comes', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, second);
    expect(doc.store.pendingStructs, `yjs no longer holds structs with missing dependencies in doc.store.pendingStructs. ${HINT}`).not.toBeNull();
    expect(doc.store.pendingStructs!.update).toBeInstanceOf(Uint8Array);
    expect(doc.getMap('cells').has('b')).toBe(false);
    // What the grid must never let happen: the held content applied inside a later transaction.
    Y.applyUpdate(doc, first);
    expect(doc.getMap('cells').toJSON(), `yjs no longer applies held structs when their dependency arrives; dropping them may be unneeded. ${HINT}`).toEqual({ a: 1, b: 2 });
  });

  it('forgets held structs for good once dropped: neither applied later nor sent along', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, second);
    expect(dropPendingStructs(doc)).toBe(true);
    expect(doc.store.pendingStructs).toBeNull();
    Y.applyUpdate(doc, first);
    expect(doc.getMap('cells').toJSON(), `setting store.pendingStructs to null no longer makes yjs forget them. ${HINT}`).toEqual({ a: 1 });
    expect(copyOf(doc).getMap('cells').toJSON(), `encodeStateAsUpdate still sends dropped structs. ${HINT}`).toEqual({ a: 1 });
    expect(dropPendingStructs(doc)).toBe(false);
  });

  it('holds a deletion of unknown content in store.pendingDs, and forgets it once dropped', () => {
    const [insert, deletion] = twoUpdates(
      (doc) => doc.getMap('cells').set('x', 1),
      (doc) => doc.getMap('cells').delete('x'),
    );
    const held = new Y.Doc();
    Y.applyUpdate(held, deletion);
    expect(held.store.pendingDs, `yjs no longer holds deletions of content it lacks in doc.store.pendingDs. ${HINT}`).toBeInstanceOf(Uint8Array);
    Y.applyUpdate(held, insert);
    expect(held.getMap('cells').has('x'), 'the held deletion was not applied once its content came').toBe(false);

    const dropped = new Y.Doc();
    Y.applyUpdate(dropped, deletion);
    expect(dropPendingStructs(dropped)).toBe(true);
    expect(dropped.store.pendingDs).toBeNull();
    Y.applyUpdate(dropped, insert);
    expect(dropped.getMap('cells').get('x'), `setting store.pendingDs to null no longer makes yjs forget the deletion. ${HINT}`).toBe(1);
  });

  it('says which fields are gone when the store no longer has them', () => {
    const doc = new Y.Doc();
    const store = doc.store as unknown as Record<string, unknown>;
    delete store.pendingStructs;
    expect(() => dropPendingStructs(doc)).toThrow(/pendingStructs\/pendingDs.*internals\/yjsStore\.ts/);
  });
});

describe("a shared type's own items (deleteMapContent, deleteSequenceContent)", () => {
  it('deletes every key of a map, nested types included, for every replica', () => {
    const doc = new Y.Doc();
    const other = doc.getMap('other');
    const nested = new Y.Map<unknown>();
    doc.transact(() => {
      other.set('k', 1);
      other.set('n', nested);
      nested.set('z', 2);
    });
    doc.transact((tr) => deleteMapContent(nested, tr));
    expect(nested.size).toBe(0);
    doc.transact((tr) => deleteMapContent(other, tr));
    expect(other.size, `type._map no longer holds a map's entries. ${HINT}`).toBe(0);
    expect(copyOf(doc).getMap('other').toJSON()).toEqual({});
  });

  it('deletes list content written under a root that the server reads as a map', () => {
    const writer = new Y.Doc();
    writer.getArray('cells').push([1, 2, 3]);
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(writer));
    const cells = server.getMap('cells');
    expect(cells.size).toBe(0);
    const revert: Uint8Array[] = [];
    server.on('update', (update: Uint8Array) => revert.push(update));
    server.transact((tr) => deleteSequenceContent(cells, tr));
    expect(revert, `type._start / item.right no longer reach list content under a map. ${HINT}`).toHaveLength(1);
    Y.applyUpdate(writer, revert[0]);
    expect(writer.getArray('cells').length).toBe(0);
  });
});

describe("a transaction's local flag (treatAsLocal)", () => {
  /** The server's situation: a remote update applied, then a change of its own (a revert), in one transaction. */
  function applyThenChange(markLocal: boolean): { before: number; after: number; local: boolean } {
    const writer = new Y.Doc();
    writer.getMap('cells').set('a', 1);
    const server = new Y.Doc();
    const before = server.clientID;
    let local = true;
    server.transact((tr) => {
      Y.applyUpdate(server, Y.encodeStateAsUpdate(writer));
      local = tr.local;
      server.getMap('cells').set('a', 0);
      if (markLocal) treatAsLocal(tr);
    });
    return { before, after: server.clientID, local };
  }

  it('is cleared by applyUpdate; left so, Yjs takes a change under its own client id for a clash', () => {
    const { before, after, local } = applyThenChange(false);
    expect(local, `applyUpdate no longer marks the transaction as remote (tr.local): treatAsLocal may be unneeded. ${HINT}`).toBe(false);
    expect(after, `yjs no longer picks a new client id after a remote transaction that advanced its own: treatAsLocal may be unneeded. ${HINT}`).not.toBe(before);
  });

  it('once set, keeps the document on its client id', () => {
    const { before, after } = applyThenChange(true);
    expect(after, `tr.local = true no longer stops yjs from changing its client id: the server would get a new id on every refused change. ${HINT}`).toBe(before);
  });
});

describe("who wrote a map key's value (mapValueWriter)", () => {
  it('names the client whose value won concurrent sets of a key, applied in either order; undefined for a key never set', () => {
    const writers = [11, 22].map((clientID) => {
      const doc = new Y.Doc();
      doc.clientID = clientID;
      doc.getMap('cells').set('a', clientID * 10);
      return doc;
    });
    for (const order of [writers, [...writers].reverse()]) {
      const server = new Y.Doc();
      for (const writer of order) Y.applyUpdate(server, Y.encodeStateAsUpdate(writer));
      const cells = server.getMap('cells');
      const writer = mapValueWriter(cells, 'a');
      expect(writer !== undefined && (cells.get('a') as number) === writer * 10, `the key's last item is no longer the value that won it. ${HINT}`).toBe(true);
      expect(mapValueWriter(cells, 'b')).toBeUndefined();
    }
  });
});
