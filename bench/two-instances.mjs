#!/usr/bin/env node
// Grid propagation latency with writers split across two Plansync instances (one PostgreSQL, one Redis),
// next to the same load on one instance, and the same two configurations of the reference y-websocket server
// (two of it relaying through Redis: bench/reference-relay-server.mjs), in one run (`npm run bench:two-instances`). A benchmark, not a test:
// it asserts nothing. The scenario itself is bench/lib/scaleout.mjs, also run by the suite as `scaleout`
// (`node bench/run.mjs --only=scaleout`, results in bench/results.md); this entry point runs it alone and
// writes bench/results/two-instances.md and .json, leaving the suite's results alone.
//
//   node bench/two-instances.mjs [--quick] [--scenarios=1,50] [--workers=4] [--redis=redis://127.0.0.1:6379] [--warmup=3] [--window=10] [--repeats=8] [--cpu-prof]
//
// --repeats: rounds at 50 writers and more (default 8; --quick 1), each the four configurations back to back; the
// tables show the round with the median two/one, and every round's ratios are listed under them.
//
// --warmup, --window: seconds of warm-up and of measurement (defaults: the suite's, 3 and 10; --quick 0.5 and 1.5).
// --cpu-prof: the instances (Plansync's three and the reference's three) run under `node --cpu-prof` (raw profiles in bench/results/profiles/scaleout/,
// not committed); each instance's self time per measurement window, by function and by package, is printed and
// kept in the JSON. Profiling slows the servers: compare its CPU figures with nothing.
// --scenarios: the writer counts (default 1 and 50; --quick: 50 only, with a 1 s warm-up and a 2 s window
// instead of 3 s and 10 s). Redis: --redis, else 127.0.0.1:6379 when it answers, else a `redis-server` started
// for the run on a free port; without any, it says so and writes nothing. PostgreSQL: the embedded cluster of
// instance A (see bench/lib/scaleout.mjs). Every process and temporary folder it starts is removed at the end,
// on errors and on Ctrl-C too.
import fsp from 'node:fs/promises';
import path from 'node:path';
import { commandLine, ensureBuilt, fmt, fmtRatio, incidents, installCleanup, log, machineInfo, printUsageAndExit, resultsDir, runMain, setLogPrefix } from './lib/common.mjs';
import { runScaleout, scaleoutDefaults, scaleoutMarkdown } from './lib/scaleout.mjs';

const { args, flag, option } = commandLine();
if (flag('help') || flag('h')) {
  printUsageAndExit(import.meta.url);
}
const known = /^--(quick|help|h|cpu-prof|(scenarios|workers|redis|warmup|window|repeats)=.+)$/;
for (const a of args) if (!known.test(a)) throw new Error(`unknown option ${a} (see --help)`);
const quick = flag('quick');
const defaults = scaleoutDefaults(quick);
const options = {
  quick,
  ...defaults,
  writers: option('scenarios', defaults.writers.join(',')).split(',').map(Number),
  workers: Number(option('workers', '4')),
  redis: option('redis', null),
  cpuProf: flag('cpu-prof'),
  warmupMs: Number(option('warmup', String(defaults.warmupMs / 1000))) * 1000,
  measureMs: Number(option('window', String(defaults.measureMs / 1000))) * 1000,
  repeats: Number(option('repeats', String(defaults.repeats))),
};
if (!(Number.isInteger(options.repeats) && options.repeats >= 1)) throw new Error(`--repeats: a whole number of rounds, got ${option('repeats')}`);
for (const [name, ms] of [['warmup', options.warmupMs], ['window', options.measureMs]]) if (!(ms >= 0 && Number.isFinite(ms))) throw new Error(`--${name}: seconds, got ${option(name)}`);
for (const w of options.writers) if (!(Number.isInteger(w) && w >= 1 && w <= 240)) throw new Error(`--scenarios: writers must be 1..240, got ${w}`);
if (!(Number.isInteger(options.workers) && options.workers >= 2)) throw new Error('--workers must be at least 2 (one per instance)');

