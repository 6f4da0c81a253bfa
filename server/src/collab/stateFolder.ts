/**
 * Folding a grid document's stored updates into one state (gridStore.ts compaction), on a worker thread.
 *
 * Why a thread: a fold merges every stored update of a document and applies them to a scratch Y.Doc, so that
 * Yjs can garbage-collect deleted content. It is pure CPU, and for a busy document (hundreds of client ids,
 * hundreds of rows) it takes 100-200 ms. On the main thread that is a stall for every connection of the
 * instance: every 500 rows of continuous editing, the 200-writer benchmark saw one run's p99 go from about 20 ms
 * to 123 ms (bench/results.md, issue 16). On a thread of its own it costs the same CPU and stalls nobody.
 *
 * One worker, started on the first fold and stopped after a minute without one (a V8 isolate is about 10 MB we
 * need not keep for a task that runs every few minutes at most). Folds queue in the worker, one at a time, in
 * order. A worker that fails or exits rejects what it was given (the compaction is logged and tried again later,
 * as any failed compaction) and the next fold starts a new one. When no worker can be started at all, the fold
 * runs here, as it did before.
 *
 * The worker runs yjs resolved from here (its CommonJS build: a worker's evaluated script is CommonJS), so it
 * folds with the same version the server runs.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import * as Y from 'yjs';

/** How long the worker stays without a fold before it is stopped. */
const IDLE_STOP_MS = 60_000;

/** The fold itself: what the worker runs (WORKER_SOURCE repeats these lines; stateFolder.test.ts checks both agree). */
export function foldStates(parts: readonly Uint8Array[]): Uint8Array {
  const scratch = new Y.Doc();
  try {
    Y.applyUpdate(scratch, Y.mergeUpdates(parts as Uint8Array[]));
    return Y.encodeStateAsUpdate(scratch);
  } finally {
    scratch.destroy();
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Y = require(workerData.yjs);
parentPort.on('message', ({ id, parts }) => {
  let scratch;
  try {
    scratch = new Y.Doc();
    Y.applyUpdate(scratch, Y.mergeUpdates(parts));
    parentPort.postMessage({ id, state: Y.encodeStateAsUpdate(scratch) });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  } finally {
    if (scratch) scratch.destroy();
  }
});
`;

interface Pending {
  resolve(state: Uint8Array): void;
  reject(err: Error): void;
}

export class StateFolder {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private idleTimer?: NodeJS.Timeout;
  private closed = false;
  /** Folds done on the worker, and here because no worker could be started (for metrics and tests). */
  readonly done = { onWorker: 0, inline: 0 };

  /** The state `parts` fold into (what `foldStates` gives), computed on the worker thread. */
  fold(parts: readonly Uint8Array[]): Promise<Uint8Array> {
    const worker = this.closed ? undefined : this.running();
    if (!worker) {
      this.done.inline++;
      return Promise.resolve().then(() => foldStates(parts));
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const id = ++this.nextId;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, parts });
    });
  }

  /** The worker's thread id while one runs (tests check folds leave the main thread). */
  get threadId(): number | undefined {
    return this.worker?.threadId;
  }

  /** Stops the worker; folds still running are rejected, later ones run here. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    this.failAll(new Error('the state folder was closed'));
  }

  private running(): Worker | undefined {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { yjs: createRequire(import.meta.url).resolve('yjs') } });
    } catch {
      return undefined;
    }
    // The worker never keeps the process alive: a fold in flight is awaited by a compaction, which holds a
    // database connection (and so the event loop) until it ends.
    worker.unref();
    worker.on('message', (message: { id: number; state?: Uint8Array; error?: string }) => this.settle(message));
    worker.on('error', (err) => this.lost(worker, err));
    worker.on('exit', (code) => this.lost(worker, new Error(`the state folder's worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private settle({ id, state, error }: { id: number; state?: Uint8Array; error?: string }): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    if (state) {
      this.done.onWorker++;
      waiting.resolve(state);
    } else waiting.reject(new Error(error ?? 'the fold failed'));
    if (this.pending.size === 0 && this.worker) {
      const worker = this.worker;
      this.idleTimer = setTimeout(() => {
        if (this.worker !== worker || this.pending.size > 0) return;
        this.worker = undefined;
        void worker.terminate();
      }, IDLE_STOP_MS);
      this.idleTimer.unref();
    }
  }

  /** The worker failed or exited: what it held is rejected; the next fold starts another. */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return; // stopped on purpose (idle, closed)
    this.worker = undefined;
    this.failAll(err);
  }

  private failAll(err: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const waiting of pending) waiting.reject(err);
  }
}
