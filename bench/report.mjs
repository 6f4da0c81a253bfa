// The suite's report (bench/run.mjs runs the scenarios, bench/scenarios/*.mjs measure): the targets, the
// summary rows, bench/results.md and bench/results.json, and with --cpu-prof bench/results/suite-profile.{json,md}.
// It reads only what the scenarios returned (results.json), so `--render` can write results.md again without
// running anything. Out of scope: measuring, and judging anything but the targets below.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { benchDir, fmt, fmtRatio, log, ratio, resultsDir, root, summarizeProfile } from './lib/common.mjs';
import { scaleoutMarkdown, scaleoutSummary } from './lib/scaleout.mjs';

/** The targets the summary judges (written to results.json as `targets`). */
export const TARGETS = {
  // Issue 16: ratios to the reference, measured in the same run.
  gridP99: 'grid p99 at 50 and 200 writers <= 0.9x the reference',
  // Where gridP99 is missed (a server keeping a Y.Doc misses it too here): no wait of Plansync's own (issue 16).
  gridNoWait: "defended: grid p99 <= the floor spending Plansync's CPU per update",
  fanoutCpu: 'CPU per update per observer <= 0.8x the reference',
  idleConnection: "memory per idle grid connection <= the reference's",
  openDocument: "memory of an open document <= 1.5x the reference's",
  editToRow: 'edit to row p99 < 250 ms at 200 writers',
  subscriptionP99: 'subscription fan-out p99 < 100 ms at 5,000 subscribers',
  idleSubscription: 'memory per idle subscription < 20 KB',
};

/**
 * The summary table's rows, one a metric, in scenario order: Plansync's figure, the reference's, their ratio,
 * and the target with whether it is met (null where none). `s`: the scenarios' results by key.
 */
export function summaryRows(s, options) {
  const rows = [];
  /** Adds a summary row, and returns it (a caller may add a note). */
  const add = (scenario, metric, p, r, unit, digits, target = null, met = null, ratioValue = ratio(p, r)) => {
    const row = { scenario, metric, plansync: p, reference: r, unit, digits, ratio: ratioValue, target, met };
    rows.push(row);
    return row;
  };
  if (s.grid) {
    for (const g of s.grid.scenarios) {
      const targetHere = g.writers >= 50 ? TARGETS.gridP99 : null;
      // Several runs: the target is judged on the p99 of all their deliveries pooled (see bench/lib/grid.mjs
      // pooledLatencyMs), the median of the runs' p99s shown beside it.
      const pooled = g.pooled ? { plansync: g.pooled.plansync.p99, reference: g.pooled.reference.p99 } : null;
      add('1 grid propagation', `${g.writers} writer(s): p50`, g.plansync.latencyMs.p50, g.reference.latencyMs.p50, 'ms', 2);
      add('1 grid propagation', `${g.writers} writer(s): p99${g.runs ? ` (median of ${g.runs.plansync.length} runs)` : ''}`, g.plansync.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2, pooled ? null : targetHere, targetHere && !pooled ? g.plansync.latencyMs.p99 <= 0.9 * g.reference.latencyMs.p99 : null);
      if (pooled) add('1 grid propagation', `${g.writers} writer(s): p99 of all ${g.runs.plansync.length} runs' deliveries pooled`, pooled.plansync, pooled.reference, 'ms', 2, targetHere, targetHere ? pooled.plansync <= 0.9 * pooled.reference : null);
      if (targetHere && (s.grid.clients ?? 'stock') === 'stock' && (g.plansync.benchBusy > 0.6 || g.reference.benchBusy > 0.6))
        rows[rows.length - 1].note = 'load-generator bound: client-side queueing dominates, and runs of the same code differ by tens of percent';
      else if (targetHere && rows[rows.length - 1].met === false && g.runs) rows[rows.length - 1].note = spreadNote(g);
      if (g.plansync.editLatencyMs)
        add('1 grid propagation', `${g.writers} writer(s): p99 from before the writer's edit (its own Yjs transaction and send included), the same runs`, g.plansync.editLatencyMs.p99, g.reference.editLatencyMs.p99, 'ms', 2);
      add('1 grid propagation', `${g.writers} writer(s): server CPU in the window`, g.plansync.serverCpuSeconds, g.reference.serverCpuSeconds, 's', 2);
      if (g.referenceCopy) {
        add('1 grid propagation', `${g.writers} writer(s): p99, a second copy of the reference against the reference (the same code, timed inside with three clock reads per message, in the same rounds: how far apart two equal servers measure here)`, g.referenceCopy.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2);
        if (g.pooled?.referenceCopy) add('1 grid propagation', `${g.writers} writer(s): p99 pooled, the second copy of the reference against the reference`, g.pooled.referenceCopy.p99, g.pooled.reference.p99, 'ms', 2);
      }
      if (g.ownPath?.plansync && g.ownPath?.referenceCopy) {
        const own = `${g.writers} writer(s): the server's own path, from an update's arrival to its broadcast's last write (clocks inside the servers: Plansync's plansync_grid_forward_seconds, and the second copy of the reference, timed), medians of ${g.ownPath.plansync.counts.length} runs`;
        add('1 grid propagation', `${own}: p50`, g.ownPath.plansync.p50Us, g.ownPath.referenceCopy.p50Us, 'us', 0);
        add('1 grid propagation', `${own}: p99`, g.ownPath.plansync.p99Us, g.ownPath.referenceCopy.p99Us, 'us', 0);
      }
      if (g.floor) add('1 grid propagation', `${g.writers} writer(s): p99, the floor (a server that only relays) against the reference`, g.floor.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2);
      if (g.floorYjs) add('1 grid propagation', `${g.writers} writer(s): p99, the floor keeping a Y.Doc (each update applied before its sends, as the reference does) against the reference`, g.floorYjs.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2);
      if (g.floorWork) {
        add('1 grid propagation', `${g.writers} writer(s): p99, the floor spending Plansync's CPU per update (${fmt(g.floorWork.workMicrosPerUpdate / 1000)} ms after its sends) against the reference`, g.floorWork.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2);
        const judged = rows.find((r) => r.metric.startsWith(`${g.writers} writer(s): p99`) && r.target === TARGETS.gridP99);
        const missed = judged?.met === false ? judged : null;
        // Where 0.9x is missed, the target defended instead (issue 16): Plansync adds no wait of its own, its p99 no
        // more than that of the floor making the same sends and spending the same CPU per update after them.
        const p99Of = (name) => (g.pooled ? g.pooled[name].p99 : g[name].latencyMs.p99);
        const noWaitOfItsOwn = p99Of('plansync') <= p99Of('floorWork');
        if (g.pooled) add('1 grid propagation', `${g.writers} writer(s): p99 pooled, the floor spending Plansync's CPU against the reference`, g.pooled.floorWork.p99, g.pooled.reference.p99, 'ms', 2);
        const defended = add('1 grid propagation', `${g.writers} writer(s): p99${g.pooled ? ' pooled' : ''}, Plansync against the floor spending its CPU`, p99Of('plansync'), p99Of('floorWork'), 'ms', 2, missed ? TARGETS.gridNoWait : null, missed ? noWaitOfItsOwn : null);
        const floorWorkRatio = g.pooled ? g.ratio.floorWorkPooledP99 : g.ratio.floorWorkP99;
        const toFloorWork = g.pooled ? g.ratio.toFloorWorkPooledP99 : g.ratio.toFloorWorkP99;
        // Missed: set beside how far two equal servers measured apart in the same rounds (the second copy of the
        // reference against the reference), and said to be inside that only when it is.
        const copyRatio = g.pooled?.referenceCopy ? g.ratio.referenceCopyPooledP99 : g.ratio.referenceCopyP99;
        if (missed && !noWaitOfItsOwn && defended && copyRatio != null && toFloorWork != null) {
          const inside = Math.abs(toFloorWork - 1) <= Math.abs(copyRatio - 1);
          defended.note = `Plansync ${fmtRatio(toFloorWork)} that floor; in the same rounds a second copy of the reference measured ${fmtRatio(copyRatio)} the reference${inside ? ': two servers running the same code measured as far apart here' : ', closer than this: the miss is more than two equal servers differ by here'}`;
        }
        if (missed)
          missed.note = `explained in section 1: ${spreadNote(g)}; ${g.floorYjs ? `${floorYjsWords(g)}; ` : ''}the floor spending Plansync's CPU per update after its sends and nothing else reaches ${fmtRatio(floorWorkRatio)} the reference; defended instead: Plansync's p99 no more than that floor's (no wait of its own), ${noWaitOfItsOwn ? 'met' : 'missed'}, ${fmtRatio(toFloorWork)}`;
      }
    }
  }
  if (s.fanout) {
    add('2 grid fan-out', '1 writer, 1,000 observers: p50', s.fanout.plansync.latencyMs.p50, s.fanout.reference.latencyMs.p50, 'ms', 2);
    add('2 grid fan-out', '1 writer, 1,000 observers: p99', s.fanout.plansync.latencyMs.p99, s.fanout.reference.latencyMs.p99, 'ms', 2);
    const cpu = s.fanout.plansync.cpuMicrosPerUpdatePerObserver;
    const refCpu = s.fanout.reference.cpuMicrosPerUpdatePerObserver;
    add('2 grid fan-out', 'server CPU per update per observer', cpu, refCpu, 'us', 2, TARGETS.fanoutCpu, cpu != null && refCpu != null ? cpu <= 0.8 * refCpu : null);
    const floorCpu = s.fanout.floor?.cpuMicrosPerUpdatePerObserver;
    if (floorCpu != null && refCpu != null && cpu != null && cpu > 0.8 * refCpu) {
      rows[rows.length - 1].note = `the target is ${fmt(0.8 * refCpu)} us, the floor (sends alone) ${fmt(floorCpu)} us; defended instead: no more than the reference, ${cpu <= refCpu ? 'met' : 'missed'}`;
    }
    if (s.fanout.floor) add('2 grid fan-out', 'server CPU per update per observer, against the floor (a server that only relays)', cpu, s.fanout.floor.cpuMicrosPerUpdatePerObserver, 'us', 2);
  }
  if (s.cost) {
    const c = s.cost;
    const dataKnown = c.plansync.idleConnection.dataKb != null && c.reference.idleConnection.dataKb != null;
    add('3 grid cost', 'memory per idle connection (V8 heap + external, after GC)', c.plansync.idleConnection.retainedKb, c.reference.idleConnection.retainedKb, 'KB', 2, dataKnown ? null : TARGETS.idleConnection, dataKnown ? null : c.plansync.idleConnection.retainedKb <= c.reference.idleConnection.retainedKb);
    // Judged without V8's compiled code: the connect path is optimised while the connections are measured, and
    // that code is bounded (the same for 500 connections as for 50,000), not held per connection.
    if (dataKnown) add('3 grid cost', 'memory per idle connection, without compiled code (heap + external - code spaces)', c.plansync.idleConnection.dataKb, c.reference.idleConnection.dataKb, 'KB', 2, TARGETS.idleConnection, c.plansync.idleConnection.dataKb <= c.reference.idleConnection.dataKb);
    add('3 grid cost', 'memory per idle connection (RSS)', c.plansync.idleConnection.rssKb, c.reference.idleConnection.rssKb, 'KB', 2);
    add('3 grid cost', 'open document, 120 filled lines (heap + external)', c.plansync.document120.retainedKb, c.reference.document120.retainedKb, 'KB', 0);
    add('3 grid cost', `open document, ${options.cost.bigLines.toLocaleString('en')} filled lines (heap + external)`, c.plansync.document10k.retainedKb, c.reference.document10k.retainedKb, 'KB', 0, TARGETS.openDocument, c.plansync.document10k.retainedKb <= 1.5 * c.reference.document10k.retainedKb);
    add('3 grid cost', `open document, ${options.cost.bigLines.toLocaleString('en')} filled lines (RSS)`, c.plansync.document10k.rssKb, c.reference.document10k.rssKb, 'KB', 0);
  }
  if (s.durability) {
    for (const d of s.durability.runs) {
      add('4 grid durability', `${d.writers} writer(s): edit to row, p50`, d.editToRowMs.p50, null, 'ms', 1);
      add('4 grid durability', `${d.writers} writer(s): edit to row, p99`, d.editToRowMs.p99, null, 'ms', 1, d.writers === 200 ? TARGETS.editToRow : null, d.writers === 200 ? d.editToRowMs.p99 < 250 : null);
      if (d.cpuVsReference) add('4 grid durability', `${d.writers} writer(s): CPU (server + PostgreSQL) per write`, (1000 * (d.cpuVsReference.plansyncCpuSeconds + d.cpuVsReference.databaseCpuSeconds)) / Math.max(1, s.grid.scenarios.find((g) => g.writers === d.writers).plansync.sent), (1000 * d.cpuVsReference.referenceCpuSeconds) / Math.max(1, s.grid.scenarios.find((g) => g.writers === d.writers).reference.sent), 'ms', 2);
    }
  }
  if (s.subscriptions) {
    const sub = s.subscriptions;
    sub.plansync.runs.forEach((p, i) => {
      const r = sub.reference.runs[i];
      const is5k = p.subscribers >= 5000;
      add('5 subscriptions', `${p.subscribers.toLocaleString('en')} subscribers: p50`, p.latencyMs.p50, r?.latencyMs.p50, 'ms', 1);
      add('5 subscriptions', `${p.subscribers.toLocaleString('en')} subscribers: p99`, p.latencyMs.p99, r?.latencyMs.p99, 'ms', 1, is5k ? TARGETS.subscriptionP99 : null, is5k ? p.latencyMs.p99 < 100 : null);
      const f = sub.floor?.runs[i];
      if (is5k && f && p.latencyMs.p99 >= 100) {
        rows[rows.length - 1].note = `the floor, a server that only writes, ${fmt(f.latencyMs.p99, 1)} ms: ${f.latencyMs.p99 >= 100 ? 'the target is below what the writes alone take here' : 'the writes alone meet it here'}`;
      }
      if (f) add('5 subscriptions', `${p.subscribers.toLocaleString('en')} subscribers: p99, against the floor (a server that only writes)`, p.latencyMs.p99, f.latencyMs.p99, 'ms', 1);
      const own = sub.perSocket === 1;
      add(
        '5 subscriptions',
        `${p.subscribers.toLocaleString('en')} subscribers: memory per idle subscription (heap + external${own ? ', one socket each' : `, ${sub.perSocket} per socket`})`,
        p.memoryPerIdleSubscription.retainedKb,
        r?.memoryPerIdleSubscription.retainedKb,
        'KB',
        2,
        is5k ? (own ? TARGETS.idleSubscription : `${TARGETS.idleSubscription} (not judged: shared sockets)`) : null,
        is5k && own ? p.memoryPerIdleSubscription.retainedKb < 20 : null,
      );
    });
    if (sub.plansync.sharedSocket)
      add('5 subscriptions', '50 per socket: memory per idle subscription', sub.plansync.sharedSocket.memoryPerIdleSubscription.retainedKb, sub.reference.sharedSocket?.memoryPerIdleSubscription.retainedKb, 'KB', 2);
  }
  if (s.reads) {
    add('6 GraphQL reads', `budgetLines (120 lines), ${s.reads.concurrency} clients: requests/s`, s.reads.plansync.requestsPerSecond, s.reads.reference.requestsPerSecond, '/s', 0);
    add('6 GraphQL reads', 'p99', s.reads.plansync.latencyMs.p99, s.reads.reference.latencyMs.p99, 'ms', 2);
  }
  if (s.coldstart) add('7 cold start', `to /healthz, median of ${s.coldstart.runs}`, s.coldstart.plansync.medianMs, s.coldstart.reference.medianMs, 'ms', 0);
  if (s.batch) {
    add('9 batch writes', `updateBudgetLines, ${s.batch.cells.toLocaleString('en')} cells: wall time per cell`, s.batch.plansync.wallMicrosPerCell, s.batch.reference.wallMicrosPerCell, 'us', 1);
    add('9 batch writes', 'CPU per cell (server + PostgreSQL)', s.batch.plansync.cpuMicrosPerCell, s.batch.reference.cpuMicrosPerCell, 'us', 1);
  }
  if (s.webhooks) {
    add('10 webhook deliveries', `${s.webhooks.deliveries.toLocaleString('en')} signed deliveries, ${s.webhooks.concurrency} in flight: deliveries/s`, s.webhooks.plansync.deliveriesPerSecond, s.webhooks.reference.deliveriesPerSecond, '/s', 0);
  }
  if (s.odata) {
    add('11 OData full read', `${s.odata.lines.toLocaleString('en')} lines, every page: rows/s`, s.odata.plansync.rowsPerSecond, s.odata.reference.rowsPerSecond, '/s', 0);
    add('11 OData full read', 'peak RSS growth over the read', s.odata.plansync.peakRssGrowthMb, s.odata.reference.peakRssGrowthMb, 'MB', 1);
  }
  if (s.spreadsheets) {
    const x = s.spreadsheets;
    const big = Math.max(...x.exportLines);
    add('12 spreadsheets', `CSV export of ${big.toLocaleString('en')} lines: rows/s`, x.exports[`csv${big}`].rowsPerSecond, x.reference.rowsPerSecond, '/s', 0);
    add('12 spreadsheets', 'CSV export: peak RSS growth', x.exports[`csv${big}`].peakRssGrowthMb, x.reference.peakRssGrowthMb, 'MB', 1);
    add('12 spreadsheets', `xlsx export of ${big.toLocaleString('en')} lines: rows/s (reference: CSV)`, x.exports[`xlsx${big}`].rowsPerSecond, x.reference.rowsPerSecond, '/s', 0);
    add('12 spreadsheets', `import of ${x.importLines.toLocaleString('en')} lines: wall time per cell (reference: updateBudgetLines)`, x.import.plansync.wallPerCellUs, x.import.reference.wallPerCellUs, 'us', 1);
  }
  if (s.gridbrowser) {
    const g = s.gridbrowser;
    const what = `${g.lines.toLocaleString('en')} lines (reference: ${g.referenceLines})`;
    add('13 grid in the browser', `${what}: first rows drawn`, g.plansync.loadMs, g.reference.loadMs, 'ms', 0);
    add('13 grid in the browser', `${what}: JS heap after GC`, g.plansync.heapMb, g.reference.heapMb, 'MB', 1);
    add('13 grid in the browser', `${what}: main-thread time per 128 px scroll step`, g.plansync.scrollTaskMsPerStep, g.reference.scrollTaskMsPerStep, 'ms', 1);
  }
  if (s.clientload) {
    const c = s.clientload;
    const [p, r] = [c.plansync, c.reference];
    const grid = `grid page (${c.lines} lines)`;
    add('14 loading the web client', `${grid}, cold: to the first cell value`, p.coldMs, r.coldMs, 'ms', 0);
    add('14 loading the web client', `${grid}, warm (second visit): to the first cell value`, p.warmMs, r.warmMs, 'ms', 0);
    add('14 loading the web client', `${grid}, reload: to the first cell value`, p.reloadMs, r.reloadMs, 'ms', 0);
    add('14 loading the web client', `${grid}, cold on a ${c.slowLink.downMbit} Mbit/s, ${c.slowLink.latencyMs} ms link: to the first cell value`, p.slowColdMs, r.slowColdMs, 'ms', 0);
    add('14 loading the web client', `${grid}, cold: bytes over the wire`, p.coldBytes / 1024, r.coldBytes / 1024, 'KB', 0);
    add('14 loading the web client', 'sign-in page, cold: bytes over the wire', p.signInBytes / 1024, r.signInBytes / 1024, 'KB', 0);
    if (c.before) {
      const b = c.before;
      add('14 loading the web client', `${grid}, cold: to the first cell value (reference: the client before issue 16)`, p.coldMs, b.coldMs, 'ms', 0);
      add('14 loading the web client', `${grid}, cold on the slow link (reference: the client before issue 16)`, p.slowColdMs, b.slowColdMs, 'ms', 0);
      add('14 loading the web client', 'sign-in page, cold: bytes over the wire (reference: the client before issue 16)', p.signInBytes / 1024, b.signInBytes / 1024, 'KB', 0);
    }
  }
  scaleoutSummary(s.scaleout, add);
  const firstScaleout = rows.find((r) => r.scenario.startsWith('8 '));
  if (firstScaleout) firstScaleout.note = 'here "Plansync" is two instances with the writers split, "reference" one instance';
  return rows;
}

