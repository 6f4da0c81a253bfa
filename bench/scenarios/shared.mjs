// What the suite's scenarios (bench/scenarios/*.mjs) share: the suite object each one is run with, and the
// measuring steps more than one of them takes (light grid clients, draining load processes, waiting for a
// server to calm down, memory deltas, a connection to Plansync's database). Process management, /proc
// sampling and statistics are in bench/lib/common.mjs, the grid runs in bench/lib/grid.mjs.
import pg from 'pg';
import { cpuSample, epoch, log, now, plansyncDatabase, sleep } from '../lib/common.mjs';
import { split, startWorker } from '../lib/workers.mjs';

/**
 * The object bench/run.mjs hands to every scenario's `measure(suite)` (and to the warm-up).
 * @typedef {object} Suite
 * @property {object} options the suite's options as bench/run.mjs parsed them (written to results.json).
 * @property {Record<string, object>} servers the servers bench/run.mjs started, by role: `plansync`, and as the
 *   chosen scenarios need them `reference` (y-websocket), `referenceWs` (graphql-ws), `referenceHttp` (graphql-js).
 * @property {number} pause ms between two runs, so the last run's sockets close and the server settles.
 * @property {(label: string, server: string, startMicros: number, endMicros: number) => void} markWindow
 *   records a measurement window of `server` (a key of `servers`) for the CPU profiles of --cpu-prof.
 * @property {Record<string, object>} results what the scenarios run so far measured, by key (durability
 *   compares its CPU with the grid's runs).
 * @property {object | null} warmup the warm-up's idle CPU figures (bench/scenarios/warmup.mjs), when it ran.
 * @property {object | null} gridTarget the grid document the grid and durability scenarios share.
 * @property {Record<string, {close(): Promise<void>}> | null} keepers one idle client per grid server holding
 *   that document open across the grid and durability scenarios; bench/run.mjs closes them at the end.
 */

export const KB = 1024;

/** Connects `count` light grid clients spread over `workerCount` new observer processes. */
export async function connectObservers(server, target, count, workerCount, { keepState = false } = {}) {
  const wsUrl = server.url.replace(/^http/, 'ws') + '/yjs';
  const sizes = split(count, Math.min(workerCount, count)).filter((n) => n > 0);
  const workers = sizes.map(() => startWorker('grid-observer-worker.mjs'));
  const t0 = now();
  const replies = await Promise.all(
    workers.map((w, i) => w.request({ type: 'connect', url: wsUrl, docName: target.docName, token: target.token, epoch, count: sizes[i], concurrency: 20, keepState }, 'synced')),
  );
  const connected = replies.reduce((a, r) => a + r.connected, 0);
  const failed = replies.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) log(`  ${failed} of ${count} grid clients did not sync (close codes ${[...new Set(replies.flatMap((r) => r.closeCodes))].join(', ')})`);
  return { workers, connected, failed, connectMs: now() - t0, state: replies[0]?.state ?? null };
}

/** Waits until the workers' counts stop moving (quietMs without change), at most 30 s. */
export async function drain(workers, requestType, replyType, quietMs) {
  let last = -1;
  const until = now() + 30_000;
  for (;;) {
    await sleep(quietMs);
    const counts = await Promise.all(workers.map((w) => w.request({ type: requestType }, replyType)));
    const total = counts.reduce((a, c) => a + c.received, 0);
    if (total === last || now() > until) return total;
    last = total;
  }
}

/** Runs `fn` with a pg client on the `plansync` database of a Plansync DATA_DIR, and closes it. */
export async function withDatabase(dataDir, fn) {
  const client = new pg.Client(plansyncDatabase(dataDir));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Memory growth between two serverMemory() figures, in KB, per `per` (connections, subscriptions). */
export const memoryDelta = (after, before, per = 1) => ({
  heapKb: (after.heapUsed - before.heapUsed) / per / KB,
  externalKb: (after.external - before.external) / per / KB,
  retainedKb: (after.heapUsed + after.external - before.heapUsed - before.external) / per / KB,
  /** Of retained, V8's compiled code (the JIT optimising the path just used): bounded, not data held. */
  codeKb: after.code != null && before.code != null ? (after.code - before.code) / per / KB : null,
  /** Retained without compiled code: what the server holds. */
  dataKb: after.code != null && before.code != null ? (after.heapUsed + after.external - after.code - before.heapUsed - before.external + before.code) / per / KB : null,
  rssKb: (after.rss - before.rss) / per / KB,
});

/** Waits until the server's CPU use has calmed down (under 5% of a CPU over 300 ms, 200 ms with --quick), at most maxMs. */
export async function settle(server, quick, maxMs = 10_000) {
  const until = now() + maxMs;
  const step = quick ? 200 : 300;
  await sleep(step);
  for (;;) {
    const a = cpuSample(server.pid);
    await sleep(step);
    const b = cpuSample(server.pid);
    if (b.ownSeconds - a.ownSeconds <= step / 20_000 || now() > until) return;
  }
}
