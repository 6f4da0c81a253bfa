/**
 * Durable storage of grid documents in PostgreSQL: an append-only log of accepted updates per document
 * (`grid_update`), folded now and then into a snapshot (`grid_snapshot`).
 *
 * - Appends are batched: updates of a document queue in memory and are written as one merged row every
 *   `flushIntervalMs` (or sooner when the queue grows), one write at a time per document, in order.
 * - A document's first load seeds it once from the budget rows, inside a transaction holding an advisory
 *   lock on the document name, so two loads (or two instances) can never seed it twice.
 * - Compaction merges the snapshot and the oldest rows into a new snapshot in one transaction, under the
 *   same lock, from what is stored (never from memory), so it is safe with any number of writers: it runs on
 *   one instance at a time, and deletes exactly the rows it folded in (another instance's append that
 *   commits meanwhile stays in the log). The fold itself, pure CPU, runs on a worker thread (stateFolder.ts).
 * - Several instances append to one document's log independently: Yjs updates merge in any order, so
 *   their rows need no ordering among them.
 * - A failed append never holds up what follows it (writeRetries.ts): while the database is unreachable it
 *   waits for it; a batch the database refuses is retried a few times, then appended update by update, and
 *   an update refused on its own is dropped (logged, counted); a shutdown gives up after a bounded time.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import { withSqlClient } from '../db/sql.js';
import { StateFolder } from './stateFolder.js';
import { DEFAULT_WRITE_RETRY, sqlStateOf, writeWithRetries, type RetryingWrite, type WriteRetryOptions } from './writeRetries.js';

export interface GridStoreOptions {
  flushIntervalMs: number;
  /** Queue length that triggers a write before the interval ends. */
  maxQueuedUpdates: number;
  /** Rows in a document's log beyond which it is compacted. */
  compactAfterRows: number;
  /** What a failed append does (writeRetries.ts). */
  retry: WriteRetryOptions;
}

export const DEFAULT_STORE_OPTIONS: GridStoreOptions = {
  flushIntervalMs: 100,
  maxQueuedUpdates: 200,
  compactAfterRows: 500,
  retry: DEFAULT_WRITE_RETRY,
};

interface DocQueue {
  updates: Uint8Array[];
  timer?: NodeJS.Timeout;
  /** The write in progress, so writes of one document never overlap and `flush` can wait for it. */
  writing?: Promise<void>;
  rowsSinceCompaction: number;
}

/** A 64-bit advisory lock key per document name (the lock space is shared with nothing else of ours). */
function lockKey(docName: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(docName)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h).toString();
}

/**
 * Raw SQL on the transaction's own connection. `getConnection().execute` without the transaction context runs
 * on another pooled connection, outside the transaction: an advisory xact lock taken that way is released at
 * once and protects nothing.
 */
function inTransaction(tx: EntityManager) {
  return <T>(query: string, params: unknown[]) => tx.getConnection().execute<T[]>(query, params, 'all', tx.getTransactionContext());
}

export class GridStore {
  private readonly queues = new Map<string, DocQueue>();
  /** Seconds each append took, for the metrics. */
  onStoreLatency?: (seconds: number) => void;
  /** Updates given up: refused by the database on their own, or still unwritten when a shutdown's time was up. */
  onDropped?: (count: number, reason: 'refused' | 'shutdown') => void;
  /** A write that failed (and will be tried again, or split): the database unreachable, or refusing it. */
  onWriteFailed?: (reason: 'unavailable' | 'refused') => void;
  /** When a shutdown stops waiting for an unreachable database (set by `flushAll`). */
  private giveUpAt?: number;
  /** Compaction's fold, off the main thread. */
  readonly folder = new StateFolder();

  constructor(
    private readonly em: EntityManager,
    private readonly log: Logger,
    private readonly options: GridStoreOptions = DEFAULT_STORE_OPTIONS,
  ) {}

