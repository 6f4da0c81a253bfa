#!/usr/bin/env node
// Grid propagation latency: Plansync's collaborative grid against the reference Yjs server
// (y-websocket@1.5.4 `bin/server.js`, installed as the devDependency `y-websocket-reference`), side by side in
// one run, with the same clients, keys, values and load. A benchmark, not a test: it asserts nothing.
//
//   node bench/grid-propagation.mjs [--quick] [--scenarios=1,50,200] [--servers=plansync,reference]
//                                   [--workers=4] [--clients=light|stock] [--cpu-prof] [--worker-cpu-prof=<dir>]
//
// Each scenario puts W concurrent writers on ONE document (`budget:<planId>:SALES_NORTH`). The clients are
// light y-websocket clients (bench/grid-light-worker.mjs), hosted by forked load processes: each speaks the
// y-websocket protocol over ws as a stock provider does (sync step 1/2 handshake, awareness on connect and
// every 15 s); a writer is a real Y.Doc that applies the server's initial state and then sets its own cell
// with Y.Map.set, sent as an update message, so the server validates, stores and broadcasts real Yjs updates;
// but no client integrates other clients' updates into a Y.Doc: it reads the writer (Yjs client id) and the
// value out of each update message it receives. Why: with stock providers every client applies every other
// client's update, ~40,000 Yjs applies a second at 200 writers, which saturate the load processes on the CPUs
// they share with the server, and the latency measured the load generator's queueing (2-7 s p99 on both
// servers, swinging run to run). --clients=stock runs stock y-websocket 3 `WebsocketProvider`s (ws as their
// WebSocket, disableBc; bench/grid-worker.mjs) instead, to compare. Every client observes; each writer sets
// its own cell about once a second (random phase) to the send time in ms since an epoch shared by all
// processes (performance.timeOrigin + performance.now()); every other client records now - value when the
// update arrives from the server. With
// W = 1 there is one extra, observe-only client. After a warm-up (connect, sync, writes running) the
// measurement window lasts 10 s (3 s with --quick); only writes sent inside it count. Each server also has
// one idle "keeper" connection from this process for the whole run, so both documents keep the same history
// between runs (Plansync persists it; the reference would drop it). We check that every
// such write reached every other client, and sample the server's CPU time (/proc/<pid>/stat; for Plansync
// also its embedded PostgreSQL, counted apart) and RSS over the window.
//
// Cells: `<lineId>/budgetAmount` of the unit's 120 lines, then `<lineId>/forecastSales` (the same rules: a
// number 0..1e12) so that every writer owns one cell and no write can be hidden by a concurrent one.
//
// Output: a table on stdout, bench/results/grid-propagation.json and bench/results/grid-propagation.md.
// The run itself lives in bench/lib/grid.mjs, shared with the suite (bench/run.mjs, `npm run bench`), whose
// scenario 1 is this benchmark against the suite's own servers.
// --cpu-prof runs both servers under `node --cpu-prof` and adds, per measurement window, the functions and
// packages with the most self time (bench/results/grid-propagation-profile.{json,md}; the raw profiles stay
// in bench/results/profiles/, not committed). Profiling slows the servers: compare its latencies with nothing.
//
// Reading the figures: the load processes run on the same machine as the servers (`client CPU s` is theirs
// in the window). With --clients=stock, a stock Yjs client pays, for every update it applies, time
// proportional to the number of clients in the document's history, and every client applies every update,
// so client CPU grows with the cube of the writer count: on a 2-CPU machine 200 writers saturate the load
// processes themselves (the `busy` figures say so), and there only the server CPU figures compare the
// servers. Other processes on the machine add noise: run again when `busy` is high with little of it ours.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  commandLine,
  ensureBuilt,
  fmt,
  fmtRatio,
  installCleanup,
  log,
  machineInfo,
  newProfile,
  ratio,
  resultsDir,
  root,
  sleep,
  startPlansync,
  startReference,
  stopProcess,
  summarizeProfile,
  cpuSample,
  printUsageAndExit,
  runMain,
} from './lib/common.mjs';
import { gridTarget, madeUpTarget, openKeeper, runGridScenario } from './lib/grid.mjs';

