#!/usr/bin/env node
// A/B of the grid propagation run (bench/lib/grid.mjs): two or three Plansync servers that differ in their
// environment or their build, side by side with the reference y-websocket@1.5.4 server, in rounds whose order
// rotates, so that a change to the hot path can be judged against the spread of the same code from run to run
// before a full `npm run bench`. Not part of the suite; prints each run and then each server's p50/p99 per run and
// their medians.
//
//   node bench/grid-ab.mjs --b=NAME=VALUE[,NAME=VALUE] [--a=...] [--c=...] [--b-entry=PATH] [--writers=50] [--rounds=5] [--workers=4] [--cpu-prof=DIR]
//                          [--no-b] [--reference-copy] [--floors] [--pin-servers=CPUS --pin-clients=CPUS]
//
// --X-entry=PATH (X: a, b or c): that server runs PATH (a build's server/dist/server/src/main.js, say of a copy of
// server/dist patched for a diagnosis, or of a worktree of another commit) instead of server/dist. Giving --c or
// --c-entry adds a third Plansync server.
//
// --cpu-prof=DIR: every server runs under `node --cpu-prof` into DIR/<server>/, and DIR/windows.json holds each
// server's measurement windows (CLOCK_MONOTONIC microseconds, as the profiles' timestamps): for
// `node bench/profile-inclusive.mjs`.
//
// --no-b: Plansync a only. --reference-copy: a second copy of the reference (how far apart two equal servers measure
// in the same rounds), timed inside as Plansync times itself (bench/lib/forwardTiming.mjs): each run then prints,
// for it and for Plansync, the server's own time from a message's arrival to its broadcast's last write. --floors: the floor that only relays (bench/send-floor-server.mjs) and the floor keeping a
// Y.Doc (FLOOR_YJS=1), as in the suite's 50-writer runs. --floor-work (with --floors): at the end of each round,
// after the floors, the floor spending the server CPU per update that Plansync a's run of the round spent beyond
// the floor's run (as the suite's "floor spending Plansync's CPU"), and then the same with a stand-in for a database
// beside it spending a's PostgreSQL CPU per update (bench/send-floor-server.mjs `db`), named floorWork and
// floorWorkDb.
//
// --pin-servers=CPUS --pin-clients=CPUS: every server, with every process it starts (Plansync's embedded
// PostgreSQL) and every thread, is pinned to CPUS with taskset, and this process, its load processes and their
// threads to the other CPUS: the nearest this machine comes to a load generator on a machine of its own (the
// clients no longer take the servers' CPU, nor the servers the clients'). The embedded PostgreSQL's later
// backends are forked from its postmaster and inherit its CPUs.
//
// A server reads its own settings from the environment (server/src/config.ts), so a diagnosis switch can be tried
// without two builds: both run server/dist (npm run build -w server first).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { descendants, fmt, log, median, runMain, sleep, startPlansync, startReference, startScript, stopProcess } from './lib/common.mjs';
import { timedReferenceEntry } from './lib/forwardTiming.mjs';
import { LATE_AFTER_MS, gridTarget, openKeeper, pooledLatencyMs, runGridScenario } from './lib/grid.mjs';

const option = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
// NAME=VALUE pairs; a value may hold '=' itself (NODE_OPTIONS=--flag=1).
const envOf = (spec) => Object.fromEntries(spec.split(',').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));

