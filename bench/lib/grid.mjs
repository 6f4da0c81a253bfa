// The grid propagation run (W concurrent writers on one document, every client observing), shared by
// bench/grid-propagation.mjs and bench/run.mjs. See bench/grid-propagation.mjs for what is measured.
// The clients are light y-websocket clients (bench/grid-light-worker.mjs: real Y.Doc writers, observers that
// read updates without applying them; why is said there); `clients: 'stock'` runs stock WebsocketProviders
// (bench/grid-worker.mjs) instead, to compare.
import { forwardBetween, readPlansyncForward, readTimedReference } from './forwardTiming.mjs';
import os from 'node:os';
import WebSocket from 'ws';
import { busyShare, concatFloat64, cpuSample, distribution, epoch, graphql, log, login, machineCpu, now, sleep, started } from './common.mjs';
import { startWorker, stopWorkers } from './workers.mjs';

/**
 * The document and cells of a unit (ids from Plansync): token, docName, and keys `<lineId>/budgetAmount` of
 * every line, then `<lineId>/forecastSales`, so that every writer can own one cell.
 */
export async function gridTarget(plansyncUrl, { email = 'lead.sales-north@example.com', unitCode = 'SALES_NORTH' } = {}) {
  const token = await login(plansyncUrl, email);
  const { budgetPlans } = await graphql(plansyncUrl, '{ budgetPlans { id } }', {}, token);
  const planId = budgetPlans[0].id;
  const { budgetLines } = await graphql(plansyncUrl, 'query($planId: ID!, $unit: String!) { budgetLines(planId: $planId, businessUnitCode: $unit) { id } }', { planId, unit: unitCode }, token);
  const lineIds = budgetLines.map((l) => l.id);
  const keys = [...lineIds.map((id) => `${id}/budgetAmount`), ...lineIds.map((id) => `${id}/forecastSales`)];
  return { token, planId, unitCode, lineIds, docName: `budget:${planId}:${unitCode}`, keys };
}

/** Reference only: made-up ids of the same shape (the reference checks nothing). */
export function madeUpTarget() {
  const keys = Array.from({ length: 240 }, (_, i) => `${String(i % 120).padStart(8, '0')}-0000-4000-8000-000000000000/${i < 120 ? 'budgetAmount' : 'forecastSales'}`);
  return { token: 'none', docName: 'budget:00000000-0000-4000-8000-000000000000:SALES_NORTH', keys };
}

/** The delays (ms) a run counts the deliveries later than (`lateCounts`). */
export const LATE_AFTER_MS = [2, 3, 5, 10];

/** y-websocket messages a keeper sends: sync step 1 with an empty state vector, sync step 2 with an empty update. */
const KEEPER_STEP1 = Uint8Array.from([0, 0, 1, 0]);
const KEEPER_STEP2 = Uint8Array.from([0, 1, 2, 0, 0]);

/**
 * One idle connection held by this process: it keeps a document loaded (Plansync unloads a document when its
 * last connection has gone) or alive (the reference drops a document when its last connection leaves), so that
 * both carry the same history from run to run. Closed by cleanup() at the latest.
 *
 * A light client (as bench/grid-light-worker.mjs's observers): it joins with the sync handshake (an empty state
 * vector, and an empty sync step 2 when the server asks), then reads and drops everything the server sends. It
 * used to be a stock WebsocketProvider, which applied every update of a run to a Y.Doc holding the document's
 * whole history: in this process, on the CPUs the server and the load processes share, about 0.4 ms of CPU per
 * update at the moment of its delivery (sched_switch trace, 50 writers: the bench process ran 170-200 ms of the
 * 10 s window on its main thread and 40-70 ms on V8's helper threads), for a connection nobody measures; and the
 * floor server had no keeper at all, so the floor's runs were spared that load. Reconnects if the server drops it.
 */
export async function openKeeper(server, target) {
  const url = `${server.url.replace(/^http/, 'ws')}/yjs/${target.docName}?token=${encodeURIComponent(target.token)}`;
  let ws = null;
  let closed = false;
  let synced;
  const firstSync = new Promise((resolve) => (synced = resolve));
  const connect = () => {
    ws = new WebSocket(url);
    ws.on('open', () => ws.send(KEEPER_STEP1));
    ws.on('message', (data) => {
      if (data[0] !== 0) return; // awareness and the rest: dropped
      if (data[1] === 0) ws.send(KEEPER_STEP2); // the server's sync step 1
      else if (data[1] === 1) synced(); // the server's sync step 2: joined
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!closed) setTimeout(connect, 200);
    });
  };
  connect();
  const keeper = {
    close: async () => {
      closed = true;
      started.closers.delete(keeper.close);
      ws.close();
    },
  };
  started.closers.add(keeper.close);
  let timer;
  await Promise.race([
    firstSync,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`keeper connection to ${server.name} did not sync`)), 30_000))),
  ]).finally(() => clearTimeout(timer));
  return keeper;
}