  /**
   * The stored state of a document as one update, seeding it first with `seed()` when nothing is stored yet.
   * `seed` runs inside the locked transaction and must return the initial update.
   */
  async load(docName: string, seed: () => Promise<Uint8Array>): Promise<{ state: Uint8Array; rows: number }> {
    return this.em.fork().transactional(async (tx) => {
      const sql = inTransaction(tx);
      await sql('SELECT pg_advisory_xact_lock(?::bigint)', [lockKey(docName)]);
      const [snapshot] = await sql<{ state: Buffer }>('SELECT state FROM grid_snapshot WHERE doc_name = ?', [docName]);
      const rows = await sql<{ update: Buffer }>('SELECT "update" FROM grid_update WHERE doc_name = ? ORDER BY id', [docName]);
      if (!snapshot && rows.length === 0) {
        const initial = await seed();
        await sql('INSERT INTO grid_update (doc_name, "update") VALUES (?, ?)', [docName, Buffer.from(initial)]);
        return { state: initial, rows: 1 };
      }
      const parts = [...(snapshot ? [snapshot.state] : []), ...rows.map((r) => r.update)].map((b) => new Uint8Array(b));
      return { state: parts.length === 1 ? parts[0] : Y.mergeUpdates(parts), rows: rows.length };
    });
  }

  /**
   * What is stored of a document now, as one update (null when nothing is): how an instance catches up
   * with changes it missed from the others. One statement, so a concurrent compaction is seen whole or not.
   */
  async readState(docName: string): Promise<Uint8Array | null> {
    const rows = await this.em.fork().getConnection().execute<{ data: Buffer }[]>(
      `SELECT data FROM (
         SELECT 0 AS part, 0::bigint AS id, state AS data FROM grid_snapshot WHERE doc_name = ?
         UNION ALL
         SELECT 1, id, "update" FROM grid_update WHERE doc_name = ?
       ) parts ORDER BY part, id`,
      [docName, docName],
    );
    if (rows.length === 0) return null;
    const parts = rows.map((r) => new Uint8Array(r.data));
    return parts.length === 1 ? parts[0] : Y.mergeUpdates(parts);
  }

  /** Queues an accepted update for storage. */
  append(docName: string, update: Uint8Array): void {
    const queue = this.queue(docName);
    queue.updates.push(update);
    if (queue.updates.length >= this.options.maxQueuedUpdates) void this.write(docName);
    else queue.timer ??= setTimeout(() => void this.write(docName), this.options.flushIntervalMs);
  }

  /** Resolves when everything queued for the document so far is stored. */
  async flush(docName: string): Promise<void> {
    const queue = this.queues.get(docName);
    if (!queue) return;
    while (queue.writing || queue.updates.length > 0) {
      if (queue.writing) await queue.writing.catch(() => undefined);
      else await this.write(docName);
    }
  }