const status = (met) => (met === null ? '' : met ? 'met' : '**missed**');

/** bench/results.md from a run's result (what results.json holds, with its summary and the latest profile). */
function markdown(result) {
  const options = result.options;
  const m = result.machine;
  const s = result.scenarios;
  const out = [];
  out.push('# Plansync benchmarks', '');
  out.push(`Generated by \`node bench/run.mjs${options.quick ? ' --quick' : ''}\` (\`npm run bench\`) on ${m.date}, commit ${m.gitCommit ?? '?'}${m.gitDirty ? ' (with uncommitted changes under server/)' : ''}.`, '');
  out.push(`- Machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memoryGb} GB, ${m.os}; Node ${m.node}.`);
  out.push(`- Load average (1 min) before the suite ${fmt(result.loadBefore[0])}, after ${fmt(result.loadAfter[0])}; before each scenario in its section. Took ${fmt(result.durationSeconds, 0)} s.`);
  if (result.buildWarning) out.push(`- **Warning:** ${result.buildWarning}.`);
  // Said of a run after it (what else ran on the machine, say): added to results.json by hand, kept with it.
  for (const note of result.runNotes ?? []) out.push(`- **Note on this run:** ${note}`);
  out.push('- Every server, load process and PostgreSQL ran on this machine, on 127.0.0.1; the load processes compete with the servers for the same CPUs. Ratios are Plansync / reference: below 1 is better for Plansync where lower is better (latency, CPU, memory, start time) and worse where higher is better (requests/s).');
  out.push('- Plansync ran from server/dist with an embedded PostgreSQL in a fresh DATA_DIR, `GRID_IDLE_UNLOAD_MS=1000` (documents nobody holds unload after 1 s instead of 5 s), `LOG_LEVEL=warn`; every server, Plansync and the references, ran with `NODE_ENV=production` (as the Dockerfile sets it), and every measured one with `--expose-gc` and bench/lib/memory-probe.mjs preloaded (a forced GC and `process.memoryUsage()` on request over IPC).');
  out.push('');
  out.push('## Summary', '');
  out.push('| scenario | metric | Plansync | reference | ratio | target | |');
  out.push('|---|---|---|---|---|---|---|');
  for (const row of result.summary) {
    out.push(
      `| ${row.scenario} | ${row.metric} | ${fmt(row.plansync, row.digits)} ${row.unit} | ${row.reference == null ? '-' : `${fmt(row.reference, row.digits)} ${row.unit}`} | ${fmtRatio(row.ratio)} | ${row.target ?? ''} | ${status(row.met)}${row.note ? ` (${row.note})` : ''} |`,
    );
  }
  if (s.scaleout?.skipped) out.push('', `**Scale-out (8) skipped:** ${s.scaleout.skipped}.`);
  const failed = Object.entries(result.errors ?? {});
  if (failed.length) out.push('', `**Failed scenarios** (no figures): ${failed.map(([k, e]) => `${k}: ${e}`).join('; ')}.`);
  for (const i of result.incidents ?? []) out.push('', `**${i.server} exited unexpectedly** (${i.exit}) ${fmt(i.at / 1000, 0)} s into the run; its last output:`, '', '```', i.output.trim().slice(-2000), '```');
  const targets = result.summary.filter((r) => r.target);
  out.push('', `Targets: ${targets.filter((r) => r.met).length} of ${targets.length} met${targets.some((r) => !r.met) ? `; missed: ${[...new Set(targets.filter((r) => !r.met).map((r) => r.target))].join('; ')}` : ''}.`);
  for (const [key, section] of SECTIONS) if (s[key]) section(out, s, options, result);
  missedTargetProfiles(out, result);
  out.push('');
  return out.join('\n');
}

/** Profiles of the missed targets (and of the reads, the widest gap), from the latest `--cpu-prof` run. */
function missedTargetProfiles(out, result) {
  const missed = result.summary.filter((r) => r.target && r.met === false);
  const profile = result.profile;
  if (missed.length) {
    out.push('', '## CPU profiles where a target is missed', '');
    if (!profile) out.push('No profile yet: run `node bench/run.mjs --cpu-prof` (it writes bench/results/suite-profile.json, which this report then summarises).');
    else {
      out.push(
        `From \`node bench/run.mjs${profile.quick ? ' --quick' : ''} --cpu-prof\` on ${profile.date} (commit ${profile.gitCommit}), a separate run: every server under \`node --cpu-prof\`, main thread, self time inside each measurement window, Plansync beside its reference (profiling slows the servers: compare none of that run's latencies). All windows: bench/results/suite-profile.md.`,
      );
      if (profile.notes) out.push('', profile.notes);
      const wanted = new Set();
      for (const row of missed) {
        // The writer count whose p99 missed (the row's metric starts with it).
        if (row.target === TARGETS.gridP99 || row.target === TARGETS.gridNoWait) wanted.add(`grid ${parseInt(row.metric, 10)} writers`);
        if (row.target === TARGETS.fanoutCpu) wanted.add('fanout 1 writer x 1000 observers');
        if (row.target === TARGETS.subscriptionP99) wanted.add('subscriptions 5000');
      }
      wanted.add('reads');
      for (const label of wanted) out.push(...profileTables(profile, label, 12, 8));
      if (missed.some((r) => r.target === TARGETS.idleConnection || r.target === TARGETS.idleSubscription))
        out.push('', 'Memory targets: a CPU profile says nothing about them; see the retained and RSS figures above.');
    }
  }
}

/** A scenario's section title and the load before and after it. */
function scenarioHeader(out, title, sc) {
  out.push('', `## ${title}`, '');
  if (sc?.quiet) out.push(`Load average before: ${fmt(sc.quiet.load1m)}${sc.quiet.waitedMs > 1000 ? ` (waited ${fmt(sc.quiet.waitedMs / 1000, 0)} s from ${fmt(sc.quiet.loadAtStart)}: ${sc.quiet.reason})` : ''}; after: ${fmt(sc.loadAfter)}.`, '');
}

