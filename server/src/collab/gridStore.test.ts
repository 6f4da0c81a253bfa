/**
 * The update log's compaction (gridStore.ts), on the real database with the store's defaults: after 500 rows
 * the log is folded into a snapshot, on the worker thread (stateFolder.ts), and what loads afterwards is the
 * document as written; the rows appended while it folds stay in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createLogger } from '../log.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { DEFAULT_STORE_OPTIONS, GridStore } from './gridStore.js';

describe('grid update log compaction', () => {
  let server: TestServer;
  let store: GridStore;
  beforeAll(async () => {
    server = await startTestServer();
    store = new GridStore(server.app.services.orm.em, createLogger('silent'));
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('folds the log into a snapshot off the main thread after 500 rows, and loads the same document', async () => {
    const docName = 'budget:compaction-test:UNIT';
    const rowsBefore = DEFAULT_STORE_OPTIONS.compactAfterRows;
    const writer = new Y.Doc();
    const cells = writer.getMap('cells');
    let update: Uint8Array | undefined;
    writer.on('update', (u: Uint8Array) => (update = u));
    // One row per append (each flushed on its own), values overwritten and cleared: content to collect.
    for (let i = 0; i < rowsBefore; i++) {
      if (i % 10 === 9) cells.delete(`line-${i % 13}/comment`);
      else cells.set(`line-${i % 13}/${i % 2 ? 'budgetAmount' : 'comment'}`, i % 2 ? i : `note ${i}`);
      store.append(docName, update!);
      await store.flush(docName);
    }
    const [{ rows }] = await server.sql<{ rows: string }>('SELECT count(*) AS rows FROM grid_update WHERE doc_name = $1', [docName]);
    expect(Number(rows)).toBe(0);
    const [snapshot] = await server.sql<{ state: Buffer }>('SELECT state FROM grid_snapshot WHERE doc_name = $1', [docName]);
    expect(snapshot).toBeDefined();
    expect(store.folder.done.onWorker).toBe(1);

    // A later append stays in the log next to the snapshot; a load gives the whole document.
    cells.set('line-0/budgetAmount', 123456);
    store.append(docName, update!);
    await store.flush(docName);
    const loaded = await store.load(docName, async () => {
      throw new Error('a stored document is never seeded again');
    });
    expect(loaded.rows).toBe(1);
    const replica = new Y.Doc();
    Y.applyUpdate(replica, loaded.state);
    expect(replica.getMap('cells').toJSON()).toEqual(cells.toJSON());
    expect(replica.getMap('cells').get('line-0/budgetAmount')).toBe(123456);
  });
});