await runMain(async () => {
  const writers = Number(option('writers', '50'));
  const rounds = Number(option('rounds', '5'));
  const grid = { workers: Number(option('workers', '4')), warmupMs: 3000, measureMs: 10_000, drainQuietMs: 1000, clients: 'light' };
  const profiles = option('cpu-prof', null);
  const profileDir = (name) => (profiles ? path.resolve(profiles, name) : null);
  const flag = (name) => process.argv.includes(`--${name}`);
  const pinServers = option('pin-servers', null);
  const pinClients = option('pin-clients', null);
  if ((pinServers == null) !== (pinClients == null)) throw new Error('--pin-servers and --pin-clients go together');
  /** Pins a process, every thread of it, and everything it has started (taskset -a: all its threads). */
  const pin = (pid, cpus) => {
    for (const each of [pid, ...descendants(pid)]) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(each)], { stdio: 'ignore' });
  };
  // Ourselves first: the load processes started later inherit our CPUs.
  if (pinClients) pin(process.pid, pinClients);
  const variants = ['a', 'b', 'c'].filter(
    (name) => (name !== 'b' || !flag('no-b')) && (name !== 'c' || option('c', null) != null || option('c-entry', null) != null),
  );
  const servers = {};
  for (const name of variants) {
    const entry = option(`${name}-entry`, null);
    servers[name] = await startPlansync({ env: { GRID_IDLE_UNLOAD_MS: '1000', ...envOf(option(name, '')) }, name: `plansync-${name}`, profileDir: profileDir(name), ...(entry ? { entry: path.resolve(entry) } : {}) });
  }
  servers.reference = await startReference({ profileDir: profileDir('reference') });
  if (flag('reference-copy')) {
    servers.referenceCopy = await startReference({ profileDir: profileDir('referenceCopy'), name: 'referenceCopy', entry: timedReferenceEntry() });
    servers.referenceCopy.timedReference = true;
  }
  if (flag('floors')) {
    servers.floor = await startScript('floor', 'send-floor-server.mjs', { profileDir: profileDir('floor') });
    servers.floorYjs = await startScript('floorYjs', 'send-floor-server.mjs', { env: { FLOOR_YJS: '1' }, profileDir: profileDir('floorYjs') });
  }
  if (pinServers) for (const server of Object.values(servers)) pin(server.pid, pinServers);
  const targets = {};
  for (const name of variants) targets[name] = await gridTarget(servers[name].url);
  for (const name of Object.keys(servers)) targets[name] ??= targets.a;
  const keepers = await Promise.all(Object.entries(servers).map(([name, server]) => openKeeper(server, targets[name])));
  // The floors run at the end of each round, in this order (the floor spending Plansync's CPU needs this round's
  // runs of Plansync a and the floor); the servers compared rotate.
  const floorWork = flag('floors') && flag('floor-work');
  const tail = flag('floors') ? ['floor', 'floorYjs', ...(floorWork ? ['floorWork', 'floorWorkDb'] : [])] : [];
  const rotating = Object.keys(servers).filter((name) => !tail.includes(name));
  const names = [...rotating, ...tail];
  const serverOf = (name) => servers[/^floorWork/.test(name) ? 'floor' : name];
  const targetOf = (name) => targets[/^floorWork/.test(name) ? 'floor' : name];
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = [...rotating.map((_, i) => rotating[(i + round) % rotating.length]), ...tail];
    for (const name of order) {
      let work = null;
      if (/^floorWork/.test(name)) {
        const a = runs.a.at(-1);
        const floor = runs.floor.at(-1);
        work = {
          us: Math.max(0, Math.round((1e6 * (a.serverCpuSeconds - (floor.serverCpuSeconds * a.sent) / Math.max(1, floor.sent))) / Math.max(1, a.sent))),
          db: name === 'floorWorkDb' ? Math.round((1e6 * (a.databaseCpuSeconds ?? 0)) / Math.max(1, a.sent)) : 0,
        };
        await setFloorWork(servers.floor, work);
      }
      const run = await runGridScenario(serverOf(name), targetOf(name), writers, grid);
      if (work) {
        await setFloorWork(servers.floor, { us: 0, db: 0 });
        run.work = work;
      }
      runs[name].push(run);
      log(`round ${round + 1} ${name}: p50 ${fmt(run.latencyMs.p50)} p99 ${fmt(run.latencyMs.p99)} max ${fmt(run.latencyMs.max)} ms (from before the edit: p99 ${fmt(run.editLatencyMs.p99)} ms); CPU ${fmt(run.serverCpuSeconds)} s (main thread ${fmt(run.serverMainThreadSeconds)} s, kernel ${fmt(run.serverSystemCpuSeconds)} s; ${run.serverReadCalls} reads, ${run.serverWriteCalls} writes, ${run.serverContextSwitches} switches)${run.databaseCpuSeconds != null ? ` (+${fmt(run.databaseCpuSeconds)} s PostgreSQL)` : ''}${run.forward?.count ? `; own path ${fmt(run.forward.p50Us, 0)} / ${fmt(run.forward.p99Us, 0)} us (p50 / p99 of ${run.forward.count})` : ''}${run.work ? ` (spending ${run.work.us} us per update${run.work.db ? `, its database stand-in ${run.work.db} us` : ''})` : ''}; clients ${fmt(run.clientCpuSeconds)} s${run.clientSwitches ? `, ${run.clientSwitches.voluntary} wake-ups, ${run.clientSwitches.involuntary} preemptions` : ''}; ${run.delivered}/${run.expected}`);
      await sleep(2000);
    }
  }
  for (const keeper of keepers) await keeper.close();
  for (const server of Object.values(servers)) await stopProcess(server);
  if (profiles) {
    const windows = Object.fromEntries(names.map((name) => [name, runs[name].map((r) => [r.window.monoStartMicros, r.window.monoEndMicros])]));
    fs.writeFileSync(path.join(profiles, 'windows.json'), JSON.stringify(windows));
  }
  const described = (name) => [option(name, ''), option(`${name}-entry`, '')].filter(Boolean).join(' ') || '(defaults)';
  console.log(`${writers} writers, ${rounds} rounds${pinServers ? `; servers on CPU ${pinServers}, clients on CPU ${pinClients}` : ''}; ${variants.map((name) => `${name}: ${described(name)}`).join('; ')}`);
  for (const name of names) {
    const p99 = runs[name].map((r) => r.latencyMs.p99);
    const p50 = runs[name].map((r) => r.latencyMs.p50);
    const editP99 = runs[name].map((r) => r.editLatencyMs.p99);
    const cpu = runs[name].map((r) => r.serverCpuSeconds);
    const database = runs[name].map((r) => r.databaseCpuSeconds).filter((v) => v != null);
    const ownP50 = runs[name].map((r) => r.forward?.p50Us).filter((v) => v != null);
    const ownP99 = runs[name].map((r) => r.forward?.p99Us).filter((v) => v != null);
    if (ownP50.length) console.log(`${name.padEnd(9)} own path, arrival to last write: p50 median ${fmt(median(ownP50), 0)} us, p99 median ${fmt(median(ownP99), 0)} us (runs: p99 ${ownP99.map((v) => fmt(v, 0)).join(' ')})`);
    // Pooled over the rounds: the share of all deliveries later than each delay (bench/lib/grid.mjs lateCounts).
    const delivered = runs[name].reduce((n, r) => n + r.delivered - r.unmatched, 0);
    const late = LATE_AFTER_MS.map((ms) => `${ms} ms ${fmt((100 * runs[name].reduce((n, r) => n + (r.lateCounts?.[ms] ?? 0), 0)) / Math.max(1, delivered), 2)}%`);
    console.log(`${name.padEnd(9)} later than ${late.join(', ')} (all rounds' ${delivered} deliveries); pooled p50 ${fmt(pooledLatencyMs(runs[name]).p50)} p99 ${fmt(pooledLatencyMs(runs[name]).p99)} ms`);
    console.log(`${name.padEnd(9)} p99 ${p99.map((v) => fmt(v)).join(' ')} (median ${fmt(median(p99))}); from before the edit ${editP99.map((v) => fmt(v)).join(' ')} (median ${fmt(median(editP99))}); p50 median ${fmt(median(p50))}; CPU median ${fmt(median(cpu))} s${database.length ? ` + PostgreSQL ${fmt(median(database))} s` : ''}`);
  }
  const ref = median(runs.reference.map((r) => r.latencyMs.p99));
  const refEdit = median(runs.reference.map((r) => r.editLatencyMs.p99));
  for (const name of names.filter((name) => name !== 'reference')) {
    console.log(
      `${name}/reference p99 (medians): ${fmt(median(runs[name].map((r) => r.latencyMs.p99)) / ref)}x; from before the edit ${fmt(median(runs[name].map((r) => r.editLatencyMs.p99)) / refEdit)}x`,
    );
  }
  const refPooled = pooledLatencyMs(runs.reference).p99;
  for (const name of names.filter((name) => name !== 'reference')) {
    console.log(`${name}/reference p99 (all rounds' deliveries pooled): ${fmt(pooledLatencyMs(runs[name]).p99 / refPooled)}x`);
  }
  for (const floor of ['floorWork', 'floorWorkDb'].filter((name) => names.includes(name))) {
    console.log(`a/${floor} p99 (pooled): ${fmt(pooledLatencyMs(runs.a).p99 / pooledLatencyMs(runs[floor]).p99)}x`);
    console.log(`a/${floor} p99 (medians): ${fmt(median(runs.a.map((r) => r.latencyMs.p99)) / median(runs[floor].map((r) => r.latencyMs.p99)))}x`);
  }
});

/** Sets the floor server's CPU per update, and its database stand-in's (bench/send-floor-server.mjs). */
async function setFloorWork(floor, { us, db }) {
  const res = await fetch(`${floor.url}/work?us=${us}&db=${db}`, { method: 'POST' });
  if (!res.ok || Number(await res.text()) !== us) throw new Error(`the floor server did not take its work (${res.status})`);
}
