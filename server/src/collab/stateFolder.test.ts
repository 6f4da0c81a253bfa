/**
 * Compaction's fold runs on a worker thread (stateFolder.ts): it must give exactly what folding here gives, leave
 * the main thread, survive bad input, and still fold once closed (here, as before).
 */
import { threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { StateFolder, foldStates } from './stateFolder.js';

/** The updates of a document edited by several clients, values overwritten and cells cleared (deleted content). */
function editHistory(): Uint8Array[] {
  const updates: Uint8Array[] = [];
  const server = new Y.Doc();
  for (let client = 0; client < 12; client++) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
    doc.on('update', (u: Uint8Array) => {
      updates.push(u);
      Y.applyUpdate(server, u);
    });
    const cells = doc.getMap('cells');
    for (let i = 0; i < 40; i++) {
      cells.set(`line-${i % 7}/budgetAmount`, client * 1000 + i);
      if (i % 5 === 0) cells.delete(`line-${(i + 1) % 7}/budgetAmount`);
    }
    doc.destroy();
  }
  return updates;
}

describe('the state folder', () => {
  let folder: StateFolder;
  afterEach(async () => folder?.close());

  it('folds on a worker thread exactly what folding here gives, and the state holds the document', async () => {
    folder = new StateFolder();
    const updates = editHistory();
    const folded = await folder.fold(updates);
    expect(folder.threadId).toBeDefined();
    expect(folder.threadId).not.toBe(threadId);
    expect(folder.done).toEqual({ onWorker: 1, inline: 0 });
    expect(Buffer.from(folded).equals(Buffer.from(foldStates(updates)))).toBe(true);
    const fromFolded = new Y.Doc();
    Y.applyUpdate(fromFolded, folded);
    const fromLog = new Y.Doc();
    for (const u of updates) Y.applyUpdate(fromLog, u);
    expect(fromFolded.getMap('cells').toJSON()).toEqual(fromLog.getMap('cells').toJSON());
    // Smaller than the log: deleted content is collected.
    expect(folded.length).toBeLessThan(Y.mergeUpdates(updates).length);
  });

  it('keeps folds in order, and a fold of garbage fails alone: the folds around it succeed', async () => {
    folder = new StateFolder();
    const updates = editHistory();
    const results = await Promise.allSettled([
      folder.fold(updates.slice(0, 100)),
      folder.fold([new Uint8Array([1, 200, 7, 255, 255, 255, 255, 255, 255, 255, 255, 3])]),
      folder.fold(updates),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(Buffer.from((results[0] as PromiseFulfilledResult<Uint8Array>).value).equals(Buffer.from(foldStates(updates.slice(0, 100))))).toBe(true);
    expect(Buffer.from((results[2] as PromiseFulfilledResult<Uint8Array>).value).equals(Buffer.from(foldStates(updates)))).toBe(true);
  });

  it('once closed, folds here, with the same result', async () => {
    folder = new StateFolder();
    const updates = editHistory();
    await folder.fold(updates.slice(0, 10));
    await folder.close();
    expect(folder.threadId).toBeUndefined();
    const folded = await folder.fold(updates);
    expect(folder.done).toEqual({ onWorker: 1, inline: 1 });
    expect(Buffer.from(folded).equals(Buffer.from(foldStates(updates)))).toBe(true);
  });
});
