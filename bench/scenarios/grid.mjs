// Scenario 1, grid propagation: 1, 50 and 200 concurrent writers on one document, each run against Plansync
// and the reference y-websocket@1.5.4 bin/server.js in alternating order (50 and 200: five rounds in a full run,
// to show the spread) (bench/lib/grid.mjs does the run,
// as for bench/grid-propagation.mjs). Why the clients are light ones by default: bench/grid-light-worker.mjs.
import { fmt, log, median, ratio, sleep, startReference, startScript, stopProcess } from '../lib/common.mjs';
import { timedReferenceEntry } from '../lib/forwardTiming.mjs';
import { gridTarget, openKeeper, pooledLatencyMs, runGridScenario } from '../lib/grid.mjs';

/**
 * Measures, per writer count and server: propagation latency (p50 to max), deliveries, server and PostgreSQL
 * CPU, and the ratios Plansync / reference. Leaves the document and one idle keeper per server in
 * `suite.gridTarget` and `suite.keepers` for the durability scenario.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure(suite) {
  const { servers, options, pause, markWindow } = suite;
  const target = await gridTarget(servers.plansync.url);
  suite.gridTarget = target;
  // Keepers: one idle stock client per server for the grid and durability runs (see bench/lib/grid.mjs).
  suite.keepers = { plansync: await openKeeper(servers.plansync, target), reference: await openKeeper(servers.reference, target) };
  const scenarios = [];
  // The floor (bench/send-floor-server.mjs), at 50 writers: the same clients and load on a server that only
  // relays bytes (no Y.Doc, no validation, no storage), to show what latency this machine allows at all there,
  // where both servers are mostly idle and the p99 is the kernel's and the load processes' scheduling.
  const floor = options.grid.writers.includes(50) ? await startScript('floor', 'send-floor-server.mjs') : null;
  // The same floor keeping a Y.Doc (FLOOR_YJS=1: each update applied before it is relayed, as the reference
  // does): the least a Yjs server that can bring a joining client up to date must do, with the floor's sends.
  const floorYjs = floor ? await startScript('floorYjs', 'send-floor-server.mjs', { env: { FLOOR_YJS: '1' } }) : null;
  // A second copy of the reference, started as the first (issue 16, stop 46): what two servers that are the same
  // measure apart in the same rounds, so that a difference between Plansync and the reference can be set against
  // how finely this run tells servers apart at all. It is warmed up with one run of its own, not counted, as the
  // reference was by the suite's warm-up and the 1-writer run.
  // It is the timed copy (bench/lib/forwardTiming.mjs: three clock reads per message, and a counter), so that the
  // servers' own time from an update's arrival to its broadcast's last write can be set side by side.
  const referenceCopy = floor ? await startReference({ probe: true, name: 'referenceCopy', entry: timedReferenceEntry() }) : null;
  if (referenceCopy) referenceCopy.timedReference = true;
  // The floors and the copy hold a keeper too, as the servers do, so that their runs send to as many sockets.
  const floorKeepers = floor ? [await openKeeper(floor, target), await openKeeper(floorYjs, target), await openKeeper(referenceCopy, target)] : [];
  if (referenceCopy) {
    log('grid: warming up the second copy of the reference (50 writers, not counted)...');
    await runGridScenario(referenceCopy, target, 50, { ...options.grid, workers: options.workers });
    await sleep(pause);
  }
  for (const [i, writers] of options.grid.writers.entries()) {
    const scenario = { writers, clients: Math.max(writers, 2) };
    const withFloor = floor && writers === 50;
    const serverOf = (name) =>
      name === 'floor' || name === 'floorWork' ? floor : name === 'floorYjs' ? floorYjs : name === 'referenceCopy' ? referenceCopy : servers[name];
    // Several writers: `repeats` rounds (five in a full run), each server once a round, the order alternating,
    // so that the spread from run to run shows; the run with the median p99 stands for the server.
    const rounds = writers > 1 ? options.grid.repeats : 1;
    const all = { plansync: [], reference: [], ...(withFloor ? { referenceCopy: [], floor: [], floorYjs: [], floorWork: [] } : {}) };
    for (let round = 0; round < rounds; round++) {
      const compared = withFloor ? ['plansync', 'reference', 'referenceCopy'] : ['plansync', 'reference'];
      const order = (i + round) % 2 === 0 ? compared : compared.reverse();
      // The floor, the floor keeping a Y.Doc, then the floor doing Plansync's work: spending, after each update's
      // sends, the CPU Plansync's run of this round spent per update beyond the floor's (bench/send-floor-server.mjs).
      if (withFloor) order.push('floor', 'floorYjs', 'floorWork');
      for (const name of order) {
        log(`grid: ${writers} writer(s) -> ${name}${rounds > 1 ? ` (run ${round + 1} of ${rounds})` : ''}...`);
        const workMicros = name === 'floorWork' ? floorWorkMicros(all.plansync.at(-1), all.floor.at(-1)) : 0;
        if (name === 'floorWork') await setFloorWork(floor, workMicros);
        const run = await runGridScenario(serverOf(name), target, writers, { ...options.grid, workers: options.workers });
        if (name === 'floorWork') {
          await setFloorWork(floor, 0);
          run.workMicrosPerUpdate = workMicros;
        }
        markWindow(`grid ${writers} writers`, name, run.window.monoStartMicros, run.window.monoEndMicros);
        delete run.window;
        all[name].push(run);
        log(`  p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; server CPU ${fmt(run.serverCpuSeconds)} s${run.databaseCpuSeconds != null ? ` (+${fmt(run.databaseCpuSeconds)} s PostgreSQL)` : ''}`);
        await sleep(pause);
      }
    }
    for (const name of Object.keys(all)) {
      const byP99 = [...all[name]].sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99);
      scenario[name] = byP99[Math.floor((byP99.length - 1) / 2)];
    }
    // Every run's deliveries of each server taken together (see pooledLatencyMs): the tails compared on five
    // times as many late updates as one run holds.
    if (rounds > 1) scenario.pooled = Object.fromEntries(Object.entries(all).map(([name, runs]) => [name, pooledLatencyMs(runs)]));
    if (rounds > 1) {
      const brief = (run) => ({
        p50: run.latencyMs.p50,
        p99: run.latencyMs.p99,
        max: run.latencyMs.max,
        ...(run.editLatencyMs ? { editP99: run.editLatencyMs.p99 } : {}),
        serverCpuSeconds: run.serverCpuSeconds,
        loadAverage1m: run.loadAverage1m ?? null,
        ...(run.workMicrosPerUpdate != null ? { workMicrosPerUpdate: run.workMicrosPerUpdate } : {}),
      });
      scenario.runs = Object.fromEntries(Object.entries(all).map(([name, runs]) => [name, runs.map(brief)]));
    }
    // The servers' own path (in-server clocks, where kept: Plansync's and the timed copy's), medians over the runs.
    const ownPath = (runs) => {
      const timed = (runs ?? []).filter((r) => r.forward?.count > 0);
      if (timed.length === 0) return null;
      return {
        p50Us: median(timed.map((r) => r.forward.p50Us)),
        p99Us: median(timed.map((r) => r.forward.p99Us)),
        runsP99Us: timed.map((r) => r.forward.p99Us),
        counts: timed.map((r) => r.forward.count),
      };
    };
    if (withFloor) scenario.ownPath = { plansync: ownPath(all.plansync), referenceCopy: ownPath(all.referenceCopy) };
    scenario.ratio = {
      p50: ratio(scenario.plansync.latencyMs.p50, scenario.reference.latencyMs.p50),
      p99: ratio(scenario.plansync.latencyMs.p99, scenario.reference.latencyMs.p99),
      cpu: ratio(scenario.plansync.serverCpuSeconds, scenario.reference.serverCpuSeconds),
      ...(withFloor
        ? {
            referenceCopyP99: ratio(scenario.referenceCopy.latencyMs.p99, scenario.reference.latencyMs.p99),
            floorP99: ratio(scenario.floor.latencyMs.p99, scenario.reference.latencyMs.p99),
            floorYjsP99: ratio(scenario.floorYjs.latencyMs.p99, scenario.reference.latencyMs.p99),
            floorWorkP99: ratio(scenario.floorWork.latencyMs.p99, scenario.reference.latencyMs.p99),
            toFloorWorkP99: ratio(scenario.plansync.latencyMs.p99, scenario.floorWork.latencyMs.p99),
            ownPathP50: ratio(scenario.ownPath.plansync?.p50Us, scenario.ownPath.referenceCopy?.p50Us),
            ownPathP99: ratio(scenario.ownPath.plansync?.p99Us, scenario.ownPath.referenceCopy?.p99Us),
            referenceCopyPooledP99: ratio(scenario.pooled.referenceCopy.p99, scenario.pooled.reference.p99),
            floorPooledP99: ratio(scenario.pooled.floor.p99, scenario.pooled.reference.p99),
            floorYjsPooledP99: ratio(scenario.pooled.floorYjs.p99, scenario.pooled.reference.p99),
            floorWorkPooledP99: ratio(scenario.pooled.floorWork.p99, scenario.pooled.reference.p99),
            toFloorWorkPooledP99: ratio(scenario.pooled.plansync.p99, scenario.pooled.floorWork.p99),
          }
        : {}),
      ...(scenario.pooled ? { pooledP99: ratio(scenario.pooled.plansync.p99, scenario.pooled.reference.p99) } : {}),
    };
    scenarios.push(scenario);
  }
  for (const keeper of floorKeepers) await keeper.close();
  if (floor) await stopProcess(floor);
  if (referenceCopy) await stopProcess(referenceCopy);
  if (floorYjs) await stopProcess(floorYjs);
  return { document: target.docName, clients: options.grid.clients, warmupMs: options.grid.warmupMs, measureMs: options.grid.measureMs, repeats: options.grid.repeats, scenarios };
}

/**
 * The CPU per update Plansync's run spent beyond the floor's run (both server processes only: the embedded
 * PostgreSQL's CPU is not counted), in microseconds.
 */
function floorWorkMicros(plansyncRun, floorRun) {
  const updates = Math.max(1, plansyncRun.sent);
  return Math.max(0, Math.round((1e6 * (plansyncRun.serverCpuSeconds - (floorRun.serverCpuSeconds * plansyncRun.sent) / Math.max(1, floorRun.sent))) / updates));
}

/** Sets the floor server's CPU work per update (bench/send-floor-server.mjs). */
async function setFloorWork(floor, micros) {
  const res = await fetch(`${floor.url}/work?us=${micros}`, { method: 'POST' });
  if (!res.ok || Number(await res.text()) !== micros) throw new Error(`the floor server did not take its work (${res.status})`);
}
