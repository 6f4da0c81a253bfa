// Scenario 2, grid fan-out: one writer (a stock WebsocketProvider, 10 updates a second) and 1,000 observers on
// one document, against Plansync and the reference y-websocket server. The observers are light y-protocols
// clients (bench/grid-observer-worker.mjs says why not stock providers).
import os from 'node:os';
import { busyShare, concatFloat64, cpuSample, distribution, epoch, fmt, log, machineCpu, monoMicros, now, ratio, sleep, startScript, stopProcess } from '../lib/common.mjs';
import { gridTarget } from '../lib/grid.mjs';
import { startWorker, stopWorkers } from '../lib/workers.mjs';
import { connectObservers, drain } from './shared.mjs';

/**
 * Measures, per server: latency from the writer's send to each observer (p50 to max), deliveries, and server
 * CPU per update per observer (with PostgreSQL's for Plansync), and the ratios Plansync / reference.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const target = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'SALES_SOUTH' });
  const { observers, periodMs, warmupMs, measureMs } = options.fanout;
  const { rounds: roundCount = 1 } = options.fanout;
  /** Every run of each server, in the order run. */
  const all = { plansync: [], reference: [], floor: [] };
  // The floor (bench/send-floor-server.mjs): the same clients and sends on a server that only relays, to show
  // what the sends themselves cost on this machine.
  const floor = await startScript('floor', 'send-floor-server.mjs');
  // Several rounds (one window's CPU moves by 10-20% on a shared machine), each server once a round, the order
  // alternating; the run with the median CPU per update per observer stands for each server.
  for (let round = 0; round < roundCount; round++) {
    const order = round % 2 === 0 ? ['plansync', 'reference', 'floor'] : ['floor', 'reference', 'plansync'];
    for (const name of order) {
      const server = name === 'floor' ? floor : servers[name];
      log(`fanout: 1 writer, ${observers} observers -> ${name}${roundCount > 1 ? ` (run ${round + 1} of ${roundCount})` : ''}...`);
      all[name].push(await measureRun(server, name));
      await sleep(pause);
    }
  }
  await stopProcess(floor);
  const median = (list) => [...list].sort((x, y) => x.cpuMicrosPerUpdatePerObserver - y.cpuMicrosPerUpdatePerObserver)[Math.floor((list.length - 1) / 2)];
  const runs = { plansync: median(all.plansync), reference: median(all.reference), floor: median(all.floor) };
  return {
    document: target.docName,
    clients: 'light y-protocols clients (bench/grid-observer-worker.mjs); the writer is a stock WebsocketProvider',
    warmupMs,
    measureMs,
    ...runs,
    ...(roundCount > 1 ? { runs: Object.fromEntries(Object.entries(all).map(([name, list]) => [name, list.map((r) => ({ cpuMicrosPerUpdatePerObserver: r.cpuMicrosPerUpdatePerObserver, p99: r.latencyMs.p99, loadAverage1m: r.loadAverage1m[0] }))])) } : {}),
    ratio: {
      p50: ratio(runs.plansync.latencyMs.p50, runs.reference.latencyMs.p50),
      p99: ratio(runs.plansync.latencyMs.p99, runs.reference.latencyMs.p99),
      cpu: ratio(runs.plansync.cpuMicrosPerUpdatePerObserver, runs.reference.cpuMicrosPerUpdatePerObserver),
      cpuToFloor: ratio(runs.plansync.cpuMicrosPerUpdatePerObserver, runs.floor.cpuMicrosPerUpdatePerObserver),
      referenceCpuToFloor: ratio(runs.reference.cpuMicrosPerUpdatePerObserver, runs.floor.cpuMicrosPerUpdatePerObserver),
    },
  };

  /** One window of one server: the observers connected, the writer writing, then everything closed again. */
  async function measureRun(server, name) {
    const obs = await connectObservers(server, target, observers, options.workers);
    const writer = startWorker('grid-worker.mjs');
    const clients = [...obs.workers, writer];
    try {
      await writer.request(
        { type: 'connect', url: server.url.replace(/^http/, 'ws') + '/yjs', docName: target.docName, token: target.token, epoch, clients: [{ index: 0, key: target.keys[0], writer: true }] },
        'synced',
      );
      const writeStart = now() + 200;
      const measureStart = writeStart + warmupMs;
      const measureEnd = measureStart + measureMs;
      for (const w of obs.workers) w.send({ type: 'start', measureStart, measureEnd });
      writer.send({ type: 'start', writeStart, measureStart, measureEnd, periodMs });
      const load = [os.loadavg()[0]];
      await sleep(measureStart - now());
      const cpu0 = cpuSample(server.pid);
      const m0 = machineCpu();
      const mono0 = monoMicros();
      await sleep(measureEnd - now());
      const cpu1 = cpuSample(server.pid);
      const m1 = machineCpu();
      const mono1 = monoMicros();
      load.push(os.loadavg()[0]);
      markWindow('fanout 1 writer x 1000 observers', name, mono0, mono1);
      await drain(obs.workers, 'count', 'count', 500);
      const reports = await Promise.all(obs.workers.map((w) => w.request({ type: 'report' }, 'report')));
      const writerReport = await writer.request({ type: 'report' }, 'report');
      const sent = writerReport.clients[0].sent;
      const latencies = concatFloat64(reports.map((r) => r.latencies));
      const serverCpu = cpu1.ownSeconds - cpu0.ownSeconds;
      const dbCpu = name === 'plansync' ? cpu1.childSeconds - cpu0.childSeconds : null;
      const clientCpu = reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0);
      const run = {
        observers: obs.connected,
        connectMs: Math.round(obs.connectMs),
        updatesPerSecond: 1000 / periodMs,
        sent,
        expected: sent * obs.connected,
        delivered: latencies.length,
        latencyMs: distribution(latencies),
        serverCpuSeconds: serverCpu,
        // Where the server's CPU went: its main thread (user and kernel: the sends are kernel time), and the
        // other threads (V8's garbage collector and compiler, libuv's pool).
        serverMainThreadSeconds: cpu1.mainSeconds - cpu0.mainSeconds,
        serverMainThreadSystemSeconds: cpu1.mainSystemSeconds - cpu0.mainSystemSeconds,
        serverOtherThreadsSeconds: serverCpu - (cpu1.mainSeconds - cpu0.mainSeconds),
        serverReadCalls: cpu1.readCalls - cpu0.readCalls,
        serverWriteCalls: cpu1.writeCalls - cpu0.writeCalls,
        serverMinorFaults: cpu1.minorFaults - cpu0.minorFaults,
        serverContextSwitches: cpu1.contextSwitches - cpu0.contextSwitches,
        databaseCpuSeconds: dbCpu,
        cpuMicrosPerUpdatePerObserver: sent > 0 ? (1e6 * serverCpu) / (sent * obs.connected) : null,
        cpuMicrosPerUpdatePerObserverWithDatabase: sent > 0 && dbCpu != null ? (1e6 * (serverCpu + dbCpu)) / (sent * obs.connected) : null,
        serverRssMb: cpu1.rssMb,
        clientCpuSeconds: clientCpu,
        machineBusy: busyShare(m0, m1),
        closes: reports.reduce((a, r) => a + r.closes, 0),
        loadAverage1m: load,
      };
      log(
        `  p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; ${fmt(run.cpuMicrosPerUpdatePerObserver)} us CPU per update per observer (main thread ${fmt(run.serverMainThreadSeconds)} s, of which kernel ${fmt(run.serverMainThreadSystemSeconds)} s; other threads ${fmt(run.serverOtherThreadsSeconds)} s; ${run.serverWriteCalls} write and ${run.serverReadCalls} read calls, ${run.serverMinorFaults} page faults, ${run.serverContextSwitches} context switches)`,
      );
      return run;
    } finally {
      await stopWorkers(clients);
    }
  }
}