setLogPrefix('two-instances');
installCleanup();

const configNames = { one: 'one', two: 'two', referenceOne: 'ref one', referenceTwo: 'ref two' };

function textTable(sc) {
  const header = ['writers', 'instances', 'writers/instance', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'delivered', 'server CPU s', 'CPU us/delivery', 'db CPU s', 'busy'];
  const rows = [];
  for (const s of sc.scenarios) {
    for (const name of ['one', 'two', 'referenceOne', 'referenceTwo']) {
      const r = s[name];
      if (!r) continue;
      rows.push([String(r.writers), configNames[name], r.writersPerServer.join('+'), fmt(r.latencyMs.p50), fmt(r.latencyMs.p90), fmt(r.latencyMs.p99), fmt(r.latencyMs.max, 1), `${r.delivered}/${r.expected}`, r.serverCpuSecondsEach.map((c) => fmt(c)).join('+'), fmt(r.serverCpuMicrosPerDelivery, 1), fmt(r.databaseCpuSeconds), `${Math.round(100 * r.machineBusy)}%`]);
    }
    rows.push(['', 'two/one', '', fmtRatio(s.ratio.p50), '', fmtRatio(s.ratio.p99), '', '', fmtRatio(s.ratio.cpu), fmtRatio(s.ratio.cpuPerDelivery), '', '']);
    const q = s.referenceRatio;
    if (q) rows.push(['', 'ref two/one', '', fmtRatio(q.p50), '', fmtRatio(q.p99), '', '', fmtRatio(q.cpu), fmtRatio(q.cpuPerDelivery), '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i <= 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdown(result) {
  const m = result.machine;
  const out = ['# Grid propagation latency: writers split across two Plansync instances vs one instance', ''];
  out.push(`Generated by \`node bench/two-instances.mjs${result.options.quick ? ' --quick' : ''}\` on ${m.date} (commit ${m.gitCommit ?? '?'}${m.gitDirty ? ', with uncommitted changes under server/' : ''}). The same scenario is \`scaleout\` in the suite (bench/run.mjs, bench/results.md).`, '');
  out.push(`- Machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memoryGb} GB, ${m.os}; Node ${m.node}.`);
  out.push('- Everything (servers, PostgreSQL, Redis, load processes) shares the machine: absolute figures include queueing for a CPU; the ratio within one run is what compares.');
  if (result.buildWarning) out.push(`- **Warning:** ${result.buildWarning}.`);
  out.push('', ...scaleoutMarkdown(result.scaleout));
  for (const i of result.incidents) out.push('', `**${i.server} exited unexpectedly** (${i.exit}); its last output:`, '', '```', i.output.trim().slice(-2000), '```');
  return out.join('\n') + '\n';
}

async function main() {
  const machine = machineInfo();
  const buildWarning = ensureBuilt();
  const scaleout = await runScaleout({ ...options, pauseMs: 500 });
  if (scaleout.skipped) {
    console.log(`Skipped: ${scaleout.skipped}. Nothing written.`);
    return;
  }
  const result = { machine, options, buildWarning, scaleout, incidents };
  console.log(textTable(scaleout));
  for (const p of scaleout.profile ?? []) {
    console.log(`\n${p.instance} (${p.writers} writer(s), ${p.config}) CPU profile (${p.file ?? 'none written'}), self time in the window: ${p.busyMs ?? '-'} ms busy of ${p.windowedMs ?? '-'} ms`);
    for (const f of p.topFunctions ?? []) if (!f.name.startsWith('(idle)')) console.log(`  ${String(f.ms).padStart(6)} ms  ${f.name}`);
    console.log('  by package: ' + (p.byPackage ?? []).map((x) => `${x.name} ${x.ms} ms`).join(', '));
  }
  await fsp.mkdir(resultsDir, { recursive: true });
  await fsp.writeFile(path.join(resultsDir, 'two-instances.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(resultsDir, 'two-instances.md'), markdown(result));
  log('written: bench/results/two-instances.json, bench/results/two-instances.md');
}

await runMain(main);