/** Section 1: the grid runs per writer count and server, the warm-up, and when the machine was busy. */
function gridSection(out, s, options, result) {
  scenarioHeader(out, '1. Grid propagation', s.grid);
  const stock = (s.grid.clients ?? 'stock') === 'stock';
  const measuredFromSend = s.grid.scenarios.some((g) => g.plansync.editLatencyMs);
  const editNote = measuredFromSend
    ? " The delays are measured from the writer's send (since issue 16, stop 46): each writer notes when its update is handed to its socket, after its own `Y.Map.set` (a Yjs transaction on its Y.Doc of the document's history) and the update's framing, and that time, gathered from every load process, is taken off every delivery of the update (bench/lib/gridWorkerCommon.mjs). The writer's own work before the send is the client's, not the server's: at 50 writers 0.2-0.3 ms typical and 1-2.6 ms at its 99th percentile on this machine (stop 46, 5 rounds of bench/grid-ab.mjs), and it grows with the Yjs client ids in the writer's Y.Doc (its median 0.28-0.30 ms with only its own, 0.34-0.42 ms with the 50 of an earlier run), so it was larger against a server that sends a joining writer the document's history (Plansync, the reference, the floor keeping a Y.Doc) than against one that sends none (the floor, the floor spending Plansync's CPU), whose writers' Y.Docs hold only their own edits. The delays from before the edit, as every run before stop 46 measured them, are in the summary and the column 'p99 from the edit'."
    : '';
  out.push(
    stock
      ? `W concurrent writers on one document (\`${s.grid.document.replace(/:[0-9a-f-]{36}:/, ':<plan>:')}\`), every client a stock y-websocket \`WebsocketProvider\` in ${options.workers} load processes; each writer sets its own cell about once a second to the time, every other client records the delay.${editNote} Warm-up ${s.grid.warmupMs / 1000} s, window ${s.grid.measureMs / 1000} s. Reference: y-websocket@1.5.4 \`bin/server.js\`. Same code as \`npm run bench:grid\` (bench/lib/grid.mjs).`
      : `W concurrent writers on one document (\`${s.grid.document.replace(/:[0-9a-f-]{36}:/, ':<plan>:')}\`), every writer also observing, with one extra observer when W = 1, in ${options.workers} load processes; each writer sets its own cell about once a second to the time, every other client records the delay.${editNote} The clients are light y-websocket clients (bench/grid-light-worker.mjs) rather than stock \`WebsocketProvider\`s: the same traffic to the server (sync step 1/2 handshake, awareness on connect and every 15 s, and each writer a real Y.Doc, loaded with the server's state, whose \`Y.Map.set\` on its own cell is sent as an update message, so the server validates, stores and broadcasts real Yjs updates), but no client applies the others' updates: it reads the writer's Yjs client id and the value from each update message, and counts deliveries per writer. With stock providers every client applies every other client's update to its own Y.Doc, about 40,000 Yjs applies a second at 200 writers, which saturated the load processes on the 2 CPUs they share with the server: the p99 (2 to 7 s on both servers, swinging from run to run) measured the load generator's queueing, not the server. Warm-up ${s.grid.warmupMs / 1000} s, window ${s.grid.measureMs / 1000} s. Reference: y-websocket@1.5.4 \`bin/server.js\`. Same code as \`npm run bench:grid\` (bench/lib/grid.mjs); \`--grid-clients=stock\` runs stock providers.`,
    '',
  );
  out.push(`| writers | server | p50 ms | p90 ms | p99 ms | max ms |${measuredFromSend ? ' p99 from the edit ms |' : ''} delivered / expected | server CPU s | PostgreSQL CPU s | RSS MB | load processes CPU s | machine busy (ours) |`);
  out.push(`|---|---|---|---|---|---|${measuredFromSend ? '---|' : ''}---|---|---|---|---|---|`);
  for (const g of s.grid.scenarios)
    for (const r of [g.plansync, g.reference, ...(g.referenceCopy ? [g.referenceCopy] : []), ...(g.floor ? [g.floor] : []), ...(g.floorYjs ? [g.floorYjs] : []), ...(g.floorWork ? [g.floorWork] : [])])
      out.push(`| ${r.writers} | ${r === g.floorWork ? gridServerLabel('floorWork') : gridServerLabel(r.server)} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} |${measuredFromSend ? ` ${fmt(r.editLatencyMs?.p99)} |` : ''} ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.databaseCpuSeconds)} | ${fmt(r.serverRssMb, 0)} | ${fmt(r.clientCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% (${Math.round(100 * r.benchBusy)}%) |`);
  const repeated = s.grid.scenarios.filter((g) => g.runs);
  if (repeated.length) {
    out.push(
      '',
      `The spread: with several writers each server ran ${repeated[0].runs.plansync.length} times, interleaved (the order alternating from round to round); the table above shows, for each server, the run with the median p99. ${repeated[0].pooled ? "The targets are judged on the last column, the p99 of all the runs' deliveries taken together (a run's p99 at 50 writers is set by the 5 or so of its 500 updates that came late for all their receivers, so it swings from run to run with whatever else the machine did then; pooled, the tail rests on five times as many; the median of the runs' p99s, as judged before, is in the summary too). " : ''}Every run (p50 / p99 / max ms${measuredFromSend ? ', p99 from the edit' : ''}, server CPU s, 1-minute load average before the run):`,
      '',
      '| writers | server | ' + repeated[0].runs.plansync.map((_, i) => `run ${i + 1}`).join(' | ') + ' | p99 min-max |' + (repeated[0].pooled ? ' pooled p50 / p99 |' : ''),
      '|---|---|' + repeated[0].runs.plansync.map(() => '---|').join('') + '---|' + (repeated[0].pooled ? '---|' : ''),
    );
    for (const g of repeated)
      for (const name of Object.keys(g.runs)) {
        const runs = g.runs[name];
        const p99s = runs.map((r) => r.p99);
        out.push(`| ${g.writers} | ${gridServerLabel(name)} | ${runs.map((r) => `${fmt(r.p50)} / ${fmt(r.p99)} / ${fmt(r.max, 1)}${r.editP99 != null ? ` (${fmt(r.editP99)})` : ''}, ${fmt(r.serverCpuSeconds)} s, load ${fmt(r.loadAverage1m?.[0])}`).join(' | ')} | ${fmt(Math.min(...p99s))}-${fmt(Math.max(...p99s))} |${g.pooled?.[name] ? ` ${fmt(g.pooled[name].p50)} / ${fmt(g.pooled[name].p99)} |` : ''}`);
      }
  }
  for (const g of s.grid.scenarios.filter((x) => x.floor)) out.push('', gridFloorNote(g));
  if (s.grid.scenarios.some((x) => x.floorWork)) out.push('', gridEditCostNote());
  if (s.grid.scenarios.some((x) => x.pooled?.floorWork)) out.push('', gridPooledNote());
  const w = result.warmup;
  if (w)
    out.push(
      '',
      `Before it, a warm-up: ${w.writers} writers on another document (${w.document}) against both servers for a few seconds, not counted. Then, with no client at all for ${w.idle.plansync.seconds} s: Plansync ${fmt(w.idle.plansync.cpuSeconds)} CPU s (+ ${fmt(w.idle.plansync.databaseCpuSeconds)} s PostgreSQL), the reference ${fmt(w.idle.reference.cpuSeconds)} s.`,
    );
  const bound = s.grid.scenarios.flatMap((g) => [g.plansync, g.reference]).filter((r) => r.benchBusy > 0.6);
  if (bound.length && !stock)
    out.push('', `Busy: in ${[...new Set(bound.map((r) => `${r.writers}-writer`))].join(', ')} runs the server, its PostgreSQL and the load processes used over 60% of the machine (load processes CPU: the column above; ${bound.map((r) => `${r.writers}/${r.server} ${fmt((1e6 * r.clientCpuSeconds) / Math.max(1, r.delivered), 1)} us`).join(', ')} of load-process CPU per delivery, mostly node's socket reads and ws framing). The light clients no longer saturate the machine, but they still compete with the server for its 2 CPUs: latencies include some waiting for a CPU, and p99 differs between runs of the same code by tens of percent; compare server CPU too.`);
  else if (bound.length)
    out.push('', `Load-generator bound: in ${[...new Set(bound.map((r) => `${r.writers}-writer`))].join(', ')} runs the server and the load processes used over 60% of the machine. A stock Yjs client applies every update to its own document, at a cost that grows with the number of clients in the document's history, so the client load grows with the cube of the writer count: those latencies are mostly queueing in the load processes, and server CPU compares the servers better than latency there.`);
}