  /**
   * Stores everything queued, for every document (shutdown), in bounded time: once `retry.shutdownMs` has
   * passed, updates still waiting for an unreachable database are given up (logged and counted), and an
   * append still running at twice that time (a database that never answers) is not waited for.
   */
  async flushAll(): Promise<void> {
    const { shutdownMs } = this.options.retry;
    this.giveUpAt = Date.now() + shutdownMs;
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2 * shutdownMs)));
    const done = await Promise.race([Promise.all([...this.queues.keys()].map((name) => this.flush(name))).then(() => true), timeUp]);
    clearTimeout(timer);
    if (done) return;
    const left = [...this.queues].map(([docName, q]) => ({ docName, queued: q.updates.length, writing: !!q.writing })).filter((d) => d.queued > 0 || d.writing);
    const queued = left.reduce((n, d) => n + d.queued, 0);
    this.log.error({ documents: left }, 'shutdown: grid updates still unstored when its time was up; given up');
    if (queued > 0) this.onDropped?.(queued, 'shutdown');
  }

  /** Stops compaction's worker thread (after `flushAll`, on shutdown). */
  async close(): Promise<void> {
    await this.folder.close();
  }

  /** Forgets a document's queue once it is flushed (the document was unloaded). */
  release(docName: string): void {
    const queue = this.queues.get(docName);
    if (queue && !queue.writing && queue.updates.length === 0) {
      clearTimeout(queue.timer);
      this.queues.delete(docName);
    }
  }

  private queue(docName: string): DocQueue {
    let queue = this.queues.get(docName);
    if (!queue) this.queues.set(docName, (queue = { updates: [], rowsSinceCompaction: 0 }));
    return queue;
  }

  private write(docName: string): Promise<void> {
    const queue = this.queue(docName);
    if (queue.writing) return queue.writing;
    clearTimeout(queue.timer);
    queue.timer = undefined;
    if (queue.updates.length === 0) return Promise.resolve();
    const batch = queue.updates;
    queue.updates = [];
    queue.writing = writeWithRetries(batch, this.retryingAppend(docName, queue), this.options.retry)
      .catch((err: unknown) => this.log.error({ err, docName }, 'storing grid updates failed'))
      .finally(() => {
        queue.writing = undefined;
        if (queue.updates.length > 0 && !queue.timer) queue.timer = setTimeout(() => void this.write(docName), this.options.flushIntervalMs);
      });
    return queue.writing;
  }

  /** How a batch of updates is appended (merged into one row), retried and, when refused, dropped. */
  private retryingAppend(docName: string, queue: DocQueue): RetryingWrite<Uint8Array> {
    return {
      write: (updates) => this.appendRow(docName, queue, updates),
      failed: (err, count, unavailable) => {
        this.onWriteFailed?.(unavailable ? 'unavailable' : 'refused');
        this.log.warn({ err, docName, updates: count }, unavailable ? 'storing grid updates: database unavailable; waiting' : 'storing grid updates refused; retrying');
      },
      drop: (update, err) => {
        // What it held, so that it can be put back by hand: the update itself when it is small enough to log.
        const bytes = update.byteLength;
        this.log.error(
          { err, sqlState: sqlStateOf(err), docName, bytes, update: bytes <= 16_384 ? Buffer.from(update).toString('base64') : undefined },
          'a grid update the database refuses was dropped from the document\'s log',
        );
        this.onDropped?.(1, 'refused');
      },
      giveUpAt: () => this.giveUpAt,
      probe: () => withSqlClient(this.em, (client) => client.query('SELECT 1')),
      lost: (updates, err) => {
        this.log.error({ err, docName, updates: updates.length }, 'shutdown: grid updates given up, the database being unreachable');
        this.onDropped?.(updates.length, 'shutdown');
      },
    };
  }

  /** One row for `updates` merged; then a compaction when the log has grown (its failure is only logged). */
  private async appendRow(docName: string, queue: DocQueue, updates: Uint8Array[]): Promise<void> {
    const started = process.hrtime.bigint();
    const merged = updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
    await withSqlClient(this.em, (client) =>
      client.query({
        name: 'grid_store_append',
        text: 'INSERT INTO grid_update (doc_name, "update") VALUES ($1, $2)',
        values: [docName, Buffer.from(merged.buffer, merged.byteOffset, merged.byteLength)],
      }),
    );
    this.onStoreLatency?.(Number(process.hrtime.bigint() - started) / 1e9);
    queue.rowsSinceCompaction += 1;
    if (queue.rowsSinceCompaction >= this.options.compactAfterRows) {
      queue.rowsSinceCompaction = 0;
      // The rows are in: a failed compaction must not have them appended again. It is tried again later.
      await this.compact(docName).catch((err: unknown) => this.log.error({ err, docName }, 'compacting a grid document failed'));
    }
  }

  /** Folds the snapshot and every stored row of the document into a new snapshot. */
  async compact(docName: string): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      const sql = inTransaction(tx);
      await sql('SELECT pg_advisory_xact_lock(?::bigint)', [lockKey(docName)]);
      const [snapshot] = await sql<{ state: Buffer }>('SELECT state FROM grid_snapshot WHERE doc_name = ?', [docName]);
      const rows = await sql<{ id: string; update: Buffer }>(
        'SELECT id, "update" FROM grid_update WHERE doc_name = ? ORDER BY id',
        [docName],
      );
      if (rows.length === 0) return;
      const parts = [...(snapshot ? [snapshot.state] : []), ...rows.map((r) => r.update)].map((b) => new Uint8Array(b));
      // Applied to a scratch document (rather than merged), so that Yjs garbage-collects deleted content; on a
      // worker thread, so that nobody's edits wait for it (stateFolder.ts).
      const folded = await this.folder.fold(parts);
      const state = Buffer.from(folded.buffer, folded.byteOffset, folded.byteLength);
      const lastId = rows[rows.length - 1].id;
      await sql(
        `INSERT INTO grid_snapshot (doc_name, state, last_update_id, updated_at) VALUES (?, ?, ?, now())
         ON CONFLICT (doc_name) DO UPDATE SET state = excluded.state, last_update_id = excluded.last_update_id, updated_at = now()`,
        [docName, state, lastId],
      );
      // Exactly the rows folded in: a row another instance inserted with a lower id, committed after our
      // SELECT, is not in the snapshot and must stay.
      await sql('DELETE FROM grid_update WHERE doc_name = ? AND id = ANY(?::bigint[])', [
        docName,
        `{${rows.map((r) => String(r.id)).join(',')}}`,
      ]);
      this.log.debug({ docName, rows: rows.length, bytes: state.length }, 'compacted grid document');
    });
  }
}