// ---------------------------------------------------------------------------------------------- options
const { args, flag, option } = commandLine();
const quick = flag('quick');
const options = {
  quick,
  scenarios: option('scenarios', '1,50,200').split(',').map(Number),
  servers: option('servers', 'plansync,reference').split(','),
  workers: Number(option('workers', '4')),
  /** light: bench/grid-light-worker.mjs; stock: y-websocket WebsocketProviders (bench/grid-worker.mjs). */
  clients: option('clients', 'light'),
  warmupMs: quick ? 2000 : 3000,
  measureMs: quick ? 3000 : 10_000,
  cpuProf: flag('cpu-prof'),
  /** Profiles the load processes too (to see what a client costs), into this folder. */
  workerCpuProf: option('worker-cpu-prof', null) && path.resolve(option('worker-cpu-prof', null)),
};
if (args.includes('--help') || args.includes('-h')) {
  printUsageAndExit(import.meta.url);
}
for (const w of options.scenarios) if (!(Number.isInteger(w) && w >= 1 && w <= 240)) throw new Error(`--scenarios: writers must be 1..240, got ${w}`);
if (!['light', 'stock'].includes(options.clients)) throw new Error(`--clients: light or stock, got ${options.clients}`);
for (const s of options.servers) if (!['plansync', 'reference'].includes(s)) throw new Error(`--servers: unknown server ${s}`);