/** Section 2: the fan-out run of each server. */
function fanoutSection(out, s, options, result) {
  const f = s.fanout;
  scenarioHeader(out, '2. Grid fan-out', f);
  out.push(`One writer (a stock \`WebsocketProvider\`) sets a cell ${f.plansync.updatesPerSecond} times a second; 1,000 observers in ${options.workers} load processes record the delay. The observers are light y-protocols clients (bench/grid-observer-worker.mjs: sync handshake, then each update's value read from the update) rather than stock providers: 1,000 stock providers would each apply every update to their own Y.Doc, and would each announce awareness on connect and every 15 s, which the server relays to all others (about 67,000 relayed messages a second at 1,000 clients), so on 2 CPUs the load processes, not the server, would be measured. Server CPU per update per observer = server CPU time in the window (/proc/<pid>/stat) / (updates sent in the window x observers). Warm-up ${f.warmupMs / 1000} s, window ${f.measureMs / 1000} s.${f.floor ? ` The floor (bench/send-floor-server.mjs), the same clients and load on a server that only relays (no Y.Doc, no validation, no storage, no authentication: each update framed once and written to each observer's TCP socket with one \`socket.write\`; Plansync frames once too, and writes to each socket's TCP handle directly, past Node's stream functions: server/src/internals/socketWrite.ts), is what the sends alone cost on this machine: a loopback send's system call, charged to the sender with the receiver's TCP processing, is most of it. Plansync / floor ${fmtRatio(f.ratio.cpuToFloor)}, reference / floor ${fmtRatio(f.ratio.referenceCpuToFloor)}.${fanoutFloorNote(f)}` : ''}`, '');
  out.push('| server | observers | updates | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s | of which main thread, kernel | write calls | context switches | us per update per observer | + PostgreSQL | client CPU s | machine busy |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of ['plansync', 'reference', 'floor']) {
    const r = f[name];
    if (!r) continue;
    out.push(`| ${name} | ${r.observers} | ${r.sent} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.serverMainThreadSystemSeconds)} | ${r.serverWriteCalls ?? '-'} | ${r.serverContextSwitches ?? '-'} | ${fmt(r.cpuMicrosPerUpdatePerObserver)} | ${r.cpuMicrosPerUpdatePerObserverWithDatabase != null ? fmt(r.cpuMicrosPerUpdatePerObserverWithDatabase) : '-'} | ${fmt(r.clientCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% |`);
  }
  if (f.runs) {
    const list = (name) => f.runs[name].map((r) => `${fmt(r.cpuMicrosPerUpdatePerObserver)} us (p99 ${fmt(r.p99)} ms, load ${fmt(r.loadAverage1m)})`).join(', ');
    out.push(
      '',
      `The spread: each server ran ${f.runs.plansync.length} times, interleaved (the order alternating from round to round); the table shows each server's run with the median CPU per update per observer, and the summary compares those. Every run, in order: Plansync ${list('plansync')}; the reference ${list('reference')}; the floor ${list('floor')}.`,
    );
  }
  if (f.floor?.serverContextSwitches != null) {
    out.push(
      '',
      `Where the time beyond the floor goes: the same ${f.floor.serverWriteCalls} or so writes cost the servers different kernel time (main thread, kernel: Plansync ${fmt(f.plansync.serverMainThreadSystemSeconds)} s, the reference ${fmt(f.reference.serverMainThreadSystemSeconds)} s, the floor ${fmt(f.floor.serverMainThreadSystemSeconds)} s), and the servers were switched out ${f.plansync.serverContextSwitches}, ${f.reference.serverContextSwitches} and ${f.floor.serverContextSwitches} times. perf (kernel included, \`perf record -g\` on the servers during this scenario, issue 16) puts the scheduler first: \`finish_task_switch\` (a server taken off the CPU as its write returns, for the load process it has just woken) and the wake-ups themselves (\`sock_def_readable\` into \`_raw_spin_unlock_irqrestore\`) were 23% of Plansync's samples and 18% of the floor's. The load processes share the two CPUs: every write wakes one, and the longer a server's JavaScript between two writes, the more often a load process has gone back to sleep and must be woken again. That is a cost of this machine's loopback set-up (clients elsewhere would be woken by their own network card), and it grows with each server's per-send JavaScript, about 1 us for Plansync (\`sendFramed\`).`,
    );
  }
}

/**
 * The p99 runs of both servers at W writers against the gap the target asks for: whether what separates Plansync
 * from 0.9x the reference is inside the spread of each server's own runs.
 */
function spreadNote(g) {
  const p99s = (name) => (g.runs?.[name] ?? [{ p99: g[name].latencyMs.p99 }]).map((r) => r.p99);
  const range = (name) => `${fmt(Math.min(...p99s(name)))}-${fmt(Math.max(...p99s(name)))} ms`;
  const widest = (name) => Math.max(...p99s(name)) - Math.min(...p99s(name));
  const p99Of = (name) => (g.pooled ? g.pooled[name].p99 : g[name].latencyMs.p99);
  const gap = p99Of('plansync') - 0.9 * p99Of('reference');
  const inside = gap <= Math.max(widest('plansync'), widest('reference'));
  const copyRatio = g.pooled?.referenceCopy ? g.ratio.referenceCopyPooledP99 : g.ratio.referenceCopyP99;
  const copy = g.referenceCopy
    ? `; a second copy of the reference measured ${fmtRatio(copyRatio)} the reference in the same rounds (${fmt(Math.abs(p99Of('referenceCopy') - p99Of('reference')))} ms apart, runs ${range('referenceCopy')})`
    : '';
  return `${g.pooled ? `pooled, Plansync ${fmt(p99Of('plansync'))} ms and the reference ${fmt(p99Of('reference'))} ms (${fmtRatio(g.ratio.pooledP99)}); ` : ''}the p99 runs spread ${range('plansync')} (Plansync) and ${range('reference')} (the reference); the ${fmt(gap)} ms between Plansync's ${g.pooled ? 'pooled p99' : 'median'} and the target ${inside ? 'is inside' : 'is more than'} the spread of one server's own runs${copy}`;
}

/** What the floor keeping a Y.Doc says of the 0.9x target, in words (issue 16). */
function floorYjsWords(g) {
  const r = g.pooled ? g.ratio.floorYjsPooledP99 : g.ratio.floorYjsP99;
  return `a server that keeps the document's Y.Doc, as any Yjs server that brings a joining client up to date must, and does nothing else, with the cheapest sends (the floor keeping a Y.Doc) reaches ${fmtRatio(r)} the reference${r > 0.9 ? ': 0.9x is below what keeping the document allows on this machine' : ', within the target'}`;
}

/**
 * Where Plansync's CPU per edit goes at 50 writers, and what V8's compiler has to do with it (issue 16, stop 43):
 * measured by hand, outside the suite, so written here rather than computed from this run.
 */
function gridEditCostNote() {
  return `**What one edit costs besides its sends** (issue 16, stop 43). \`node bench/pipeline-micro.mjs\` runs the same 50 writers' cell edits through the reference's work per update (its Yjs apply, whose \`update\` event encodes the message it writes to every socket) and through Plansync's (server/dist's GridDocument: the check and send-ahead, the turn's framing once for all peers, then the apply in a validated transaction), the socket writes left out. In two runs: on a document whose only writers are those 50, Plansync's costs 15.1-15.2 us per edit against the reference's 13.8-14.1 us once both are optimized (1.08-1.10x), and 25-28 against 18-24 us over a fresh process's first 600 edits, before V8 has optimized either. But every Yjs transaction walks every client id the document has ever had (its state vectors before and after, and the encoding of its update), and the benchmark's document gains 50 with each run, as a real one gains one with each editing session: with 250 earlier writers (PAST_WRITERS, the script's default) the reference's work is 51.8 us per edit and Plansync's 37.8-40.3 (0.73-0.78x), with 1,000 earlier writers 182-215 against 104-113 us (0.53-0.57x). Plansync is spared the encoding: a plain edit goes to the peers as the bytes it came in. So validating every edit costs Plansync nothing next to what a Yjs server pays to apply it. A CPU profile of both servers over 3 windows of 50 writers (bench/grid-ab.mjs --cpu-prof, 3 rounds, read with bench/profile-inclusive.mjs) says the same: the socket writes took 1,033 ms of Plansync's main thread against the reference's 1,244 ms, the apply and its validation 292 ms against the reference's 268 ms for its apply, and everything else 742 ms against 313 ms: the grid frames' reading (which the reference's figure for its apply partly includes), and what the reference has no part of, the storage and projection batches every 100 ms, their PostgreSQL round trips, timers and promises. V8's compiler is not the lever either. A fresh Plansync still compiles its database paths under load minutes after its start (bench/results/jit-settle.md), and its per-edit functions are optimized only after several hundred edits (\`--trace-opt\`: \`acceptableAsSent\` in the second 13 s run at 50 writers, not the first). Three V8 settings were tried in 5 rounds of bench/grid-ab.mjs each, and none moved the 50-writer p99 outside the spread of the same build against itself: keeping bytecode V8 would flush when the server goes quiet between runs (\`--no-flush-bytecode\`: 1.09x the reference against the default's 0.98x); and optimizing 8 times sooner (\`--interrupt-budget=8448\`: 0.92x against 1.06x in one A/B, 1.11x against 0.84x in the next, with 4 times sooner at 0.90x). Since stop 44 the edits of one event-loop turn that went to the peers ahead of their apply are applied together, in one Yjs transaction (GridDocument.settle; each is still stored as its own bytes and projected with its own author), so that the walk of every client id is paid once per turn, not once per edit. With 4 edits a turn (\`PER_TURN=4\`) Plansync's work per edit fell to 17.4 us against the reference's 48.4 (0.36x) with 250 earlier writers, and to 33.6 against 183.9 us (0.18x) with 1,000; with 2 a turn, 35.4 against 46.9 (0.76x); with 1 a turn, as before within the spread (0.72-0.86x against the previous build's 0.72-0.79x, two runs each). In bench/grid-ab.mjs against the previous build, same run: 200 writers 3.94 s of server CPU per window against 4.36 s, p99 median 16.8 against 18.7 ms; 50 writers 0.94 against 1.06 s, 7.62 against 8.42 ms (the reference 7.08).`;
}

/**
 * What the pooled tails say of the 50-writer target (issue 16, stop 50): measured by hand, before the suite that
 * introduced the pooled p99, so written here rather than computed from this run.
 */
function gridPooledNote() {
  return `**The 50-writer tail judged on all runs' deliveries** (issue 16, stop 50). Since this stop the grid targets are judged on the p99 of every run's deliveries taken together: in the run above, two copies of the reference measured 1.22x apart by the median of their runs' p99s and 1.04x pooled. In 6 interleaved rounds of \`bench/grid-ab.mjs --reference-copy --floors --floor-work\` before the suite (load under 1.6), pooled p99 against the reference: Plansync 1.12x, the second copy of the reference 1.00x, the floor that only relays 0.74x, the floor keeping a Y.Doc 0.78x, the floor spending Plansync's CPU per update after its sends 1.02x, and the same with a stand-in for its database spending, in another process, the CPU Plansync's PostgreSQL spent per update, 0.99x. So, on this machine: a server that keeps the document and does nothing else reaches 0.9x (0.78x and 0.88x); one that spends Plansync's CPU on its main thread after its sends does not (1.02x and 1.14x); CPU spent in another process costs the tail next to nothing at this load (the stand-in did not lengthen the floor's); and Plansync, whose work is split over turns, measures between them, on par with the reference (1.02x and 1.12x) and 0.89x-1.10x the floor spending its CPU. A build without the workflow engine, the webhooks, the notification feed and the event sequencer (made for the test, not kept: the grid and HTTP alone) measured 1.11x the reference by the median of 6 runs against the shipped build's 1.22x, with more of its deliveries later than 3 ms (12.2% against 10.7%) and fewer later than 10 ms (0.18% against 0.30%): the services sharing the process are not what sets the tail. Where Plansync's main thread goes at 50 writers (a CPU profile of 2 windows, bench/profile-inclusive.mjs; V8's profiler keeps sampling a preempted thread, so these are shares of wall time while busy, not of CPU): the broadcasts' socket writes 48% (the reference's 71%), the apply and validation of the edits sent ahead (\`settle\`) 14% (the reference's apply 14%), reading the frames and the check before the early send 9%, the storage and projection batches with their PostgreSQL round trips 9-10%, timers, promises and collections the rest. The check itself is cheap (\`Y.decodeUpdate\` of an edit: 0.5 us in a microbenchmark). What would reach 0.9x is less main-thread time per update than the reference spends while still validating and storing each edit: the storage and projection batches (0.1-0.2 ms an update) could move to a worker thread, where the stand-in says their CPU would cost the tail little. Tried (issue 16, stop 51; a build made for the test, not kept: every grid write, the update log's appends merged there too, on a worker thread with a pg pool of its own, the main thread sending each statement and getting its rows back as messages): it did not pay on this machine. In 6 interleaved rounds of \`bench/grid-ab.mjs\` against the shipped build, pooled p99 1.09x the reference against the shipped build's 0.94x, the main thread's CPU in the window the same (medians 0.54 s and 0.54 s), the process's 0.79 s against 0.63 s; a profile of 2 windows says why: the SQL drivers' work left the main thread (pg's code 178 ms of 3 windows before, 6 ms of 2 after), but the messages and their copies took most of it back (the write path and the message handling about 145 ms of 2 windows against about 280 before), and the worker spent 146 ms a window of its own (its pg code, and collecting a young heap of its own), CPU the load processes and the main thread then waited for on the two CPUs. What was kept instead takes CPU out rather than moving it: the projection's statement now carries its lines and audit entries as two JSON parameters and answers the lines as one JSON array (the pg driver's element-by-element escaping and column parsing ran cold, ten times a second per document; \`JSON.stringify\` and \`JSON.parse\` are the engine's own): in a profile of 2 windows against the previous build, the statement's own code 28 ms against 46 and pg's 72 against 80, within the rounds' spread in p99 and main-thread CPU. Nor did V8 optimising the write path sooner help (V8's \`--interrupt-budget\` at its default 67,584, at 8,192 and at 2,048, 6 interleaved rounds: main-thread CPU medians 0.52, 0.52 and 0.49 s, pooled p99 0.85x, 0.88x and 0.87x the reference; an earlier A/B of the default against 8,192 had shown 1.10x against 0.99x, which this one did not repeat).`;
}

/** How the grid tables name a server run: the floor's variants by what they add to it. */
function gridServerLabel(name) {
  return { floorWork: "floor + Plansync's CPU", floorYjs: 'floor + Y.Doc', referenceCopy: 'reference, second copy' }[name] ?? name;
}

/** What the floor at W writers says of the propagation target there (issue 16: p99 <= 0.9x the reference). */
function gridFloorNote(g) {
  const spread = (name) => {
    const p99s = (g.runs?.[name] ?? [{ p99: g[name].latencyMs.p99 }]).map((r) => r.p99);
    return `${fmt(Math.min(...p99s))}-${fmt(Math.max(...p99s))} ms`;
  };
  return `The floor at ${g.writers} writers (bench/send-floor-server.mjs: the same clients and load on a server that only relays bytes: no Y.Doc, no validation, storage or authentication, each update framed once and written to each socket): p99 ${fmt(g.floor.latencyMs.p99)} ms, ${fmtRatio(g.ratio.floorP99)} the reference's, with ${fmt(g.floor.serverCpuSeconds)} CPU s in the window against Plansync's ${fmt(g.plansync.serverCpuSeconds)} and the reference's ${fmt(g.reference.serverCpuSeconds)}. At ${g.writers} writers (about ${g.writers} updates a second) every server is idle most of the time and an update rarely waits for another: the p99 is what one update costs on its way (the server's work before its sends, the sends, and the load processes' turn on the two CPUs they share with the server and PostgreSQL), not queueing. The runs of the same code spread widely (p99 Plansync ${spread('plansync')}, reference ${spread('reference')}, floor ${spread('floor')}).${g.floorYjs ? ` The same floor keeping a Y.Doc (FLOOR_YJS=1: each update applied to it before the sends, and a joining client's sync step 1 answered from it, as the reference does; the floor's sends), the least a Yjs server that can bring a new client up to date does: p99 ${fmt(g.floorYjs.latencyMs.p99)} ms (runs ${spread('floorYjs')}), ${fmtRatio(g.ratio.floorYjsP99)} the reference's, with ${fmt(g.floorYjs.serverCpuSeconds)} CPU s in the window.` : ''} Every server, the floors included, holds one keeper connection from the bench process (bench/lib/grid.mjs \`openKeeper\`), a light client that reads and drops what it is sent. Plansync sends a plain cell edit ahead of its apply (checked by decoding it; GridDocument.acceptableAsSent), so what waits before its sends is about the decoding; what it does after them (the Yjs apply, validation, storage, projection, audit) still takes CPU the reference does not spend, and on this machine that CPU is the load processes' too.${g.floorWork ? ` ${gridFloorWorkNote(g, spread)}` : ''}`;
}

/**
 * The floor spending Plansync's CPU per update (issue 16): how much of Plansync's p99 its CPU explains, and what
 * the per-update trace of the slowest deliveries showed.
 */
function gridFloorWorkNote(g, spread) {
  const works = (g.runs?.floorWork ?? [g.floorWork]).map((r) => r.workMicrosPerUpdate / 1000);
  return `The same floor spending, after each update's sends, the CPU per update that Plansync's run of the same round spent beyond the floor's run (${works.map((w) => fmt(w)).join(', ')} ms; \`WORK_US\` in bench/send-floor-server.mjs), and nothing else: p99 ${fmt(g.floorWork.latencyMs.p99)} ms (runs ${spread('floorWork')}), ${fmtRatio(g.ratio.floorWorkP99)} the reference's, against ${fmtRatio(g.ratio.floorP99)} without it; Plansync is ${fmtRatio(g.ratio.toFloorWorkP99)} it${g.pooled ? ` (all runs' deliveries pooled: the floor spending Plansync's CPU ${fmt(g.pooled.floorWork.p99)} ms, ${fmtRatio(g.ratio.floorWorkPooledP99)} the reference's, against ${fmtRatio(g.ratio.floorPooledP99)} without it; Plansync ${fmtRatio(g.ratio.toFloorWorkPooledP99)} it)` : ''}, and spends on top the CPU of its PostgreSQL (${fmt(g.plansync.databaseCpuSeconds)} s in the window), which the floor does not. Nor is its database's CPU what is left: with a stand-in for the database beside the floor (issue 16, stop 47; 8 interleaved rounds of \`bench/grid-ab.mjs --floors --floor-work --reference-copy\`, load 1.5 before: a child process of the floor spending, every 100 ms as Plansync's storage batches come, the CPU Plansync's PostgreSQL spent per update in the same round, 400-640 us), the floor spending Plansync's server CPU measured 0.97x the reference and with the stand-in 0.95x (p99 medians), while Plansync measured 1.30x (runs 4.99-12.18 ms against the reference's 4.92-7.04) and the copy of the reference 0.96x. So Plansync's p99 has something beyond its CPU and its database's on the CPUs it shares with the load processes: in those rounds 1.35x the floor spending its server CPU, in the full runs 1.04x to 1.51x (the summary's row for this run). Nor is it how this machine's scheduler groups processes, nor the clients' side (issue 16, stop 48; \`bench/grid-ab.mjs --no-b --floors --floor-work\`, load 0.3-0.5 before): with the kernel's autogroups off (each thread scheduled on its own, where by default the processes of one session share one entity: Plansync with its PostgreSQL, the bench with its load processes), Plansync measured 1.29x the floor spending its CPU in 4 rounds (1.32x the same with the database stand-in); with them on, in 3 rounds (1.18x and 1.26x), the load processes woke as often for every server (6,963-6,993 times in the window for Plansync, 6,838-7,011 for the floor spending its CPU, 6,867-6,898 for the reference; \`clientSwitches\`) and spent about the same CPU (0.99-1.09 s, 0.94-1.24 and 0.98-1.21), while Plansync's main thread was switched out 1,605-1,636 times against the floor's 1,089-1,154 (its PostgreSQL round trips; the database stand-in took the floor's to 1,255-1,278 and did not raise its p99). Nor are its young-generation collections (\`--trace-gc\`, one run): one every 4-5 s under this load, 2.6-3.7 ms each, where the p99 of a window's 24,500 deliveries is set by about 5 of its 500 updates, late for all their receivers. Counted over all the deliveries of 8 interleaved rounds instead (\`bench/grid-ab.mjs\` pools each run's deliveries later than 2, 3, 5 and 10 ms, a measure of the tail that adds up over rounds; stop 48, load under 1), Plansync's storage and projection are part of it but not most: a build without them (made for the test, not kept) had 1.14% of its deliveries later than 3 ms against the shipped build's 1.43% and the reference's 1.40% (later than 2 ms: 2.73%, 3.51% and 4.20%; p99 medians 3.13, 3.39 and 3.45 ms); storing and projecting every 300 ms instead of every 100 (another such build) 2.08% against 2.27% and the reference's 2.16%; and its embedded PostgreSQL at a lower priority (nice 10) made the tail longer, not shorter (4.80% against 2.51% later than 3 ms), so it is not the database's CPU taking the load processes' turn. Their share of Plansync's main thread is small (a CPU profile of 2 windows: the projection's and the store's SQL about 6 ms a second of its 55). What it is, the profiles do not single out: sampled every 100 us over 4 windows of each server (\`bench/long-tasks.mjs\`, stop 47), Plansync's main thread had as many stretches of work of 2 ms or more as the reference's (1,233 against 1,105; over 10 ms 19 against 18), made of its broadcasts, its storage batches (PostgreSQL queries and their rows, about 160 ms a window) and Yjs's walk of every client id at each transaction's start and end (\`getStateVector\`, 62 ms a window against the reference's 39). Nor is it on Plansync's own path from an update's receipt to its last write: timed inside both servers (stop 47; builds made for the test, not kept: Plansync's server/dist and the reference's bin/utils.js with a clock read at the websocket message's arrival, at the first and after the last send; 3 rounds of \`bench/grid-ab.mjs\`, the third round's 650 or so updates each, the servers warm), Plansync took from the receipt to its first write 120 us at the median, 203 at p90, 607 at p99 (its checks before the early send, \`acceptableAsSent\`, 45-48 us of it at the median, and the wait for the end of the event-loop turn about 40), against the reference's 207, 373 and 1,149 us (its Yjs apply before its sends), and its writes to the 50 sockets 807 us at the median and 3,024 at p99 against the reference's 1,160 and 4,313: Plansync's own path was shorter than the reference's in those rounds, by a third at the median and at p99. In a cold first round both were slower, Plansync's path the more (its checks 94 us at the median; to the first write 278 us, p99 767, against the reference's 227 and 1,072). What it has beyond the reference is after its sends and outside its path: the apply and validation of what it sent ahead (\`settle\`, 240-290 us at the median and 1.1-1.8 ms at p99 right after the writes, while the receivers want the CPUs), its storage batches, and an update that arrives meanwhile is read that much later.${
    g.ownPath?.plansync && g.ownPath?.referenceCopy
      ? ` The suite keeps that measure since (Plansync's \`plansync_grid_forward_seconds\` histogram, and the second copy of the reference timed the same way, bench/lib/forwardTiming.mjs; each from its arrival to the last write of its broadcast, quantiles interpolated within the same buckets, over each run's window and the second before it): in this run ${fmt(g.ownPath.plansync.p50Us, 0)} us at the median and ${fmt(g.ownPath.plansync.p99Us, 0)} at p99 against the reference's ${fmt(g.ownPath.referenceCopy.p50Us, 0)} and ${fmt(g.ownPath.referenceCopy.p99Us, 0)} (${fmtRatio(g.ratio.ownPathP50)} and ${fmtRatio(g.ratio.ownPathP99)}; p99 per run ${g.ownPath.plansync.runsP99Us.map((v) => fmt(v, 0)).join(', ')} against ${g.ownPath.referenceCopy.runsP99Us.map((v) => fmt(v, 0)).join(', ')} us), where the deliveries' p99 was ${fmtRatio(g.ratio.p99)}.`
      : ''
  } A trace of every update (issue 16: timestamps at the server's receipt and around its sends, joined to every delivery, with the server's CPU profile) says how: in the slowest 1% of deliveries the update reached the server's handler 2.5-13 ms after it was sent, or its 50 writes took 3-6 ms instead of the usual 1.5, and over those stretches the server's profile has gaps of 2-10 ms without a sample, the server runnable but switched out for the load processes its own writes had just woken; no GC pause fell in any of them. Holding the apply, storage and projection back 5 ms after the sends changed nothing (1.19x against 1.17x the reference in 4 rounds of bench/grid-ab.mjs), nor did writing to PostgreSQL a third as often (1.09x against 1.02x), nor taking storage and projection out altogether (a build made for the test, 5 rounds of bench/grid-ab.mjs: Plansync's CPU in the window 0.73 s instead of 1.05, about the reference's 0.63, and its PostgreSQL's 0.07 s instead of 0.21, while its p99, median 8.04 ms, stayed where it was with them, 7.82, the reference's 6.86 in the same rounds). So no one part of what Plansync does after its sends sets its p99: taking a third of its CPU away moved it by less than its runs spread, where the floor spending all of that CPU reaches ${fmtRatio(g.ratio.floorWorkP99)} the reference against ${fmtRatio(g.ratio.floorP99)} without it. The floor's spending is the costlier model of the two: it spins through the whole of an update's CPU at once, right after the sends, holding the event loop, so an update that arrives meanwhile waits for all of it; Plansync's work is split over turns (the Yjs apply and validation right after the sends, storage and projection in batches every 100 ms, off the path of the next update). Nor are the sends: counted with strace over 8 s of the window, both servers make the same system calls per update (one read, about 50 writes, one wait for the next event; Plansync's PostgreSQL batches add about one wake-up for every two updates). What remains is smaller than the spread of the reference's own runs. On a quiet machine (issue 16, stop 34: load 0.1-0.7, p50 0.7 ms and p99 about 2.5 ms for every server) the same holds with the noise an order of magnitude smaller: in 9 interleaved rounds of bench/grid-ab.mjs with the same build as both a and b, 0.96x and 1.00x the reference (medians; the reference's runs 1.77-3.03 ms), so one build differs from itself by 4%; in 6 rounds of three builds, the shipped one 0.94x, one sending inline at receipt instead of at the end of the event-loop turn 0.99x, and one without storage or projection, whose CPU in the window was the reference's (0.35 s against 0.32 s), 1.04x. Per thread (/proc, 10 s of the window): Plansync's main thread 0.37 s (0.28 user, 0.09 kernel) against the reference's 0.28 s (0.20, 0.08), and V8's helper threads (concurrent GC, compiler) 0.10 s against 0.02 s. At this rate Plansync's p99 is the reference's whatever it does beyond it, and no variant tried moved it outside the spread of one build against itself. Given a CPU of its own (issue 16, stop 40; 5 rounds of bench/grid-ab.mjs with each server and its PostgreSQL pinned to one CPU by \`taskset\`, the bench and its load processes to the other, the same build as both a and b; load 0.1 before): p99 medians 4.39 and 4.72 ms against the reference's 4.49 (0.98x and 1.05x), p50 1.16 and 0.99 ms against 1.01, with Plansync's CPU in the window 0.58 s against the reference's 0.36: with its clients off its CPU, what Plansync spends beyond the reference shows in neither, and every server's p99 is then set by the load processes' one CPU. The same set-up with the floors and a second copy of the reference beside them (issue 16, stop 47; 9 rounds of \`bench/grid-ab.mjs --pin-servers=0 --pin-clients=1 --floors --reference-copy\`, load 0.5 before): p99 medians Plansync 8.52 ms (1.06x the reference's 8.05), the copy of the reference 1.01x, the floor that only relays 0.90x, the floor keeping a Y.Doc 0.93x, with every server's runs spread about twofold (the floor's 5.00-10.62 ms, the reference's 6.10-9.76): pinning takes the servers' CPU away from the clients but not the noise, and even there no server that keeps the document reached 0.9x the reference. What Plansync's main thread does that the reference's does not (issue 16, stop 40; \`node bench/long-tasks.mjs\` on profiles sampled every 100 us in 3 windows of each server at 50 writers, bench/grid-ab.mjs --cpu-prof): the reference's longest stretch of work was 6.1 ms, where Plansync's two servers had 3 and 6 stretches over 10 ms, the longest 26-45 ms, nearly all of it major garbage collection. Plansync's live heap was 56 MB in 525,000 objects (a heap snapshot of an idle server at stop 40: 21 MB of strings, most of them the sources of the modules it loads, 14 MB of code and its metadata, the rest the libraries' own objects), the reference's 5.5 MB; so each major collection takes 25-40 ms of Plansync's main thread (\`--trace-gc\`: a final pause of 2-14 ms and 18-36 ms of incremental marking in steps of up to 8-12 ms), about one every 40 s at 50 writers (what is promoted, sampled with V8's heap profiler keeping what major collections free, is spread thin: promises and their async-context hooks, pg's rows, MikroORM's lookups, the projection's batch plans), and an update that arrives meanwhile waits. A young generation four times as large (\`--max-semi-space-size=64\`) did not make them rarer (4 in 270 s either way; p99 0.85x the reference against the default's 0.88x in the same 5 rounds). And the floor spending Plansync's CPU per update while holding a heap of Plansync's size and promoting what each update allocates (a variant of bench/send-floor-server.mjs tried in 3 rounds, not kept) reached a p99 of 3.33 ms against 3.75 ms without the heap, and Plansync 3.60 ms against the reference's 4.31 ms (0.83x) in those rounds: the collections are real, but in those rounds one window in four held one. Loading the libraries only some requests need with their first use (exceljs, nodemailer, @odata/parser, msal-node: issue 16, stops 40 and 41) took the idle heap to about 45 MB. The frequency was V8's choice: it grows the old generation past what a full collection kept by a factor it derives from how fast it collects against how fast the program promotes, and for Plansync's heap, mostly code and metadata that live for good, filling slowly, that factor was about 1.1 (\`--trace-gc\`: 45.5 MB kept, the next collection at 50-53 MB), so a full collection ran every 30-40 s at 50 writers and fell in nearly every window (issue 16, stop 41: 4 in the 5 windows of one run, 3 of 3 in another; the reference's heap, too small to reach V8's minimum step, had none). Plansync now sets V8's growing factor to 2 (\`HEAP_GROWTH_PERCENT=100\`, the default; server/src/internals/heapGrowth.ts): in two A/Bs of 5 rounds (bench/grid-ab.mjs with \`--trace-gc\`), the server with it ran no full collection in any window (only V8's memory reducer's, between rounds, when the server was idle) against 4 for the same build with \`HEAP_GROWTH_PERCENT=0\` (V8's own), and its p99 median was 0.83x and 0.88x the reference (runs 4.27-5.73 and 4.20-5.13 ms) against 1.00x and 1.24x (4.85-6.51 and 5.38-6.42 ms) for V8's own factor in the same rounds. What is left of the collections is the young generation's: Plansync's scavenges copy about 230 KB and promote 165 KB each, the reference's 20 and 14 KB (\`--trace-gc-nvp\`, 2 rounds), so each takes 1.9 ms against 0.7 ms, at a third of the reference's rate: what lives across a scavenge in Plansync (storage and projection batches written every 100 ms, PostgreSQL queries in flight, the async-context stores of its promises) is what a server that stores nothing does not hold. What the slowest 1% are (issue 16, stop 38; \`sudo node bench/tail-trace.mjs\`: every delivery recorded, and the kernel's scheduler traced meanwhile with ftrace's sched_switch): whole updates, late for every receiver, not the last receivers of ordinary ones; about one update in seventy (Plansync 15 and 17 of 1,000 in two builds, the reference 11 of 1,000, with the first delivery later than 3 ms; the usual first delivery takes 1 ms). Over the time those updates waited, the two CPUs were 18-35% idle and otherwise held by the load processes (21-34%), the servers' main threads (17-18% Plansync's, 8% the reference's), and V8's helper threads, compiling and collecting (14-22% Plansync's, 12% the reference's, against 1-3% over all updates), with Plansync's PostgreSQL at 6%. Two changes to how those threads run were tried in 5 rounds of bench/grid-ab.mjs each and changed nothing outside the spread: a pool of one V8 helper thread instead of four (\`--v8-pool-size=1\`: 1.01x the reference against the default's 0.96x), and V8's helpers and the embedded PostgreSQL at a lower priority (nice 10 and 5: 1.07x against 1.14x). Before this stop the bench process's keeper connection was a stock provider applying every update to a Y.Doc of the document's whole history: 0.4 ms of CPU per update, at each delivery, for Plansync's and the reference's runs but not the floor's, which had no keeper; every server now holds a light keeper (bench/lib/grid.mjs), so the floor's 0.65x of earlier runs overstated what it shows.`;
}

/** What the fan-out floor says of issue 16's target (0.8x the reference's CPU per update per observer). */
function fanoutFloorNote(f) {
  const ref = f.reference.cpuMicrosPerUpdatePerObserver;
  const floor = f.floor.cpuMicrosPerUpdatePerObserver;
  const ours = f.plansync.cpuMicrosPerUpdatePerObserver;
  if (ref == null || floor == null || ours == null) return '';
  const target = 0.8 * ref;
  const floorPart = target <= floor * 1.05
    ? ` The target, 0.8x the reference (${fmt(target)} us), is at or below the floor (${fmt(floor)} us): no server making these sends on this machine meets it, whatever it skips.`
    : ` The target, 0.8x the reference, is ${fmt(target)} us against a floor of ${fmt(floor)} us.`;
  return `${floorPart} What Plansync spends beyond the floor, ${fmt(ours - floor)} us per update per observer, is its idle work (about 0.05 CPU s per 10 s window on an idle server's main thread: 0.08 s before its job workers were woken when a job is due and its webhook outbox announced its rows, instead of both polling PostgreSQL several times a second (issue 16, stop 42: an idle server sent PostgreSQL 90 statements in 20 s, 22 now, server/src/internals/idleServer.test.ts), and 0.135 s before the event-loop lag metric sampled every 100 ms instead of 10; ${fmt((0.05e6 / Math.max(1, f.plansync.sent)) / Math.max(1, f.plansync.observers))} us here) and what it does per update and the floor does not (authentication, validation, storage, projection, audit, events), spread over the observers; the target this suite defends instead: no more than the reference. Part of a send's user CPU in a process as large as Plansync is Node's own stream functions, whose property loads V8 serves from its megamorphic cache once a process has written to several kinds of streams (HTTP, PostgreSQL, zlib, files): in a microbenchmark (issue 16, stop 39) 0.5-0.7 us of the 2-3 us of user CPU per socket write, which the floor, a process with one kind of stream, does not pay; Plansync now writes its broadcasts to each socket's TCP handle directly, past those functions, when the socket holds nothing else (in a fan-out run before the full one: 0.86-0.98x the reference in its three rounds, against 0.99-1.07x with \`socket.write\` in an earlier run the same day).`;
}

/** Section 3: memory per idle connection and per open document, per server. */
function costSection(out, s, options, result) {
  const c = s.cost;
  scenarioHeader(out, '3. Grid cost', c);
  out.push(`Server memory after forced full GCs (three rounds; the median of ${options.memorySamples} probe${options.memorySamples > 1 ? 's' : ''}), as deltas: an open document with one connection (before: not loaded), then ${c.idleConnections.toLocaleString('en')} idle connections to it (light clients: no awareness, no Y.Doc; after a first round of as many connections, opened and closed, not counted: the connection path's code is optimised during the first hundreds of connections, and that code is the JIT's, not what a connection holds; as optimisation goes on during the measured round too, compiled code (V8's code spaces) is shown apart, and the target is judged without it), then a document of ${options.cost.bigLines.toLocaleString('en')} lines. Another document of 120 lines (OPERATIONS) is opened first and held throughout, so that code compiled on first use is not counted. Documents: MARKETING's 120 lines with both amounts filled (240 cells) and a unit of ${options.cost.bigLines.toLocaleString('en')} lines inserted into PostgreSQL with both amounts (${(2 * options.cost.bigLines).toLocaleString('en')} cells); Plansync seeds the document from the rows, and the reference receives the very state Plansync sent (one update from one client). "Retained" is V8 heap used + external memory; RSS deltas include allocator and heap-reservation growth and are noisier.`, '');
  out.push('| server | per idle connection: retained KB | of which compiled code KB | RSS KB | 120-line document: retained KB | RSS KB | open ms | 10,000-line document: retained KB | RSS KB | open ms | state bytes (120 / 10,000) |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of ['plansync', 'reference']) {
    const r = c[name];
    out.push(`| ${name} | ${fmt(r.idleConnection.retainedKb)} | ${fmt(r.idleConnection.codeKb)} | ${fmt(r.idleConnection.rssKb)} | ${fmt(r.document120.retainedKb, 0)} | ${fmt(r.document120.rssKb, 0)} | ${r.document120.openMs} | ${fmt(r.document10k.retainedKb, 0)} | ${fmt(r.document10k.rssKb, 0)} | ${r.document10k.openMs} | ${c.plansync.document120.stateBytes} / ${c.plansync.document10k.stateBytes} |`);
  }
  const rounds = (name) => c[name].idleConnection.rounds;
  if (rounds('plansync')?.length > 1 && rounds('reference')?.length > 1) {
    const list = (name) => rounds(name).map((r) => `${fmt(r.dataKb ?? r.retainedKb)}`).join(', ');
    out.push(
      '',
      `The idle connections were measured in ${rounds('plansync').length} rounds (each ${c.idleConnections.toLocaleString('en')} connections opened, measured and closed, after a first round of as many, not counted), since the server's heap moves by a megabyte or so between probes for reasons of its own (V8 flushing the bytecode of functions not run lately, among others): over 500 connections that moved one round's figure by up to 2 KB a connection, as much as the two servers differ, where over 2,000 in three rounds it moves by about 0.1 KB. The table shows each server's median round, and the summary compares those. Per idle connection without compiled code, KB, each round: Plansync ${list('plansync')}; the reference ${list('reference')}.`,
    );
  }
  out.push(
    '',
    "What a Plansync connection and document hold beside the reference's (issue 16; heap snapshots of 300 idle connections, diffed object by object, `node --heapsnapshot-signal`): both servers pay the same socket, ws WebSocket, receiver, sender and stream states, about 3 KB. A Plansync connection adds who it is and what it may do, which row-level security and server-vouched presence need and the reference does without; since issue 16 the viewer (id, email, role, units, token id) and the name shown by its cursor are one object for all of a person's connections on one token (collab/sharedViewers.ts), so an idle connection adds little more than itself (about 0.1 KB: its flags in one number, its socket, document and shared identity). What went with it: a copy of the viewer per connection (about 0.4 KB), Apollo's HTTP drain (a listener and a map entry for every TCP socket, upgraded ones included, about 0.25 KB: http/drain.ts counts requests in flight instead), and listeners removed and added again at connect (which turned each socket's listener table into a dictionary). Left: the AsyncLocalStorage stores in use (MikroORM's, the policy guard's) give every async resource a field. It has no closure, timer or object of its own otherwise (one keep-alive sweep and one expiry timer serve all), where the reference holds a ping timer and four closures per connection. An open document adds to its Y.Doc the last valid value of every cell (what a refused change is reverted to) and its unit's line ids (which cells it may hold): for 10,000 lines a Map of 20,000 values and a Set of 10,000 ids.",
  );
}

/** Section 4: edit to row delays and the CPU beyond the reference, per writer count. */
function durabilitySection(out, s, options, result) {
  const d = s.durability;
  scenarioHeader(out, '4. Grid durability cost', d);
  out.push(`The grid writers again, on Plansync (which stores every edit: update log, snapshots, projection into budget_line rows and the audit log), while this process polls the unit's budget_line rows every ${d.pollMs} ms. Edit to row: from the writer's send time (the value itself) to the first poll that saw the value (so up to ${d.pollMs} ms late); edit to updatedAt: to the row's updatedAt, which the server sets just before its transaction commits. The reference stores nothing: its CPU and latency are its grid propagation runs (scenario 1); the CPU comparison uses the grid runs (no poller there) of both, and \"beyond idle\" first takes from each server what it burns with no client over as long a window (measured after the warm-up).`, '');
  out.push('| writers | writes sent | seen in rows | edit to row p50 / p90 / p99 / max ms | edit to updatedAt p50 / p99 ms | propagation p99 ms (this run) | Plansync CPU s: server + PostgreSQL (grid run) | reference CPU s | extra CPU ms per write | same, beyond idle | CPU ratio |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of d.runs) {
    const x = r.cpuVsReference;
    out.push(`| ${r.writers} | ${r.sent} | ${r.rowsSeen} | ${fmt(r.editToRowMs.p50, 1)} / ${fmt(r.editToRowMs.p90, 1)} / ${fmt(r.editToRowMs.p99, 1)} / ${fmt(r.editToRowMs.max, 1)} | ${fmt(r.editToUpdatedAtMs.p50, 1)} / ${fmt(r.editToUpdatedAtMs.p99, 1)} | ${fmt(r.propagationMs.p99)} | ${x ? `${fmt(x.plansyncCpuSeconds)} + ${fmt(x.databaseCpuSeconds)}` : '-'} | ${x ? fmt(x.referenceCpuSeconds) : '-'} | ${x ? fmt(x.extraCpuMsPerWrite) : '-'} | ${x?.extraCpuMsPerWriteBeyondIdle != null ? fmt(x.extraCpuMsPerWriteBeyondIdle) : '-'} | ${x ? fmtRatio(x.ratio) : '-'} |`);
  }
}

/** Section 5: the subscription runs per server and subscriber count, and the shared-socket memory. */
function subscriptionsSection(out, s, options, result) {
  const sub = s.subscriptions;
  scenarioHeader(out, '5. Subscriptions', sub);
  out.push(
    `\`${sub.query}\` as admin@example.com, ${sub.perSocket === 1 ? "one subscription per socket (each subscriber a browser tab with its own socket: the costlier case for the server, as every socket authenticates and holds its own state; the shared-socket rows show a subscription's cost without its socket, 50 per socket, the server's cap)" : `${sub.perSocket} subscriptions per socket (--quick: connecting thousands of sockets, each authenticated, would not fit in its time)`}, from ${options.workers} load processes speaking graphql-transport-ws on ws directly (bench/gql-subscriber-worker.mjs). Events: one \`startWorkflow(new_partner)\` every ${Object.entries(sub.periodMs).map(([n, ms]) => `${ms / 1000} s at ${Number(n).toLocaleString('en')}`).join(' and ')} subscribers; each start is one transaction with three events (execution RUNNING, first step AWAITING_INPUT, execution AWAITING_INPUT), published together, so the server fans out 3 x subscribers messages at once. Executions are not driven through their automatic steps: those come in bursts of about 17 events paced by the job queue, and at 5,000 subscribers on 2 CPUs such bursts keep the server saturated, so latency would measure queueing rather than fan-out. Latency: delivery time - the event's \`at\` (ms resolution; Plansync sets \`at\` inside the transaction, so its commit and the event sequencer count). The reference (bench/reference-graphql-ws.mjs: graphql-js schema of the same shape, graphql-ws \`useServer\` on ws, an in-memory pub/sub) publishes the events Plansync published, grouped as they were, at the same offsets. Warm-up ${sub.warmupMs / 1000} s, window ${sub.measureMs / 1000} s. Memory per idle subscription: delta after a forced GC from before the first subscriber, divided by the subscriptions.${sub.floor ? ` The floor (bench/subscription-floor-server.mjs), the same subscribers and the same events at the same offsets on a server that only writes (graphql-transport-ws handshake answered, nothing authenticated, parsed beyond the message type, or executed; each event serialised once, each socket's frames of a group written with one \`socket.write\`, as Plansync corks a transaction's events), is what the writes alone take on this machine: ${subscriptionFloorWords(sub)}` : ''}`,
    '',
  );
  out.push('| server | subscribers | events (per s) | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s | CPU us per delivery | PostgreSQL CPU s | idle KB per subscription: retained / RSS | connect s | machine busy |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of ['plansync', 'reference', 'floor']) {
    for (const r of sub[name]?.runs ?? []) {
      out.push(`| ${name} | ${r.subscribers} | ${r.events} (${fmt(r.eventsPerSecond, 1)}) | ${fmt(r.latencyMs.p50, 1)} | ${fmt(r.latencyMs.p90, 1)} | ${fmt(r.latencyMs.p99, 1)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.cpuMicrosPerDelivery, 1)} | ${fmt(r.databaseCpuSeconds)} | ${fmt(r.memoryPerIdleSubscription.retainedKb)} / ${fmt(r.memoryPerIdleSubscription.rssKb)} | ${fmt(r.connectMs / 1000, 1)} | ${Math.round(100 * r.machineBusy)}% |`);
    }
    const shared = sub[name]?.sharedSocket;
    if (shared) out.push(`| ${name}, shared sockets | ${shared.subscriptions} on ${shared.sockets} sockets | | | | | | | | | | ${fmt(shared.memoryPerIdleSubscription.retainedKb)} / ${fmt(shared.memoryPerIdleSubscription.rssKb)} | | |`);
  }
  out.push(
    '',
    "Keep-alive (issue 16): every GraphQL socket is pinged every 12 s and every grid connection every 30 s, by one timer for all, a slice of them every half second (server/src/internals/keepaliveSweep.ts). A sweep of all at once, as before, held the event loop for the whole sweep: with 5,000 GraphQL sockets open, `GET /healthz` asked every 2 ms for 30 s (bench/keepalive-stall.mjs) waited 58-86 ms once every 12 s; sliced, its slowest answer in two runs was 12-13 ms. Such a stall came once or twice in every 15 s window of this scenario, and could fall onto an event's fan-out.",
  );
}

/** The subscriptions' p99 set against the floor's, at each count, in words. */
function subscriptionFloorWords(sub) {
  return `${sub.ratio
    .map((r, i) => (sub.floor.runs[i] ? `at ${r.subscribers.toLocaleString('en')} subscribers the floor's p99 is ${fmt(sub.floor.runs[i].latencyMs.p99, 1)} ms (Plansync ${fmt(r.p99ToFloor)}x it, the reference ${fmt(r.referenceP99ToFloor)}x)` : null))
    .filter(Boolean)
    .join('; ')}. Where the floor's own p99 is near or above a target, the target is below what one socket write per subscriber costs here.`;
}

/** Section 6: the reads run of each server. */
function readsSection(out, s, options, result) {
  const r = s.reads;
  scenarioHeader(out, '6. GraphQL reads', r);
  out.push(`\`budgetLines(planId, businessUnitCode: "SALES_NORTH")\` with the contract's fields (120 lines), POSTed by ${r.concurrency} closed-loop clients on keep-alive connections from one load process (bench/http-load-worker.mjs); Plansync with admin@example.com's token. Reference (bench/reference-graphql-http.mjs): graphql-js \`execute\` on node:http, the resolver reading the same PostgreSQL with pg in one query (no authentication, no authorisation, no ORM). Both answers identical: ${r.sameAnswer ? 'yes' : 'no'}. Warm-up ${r.warmupMs / 1000} s, window ${r.durationMs / 1000} s.`, '');
  out.push('| server | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | bytes per answer | server CPU ms per request | PostgreSQL CPU s | client CPU s | machine busy |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of ['plansync', 'reference']) {
    const x = r[name];
    out.push(`| ${name} | ${fmt(x.requestsPerSecond, 0)} | ${fmt(x.latencyMs.p50)} | ${fmt(x.latencyMs.p90)} | ${fmt(x.latencyMs.p99)} | ${fmt(x.latencyMs.max, 1)} | ${x.errors} | ${fmt(x.bytesPerResponse, 0)} | ${fmt(x.serverCpuMsPerRequest, 3)} | ${fmt(x.databaseCpuSeconds)} | ${fmt(x.clientCpuSeconds)} | ${Math.round(100 * x.machineBusy)}% |`);
  }
}

/** Section 7: each cold start run, with its phases. */
function coldstartSection(out, s, options, result) {
  const c = s.coldstart;
  scenarioHeader(out, '7. Cold start', c);
  out.push(`From spawning \`node server/dist/server/src/main.js\` (what \`npm start\` runs once the build is present) on a fresh DATA_DIR to the first 200 from /healthz (polled every 10 ms): initialising the embedded PostgreSQL cluster, starting it, migrations, seeding the demo data (argon2 password hashes), the workflow engine. Phases from Plansync's own log, in ms from the spawn: until initdb starts, Node and Plansync's modules load. The reference, y-websocket's \`bin/server.js\` to its first HTTP answer, is the floor of any Node server (runtime and module loading): there is no reference that also brings up a database; the phases show where Plansync's time goes.`, '');
  out.push('| run | Plansync ready ms | from spawn: initdb starts ms | PostgreSQL listening ms | demo data seeded ms | Plansync listening ms | reference ready ms |');
  out.push('|---|---|---|---|---|---|---|');
  c.plansync.runs.forEach((p, i) =>
    out.push(`| ${i + 1} | ${p.readyMs} | ${p.initdbStartMs ?? '-'} | ${p.postgresListeningMs ?? '-'} | ${p.seededMs ?? '-'} | ${p.listeningMs ?? '-'} | ${c.reference.runs[i]?.readyMs ?? '-'} |`),
  );
}

/** Section 8: two instances against one (bench/lib/scaleout.mjs writes it). */
function scaleoutSection(out, s, options, result) {
  scenarioHeader(out, '8. Scale-out: two instances vs one', s.scaleout);
  out.push(...scaleoutMarkdown(s.scaleout));
}

/** Section 9: batch writes, each run of each side. */
function batchSection(out, s, options, result) {
  const b = s.batch;
  scenarioHeader(out, '9. Batch writes', b);
  out.push(`\`updateBudgetLines\` with ${b.cells.toLocaleString('en')} changes (one budgetAmount each, every one a real change) in one HTTP POST, as admin@example.com, over ${b.cells.toLocaleString('en')} lines of ${b.documents} units of their own (${b.documents} grid documents, nobody connected), answering \`updated { id version } rejected { id code message }\`. Each change is judged as updateBudgetLine would judge it, applied to its document in one transaction per document, projected into its row with an audit entry (source API) and published as budgetLineChanged. The first call also loads the ${b.documents} documents (${fmt(b.plansync.firstCall.wallMs, 0)} ms wall, ${fmt(b.plansync.firstCall.serverCpuSeconds)} s server CPU); the median of the ${b.runs} calls after it is reported, documents open. Reference: the same rows updated and their audit entries inserted by one plain SQL statement through \`pg\` (no check, no document, no event), the lower bound of this write; median of ${b.runs} after a warm-up. 5,000 single updateBudgetLine calls are not the reference: they measure 5,000 round trips, the cost a batch exists to avoid. CPU: the server process and its PostgreSQL (the reference's pg client CPU is the load process's and not counted).`, '');
  out.push('| side | median wall ms | wall us per cell | server CPU us per cell | PostgreSQL CPU us per cell | CPU us per cell |');
  out.push('|---|---|---|---|---|---|');
  for (const name of ['plansync', 'reference']) {
    const x = b[name];
    out.push(`| ${name} | ${fmt(x.wallMs, 0)} | ${fmt(x.wallMicrosPerCell, 1)} | ${fmt(x.serverCpuMicrosPerCell, 1)} | ${fmt(x.databaseCpuMicrosPerCell, 1)} | ${fmt(x.cpuMicrosPerCell, 1)} |`);
  }
  out.push('', `Ratios Plansync / reference: wall ${fmtRatio(b.ratio.wall)}, CPU ${fmtRatio(b.ratio.cpu)}.`);
}

/** Section 10: webhook deliveries, from the outbox to SUCCEEDED at a local receiver. */
function webhooksSection(out, s) {
  const w = s.webhooks;
  scenarioHeader(out, '10. Webhook deliveries', w);
  out.push(`${w.deliveries.toLocaleString('en')} events already in the outbox of a Plansync of its own (WEBHOOK_ALLOW_INSECURE, for a receiver on 127.0.0.1 that answers 204 at once), to every delivery SUCCEEDED in the log. Each goes the whole durable path: outbox row -> delivery row + pg-boss job (one transaction per 100 events), a worker takes the job, resolves and checks the address, decrypts the secret, signs with standardwebhooks, POSTs, and records the outcome (one transaction); ${w.concurrency} deliveries in flight (the server's workers). Reference, in the same run: the same bodies signed with standardwebhooks and POSTed by the load process with the same parallelism, nothing stored: the lower bound of the work without durability.`, '');
  out.push('| side | wall ms | deliveries/s | server CPU s | PostgreSQL CPU s | CPU us per delivery (server + PostgreSQL) |');
  out.push('|---|---|---|---|---|---|');
  const p = w.plansync;
  out.push(`| plansync | ${fmt(p.wallMs, 0)} | ${fmt(p.deliveriesPerSecond, 0)} | ${fmt(p.serverCpuSeconds)} | ${fmt(p.databaseCpuSeconds)} | ${fmt(p.cpuMicrosPerDelivery, 0)} |`);
  out.push(`| reference | ${fmt(w.reference.wallMs, 0)} | ${fmt(w.reference.deliveriesPerSecond, 0)} | - | - | - |`);
  out.push('', `Ratio Plansync / reference: deliveries/s ${fmtRatio(w.ratio.throughput)}. What the durability costs: a delivery is at least three PostgreSQL transactions (outbox to delivery and job, pg-boss fetch, outcome), which is where most of the ${fmt(p.cpuMicrosPerDelivery / 1000, 1)} ms of CPU per delivery goes; a budget cycle's events number in the hundreds, so this bounds a backlog's drain time, not everyday latency.`);
}

/** Section 11: the OData full read, each run of each side. */
function odataSection(out, s) {
  const o = s.odata;
  scenarioHeader(out, '11. OData full read', o);
  out.push(`\`GET /odata/BudgetLines?$filter=PlanId eq <plan>\` for a plan of ${o.lines.toLocaleString('en')} lines (inserted by SQL), with Basic (any user name, a sign-in token as the password) as Excel sends it, following @odata.nextLink through ${o.plansync.pages} pages (${fmt(o.plansync.bytes / 1e6, 1)} MB of JSON); median of ${o.runs} after a warm-up. Memory: the server's RSS sampled every 20 ms during the read, its peak minus its level before. Reference: the same rows and columns by one plain SQL query through \`pg\` and one JSON.stringify, in a node process of its own (its maxRSS minus its RSS before the query): no scope, no paging, no HTTP, every row in memory at once.`, '');
  out.push('| side | median wall ms | rows/s | peak RSS growth MB |');
  out.push('|---|---|---|---|');
  for (const name of ['plansync', 'reference']) {
    const x = o[name];
    out.push(`| ${name} | ${fmt(x.wallMs, 0)} | ${fmt(x.rowsPerSecond, 0)} | ${fmt(x.peakRssGrowthMb, 1)} |`);
  }
  out.push('', `Ratios Plansync / reference: rows/s ${fmtRatio(o.ratio.rowsPerSecond)}, peak RSS growth ${fmtRatio(o.ratio.peakRss)}.`);
}

/** Section 12: spreadsheets in and out. */
function spreadsheetsSection(out, s) {
  const x = s.spreadsheets;
  scenarioHeader(out, '12. spreadsheets in and out', x);
  out.push(`Exports: \`GET /export/budget-lines.csv|xlsx?planId=<plan>\` of plans of ${x.exportLines.map((n) => n.toLocaleString('en')).join(' and ')} lines (made by createBudgetPlan, lines inserted by SQL), the body read and dropped as it comes; median of ${x.runs} after a warm-up. Memory: the server's RSS sampled every 20 ms, its peak minus its level before; the same at both sizes means it does not grow with the rows. Reference: the same rows by one plain SQL query through \`pg\` written as CSV text in a node process of its own (its maxRSS minus its RSS before): no scope, no chunks, every row in memory at once.`, '');
  out.push('| export | lines | median wall ms | rows/s | MB | peak RSS growth MB |');
  out.push('|---|---|---|---|---|---|');
  for (const e of Object.values(x.exports)) out.push(`| ${e.format} | ${e.lines.toLocaleString('en')} | ${fmt(e.wallMs, 0)} | ${fmt(e.rowsPerSecond, 0)} | ${fmt(e.bytes / 1e6, 1)} | ${fmt(e.peakRssGrowthMb, 1)} |`);
  out.push(`| reference CSV | ${Math.max(...x.exportLines).toLocaleString('en')} | ${fmt(x.reference.wallMs, 0)} | ${fmt(x.reference.rowsPerSecond, 0)} | ${fmt(x.reference.bytes / 1e6, 1)} | ${fmt(x.reference.peakRssGrowthMb, 1)} |`);
  out.push('', `Import: ${x.importLines.toLocaleString('en')} lines (2,000 in each of 5 units) exported as CSV, every budget amount changed, POSTed to /import/budget-lines (judged, applied through updateLines in chunks of 5,000, audited as IMPORT); the first import also loads the 5 grid documents, the median of the ${x.runs} after it is reported. Reference: the same changes through updateBudgetLines, two calls of 5,000.`, '');
  out.push('| side | median wall ms | wall us/cell | CPU us/cell (server + PostgreSQL) |');
  out.push('|---|---|---|---|');
  for (const [name, r] of [['import', x.import.plansync], ['updateBudgetLines', x.import.reference]]) out.push(`| ${name} | ${fmt(r.wallMs, 0)} | ${fmt(r.wallPerCellUs, 1)} | ${fmt(r.cpuPerCellUs, 1)} |`);
  out.push('', `Ratios: CSV rows/s Plansync / reference ${fmtRatio(x.ratio.csvRowsPerSecond)}; RSS growth at ${Math.max(...x.exportLines).toLocaleString('en')} over ${Math.min(...x.exportLines).toLocaleString('en')} lines: CSV ${fmtRatio(x.ratio.csvRssGrowthWithRows)}, xlsx ${fmtRatio(x.ratio.xlsxRssGrowthWithRows)}; import wall per cell over updateBudgetLines ${fmtRatio(x.ratio.importWallPerCell)}.`);
}

/** Section 13: the grid in the browser. */
function gridBrowserSection(out, s) {
  const g = s.gridbrowser;
  scenarioHeader(out, '13. grid in the browser', g);
  out.push(`The budget grid page (AG Grid Community 36 over the unit's Yjs document) in headless Chromium, a fresh context per run signed in as the admin, 1440 x 900: a unit of ${g.lines.toLocaleString('en')} lines (amounts filled), and as the reference the same page on a unit of ${g.referenceLines} lines. Load: navigation to the first rows drawn with the document's values and the connection Live (the page's clock). Memory: JS heap used after a forced GC (CDP). Scrolling: up to 100 steps of 128 px (the steps that moved count: 120 lines end sooner), two animation frames each; main-thread task time and wall time per step. Median of ${g.runs} after a warm-up.`, '');
  out.push('| page | lines | first rows ms | JS heap MB | scroll task ms/step | scroll wall ms/step | scroll steps | rows in the DOM |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const [name, r, lines] of [['Plansync', g.plansync, g.lines], ['reference', g.reference, g.referenceLines]]) out.push(`| ${name} (${r.unit}) | ${lines.toLocaleString('en')} | ${fmt(r.loadMs, 0)} | ${fmt(r.heapMb, 1)} | ${fmt(r.scrollTaskMsPerStep, 1)} | ${fmt(r.scrollWallMsPerStep, 1)} | ${r.scrollSteps ?? '—'} | ${r.renderedRows} |`);
  out.push('', `Ratios ${g.lines.toLocaleString('en')} / ${g.referenceLines} lines: load ${fmtRatio(g.ratio.loadMs)}, heap ${fmtRatio(g.ratio.heapMb)}. Why AG Grid Community and not a grid with ranges built in: README, "Ranges and keyboard".`);
}

/** Section 14: loading the web client. */
function clientLoadSection(out, s) {
  const c = s.clientload;
  scenarioHeader(out, '14. loading the web client', c);
  out.push(`The budget grid page of a unit of ${c.lines} lines (amounts filled) and the sign-in page in headless Chromium, 1440 x 900, signed in as the admin. Plansync serves the client as it does (server/src/http/clientFiles.ts): the build's brotli copies (client/scripts/precompress.ts) by Accept-Encoding, hashed /assets/ \`immutable\` for a year, index.html \`no-cache\`. Reference, in the same run: the same client/dist served the old way, \`express.static\` with \`maxAge: '1h'\` and no compression (bench/reference-client-static.mjs, which passes GraphQL and the grid's websocket through to the same Plansync). The old client's single bundle cannot be rebuilt from the same build, so both load the same chunks: the time and grid byte ratios measure compression and caching; the code splitting shows in the sign-in page's scripts (the grid's chunks are not among them). Cold: a new browser context (empty cache), from the navigation's start to the first row's budget cell showing a value (the page's clock). Warm: the same context, a second navigation to the same address. Reload: the same page reloaded (today's Chromium revalidates only the page itself on a reload, so both sides ask the same). Slow link: cold under CDP network emulation, ${c.slowLink.downMbit} Mbit/s down, ${c.slowLink.upMbit} up, ${c.slowLink.latencyMs} ms added latency. Bytes: CDP Network encodedDataLength per request (headers included; from the cache 0), the websocket's frames not counted. Median of ${c.runs} runs after a warm-up, the sides alternating.`, '');
  const range = (x, k) => (x[`${k}Range`] ? ` (${fmt(x[`${k}Range`][0], 0)}-${fmt(x[`${k}Range`][1], 0)})` : '');
  out.push('| side | cold ms (min-max) | warm ms (min-max) | reload ms | slow link cold ms (min-max) | cold KB (client files) | warm KB | files asked warm / reload | sign-in ms | sign-in KB | sign-in scripts | scripts encoded |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const sides = [['Plansync', c.plansync], ['reference (same build, old serving)', c.reference], ...(c.before ? [[`before issue 16 (${c.beforeDist}, old serving)`, c.before]] : [])];
  for (const [name, x] of sides)
    out.push(`| ${name} | ${fmt(x.coldMs, 0)}${range(x, 'coldMs')} | ${fmt(x.warmMs, 0)}${range(x, 'warmMs')} | ${fmt(x.reloadMs, 0)} | ${fmt(x.slowColdMs, 0)}${range(x, 'slowColdMs')} | ${fmt(x.coldBytes / 1024, 0)} (${fmt(x.coldFileBytes / 1024, 0)}) | ${fmt(x.warmBytes / 1024, 1)} | ${x.warmFileRequests} / ${x.reloadFileRequests} | ${fmt(x.signInMs, 0)} | ${fmt(x.signInBytes / 1024, 0)} | ${x.signInScripts.length} | ${x.encodings.join(', ')} |`);
  out.push('', `Ratios Plansync / reference: cold ${fmtRatio(c.ratio.coldMs)}, warm ${fmtRatio(c.ratio.warmMs)}, reload ${fmtRatio(c.ratio.reloadMs)}, slow link cold ${fmtRatio(c.ratio.slowColdMs)}; bytes cold ${fmtRatio(c.ratio.coldBytes)}, warm ${fmtRatio(c.ratio.warmBytes)}, sign-in ${fmtRatio(c.ratio.signInBytes)}.`);
  if (c.ratioToBefore) {
    const b = c.ratioToBefore;
    out.push('', `Ratios Plansync / the client before issue 16: cold ${fmtRatio(b.coldMs)}, warm ${fmtRatio(b.warmMs)}, slow link cold ${fmtRatio(b.slowColdMs)}; bytes cold ${fmtRatio(b.coldBytes)}, sign-in ${fmtRatio(b.signInBytes)} (its sign-in page: ${c.before.signInScripts.length} scripts, AG Grid among them).`);
  }
  out.push('', `The sign-in page's scripts: ${c.plansync.signInScripts.map((n) => `\`${n}\``).join(', ')}. Files asked of the server on the warm visit (Plansync): ${(c.plansync.warmAsked ?? []).map((n) => `\`${n}\``).join(', ')}; the reference asks the same within its hour, and every file again once the hour has passed, where Plansync asks only for index.html.`);
}

/** results.md's sections after the summary, in scenario order; one for each scenario that ran. */
const SECTIONS = [
  ['grid', gridSection],
  ['fanout', fanoutSection],
  ['cost', costSection],
  ['durability', durabilitySection],
  ['subscriptions', subscriptionsSection],
  ['reads', readsSection],
  ['coldstart', coldstartSection],
  ['scaleout', scaleoutSection],
  ['batch', batchSection],
  ['webhooks', webhooksSection],
  ['odata', odataSection],
  ['spreadsheets', spreadsheetsSection],
  ['gridbrowser', gridBrowserSection],
  ['clientload', clientLoadSection],
];

/** Plansync's and the reference's self time in one window, as two pairs of tables (functions, packages). */
function profileTables(profile, label, functions, packages) {
  const out = [];
  const windows = profile.windows.filter((w) => w.label === label);
  if (!windows.length) return out;
  out.push('', `### ${label}`, '');
  out.push(windows.map((w) => `${w.server}: ${w.busyMs} ms busy of ${w.windowedMs} ms`).join('; ') + '.', '');
  const p = windows.find((w) => w.server === 'plansync');
  const r = windows.find((w) => w.server === 'reference');
  const rows = (w, key, n) => (w ? w[key].filter((f) => f.name !== '(idle)').slice(0, n) : []);
  const table = (key, n, what) => {
    const left = rows(p, key, n);
    const right = rows(r, key, n);
    out.push(`| Plansync self ms | % | ${what} | reference self ms | % | ${what} |`, '|---|---|---|---|---|---|');
    for (let i = 0; i < Math.max(left.length, right.length); i++) {
      const a = left[i];
      const b = right[i];
      out.push(`| ${a ? a.ms : ''} | ${a ? a.percent : ''} | ${a ? `\`${a.name}\`` : ''} | ${b ? b.ms : ''} | ${b ? b.percent : ''} | ${b ? `\`${b.name}\`` : ''} |`);
    }
    out.push('');
  };
  table('topFunctions', functions, 'function');
  table('byPackage', packages, 'package');
  return out;
}

/** bench/results/suite-profile.md: every measurement window's profile tables. */
export function profileMarkdown(p) {
  const out = [
    `# CPU profile per benchmark window`,
    '',
    `\`node bench/run.mjs${p.quick ? ' --quick' : ''} --cpu-prof\` on ${p.date} (commit ${p.gitCommit}). Every server under \`node --cpu-prof\` (raw profiles in bench/results/profiles/, not committed); self time on the main thread inside each measurement window, without idle time. Profiling slows the servers: compare none of this run's latencies.`,
  ];
  for (const label of [...new Set(p.windows.map((w) => w.label))]) out.push(...profileTables(p, label, 20, 12));
  out.push('');
  return out.join('\n');
}

/** --render: writes bench/results.md again from bench/results.json and the latest profile, running nothing. */
export async function render() {
  const result = JSON.parse(fs.readFileSync(path.join(benchDir, 'results.json'), 'utf8'));
  result.summary = summaryRows(result.scenarios, result.options);
  result.profile = readProfile();
  await fsp.writeFile(path.join(benchDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(benchDir, 'results.md'), markdown(result));
  log('written: bench/results.md, bench/results.json (rendered again, nothing run)');
}

/** The latest --cpu-prof run's profile (bench/results/suite-profile.json) without its summary, or null. */
function readProfile() {
  try {
    const profile = JSON.parse(fs.readFileSync(path.join(resultsDir, 'suite-profile.json'), 'utf8'));
    delete profile.summary;
    return profile;
  } catch {
    return null;
  }
}

/** Writes bench/results.json and bench/results.md from a run's result, with the latest profile; prints the summary. */
export async function writeResults(result) {
  result.profile = readProfile();
  await fsp.writeFile(path.join(benchDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(benchDir, 'results.md'), markdown(result));
  printSummary(result);
  log(`written: bench/results.md, bench/results.json (${fmt(result.durationSeconds, 0)} s)`);
}

/**
 * The --cpu-prof run's profile: for each measurement window the scenarios marked, the self time of the server
 * measured then, from the profile it wrote into `profileDir` as it exited (named after its pid). Call it once
 * the servers have stopped.
 */
export function collectProfile({ profileDir, windows: marked, servers, machine, quick }) {
  const files = fs.readdirSync(profileDir);
  const fileOf = (server) => {
    const name = files.find((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(server.pid));
    return name ? path.join(profileDir, name) : null;
  };
  const windows = [];
  for (const w of marked) {
    const file = servers[w.server] && fileOf(servers[w.server]);
    if (!file) continue;
    windows.push({ label: w.label, server: w.server === 'plansync' ? 'plansync' : 'reference', file: path.relative(root, file), ...summarizeProfile(file, [w.window]) });
  }
  if (!windows.length) log('no CPU profile was written');
  return { date: machine.date, gitCommit: machine.gitCommit, quick, windows };
}

/**
 * --cpu-prof: writes bench/results/suite-profile.{json,md} (with the run's summary) instead of bench/results.*,
 * which profiling would skew; prints the summary. `keepNotes`: carry the hand-written notes of the previous
 * profile over.
 */
export async function writeProfile(suiteProfile, result, keepNotes) {
  await fsp.mkdir(resultsDir, { recursive: true });
  if (suiteProfile) {
    const previous = (() => {
      try {
        return JSON.parse(fs.readFileSync(path.join(resultsDir, 'suite-profile.json'), 'utf8'));
      } catch {
        return null;
      }
    })();
    // Hand-written notes survive a new profile run only when asked to (they describe the previous one).
    if (previous?.notes && keepNotes) suiteProfile.notes = previous.notes;
    await fsp.writeFile(path.join(resultsDir, 'suite-profile.json'), JSON.stringify({ ...suiteProfile, summary: result.summary }, null, 2) + '\n');
    await fsp.writeFile(path.join(resultsDir, 'suite-profile.md'), profileMarkdown(suiteProfile));
  }
  printSummary(result);
  log(`written: bench/results/suite-profile.json, bench/results/suite-profile.md (results.* untouched: profiling slows the server)`);
}

/** The summary table on stdout. */
export function printSummary(result) {
  const rows = result.summary.map((r) => [r.scenario, r.metric, `${fmt(r.plansync, r.digits)} ${r.unit}`, r.reference == null ? '-' : `${fmt(r.reference, r.digits)} ${r.unit}`, fmtRatio(r.ratio), r.met === null ? '' : r.met ? 'met' : 'MISSED']);
  const header = ['scenario', 'metric', 'Plansync', 'reference', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log('');
}
