#!/usr/bin/env node
// A/B of the grid propagation run (bench/lib/grid.mjs): two Plansync servers that differ only in their
// environment, side by side with the reference y-websocket@1.5.4 server, in rounds whose order rotates, so that a
// change to the hot path can be judged against the spread of the same code from run to run before a full
// `npm run bench`. Not part of the suite; prints each run and then each server's p50/p99 per run and their medians.
//
//   node bench/grid-ab.mjs --b=NAME=VALUE[,NAME=VALUE] [--a=...] [--writers=50] [--rounds=5] [--workers=4] [--cpu-prof=DIR]
//
// --cpu-prof=DIR: every server runs under `node --cpu-prof` into DIR/<server>/, and DIR/windows.json holds each
// server's measurement windows (CLOCK_MONOTONIC microseconds, as the profiles' timestamps): for
// `node bench/profile-inclusive.mjs`.
//
// A server reads its own settings from the environment (server/src/config.ts), so a diagnosis switch can be tried
// without two builds: both run server/dist (npm run build -w server first).
import fs from 'node:fs';
import path from 'node:path';
import { fmt, log, median, runMain, sleep, startPlansync, startReference, stopProcess } from './lib/common.mjs';
import { gridTarget, openKeeper, runGridScenario } from './lib/grid.mjs';

const option = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
// NAME=VALUE pairs; a value may hold '=' itself (NODE_OPTIONS=--flag=1).
const envOf = (spec) => Object.fromEntries(spec.split(',').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));

await runMain(async () => {
  const writers = Number(option('writers', '50'));
  const rounds = Number(option('rounds', '5'));
  const grid = { workers: Number(option('workers', '4')), warmupMs: 3000, measureMs: 10_000, drainQuietMs: 1000, clients: 'light' };
  const profiles = option('cpu-prof', null);
  const profileDir = (name) => (profiles ? path.resolve(profiles, name) : null);
  const servers = {
    a: await startPlansync({ env: { GRID_IDLE_UNLOAD_MS: '1000', ...envOf(option('a', '')) }, name: 'plansync-a', profileDir: profileDir('a') }),
    b: await startPlansync({ env: { GRID_IDLE_UNLOAD_MS: '1000', ...envOf(option('b', '')) }, name: 'plansync-b', profileDir: profileDir('b') }),
    reference: await startReference({ profileDir: profileDir('reference') }),
  };
  const target = await gridTarget(servers.a.url);
  const targetB = await gridTarget(servers.b.url);
  const targets = { a: target, b: targetB, reference: target };
  const keepers = await Promise.all(Object.entries(servers).map(([name, server]) => openKeeper(server, targets[name])));
  const runs = { a: [], b: [], reference: [] };
  const names = Object.keys(servers);
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const run = await runGridScenario(servers[name], targets[name], writers, grid);
      runs[name].push(run);
      log(`round ${round + 1} ${name}: p50 ${fmt(run.latencyMs.p50)} p99 ${fmt(run.latencyMs.p99)} max ${fmt(run.latencyMs.max)} ms; CPU ${fmt(run.serverCpuSeconds)} s${run.databaseCpuSeconds != null ? ` (+${fmt(run.databaseCpuSeconds)} s PostgreSQL)` : ''}; ${run.delivered}/${run.expected}`);
      await sleep(2000);
    }
  }
  for (const keeper of keepers) await keeper.close();
  for (const server of Object.values(servers)) await stopProcess(server);
  if (profiles) {
    const windows = Object.fromEntries(names.map((name) => [name, runs[name].map((r) => [r.window.monoStartMicros, r.window.monoEndMicros])]));
    fs.writeFileSync(path.join(profiles, 'windows.json'), JSON.stringify(windows));
  }
  console.log(`${writers} writers, ${rounds} rounds; a: ${option('a', '(defaults)')}; b: ${option('b', '')}`);
  for (const name of names) {
    const p99 = runs[name].map((r) => r.latencyMs.p99);
    const p50 = runs[name].map((r) => r.latencyMs.p50);
    const cpu = runs[name].map((r) => r.serverCpuSeconds);
    const database = runs[name].map((r) => r.databaseCpuSeconds).filter((v) => v != null);
    console.log(`${name.padEnd(9)} p99 ${p99.map((v) => fmt(v)).join(' ')} (median ${fmt(median(p99))}); p50 median ${fmt(median(p50))}; CPU median ${fmt(median(cpu))} s${database.length ? ` + PostgreSQL ${fmt(median(database))} s` : ''}`);
  }
  const ref = median(runs.reference.map((r) => r.latencyMs.p99));
  for (const name of ['a', 'b']) console.log(`${name}/reference p99 (medians): ${fmt(median(runs[name].map((r) => r.latencyMs.p99)) / ref)}x`);
});