/**
 * One scenario against one server: connect, warm up, measure, drain, collect.
 * `server` may also be an array of servers (instances of one deployment, sharing a database): the load
 * processes are dealt round-robin over them (at least one each), so clients, writers included, split evenly;
 * then serverCpuSeconds, serverSystemCpuSeconds and serverRssMb are sums, with per-instance figures in
 * serverCpuSecondsEach, serverRssMbEach and writersPerServer.
 * options: { workers, warmupMs, measureMs, drainQuietMs = 1000, clients = 'light' | 'stock', workerCpuProf,
 *            hooks: { onStart(window), onDone() } }
 * hooks.onStart is called as the writers are told to start; hooks.onDone after the drain, and what it returns is
 * the run's `extra`.
 */
export async function runGridScenario(server, target, writers, options) {
  const servers = Array.isArray(server) ? server : [server];
  const clientCount = Math.max(writers, 2);
  const workerCount = Math.max(servers.length, Math.min(options.workers, clientCount));
  const specs = Array.from({ length: clientCount }, (_, index) => ({ index, key: target.keys[index], writer: index < writers }));
  /** Load process i talks to servers[i % servers.length]. */
  const wsUrlOf = (i) => servers[i % servers.length].url.replace(/^http/, 'ws') + '/yjs';
  const execArgv = options.workerCpuProf ? ['--cpu-prof', `--cpu-prof-dir=${options.workerCpuProf}`] : [];
  const clientKind = options.clients ?? 'light';
  if (clientKind !== 'light' && clientKind !== 'stock') throw new Error(`clients: 'light' or 'stock', not ${clientKind}`);
  const workerFile = clientKind === 'stock' ? 'grid-worker.mjs' : 'grid-light-worker.mjs';
  const workers = Array.from({ length: workerCount }, () => startWorker(workerFile, { execArgv }));
  const drainQuietMs = options.drainQuietMs ?? 1000;
  try {
    const connectStart = now();
    const synced = await Promise.all(
      workers.map((w, i) =>
        w.request({ type: 'connect', url: wsUrlOf(i), docName: target.docName, token: target.token, epoch, clients: specs.filter((s) => s.index % workerCount === i) }, 'synced'),
      ),
    );
    /** Light clients: the writers' Yjs client ids, so that every client counts only their updates. */
    const writerIds = synced.flatMap((r) => r.writerIds ?? []);
    const connectMs = now() - connectStart;

    const writeStart = now() + 100;
    const measureStart = writeStart + options.warmupMs;
    const measureEnd = measureStart + options.measureMs;
    for (const w of workers) w.send({ type: 'start', writeStart, measureStart, measureEnd, periodMs: options.periodMs ?? 1000, writerIds });
    options.hooks?.onStart?.({ writeStart, measureStart, measureEnd });
    const load = [os.loadavg()[0]];

    // The server's own time from a message's arrival to its broadcast's last write (bench/lib/forwardTiming.mjs),
    // where it keeps it: read 1 s before the window (a /metrics answer costs Plansync a few milliseconds, kept out
    // of the window) and once the deliveries have drained, so it counts the window's updates and a second's more.
    const readForward = servers.length === 1 ? forwardReaderOf(servers[0]) : null;
    await sleep(Math.max(writeStart, measureStart - 1000) - now());
    const forwardBefore = readForward ? await readForward() : null;
    await sleep(measureStart - now());
    const cpuBefore = servers.map((s) => cpuSample(s.pid));
    const machineBefore = machineCpu();
    const monoBefore = process.hrtime.bigint();
    await sleep(measureEnd - now());
    const cpuAfter = servers.map((s) => cpuSample(s.pid));
    const machineAfter = machineCpu();
    const monoAfter = process.hrtime.bigint();
    load.push(os.loadavg()[0]);

    // Drain: wait until no more deliveries arrive (drainQuietMs without change), at most 20 s.
    await sleep(drainQuietMs);
    let last = -1;
    const drainDeadline = now() + 20_000;
    for (;;) {
      const counts = await Promise.all(workers.map((w) => w.request({ type: 'count' }, 'count')));
      const total = counts.reduce((a, c) => a + c.received, 0);
      if (total === last || now() > drainDeadline) break;
      last = total;
      await sleep(drainQuietMs);
    }
    // Propagation is measured from each writer's send (bench/lib/gridWorkerCommon.mjs): every process's sends go
    // to every process, which subtracts them from its deliveries' delays.
    const sends = (await Promise.all(workers.map((w) => w.request({ type: 'sends' }, 'sends')))).flatMap((r) => r.sends);
    const reports = await Promise.all(workers.map((w) => w.request({ type: 'report', sends }, 'report')));
    const extra = (await options.hooks?.onDone?.()) ?? null;
    const forward = readForward ? forwardBetween(forwardBefore, await readForward()) : null;

    const all = concatFloat64(reports.map((r) => r.latencies));
    const latencyMs = distribution(all);
    // How many deliveries came later than each of these delays (ms): counts add up over runs, so that rounds of
    // one server can be pooled (bench/grid-ab.mjs), which a median of each run's p99 (set by a handful of late
    // updates at 50 writers) cannot.
    const lateCounts = Object.fromEntries(LATE_AFTER_MS.map((ms) => [ms, all.reduce((n, v) => (v > ms ? n + 1 : n), 0)]));
    const editLatencyMs = distribution(concatFloat64(reports.map((r) => r.editLatencies)));
    const unmatched = reports.reduce((a, r) => a + r.unmatched, 0);
    if (unmatched > 0) log(`warning: ${unmatched} deliveries whose send no writer noted; left out of the propagation delays`);

    // Delivery check: every write sent in the window, by every other client. Light clients count deliveries
    // per writer's Yjs client id (an update does not always name the key), mapped here to the writer's key.
    const clients = reports.flatMap((r) => r.clients);
    if (clientKind === 'light') {
      const keyOfClient = new Map(clients.filter((c) => c.writer).map((c) => [String(c.clientId), c.key]));
      if (keyOfClient.size !== writers) throw new Error('two writers drew the same Yjs client id; run again');
      for (const c of clients) {
        c.receivedByKey = {};
        for (const [id, n] of Object.entries(c.receivedByClient)) {
          const key = keyOfClient.get(id);
          if (key !== undefined) c.receivedByKey[key] = (c.receivedByKey[key] ?? 0) + n;
        }
      }
    }
    const sentByKey = new Map(clients.filter((c) => c.writer).map((c) => [c.key, c.sent]));
    const sent = [...sentByKey.values()].reduce((a, b) => a + b, 0);
    let expected = 0;
    let missing = 0;
    let unexpected = 0;
    let incompletePairs = 0;
    for (const c of clients) {
      for (const [key, n] of sentByKey) {
        if (key === c.key) continue;
        const got = c.receivedByKey[key] ?? 0;
        expected += n;
        if (got < n) {
          missing += n - got;
          incompletePairs += 1;
        } else if (got > n) unexpected += got - n;
      }
    }
    const serverCpuEach = cpuAfter.map((a, k) => a.ownSeconds - cpuBefore[k].ownSeconds);
    const serverCpu = serverCpuEach.reduce((a, b) => a + b, 0);
    const serverSystemCpu = cpuAfter.reduce((a, x, k) => a + x.ownSystemSeconds - cpuBefore[k].ownSystemSeconds, 0);
    // The embedded PostgreSQL of a single Plansync (its child processes).
    const childCpu = cpuAfter[0].childSeconds - cpuBefore[0].childSeconds;
    const withDatabase = servers.length === 1 && /^plansync/.test(server.name);
    const workerCpu = reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0);
    const windowSeconds = options.measureMs / 1000;
    const result = {
      server: servers.map((s) => s.name).join('+'),
      clientKind,
      ...(servers.length > 1
        ? {
            servers: servers.map((s) => s.name),
            writersPerServer: servers.map((_, k) => specs.filter((s) => s.writer && (s.index % workerCount) % servers.length === k).length),
            serverCpuSecondsEach: serverCpuEach,
            serverRssMbEach: cpuAfter.map((a) => a.rssMb),
          }
        : {}),
      writers,
      clients: clientCount,
      workers: workerCount,
      connectMs: Math.round(connectMs),
      sent,
      expected,
      delivered: all.length + unmatched,
      unmatched,
      missing,
      unexpected,
      incompletePairs,
      /** Propagation: from the writer's send to each delivery. */
      lateCounts,
      latencyMs: { p50: latencyMs.p50, p90: latencyMs.p90, p99: latencyMs.p99, max: latencyMs.max, min: latencyMs.min, mean: latencyMs.mean },
      /** From before the writer's edit (its own Yjs transaction included) to each delivery. */
      editLatencyMs: { p50: editLatencyMs.p50, p90: editLatencyMs.p90, p99: editLatencyMs.p99, max: editLatencyMs.max, mean: editLatencyMs.mean },
      serverCpuSeconds: serverCpu,
      serverSystemCpuSeconds: serverSystemCpu,
      // One server: its main thread's share, the system calls that read and write, the main thread's switches.
      ...(servers.length === 1
        ? {
            serverMainThreadSeconds: cpuAfter[0].mainSeconds - cpuBefore[0].mainSeconds,
            serverReadCalls: cpuAfter[0].readCalls - cpuBefore[0].readCalls,
            serverWriteCalls: cpuAfter[0].writeCalls - cpuBefore[0].writeCalls,
            serverContextSwitches: cpuAfter[0].contextSwitches - cpuBefore[0].contextSwitches,
          }
        : {}),
      serverCpuPercent: (100 * serverCpu) / windowSeconds,
      serverCpuMicrosPerDelivery: all.length + unmatched > 0 ? (1e6 * serverCpu) / (all.length + unmatched) : null,
      serverCpuMsPerWrite: sent > 0 ? (1000 * serverCpu) / sent : null,
      databaseCpuSeconds: withDatabase ? childCpu : null,
      serverRssMb: cpuAfter.reduce((a, x) => a + x.rssMb, 0),
      serverPeakRssMb: servers.length === 1 ? cpuAfter[0].hwmMb : null,
      clientCpuSeconds: workerCpu,
      /** The load processes' wake-ups (voluntary switches) and preemptions in the window, all of them together. */
      clientSwitches: reports.every((r) => r.switches)
        ? { voluntary: reports.reduce((a, r) => a + r.switches.voluntary, 0), involuntary: reports.reduce((a, r) => a + r.switches.involuntary, 0) }
        : null,
      clientLoopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms ?? 0)),
      /** Share of the machine's CPU used in the window by every process, ours or not (near 1: saturated). */
      machineBusy: busyShare(machineBefore, machineAfter),
      /** The part of it that the server under test and the load processes used. */
      benchBusy: (serverCpu + (withDatabase ? childCpu : 0) + workerCpu) / (windowSeconds * os.availableParallelism()),
      disconnects: clients.reduce((a, c) => a + c.disconnects, 0),
      closeCodes: [...new Set(clients.flatMap((c) => c.closeCodes))],
      loadAverage1m: load,
      ...(forward ? { forward } : {}),
      window: { measureStart, measureEnd, monoStartMicros: Number(monoBefore / 1000n), monoEndMicros: Number(monoAfter / 1000n) },
      ...(extra ? { extra } : {}),
    };
    // Every delivery's delay (ms), for pooling a server's runs (scenario 1, bench/grid-ab.mjs): not enumerable, so
    // not written to results.json.
    Object.defineProperty(result, 'latencies', { value: all, enumerable: false });
    return result;
  } finally {
    await stopWorkers(workers);
  }
}

/**
 * The delays of every delivery of `runs` (runGridScenario's results, of one server) taken together. At 50 writers
 * a run's p99 is set by the 5 or so of its 500 updates that came late for all their receivers, so it swings from
 * run to run with whatever else the machine did then; the p99 of all runs' deliveries pooled rests on five times
 * as many late updates, and is what compares two servers' tails (a median of the runs' p99s drops the runs
 * either side of it, their tails with them).
 */
export function pooledLatencyMs(runs) {
  const { p50, p90, p99, max, count } = distribution(concatFloat64(runs.map((r) => r.latencies ?? new Float64Array(0))));
  return { p50, p90, p99, max, count };
}

/** How to read a server's forward timing (bench/lib/forwardTiming.mjs), or null when it keeps none. */
function forwardReaderOf(server) {
  if (server.timedReference) return () => readTimedReference(server);
  if (/^plansync/.test(server.name)) return () => readPlansyncForward(server);
  return null;
}