// ------------------------------------------------------------------------------------------- output
function textTable(scenarios) {
  const header = ['writers', 'clients', 'server', 'p50 ms', 'p99 ms', 'max ms', 'delivered', 'missing', 'srv CPU s', 'db CPU s', 'RSS MB', 'client CPU s', 'busy', 'load'];
  const rows = [];
  for (const s of scenarios) {
    for (const r of [s.plansync, s.reference].filter(Boolean)) {
      rows.push([
        String(r.writers),
        String(r.clients),
        r.server,
        fmt(r.latencyMs.p50),
        fmt(r.latencyMs.p99),
        fmt(r.latencyMs.max, 1),
        `${r.delivered}/${r.expected}`,
        String(r.missing),
        fmt(r.serverCpuSeconds),
        r.databaseCpuSeconds == null ? '-' : fmt(r.databaseCpuSeconds),
        fmt(r.serverRssMb, 0),
        fmt(r.clientCpuSeconds),
        `${Math.round(100 * r.machineBusy)}%`,
        r.loadAverage1m.map((l) => l.toFixed(1)).join('>'),
      ]);
    }
    if (s.ratio) rows.push(['', '', 'ratio P/R', fmtRatio(s.ratio.p50), fmtRatio(s.ratio.p99), '', '', '', fmtRatio(s.ratio.cpu), '', '', '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i <= 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdown(result) {
  const m = result.machine;
  const out = [];
  out.push('# Grid propagation latency: Plansync vs reference y-websocket server', '');
  out.push(`Generated by \`node bench/grid-propagation.mjs${result.options.quick ? ' --quick' : ''}\` on ${m.date} (commit ${m.gitCommit ?? '?'}).`, '');
  out.push(`- Machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memoryGb} GB, ${m.os}`);
  out.push(`- Node ${m.node}; reference: y-websocket@1.5.4 \`bin/server.js\` (no auth, no validation, no persistence); clients: ${
      result.options.clients === 'stock'
        ? `y-websocket ${result.clientVersion} \`WebsocketProvider\` + ws`
        : 'light y-websocket clients over ws (bench/grid-light-worker.mjs: real Y.Doc writers; no client applies the others\' updates, it reads writer and value from each update)'
    }`);
  if (result.buildWarning) out.push(`- **Warning:** ${result.buildWarning}.`);
  out.push(`- Warm-up ${result.options.warmupMs / 1000} s, measurement ${result.options.measureMs / 1000} s per run; each writer sets its own cell about once a second; every other client observes it.`);
  out.push(`- Each server also holds one idle keeper connection (from the bench process) for the whole run, so that both documents carry the same history from run to run; it receives every update too and is not counted.`);
  out.push(`- The load processes share the machine with the servers (and with anything else running): absolute figures include client-side queueing; the ratio is what compares.`, '');
  out.push('| writers (clients) | Plansync p50 / p99 ms | reference p50 / p99 ms | ratio p50 / p99 | Plansync CPU s (+ PostgreSQL) | reference CPU s | CPU ratio | delivered / expected (P, R) | machine busy (P, R) |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of result.scenarios) {
    const p = s.plansync;
    const r = s.reference;
    out.push(
      `| ${s.writers} (${s.clients}) | ${p ? `${fmt(p.latencyMs.p50)} / ${fmt(p.latencyMs.p99)}` : '-'} | ${r ? `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)}` : '-'} | ${
        s.ratio ? `${fmtRatio(s.ratio.p50)} / ${fmtRatio(s.ratio.p99)}` : '-'
      } | ${p ? `${fmt(p.serverCpuSeconds)} (+ ${fmt(p.databaseCpuSeconds)})` : '-'} | ${r ? fmt(r.serverCpuSeconds) : '-'} | ${s.ratio ? fmtRatio(s.ratio.cpu) : '-'} | ${p ? `${p.delivered}/${p.expected}` : '-'}, ${
        r ? `${r.delivered}/${r.expected}` : '-'
      } | ${[p, r].filter(Boolean).map((x) => `${Math.round(100 * x.machineBusy)}%`).join(', ')} |`,
    );
  }
  const allRuns = result.scenarios.flatMap((s) => [s.plansync, s.reference].filter(Boolean));
  const clientBound = allRuns.filter((r) => r.benchBusy > 0.6);
  const contended = allRuns.filter((r) => r.machineBusy > 0.85 && r.benchBusy <= 0.6);
  if (clientBound.length) {
    out.push(
      '',
      `**Load-generator bound:** in the ${[...new Set(clientBound.map((r) => `${r.writers}-writer`))].join(', ')} runs the server and the load processes alone used over 60% of the machine (\`busy\` below, in parentheses). ${
        result.options.clients === 'stock'
          ? "There the latencies are mostly queueing in the load processes, not server time: a stock Yjs client spends time proportional to the number of clients in the document's history on every update it applies, and every client applies every update, so the load grows with the cube of the writer count; writers then also fall behind their 1 s period (see \`sent\`). Compare server CPU there rather than latency."
          : 'The light clients cost a frame parse per delivery, so the machine itself is short of CPU there: latencies include waiting for one.'
      }`,
    );
  }
  if (contended.length) {
    out.push(
      '',
      `**Contended:** during ${contended.map((r) => `${r.writers}-writer/${r.server}`).join(', ')} the machine was over 85% busy with other processes (\`busy\` below): those latencies include waiting for a CPU.`,
    );
  }
  if (result.idle) {
    out.push('', `Idle baseline (only the idle keeper connection, ${Object.values(result.idle)[0]?.seconds ?? '?'} s): ${Object.entries(result.idle).map(([k, v]) => `${k} ${fmt(v.serverCpuSeconds)} CPU s${v.databaseCpuSeconds != null ? ` (+${fmt(v.databaseCpuSeconds)} PostgreSQL)` : ''}, RSS ${fmt(v.rssMb, 0)} MB`).join('; ')}.`);
  }
  out.push('', '## Details', '');
  out.push('Latencies in ms; `sent`: writes sent in the window (each should reach every other client); `busy`: machine-wide CPU utilisation during the window (all processes, including other users\'), with the share of the server under test + load processes in parentheses.', '');
  out.push('| writers | server | p50 | p90 | p99 | max | mean | sent | missing | server CPU s | CPU % | CPU ms / write | CPU us / delivery | RSS MB | client CPU s | busy | client event-loop lag p99 ms | connect ms |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of result.scenarios) {
    for (const r of [s.plansync, s.reference].filter(Boolean)) {
      out.push(
        `| ${r.writers} | ${r.server} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${fmt(r.latencyMs.mean)} | ${r.sent} | ${r.missing} | ${fmt(r.serverCpuSeconds)} (${fmt(r.serverSystemCpuSeconds)} sys)${
          r.databaseCpuSeconds != null ? ` +${fmt(r.databaseCpuSeconds)} db` : ''
        } | ${fmt(r.serverCpuPercent, 0)} | ${fmt(r.serverCpuMsPerWrite)} | ${fmt(r.serverCpuMicrosPerDelivery, 1)} | ${fmt(r.serverRssMb, 0)} | ${fmt(r.clientCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% (${Math.round(100 * r.benchBusy)}%) | ${fmt(r.clientLoopDelayP99Ms, 1)} | ${r.connectMs} |`,
      );
    }
  }
  for (const [name, prof] of Object.entries(result.profile ?? {})) {
    out.push('', `## ${name} CPU profile (\`node --cpu-prof\`, main thread, self time per measurement window; ${prof.file})`);
    for (const p of [{ writers: 'idle', ...prof.idle }, ...prof.scenarios]) {
      out.push('', `### ${name}, ${p.writers === 'idle' ? 'idle (keeper connection only)' : `${p.writers} writer(s)`}: ${p.busyMs} ms busy of ${p.windowedMs} ms`, '');
      out.push('| self ms | % of window | function |', '|---|---|---|');
      for (const f of p.topFunctions.slice(0, 20)) out.push(`| ${f.ms} | ${f.percent} | \`${f.name}\` |`);
      out.push('', '| self ms | % of window | package |', '|---|---|---|');
      for (const f of p.byPackage) out.push(`| ${f.ms} | ${f.percent} | ${f.name} |`);
    }
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------- main
installCleanup();
let buildWarning = null;

async function main() {
  const machine = machineInfo();
  log(`machine: ${machine.nproc} x ${machine.cpuModel}, node ${machine.node}, load ${os.loadavg()[0].toFixed(1)}`);
  const profileDir = options.cpuProf ? path.join(resultsDir, 'profiles') : null;
  const servers = {};
  if (options.servers.includes('plansync')) {
    buildWarning = ensureBuilt();
    log('starting Plansync (embedded PostgreSQL; the first start takes a few seconds)...');
    servers.plansync = await startPlansync({ profileDir });
    log(`Plansync on ${servers.plansync.url} (pid ${servers.plansync.pid})`);
  }
  if (options.servers.includes('reference')) {
    servers.reference = await startReference({ profileDir });
    log(`reference y-websocket@1.5.4 on ${servers.reference.url} (pid ${servers.reference.pid})`);
  }

  // Token, plan and cells from Plansync (any Plansync will do for the reference when only it runs).
  const target = servers.plansync ? await gridTarget(servers.plansync.url) : madeUpTarget();
  // One idle keeper connection per server for the whole run: it holds the document between runs, so the
  // reference (which drops a document when its last connection leaves) accumulates the same history as
  // Plansync (which persists it), and Plansync does not unload and reload it between runs. A Yjs client's
  // cost per update grows with the number of clients in the document's history.
  for (const server of Object.values(servers)) server.keeper = await openKeeper(server, target);

  const maxWriters = Math.max(...options.scenarios);
  if (target.keys.length < maxWriters) throw new Error(`only ${target.keys.length} cells for ${maxWriters} writers`);
  log(`document ${target.docName}, ${target.keys.length / 2} lines`);

  // Idle baseline: what each server burns with no client at all (timers, background jobs).
  const idle = {};
  const idleMs = options.quick ? 3000 : 5000;
  const idleBefore = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, cpuSample(s.pid)]));
  const idleMonoStart = Number(process.hrtime.bigint() / 1000n);
  await sleep(idleMs);
  const idleWindow = [idleMonoStart, Number(process.hrtime.bigint() / 1000n)];
  for (const [k, s] of Object.entries(servers)) {
    const after = cpuSample(s.pid);
    idle[k] = {
      seconds: idleMs / 1000,
      serverCpuSeconds: after.ownSeconds - idleBefore[k].ownSeconds,
      databaseCpuSeconds: k === 'plansync' ? after.childSeconds - idleBefore[k].childSeconds : null,
      rssMb: after.rssMb,
    };
    log(`idle ${k}: ${fmt(idle[k].serverCpuSeconds)} CPU s in ${idleMs / 1000} s${k === 'plansync' ? ` (+${fmt(idle[k].databaseCpuSeconds)} s PostgreSQL)` : ''}, RSS ${fmt(after.rssMb, 0)} MB`);
  }

  const runs = [];
  const scenarios = [];
  for (const [i, writers] of options.scenarios.entries()) {
    // Alternate which server goes first, so that a trend in background load favours neither.
    const order = (i % 2 === 0 ? ['plansync', 'reference'] : ['reference', 'plansync']).filter((s) => servers[s]);
    const scenario = { writers, clients: Math.max(writers, 2) };
    for (const name of order) {
      log(`${writers} writer(s), ${scenario.clients} clients -> ${name}...`);
      const run = await runGridScenario(servers[name], target, writers, options);
      runs.push(run);
      scenario[name] = run;
      log(
        `  p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms, max ${fmt(run.latencyMs.max, 1)} ms; ${run.delivered}/${run.expected} delivered, ${run.missing} missing; server CPU ${fmt(run.serverCpuSeconds)} s${
          run.databaseCpuSeconds != null ? ` (+${fmt(run.databaseCpuSeconds)} s PostgreSQL)` : ''
        }; clients CPU ${fmt(run.clientCpuSeconds)} s; load ${run.loadAverage1m.map((l) => l.toFixed(1)).join('>')}`,
      );
      if (run.disconnects > 0) log(`  ${run.disconnects} client disconnect(s) during the run; close codes ${run.closeCodes.join(', ') || '-'}`);
      await sleep(1000);
    }
    if (scenario.plansync && scenario.reference) {
      scenario.ratio = {
        p50: ratio(scenario.plansync.latencyMs.p50, scenario.reference.latencyMs.p50),
        p99: ratio(scenario.plansync.latencyMs.p99, scenario.reference.latencyMs.p99),
        cpu: ratio(scenario.plansync.serverCpuSeconds, scenario.reference.serverCpuSeconds),
      };
    }
    scenarios.push(scenario);
  }

  // Stop the servers; with --cpu-prof each writes its profile as it exits.
  const profiles = {};
  for (const server of Object.values(servers)) await server.keeper.close();
  for (const [name, server] of Object.entries(servers)) {
    const before = server.profileDir ? new Set(fs.readdirSync(server.profileDir)) : new Set();
    await stopProcess(server);
    if (!server.profileDir) continue;
    const file = newProfile(server.profileDir, before);
    if (!file) {
      log(`no CPU profile was written by ${name}`);
      continue;
    }
    profiles[name] = {
      file: path.relative(root, file),
      idle: summarizeProfile(file, [idleWindow]),
      scenarios: runs.filter((r) => r.server === name).map((r) => ({ writers: r.writers, ...summarizeProfile(file, [[r.window.monoStartMicros, r.window.monoEndMicros]]) })),
    };
  }
  const profile = Object.keys(profiles).length ? profiles : null;

  const result = {
    machine,
    options,
    clientVersion: JSON.parse(fs.readFileSync(path.join(root, 'node_modules/y-websocket/package.json'), 'utf8')).version,
    buildWarning,
    idle,
    scenarios,
    profile,
  };
  await fsp.mkdir(resultsDir, { recursive: true });
  const base = options.cpuProf ? 'grid-propagation-profile' : 'grid-propagation';
  await fsp.writeFile(path.join(resultsDir, `${base}.json`), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(resultsDir, `${base}.md`), markdown(result));

  console.log('');
  console.log(`Grid propagation, ${machine.nproc} CPU ${machine.cpuModel}, node ${machine.node}, ${options.measureMs / 1000} s per run`);
  console.log(textTable(scenarios));
  console.log('');
  for (const r of runs) {
    if (r.benchBusy > 0.6) console.log(`note: ${r.writers} writers/${r.server}: the load processes and server used ${Math.round(100 * r.benchBusy)}% of the machine; latency ${options.clients === 'stock' ? 'is mostly client-side queueing' : 'includes waiting for a CPU'}.`);
    else if (r.machineBusy > 0.85) console.log(`note: ${r.writers} writers/${r.server}: the machine was ${Math.round(100 * r.machineBusy)}% busy, mostly with other processes; latency includes waiting for a CPU.`);
  }
  for (const [name, prof] of Object.entries(profile ?? {})) {
    console.log(`\n${name} CPU profile (${prof.file}), main thread, self time per measurement window:`);
    for (const p of [{ writers: 'idle', ...prof.idle }, ...prof.scenarios]) {
      console.log(`\n  ${name}, ${p.writers === 'idle' ? 'idle (keeper connection only)' : `${p.writers} writer(s)`}: ${p.busyMs} ms busy of ${p.windowedMs} ms`);
      for (const f of p.topFunctions.slice(0, 15)) console.log(`  ${String(f.ms).padStart(6)} ms ${String(f.percent).padStart(5)}%  ${f.name}`);
      console.log('  by package:');
      for (const f of p.byPackage.slice(0, 10)) console.log(`  ${String(f.ms).padStart(6)} ms ${String(f.percent).padStart(5)}%  ${f.name}`);
    }
  }
  console.log(`\nwritten: ${path.relative(root, path.join(resultsDir, `${base}.json`))}, ${path.relative(root, path.join(resultsDir, `${base}.md`))}`);
}

await runMain(main);
