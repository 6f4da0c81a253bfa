#!/usr/bin/env node
// The benchmark suite (`npm run bench`): Plansync next to a reference for each scenario, in one run, on this
// machine. A benchmark, not a test: it asserts nothing, it measures and writes bench/results.md and
// bench/results.json.
//
//   node bench/run.mjs [--quick] [--only=grid,fanout,cost,durability,subscriptions,reads,coldstart,scaleout]
//                      [--workers=4] [--grid-clients=light|stock] [--no-wait] [--cpu-prof [--keep-notes]] [--render] [--redis=redis://host:port]
//
// It starts its own servers on free ports of 127.0.0.1 (Plansync with a fresh embedded PostgreSQL under a
// temporary DATA_DIR, the reference y-websocket@1.5.4 server, and the two references written for this suite:
// bench/reference-graphql-ws.mjs and bench/reference-graphql-http.mjs), drives them from forked load
// processes, and stops every server, load process and PostgreSQL and removes every temporary folder at the
// end, on errors and on Ctrl-C too.
//
// Scenarios (each with its reference in the same run):
//  grid           grid propagation: 1, 50 and 200 concurrent writers on one document (bench/lib/grid.mjs, as
//                 bench/grid-propagation.mjs); reference y-websocket@1.5.4 bin/server.js. Light y-websocket
//                 clients (bench/grid-light-worker.mjs): the stock protocol traffic (sync handshake, awareness,
//                 each writer a real Y.Doc sending the update of its own Y.Map.set), but no client applies the
//                 others' updates (it reads writer and value from each update): with stock providers, ~40,000
//                 Yjs applies a second at 200 writers saturated the load processes and the p99 measured their
//                 queueing. --grid-clients=stock runs stock WebsocketProviders instead, to compare.
//  fanout         one writer (10 updates/s), 1,000 observers (light y-protocols clients, bench/grid-observer-worker.mjs:
//                 why not stock providers is said there); p50/p99 and server CPU per update per observer.
//  cost           server memory after a forced GC (servers run with --expose-gc and bench/lib/memory-probe.mjs):
//                 per idle grid connection (500 of them) and per open document of 120 and of 10,000 filled lines
//                 (the 10,000 lines are inserted into PostgreSQL as a unit of their own); the reference holds the
//                 same document content (Plansync's state, sent to it by a client).
//  durability     the grid writers again on Plansync while PostgreSQL is polled every 20 ms: delay from the
//                 edit's send time to its value in budget_line (and to the row's updatedAt); Plansync's CPU
//                 beyond the reference's (which stores nothing) from the grid runs.
//  subscriptions  workflowEvents fan-out to 1,000 then 5,000 subscribers (one per socket), events from new_partner
//                 executions driven through all their steps; delivery time - event.at; memory per idle
//                 subscription. Reference: a bare graphql-ws server with an in-memory pub/sub replaying the
//                 same events at the same times.
//  reads          budgetLines(planId, businessUnitCode) for one unit at 16 concurrent keep-alive clients:
//                 requests/s and p99. Reference: graphql-js alone on node:http, resolvers on the same database.
//  coldstart      fresh DATA_DIR to the first 200 from /healthz (node server/dist/.../main.js, the build present),
//                 median of 3; reference: y-websocket's bin/server.js to its first HTTP answer.
//  scaleout       the grid run (1 and 50 writers; --quick: 50) with the clients, writers included, split across
//                 two Plansync instances (one embedded PostgreSQL, one Redis); reference: the same load on ONE
//                 instance, in the same run (bench/lib/scaleout.mjs, also `npm run bench:two-instances`). Redis:
//                 --redis, else 127.0.0.1:6379 if it answers, else a redis-server of its own; else skipped, said so.
//
// Before each scenario the suite waits (up to 3 minutes; not with --quick or --no-wait) until the 1-minute load
// average is below 1.5, or the machine has been under 15% busy for 10 s, and records what it saw. --quick
// shortens every window (under two minutes on 2 CPUs). --cpu-prof runs Plansync under `node --cpu-prof` and
// writes bench/results/suite-profile.{json,md} (self time per measurement window) instead of bench/results.*;
// the profile summary is then shown in results.md where a target is missed (with the `notes` of
// suite-profile.json, written by hand after reading the profile; --keep-notes carries them to a new profile).
// --render writes results.md again from results.json and the latest profile, without running anything.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import {
  benchDir,
  busyShare,
  commandLine,
  concatFloat64,
  cpuSample,
  distribution,
  ensureBuilt,
  epoch,
  fmt,
  fmtRatio,
  graphql,
  incidents,
  installCleanup,
  log,
  login,
  machineCpu,
  machineInfo,
  median,
  monoMicros,
  now,
  plansyncDatabase,
  printUsageAndExit,
  ratio,
  resultsDir,
  root,
  runMain,
  serverMemory,
  sleep,
  started,
  startPlansync,
  startReference,
  startScript,
  stopProcess,
  summarizeProfile,
  waitForQuiet,
} from './lib/common.mjs';
import { gridTarget, openKeeper, runGridScenario } from './lib/grid.mjs';
import { runScaleout, scaleoutDefaults, scaleoutMarkdown, scaleoutSummary } from './lib/scaleout.mjs';
import { split, startWorker, stopWorkers } from './lib/workers.mjs';

// ---------------------------------------------------------------------------------------------- options
const { flag, option } = commandLine();
if (flag('help') || flag('h')) {
  printUsageAndExit(import.meta.url);
}
const ALL = ['grid', 'fanout', 'cost', 'durability', 'subscriptions', 'reads', 'coldstart', 'scaleout'];
const quick = flag('quick');
const options = {
  quick,
  only: option('only', ALL.join(',')).split(','),
  workers: Number(option('workers', '4')),
  cpuProf: flag('cpu-prof'),
  wait: !quick && !flag('no-wait'),
  /** Memory probes per measurement (median); each forces full GCs. */
  memorySamples: quick ? 1 : 3,
  quiet: { threshold: 1.5, maxWaitMs: 180_000, idleSeconds: 10 },
  grid: { writers: [1, 50, 200], clients: option('grid-clients', 'light'), warmupMs: quick ? 500 : 3000, measureMs: quick ? 1500 : 10_000, drainQuietMs: quick ? 250 : 1000 },
  fanout: { observers: 1000, periodMs: 100, warmupMs: quick ? 500 : 2000, measureMs: quick ? 1500 : 10_000 },
  cost: { idleConnections: 500, bigLines: 10_000 },
  durability: { writers: quick ? [50] : [1, 50, 200], pollMs: 20 },
  // One startWorkflow (one transaction: three events) every periodMs[subscribers] ms: 3,000 and 5,000 deliveries a second.
  subscriptions: { counts: [1000, 5000], perSocket: quick ? 50 : 1, periodMs: { 1000: 1000, 5000: quick ? 2000 : 3000 }, warmupMs: quick ? 500 : 3000, measureMs: quick ? 2000 : 15_000, quietMs: quick ? 400 : 1000 },
  reads: { concurrency: 16, warmupMs: quick ? 500 : 2000, durationMs: quick ? 2000 : 10_000 },
  coldStart: { runs: quick ? 1 : 3 },
  scaleout: { ...scaleoutDefaults(quick), redis: option('redis', null) },
};
if (!['light', 'stock'].includes(options.grid.clients)) throw new Error(`--grid-clients: light or stock, got ${options.grid.clients}`);
for (const s of options.only) if (!ALL.includes(s)) throw new Error(`--only: unknown scenario ${s} (${ALL.join(', ')})`);

const TARGETS = {
  gridP99: 'grid p99 with 200 writers no worse than the reference',
  fanoutCpu: 'CPU per update per observer < 10 us',
  idleConnection: 'memory per idle grid connection < 10 KB',
  subscriptionP99: 'subscription fan-out p99 < 100 ms at 5,000 subscribers',
  idleSubscription: 'memory per idle subscription < 20 KB',
};

installCleanup();
const KB = 1024;
/** Between runs: lets the last run's sockets close and the server settle. */
const pause = quick ? 200 : 500;
const servers = {};
/** Plansync measurement windows (CLOCK_MONOTONIC us), for the CPU profile. */
const profileWindows = [];
/** A measurement window of `server` (a key of `servers`), for the CPU profiles (--cpu-prof). */
const markWindow = (label, server, startMicros, endMicros) => profileWindows.push({ label, server, window: [startMicros, endMicros] });

// ---------------------------------------------------------------------------------------------- warm-up
/**
 * Before the grid scenarios: a short grid session on another document (FINANCE) against both grid servers at
 * once, so that neither is measured while its code is still being compiled; then each server's CPU use with no
 * client at all (Plansync runs timers and job polling; its PostgreSQL counted apart).
 */
async function warmUp() {
  const target = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'FINANCE' });
  log(`warm-up: 20 writers on ${target.unitCode} against both grid servers...`);
  await Promise.all(
    ['plansync', 'reference'].map((name) => runGridScenario(servers[name], target, 20, { workers: 2, warmupMs: 500, measureMs: quick ? 500 : 2000, drainQuietMs: 250 })),
  );
  await sleep(1500); // Plansync unloads the document 1 s after its last connection left
  await settle(servers.plansync);
  const seconds = quick ? 2 : 5;
  const before = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, cpuSample(s.pid)]));
  await sleep(seconds * 1000);
  const idle = {};
  for (const [k, s] of Object.entries(servers)) {
    const after = cpuSample(s.pid);
    idle[k] = { seconds, cpuSeconds: after.ownSeconds - before[k].ownSeconds, databaseCpuSeconds: k === 'plansync' ? after.childSeconds - before[k].childSeconds : null, rssMb: after.rssMb };
  }
  log(`idle: Plansync ${fmt(idle.plansync.cpuSeconds)} s (+${fmt(idle.plansync.databaseCpuSeconds)} s PostgreSQL), reference ${fmt(idle.reference.cpuSeconds)} s CPU in ${seconds} s`);
  return { document: target.unitCode, writers: 20, idle };
}

// ---------------------------------------------------------------------------------------------- scenario 1
async function gridScenario(ctx) {
  const target = await gridTarget(servers.plansync.url);
  ctx.gridTarget = target;
  // Keepers: one idle stock client per server for the grid and durability runs (see bench/lib/grid.mjs).
  ctx.keepers = { plansync: await openKeeper(servers.plansync, target), reference: await openKeeper(servers.reference, target) };
  const scenarios = [];
  for (const [i, writers] of options.grid.writers.entries()) {
    const order = i % 2 === 0 ? ['plansync', 'reference'] : ['reference', 'plansync'];
    const scenario = { writers, clients: Math.max(writers, 2) };
    for (const name of order) {
      log(`grid: ${writers} writer(s) -> ${name}...`);
      const run = await runGridScenario(servers[name], target, writers, { ...options.grid, workers: options.workers });
      markWindow(`grid ${writers} writers`, name, run.window.monoStartMicros, run.window.monoEndMicros);
      delete run.window;
      scenario[name] = run;
      log(`  p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; server CPU ${fmt(run.serverCpuSeconds)} s${run.databaseCpuSeconds != null ? ` (+${fmt(run.databaseCpuSeconds)} s PostgreSQL)` : ''}`);
      await sleep(pause);
    }
    scenario.ratio = {
      p50: ratio(scenario.plansync.latencyMs.p50, scenario.reference.latencyMs.p50),
      p99: ratio(scenario.plansync.latencyMs.p99, scenario.reference.latencyMs.p99),
      cpu: ratio(scenario.plansync.serverCpuSeconds, scenario.reference.serverCpuSeconds),
    };
    scenarios.push(scenario);
  }
  return { document: target.docName, clients: options.grid.clients, warmupMs: options.grid.warmupMs, measureMs: options.grid.measureMs, scenarios };
}

// ---------------------------------------------------------------------------------------------- scenario 2
/** Connects `count` light grid clients spread over `workers` new observer processes. */
async function connectObservers(server, target, count, workerCount = options.workers, { keepState = false } = {}) {
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

async function fanoutScenario() {
  const target = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'SALES_SOUTH' });
  const { observers, periodMs, warmupMs, measureMs } = options.fanout;
  const runs = {};
  for (const name of ['plansync', 'reference']) {
    const server = servers[name];
    log(`fanout: 1 writer, ${observers} observers -> ${name}...`);
    const obs = await connectObservers(server, target, observers);
    const writer = startWorker('grid-worker.mjs');
    const all = [...obs.workers, writer];
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
      runs[name] = {
        observers: obs.connected,
        connectMs: Math.round(obs.connectMs),
        updatesPerSecond: 1000 / periodMs,
        sent,
        expected: sent * obs.connected,
        delivered: latencies.length,
        latencyMs: distribution(latencies),
        serverCpuSeconds: serverCpu,
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
        `  p50 ${fmt(runs[name].latencyMs.p50)} ms, p99 ${fmt(runs[name].latencyMs.p99)} ms; ${runs[name].delivered}/${runs[name].expected} delivered; ${fmt(runs[name].cpuMicrosPerUpdatePerObserver)} us CPU per update per observer`,
      );
    } finally {
      await stopWorkers(all);
    }
    await sleep(pause);
  }
  return {
    document: target.docName,
    clients: 'light y-protocols clients (bench/grid-observer-worker.mjs); the writer is a stock WebsocketProvider',
    warmupMs,
    measureMs,
    ...runs,
    ratio: {
      p50: ratio(runs.plansync.latencyMs.p50, runs.reference.latencyMs.p50),
      p99: ratio(runs.plansync.latencyMs.p99, runs.reference.latencyMs.p99),
      cpu: ratio(runs.plansync.cpuMicrosPerUpdatePerObserver, runs.reference.cpuMicrosPerUpdatePerObserver),
    },
  };
}

/** Waits until the workers' counts stop moving (quietMs without change), at most 30 s. */
async function drain(workers, requestType, replyType, quietMs) {
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

// ---------------------------------------------------------------------------------------------- scenario 3
async function withDatabase(fn) {
  const client = new pg.Client(plansyncDatabase(servers.plansync.dataDir));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** MARKETING's and OPERATIONS's 120 lines get both amounts; a new unit BENCH_10K gets 10,000 lines with both amounts. */
async function prepareCostDocuments(planId) {
  return withDatabase(async (db) => {
    await db.query(
      `UPDATE budget_line SET budget_amount = 1000 + position, forecast_sales = 2000 + position
        WHERE plan_id = $1 AND business_unit_id IN (SELECT id FROM business_unit WHERE code IN ('MARKETING', 'OPERATIONS'))`,
      [planId],
    );
    await db.query('BEGIN');
    const {
      rows: [unit],
    } = await db.query(`INSERT INTO business_unit (id, code, name) VALUES (gen_random_uuid(), 'BENCH_10K', 'Bench: 10,000 lines') RETURNING id`);
    await db.query(`INSERT INTO budget_submission (id, plan_id, business_unit_id) VALUES (gen_random_uuid(), $1, $2)`, [planId, unit.id]);
    await db.query(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, prior_year_actual, budget_amount, forecast_sales)
       SELECT gen_random_uuid(), $1, $2, 'Category ' || (i / 20), 'Region ' || (i % 5), 'Q' || (1 + i % 4), i, 500 + i, 1000 + i, 2000 + i
         FROM generate_series(0, $3 - 1) AS i`,
      [planId, unit.id, options.cost.bigLines],
    );
    await db.query('COMMIT');
  });
}

const memoryDelta = (after, before, per = 1) => ({
  heapKb: (after.heapUsed - before.heapUsed) / per / KB,
  externalKb: (after.external - before.external) / per / KB,
  retainedKb: (after.heapUsed + after.external - before.heapUsed - before.external) / per / KB,
  rssKb: (after.rss - before.rss) / per / KB,
});

/** Waits until the server's CPU use has calmed down (under 5% of a CPU over 300 ms, 200 ms with --quick), at most maxMs. */
async function settle(server, maxMs = 10_000) {
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

/**
 * Memory of one open document with one connection (delta from before it was opened, after forced GCs). For the
 * reference, the client sends it Plansync's state of the same document. Returns the figures and the connection
 * (its load process), which the caller closes.
 */
async function measureDocument(server, name, target, states, key) {
  await settle(server);
  const before = await serverMemory(server, options.memorySamples);
  const one = await connectObservers(server, target, 1, 1, { keepState: name === 'plansync' });
  if (name === 'plansync') states[key] = one.state;
  else await one.workers[0].request({ type: 'push', update: states[key] }, 'pushed');
  await settle(server);
  const after = await serverMemory(server, options.memorySamples);
  return { ...memoryDelta(after, before), openMs: Math.round(one.connectMs), stateBytes: states[key]?.length ?? null, open: one };
}

async function costScenario() {
  const small = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'MARKETING' });
  await prepareCostDocuments(small.planId);
  const warmup = { ...small, unitCode: 'OPERATIONS', docName: `budget:${small.planId}:OPERATIONS` };
  const big = { ...small, unitCode: 'BENCH_10K', docName: `budget:${small.planId}:BENCH_10K` };
  const n = options.cost.idleConnections;
  const out = {};
  const states = {};
  for (const name of ['plansync', 'reference']) {
    const server = servers[name];
    const r = {};
    log(`cost: ${name}: open document of 120 lines, ${n} idle connections, document of ${options.cost.bigLines} lines...`);
    const held = [];
    try {
      // Warm-up: another document of 120 filled lines, opened first and held to the end (so that code compiled
      // on first use, and one-time caches, are not counted in what follows).
      const first = await measureDocument(server, name, warmup, states, 'warmup');
      held.push(first.open);
      // A document of 120 filled lines, with one connection; then idle connections to it.
      const doc = await measureDocument(server, name, small, states, 'small');
      held.push(doc.open);
      delete doc.open;
      r.document120 = doc;
      await sleep(300);
      const withDoc = await serverMemory(server, options.memorySamples);
      const idle = await connectObservers(server, small, n);
      try {
        await settle(server);
        await sleep(500);
        const withIdle = await serverMemory(server, options.memorySamples);
        r.idleConnection = { connections: idle.connected, connectMs: Math.round(idle.connectMs), connectMsPerConnection: idle.connectMs / n, ...memoryDelta(withIdle, withDoc, idle.connected) };
      } finally {
        await stopWorkers(idle.workers);
      }
      // A document of 10,000 filled lines, with one connection.
      await sleep(500);
      const large = await measureDocument(server, name, big, states, 'big');
      held.push(large.open);
      delete large.open;
      r.document10k = large;
    } finally {
      await stopWorkers(held.flatMap((h) => h.workers));
    }
    out[name] = r;
    log(
      `  ${name}: per idle connection ${fmt(r.idleConnection.retainedKb)} KB retained (${fmt(r.idleConnection.rssKb)} KB RSS); document 120 lines ${fmt(r.document120.retainedKb, 0)} KB; 10,000 lines ${fmt(
        r.document10k.retainedKb,
        0,
      )} KB`,
    );
  }
  return {
    idleConnections: n,
    clients: 'light y-protocols clients (no awareness, no Y.Doc), bench/grid-observer-worker.mjs',
    ...out,
    ratio: {
      idleConnection: ratio(out.plansync.idleConnection.retainedKb, out.reference.idleConnection.retainedKb),
      idleConnectionRss: ratio(out.plansync.idleConnection.rssKb, out.reference.idleConnection.rssKb),
      document120: ratio(out.plansync.document120.retainedKb, out.reference.document120.retainedKb),
      document10k: ratio(out.plansync.document10k.retainedKb, out.reference.document10k.retainedKb),
    },
  };
}

// ---------------------------------------------------------------------------------------------- scenario 4
/** Polls the unit's budget_line rows; for each value sent inside the window, when it became visible. */
function rowPoller(planId, unitCode, pollMs) {
  let client;
  let stopped = false;
  let window = null;
  let loop;
  const last = new Map();
  const visible = [];
  const updatedAt = [];
  let polls = 0;
  const poll = async () => {
    const issued = now();
    const offset = Date.now() - (performance.timeOrigin + performance.now());
    const { rows } = await client.query(
      `SELECT l.id, l.budget_amount, l.forecast_sales, extract(epoch from l.updated_at) * 1000 AS updated_ms
         FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE l.plan_id = $1 AND u.code = $2`,
      [planId, unitCode],
    );
    polls += 1;
    for (const row of rows) {
      for (const column of ['budget_amount', 'forecast_sales']) {
        const key = `${row.id}/${column}`;
        const value = row[column];
        if (last.get(key) === value) continue;
        last.set(key, value);
        if (!window || value === null || value < window.measureStart || value >= window.measureEnd) continue;
        visible.push(issued - value);
        updatedAt.push(Number(row.updated_ms) - offset - epoch - value);
      }
    }
  };
  return {
    async open() {
      client = new pg.Client(plansyncDatabase(servers.plansync.dataDir));
      await client.connect();
      await poll(); // the values before the run
    },
    start(w) {
      window = w;
      loop = (async () => {
        while (!stopped) {
          const t = now();
          await poll();
          await sleep(pollMs - (now() - t));
        }
      })();
    },
    async stop() {
      stopped = true;
      await loop;
      await poll();
      await client.end();
      return { polls, rowsSeen: visible.length, visibleMs: distribution(visible), updatedAtMs: distribution(updatedAt) };
    },
  };
}

async function durabilityScenario(ctx) {
  if (!ctx.gridTarget) {
    ctx.gridTarget = await gridTarget(servers.plansync.url);
    ctx.keepers = { plansync: await openKeeper(servers.plansync, ctx.gridTarget) };
  }
  const target = ctx.gridTarget;
  const runs = [];
  for (const writers of options.durability.writers) {
    log(`durability: ${writers} writer(s) -> plansync, polling budget_line every ${options.durability.pollMs} ms...`);
    const poller = rowPoller(target.planId, target.unitCode, options.durability.pollMs);
    await poller.open();
    const run = await runGridScenario(servers.plansync, target, writers, {
      ...options.grid,
      workers: options.workers,
      hooks: { onStart: (w) => poller.start(w), onDone: () => poller.stop() },
    });
    delete run.window;
    const rows = run.extra;
    // Plansync's extra CPU: from the grid runs (no poller there), Plansync and its PostgreSQL minus the reference.
    const grid = ctx.results.grid?.scenarios.find((s) => s.writers === writers);
    // What each server burns with no client at all (timers, job polling), over a window of the same length.
    const idle = ctx.warmup?.idle;
    const windowSeconds = options.grid.measureMs / 1000;
    const idlePlansync = idle ? ((idle.plansync.cpuSeconds + idle.plansync.databaseCpuSeconds) / idle.plansync.seconds) * windowSeconds : 0;
    const idleReference = idle ? (idle.reference.cpuSeconds / idle.reference.seconds) * windowSeconds : 0;
    const extra = grid
      ? {
          idlePlansyncCpuSeconds: idle ? idlePlansync : null,
          idleReferenceCpuSeconds: idle ? idleReference : null,
          extraCpuMsPerWriteBeyondIdle:
            idle && grid.plansync.sent > 0
              ? (1000 * (grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - idlePlansync - (grid.reference.serverCpuSeconds - idleReference))) / grid.plansync.sent
              : null,
          plansyncCpuSeconds: grid.plansync.serverCpuSeconds,
          databaseCpuSeconds: grid.plansync.databaseCpuSeconds,
          referenceCpuSeconds: grid.reference.serverCpuSeconds,
          extraCpuSeconds: grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - grid.reference.serverCpuSeconds,
          extraCpuMsPerWrite: grid.plansync.sent > 0 ? (1000 * (grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - grid.reference.serverCpuSeconds)) / grid.plansync.sent : null,
          ratio: ratio(grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds, grid.reference.serverCpuSeconds),
          referenceLatencyMs: grid.reference.latencyMs,
        }
      : null;
    runs.push({
      writers,
      sent: run.sent,
      rowsSeen: rows.rowsSeen,
      polls: rows.polls,
      editToRowMs: rows.visibleMs,
      editToUpdatedAtMs: rows.updatedAtMs,
      propagationMs: run.latencyMs,
      serverCpuSeconds: run.serverCpuSeconds,
      databaseCpuSeconds: run.databaseCpuSeconds,
      machineBusy: run.machineBusy,
      benchBusy: run.benchBusy,
      cpuVsReference: extra,
    });
    log(`  edit to row p50 ${fmt(rows.visibleMs.p50)} ms, p99 ${fmt(rows.visibleMs.p99)} ms (${rows.rowsSeen}/${run.sent} writes seen)`);
    await sleep(pause);
  }
  return { pollMs: options.durability.pollMs, runs };
}

// ---------------------------------------------------------------------------------------------- scenario 5
const SUBSCRIPTION = 'subscription { workflowEvents { cursor executionId stepKey status at execution { id status } } }';

/** One graphql-ws subscription held by this process: every event with its arrival time. */
async function openRecorder(server, token) {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  const events = [];
  const recorder = {
    events,
    close: async () => {
      started.closers.delete(recorder.close);
      ws.close(1000);
    },
  };
  started.closers.add(recorder.close);
  await new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const message = JSON.parse(data);
      if (message.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: 'recorder', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
        resolve();
      } else if (message.type === 'next') {
        const e = message.payload?.data?.workflowEvents;
        if (e) events.push({ arrived: Date.now(), at: Date.parse(e.at), executionId: e.executionId, stepKey: e.stepKey, status: e.status, executionStatus: e.execution.status });
      } else if (message.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    });
  });
  return recorder;
}

/**
 * Starts a new_partner execution every periodMs until `until` (wall clock): each start is one transaction with
 * three events (execution RUNNING, first step AWAITING_INPUT, execution AWAITING_INPUT). With `drive`, each
 * execution also gets its manual input, so its seven automatic steps run (about 17 more events, paced by
 * SIMULATED_STEP_MS).
 */
async function driveWorkflows(token, periodMs, until, tag, drive = false) {
  const url = servers.plansync.url;
  const errors = [];
  const runs = [];
  let n = 0;
  const t0 = Date.now();
  while (t0 + n * periodMs < until) {
    await sleep(t0 + n * periodMs - Date.now());
    n += 1;
    runs.push(
      (async () => {
        const { startWorkflow } = await graphql(
          url,
          'mutation($input: JSON) { startWorkflow(definitionKey: "new_partner", input: $input) { id } }',
          { input: { organizationName: `Bench partner ${tag} ${n}` } },
          token,
        );
        if (!drive) return;
        await graphql(
          url,
          'mutation($id: ID!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: $input) { id } }',
          { id: startWorkflow.id, input: { companies: [{ name: `Bench studio ${tag} ${n}`, environment: 'test' }] } },
          token,
        );
      })().catch((err) => errors.push(String(err.message ?? err).slice(0, 300))),
    );
  }
  await Promise.all(runs);
  return { executions: n, errors };
}

/** Waits until the recorder has heard nothing for quietMs (at most maxMs). */
async function recorderQuiet(recorder, quietMs = 1000, maxMs = 60_000) {
  const until = Date.now() + maxMs;
  let count = recorder.events.length;
  let since = Date.now();
  while (Date.now() < until) {
    await sleep(100);
    if (recorder.events.length !== count) {
      count = recorder.events.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** Groups of events published together (the events of one transaction reach the recorder in one burst). */
function scheduleOf(events, t0) {
  const groups = [];
  let previous = -Infinity;
  for (const e of events) {
    if (e.arrived - previous > 1 || !groups.length) groups.push({ offsetMs: e.at - t0, events: [] });
    groups[groups.length - 1].events.push({ executionId: e.executionId, stepKey: e.stepKey, status: e.status, executionStatus: e.executionStatus });
    previous = e.arrived;
  }
  return groups;
}

async function subscriptionsScenario(ctx) {
  const token = await login(servers.plansync.url, 'admin@example.com');
  const { counts, perSocket, warmupMs, measureMs } = options.subscriptions;
  const out = { plansync: { runs: [] }, reference: { runs: [] } };
  const schedules = {};
  for (const name of ['plansync', 'reference']) {
    const server = name === 'plansync' ? servers.plansync : servers.referenceWs;
    const wsUrl = server.url.replace(/^http/, 'ws') + '/graphql';
    const recorder = await openRecorder(server, token);
    const workers = Array.from({ length: options.workers }, () => startWorker('gql-subscriber-worker.mjs'));
    try {
      await settle(server);
      const base = await serverMemory(server, options.memorySamples);
      let connected = 0;
      for (const count of counts) {
        log(`subscriptions: ${count} subscribers -> ${name}...`);
        const sizes = split(count - connected, workers.length);
        const t0 = now();
        const replies = await Promise.all(workers.map((w, i) => (sizes[i] > 0 ? w.request({ type: 'connect', url: wsUrl, token, sockets: Math.ceil(sizes[i] / perSocket), perSocket, query: SUBSCRIPTION, concurrency: 20 }, 'ready', 300_000) : null)));
        const failed = replies.reduce((a, r) => a + (r?.failed ?? 0), 0);
        connected += replies.reduce((a, r) => a + (r?.subscriptions ?? 0), 0);
        const connectMs = now() - t0;
        if (failed) log(`  ${failed} sockets failed (close codes ${[...new Set(replies.flatMap((r) => r?.closeCodes ?? []))].join(', ')})`);
        await settle(server);
        await sleep(pause);
        const idle = await serverMemory(server, options.memorySamples);

        // Events: Plansync's from workflows driven now; the reference replays them, at the same offsets.
        const tStart = Date.now() + 300;
        const measureStart = tStart + warmupMs;
        const measureEnd = measureStart + measureMs;
        for (const w of workers) w.send({ type: 'start', measureStart, measureEnd });
        const firstEvent = recorder.events.length;
        let driven = null;
        if (name === 'plansync') {
          await sleep(tStart - Date.now());
          driven = driveWorkflows(token, options.subscriptions.periodMs[count] ?? 1000, measureEnd - 200, `${Date.now().toString(36)}-${count}`);
        } else {
          const res = await fetch(`${server.url}/publish`, { method: 'POST', body: JSON.stringify({ groups: schedules[count].map((g) => ({ ...g, offsetMs: g.offsetMs + (tStart - Date.now()) })) }) });
          if (!res.ok) throw new Error(`reference /publish: ${res.status}`);
        }
        await sleep(measureStart - Date.now());
        const cpu0 = cpuSample(server.pid);
        const m0 = machineCpu();
        const mono0 = monoMicros();
        await sleep(measureEnd - Date.now());
        const cpu1 = cpuSample(server.pid);
        const m1 = machineCpu();
        const mono1 = monoMicros();
        markWindow(`subscriptions ${count}`, name === 'plansync' ? 'plansync' : 'referenceWs', mono0, mono1);
        const drivenResult = driven ? await driven : null;
        await recorderQuiet(recorder, options.subscriptions.quietMs);
        await drain(workers, 'count', 'count', options.subscriptions.quietMs);
        const reports = await Promise.all(workers.map((w) => w.request({ type: 'report' }, 'report')));
        const heard = recorder.events.slice(firstEvent);
        if (name === 'plansync') schedules[count] = scheduleOf(heard, tStart);
        const inWindow = heard.filter((e) => e.at >= measureStart && e.at < measureEnd).length;
        const latencies = concatFloat64(reports.map((r) => r.latencies));
        const serverCpu = cpu1.ownSeconds - cpu0.ownSeconds;
        const dbCpu = name === 'plansync' ? cpu1.childSeconds - cpu0.childSeconds : null;
        const run = {
          subscribers: connected,
          connectMs: Math.round(connectMs),
          failedSockets: failed,
          events: inWindow,
          eventsPerSecond: inWindow / (measureMs / 1000),
          executions: drivenResult?.executions ?? null,
          driveErrors: drivenResult?.errors.slice(0, 3) ?? [],
          expected: inWindow * connected,
          delivered: latencies.length,
          latencyMs: distribution(latencies),
          serverCpuSeconds: serverCpu,
          databaseCpuSeconds: dbCpu,
          cpuMicrosPerDelivery: latencies.length ? (1e6 * serverCpu) / latencies.length : null,
          memoryPerIdleSubscription: memoryDelta(idle, base, connected),
          serverRssMb: cpu1.rssMb,
          clientCpuSeconds: reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0),
          machineBusy: busyShare(m0, m1),
          errors: reports.reduce((a, r) => a + r.errors, 0),
          errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 3),
          closes: reports.reduce((a, r) => a + r.closes, 0),
        };
        out[name].runs.push(run);
        log(
          `  ${run.events} events in the window (${fmt(run.eventsPerSecond, 1)}/s); p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; ${fmt(
            run.memoryPerIdleSubscription.retainedKb,
          )} KB per idle subscription`,
        );
        if (run.errors) log(`  ${run.errors} error messages, e.g. ${run.errorSamples[0]}`);
        if (run.driveErrors.length) log(`  driving workflows: ${run.driveErrors[0]}`);
      }
    } finally {
      await stopWorkers(workers);
      await recorder.close();
    }
    // Several subscriptions on one socket (up to the cap of 50): what a subscription costs without its socket.
    if (perSocket > 1) continue;
    await sleep(1000);
    await settle(server);
    const before = await serverMemory(server, options.memorySamples);
    const shared = startWorker('gql-subscriber-worker.mjs');
    try {
      const reply = await shared.request({ type: 'connect', url: wsUrl, token, sockets: 20, perSocket: 50, query: SUBSCRIPTION, concurrency: 20 }, 'ready');
      await settle(server);
      await sleep(500);
      const after = await serverMemory(server, options.memorySamples);
      out[name].sharedSocket = { sockets: reply.sockets, subscriptions: reply.subscriptions, memoryPerIdleSubscription: memoryDelta(after, before, reply.subscriptions) };
    } finally {
      await stopWorkers([shared]);
    }
    await sleep(pause);
  }
  const ratios = counts.map((count, i) => ({
    subscribers: count,
    p50: ratio(out.plansync.runs[i]?.latencyMs.p50, out.reference.runs[i]?.latencyMs.p50),
    p99: ratio(out.plansync.runs[i]?.latencyMs.p99, out.reference.runs[i]?.latencyMs.p99),
    memory: ratio(out.plansync.runs[i]?.memoryPerIdleSubscription.retainedKb, out.reference.runs[i]?.memoryPerIdleSubscription.retainedKb),
  }));
  return {
    query: SUBSCRIPTION,
    perSocket,
    periodMs: options.subscriptions.periodMs,
    warmupMs,
    measureMs,
    ...out,
    ratio: ratios,
  };
}

// ---------------------------------------------------------------------------------------------- scenario 6
const READ_QUERY = `query($planId: ID!, $unit: String) { budgetLines(planId: $planId, businessUnitCode: $unit) {
  id businessUnit { code } productCategory region quarter priorYearActual budgetAmount forecastSales comment version updatedAt updatedBy { email } } }`;

async function readsScenario() {
  const token = await login(servers.plansync.url, 'admin@example.com');
  const { budgetPlans } = await graphql(servers.plansync.url, '{ budgetPlans { id } }', {}, token);
  const body = JSON.stringify({ query: READ_QUERY, variables: { planId: budgetPlans[0].id, unit: 'SALES_NORTH' } });
  const { concurrency, warmupMs, durationMs } = options.reads;
  const runs = {};
  const answers = {};
  for (const name of ['plansync', 'reference']) {
    const server = name === 'plansync' ? servers.plansync : servers.referenceHttp;
    log(`reads: budgetLines, ${concurrency} concurrent clients -> ${name}...`);
    const worker = startWorker('http-load-worker.mjs');
    try {
      await worker.request({ type: 'hello' }, 'hello');
      const t0 = now();
      const done = worker.request(
        { type: 'run', url: `${server.url}/graphql`, body, headers: name === 'plansync' ? { authorization: `Bearer ${token}` } : {}, concurrency, warmupMs, durationMs },
        'done',
        durationMs + warmupMs + 60_000,
      );
      await sleep(t0 + warmupMs - now());
      const cpu0 = cpuSample(server.pid);
      const db0 = cpuSample(servers.plansync.pid);
      const m0 = machineCpu();
      const mono0 = monoMicros();
      await sleep(t0 + warmupMs + durationMs - now());
      const cpu1 = cpuSample(server.pid);
      const db1 = cpuSample(servers.plansync.pid);
      const m1 = machineCpu();
      const mono1 = monoMicros();
      markWindow('reads', name === 'plansync' ? 'plansync' : 'referenceHttp', mono0, mono1);
      const r = await done;
      const lines = JSON.parse(r.sample ?? '{}')?.data?.budgetLines ?? null;
      answers[name] = lines;
      runs[name] = {
        requests: r.requests,
        errors: r.errors,
        statuses: r.statuses,
        requestsPerSecond: r.requests / r.seconds,
        latencyMs: distribution(r.latencies),
        bytesPerResponse: r.requests ? r.bytes / r.requests : null,
        linesPerResponse: lines?.length ?? null,
        serverCpuSeconds: cpu1.ownSeconds - cpu0.ownSeconds,
        databaseCpuSeconds: db1.childSeconds - db0.childSeconds,
        serverCpuMsPerRequest: r.requests ? (1000 * (cpu1.ownSeconds - cpu0.ownSeconds)) / r.requests : null,
        clientCpuSeconds: r.cpuSeconds,
        machineBusy: busyShare(m0, m1),
      };
      log(`  ${fmt(runs[name].requestsPerSecond, 0)} requests/s, p50 ${fmt(runs[name].latencyMs.p50)} ms, p99 ${fmt(runs[name].latencyMs.p99)} ms, ${r.errors} errors`);
    } finally {
      await stopWorkers([worker]);
    }
    await sleep(pause);
  }
  const same =
    answers.plansync && answers.reference && answers.plansync.length === answers.reference.length
      ? answers.plansync.every((l, i) => JSON.stringify(l) === JSON.stringify(answers.reference[i]))
      : false;
  return {
    query: READ_QUERY.replace(/\s+/g, ' '),
    concurrency,
    warmupMs,
    durationMs,
    sameAnswer: same,
    ...runs,
    ratio: { throughput: ratio(runs.plansync.requestsPerSecond, runs.reference.requestsPerSecond), p99: ratio(runs.plansync.latencyMs.p99, runs.reference.latencyMs.p99) },
  };
}

// ---------------------------------------------------------------------------------------------- scenario 7
/** Phases of a Plansync start, from its log (pino JSON lines, LOG_LEVEL=info). */
function startupPhases(output, spawnWall) {
  const at = (pattern) => {
    for (const line of output.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line);
        if (pattern.test(entry.msg ?? '')) return Date.parse(entry.time) - spawnWall;
      } catch {}
    }
    return null;
  };
  return {
    initdbStartMs: at(/^initialising embedded PostgreSQL/),
    postgresListeningMs: at(/^embedded PostgreSQL listening/),
    seededMs: at(/^seeded the demo data/),
    listeningMs: at(/^Plansync is listening/),
  };
}

async function coldStartScenario() {
  const plansync = [];
  const reference = [];
  // --quick: the suite's own start of Plansync (fresh DATA_DIR too, /healthz polled every 20 ms) is the one run.
  if (options.quick) plansync.push({ readyMs: Math.round(servers.plansync.readyMs), note: "the suite's own Plansync start" });
  for (let i = 0; i < (options.quick ? 0 : options.coldStart.runs); i++) {
    log(`coldstart: Plansync run ${i + 1} (fresh DATA_DIR)...`);
    const spawnWall = Date.now();
    const s = await startPlansync({ name: 'plansync-coldstart', env: { LOG_LEVEL: 'info' }, pollMs: 10 });
    plansync.push({ readyMs: Math.round(s.readyMs), ...startupPhases(s.output(), spawnWall) });
    await stopProcess(s);
    await fsp.rm(s.dataDir, { recursive: true, force: true });
    started.dirs.delete(s.dataDir);
    log(`  ${Math.round(s.readyMs)} ms`);
  }
  for (let i = 0; i < options.coldStart.runs; i++) {
    const s = await startReference({ name: 'reference-coldstart', pollMs: 10 });
    reference.push({ readyMs: Math.round(s.readyMs) });
    await stopProcess(s);
  }
  const p = median(plansync.map((r) => r.readyMs));
  const r = median(reference.map((x) => x.readyMs));
  log(`  Plansync median ${p} ms, reference median ${r} ms`);
  return { runs: options.coldStart.runs, plansync: { medianMs: p, runs: plansync }, reference: { medianMs: r, runs: reference }, ratio: ratio(p, r) };
}

// ---------------------------------------------------------------------------------------------- scenario 8
/** Two Plansync instances of one deployment vs one instance, under the grid load (bench/lib/scaleout.mjs). */
async function scaleoutScenario() {
  return runScaleout({ ...options.scaleout, workers: options.workers, pauseMs: pause });
}

// ---------------------------------------------------------------------------------------------- summary
function summaryRows(s, options) {
  const rows = [];
  const add = (scenario, metric, p, r, unit, digits, target = null, met = null, ratioValue = ratio(p, r)) =>
    rows.push({ scenario, metric, plansync: p, reference: r, unit, digits, ratio: ratioValue, target, met });
  if (s.grid) {
    for (const g of s.grid.scenarios) {
      const targetHere = g.writers === 200 ? TARGETS.gridP99 : null;
      add('1 grid propagation', `${g.writers} writer(s): p50`, g.plansync.latencyMs.p50, g.reference.latencyMs.p50, 'ms', 2);
      add('1 grid propagation', `${g.writers} writer(s): p99`, g.plansync.latencyMs.p99, g.reference.latencyMs.p99, 'ms', 2, targetHere, targetHere ? g.plansync.latencyMs.p99 <= g.reference.latencyMs.p99 : null);
      if (targetHere && (s.grid.clients ?? 'stock') === 'stock' && (g.plansync.benchBusy > 0.6 || g.reference.benchBusy > 0.6))
        rows[rows.length - 1].note = 'load-generator bound: client-side queueing dominates, and runs of the same code differ by tens of percent';
      add('1 grid propagation', `${g.writers} writer(s): server CPU in the window`, g.plansync.serverCpuSeconds, g.reference.serverCpuSeconds, 's', 2);
    }
  }
  if (s.fanout) {
    add('2 grid fan-out', '1 writer, 1,000 observers: p50', s.fanout.plansync.latencyMs.p50, s.fanout.reference.latencyMs.p50, 'ms', 2);
    add('2 grid fan-out', '1 writer, 1,000 observers: p99', s.fanout.plansync.latencyMs.p99, s.fanout.reference.latencyMs.p99, 'ms', 2);
    const cpu = s.fanout.plansync.cpuMicrosPerUpdatePerObserver;
    add('2 grid fan-out', 'server CPU per update per observer', cpu, s.fanout.reference.cpuMicrosPerUpdatePerObserver, 'us', 2, TARGETS.fanoutCpu, cpu != null ? cpu < 10 : null);
  }
  if (s.cost) {
    const c = s.cost;
    add('3 grid cost', 'memory per idle connection (V8 heap + external, after GC)', c.plansync.idleConnection.retainedKb, c.reference.idleConnection.retainedKb, 'KB', 2, TARGETS.idleConnection, c.plansync.idleConnection.retainedKb < 10);
    add('3 grid cost', 'memory per idle connection (RSS)', c.plansync.idleConnection.rssKb, c.reference.idleConnection.rssKb, 'KB', 2);
    add('3 grid cost', 'open document, 120 filled lines (heap + external)', c.plansync.document120.retainedKb, c.reference.document120.retainedKb, 'KB', 0);
    add('3 grid cost', `open document, ${options.cost.bigLines.toLocaleString('en')} filled lines (heap + external)`, c.plansync.document10k.retainedKb, c.reference.document10k.retainedKb, 'KB', 0);
    add('3 grid cost', `open document, ${options.cost.bigLines.toLocaleString('en')} filled lines (RSS)`, c.plansync.document10k.rssKb, c.reference.document10k.rssKb, 'KB', 0);
  }
  if (s.durability) {
    for (const d of s.durability.runs) {
      add('4 grid durability', `${d.writers} writer(s): edit to row, p50`, d.editToRowMs.p50, null, 'ms', 1);
      add('4 grid durability', `${d.writers} writer(s): edit to row, p99`, d.editToRowMs.p99, null, 'ms', 1);
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
  scaleoutSummary(s.scaleout, add);
  const firstScaleout = rows.find((r) => r.scenario.startsWith('8 '));
  if (firstScaleout) firstScaleout.note = 'here "Plansync" is two instances with the writers split, "reference" one instance';
  return rows;
}

const status = (met) => (met === null ? '' : met ? 'met' : '**missed**');

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
  out.push('', `Targets: ${targets.filter((r) => r.met).length} of ${targets.length} met${targets.some((r) => !r.met) ? `; missed: ${targets.filter((r) => !r.met).map((r) => r.target).join('; ')}` : ''}.`);
  const scenarioHeader = (title, sc) => {
    out.push('', `## ${title}`, '');
    if (sc?.quiet) out.push(`Load average before: ${fmt(sc.quiet.load1m)}${sc.quiet.waitedMs > 1000 ? ` (waited ${fmt(sc.quiet.waitedMs / 1000, 0)} s from ${fmt(sc.quiet.loadAtStart)}: ${sc.quiet.reason})` : ''}; after: ${fmt(sc.loadAfter)}.`, '');
  };

  if (s.grid) {
    scenarioHeader('1. Grid propagation', s.grid);
    const stock = (s.grid.clients ?? 'stock') === 'stock';
    out.push(
      stock
        ? `W concurrent writers on one document (\`${s.grid.document.replace(/:[0-9a-f-]{36}:/, ':<plan>:')}\`), every client a stock y-websocket \`WebsocketProvider\` in ${options.workers} load processes; each writer sets its own cell about once a second to its send time, every other client records the delay. Warm-up ${s.grid.warmupMs / 1000} s, window ${s.grid.measureMs / 1000} s. Reference: y-websocket@1.5.4 \`bin/server.js\`. Same code as \`npm run bench:grid\` (bench/lib/grid.mjs).`
        : `W concurrent writers on one document (\`${s.grid.document.replace(/:[0-9a-f-]{36}:/, ':<plan>:')}\`), every writer also observing, with one extra observer when W = 1, in ${options.workers} load processes; each writer sets its own cell about once a second to its send time, every other client records the delay. The clients are light y-websocket clients (bench/grid-light-worker.mjs) rather than stock \`WebsocketProvider\`s: the same traffic to the server (sync step 1/2 handshake, awareness on connect and every 15 s, and each writer a real Y.Doc, loaded with the server's state, whose \`Y.Map.set\` on its own cell is sent as an update message, so the server validates, stores and broadcasts real Yjs updates), but no client applies the others' updates: it reads the writer's Yjs client id and the value from each update message, and counts deliveries per writer. With stock providers every client applies every other client's update to its own Y.Doc, about 40,000 Yjs applies a second at 200 writers, which saturated the load processes on the 2 CPUs they share with the server: the p99 (2 to 7 s on both servers, swinging from run to run) measured the load generator's queueing, not the server. Warm-up ${s.grid.warmupMs / 1000} s, window ${s.grid.measureMs / 1000} s. Reference: y-websocket@1.5.4 \`bin/server.js\`. Same code as \`npm run bench:grid\` (bench/lib/grid.mjs); \`--grid-clients=stock\` runs stock providers.`,
      '',
    );
    out.push('| writers | server | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s | PostgreSQL CPU s | RSS MB | load processes CPU s | machine busy (ours) |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const g of s.grid.scenarios)
      for (const r of [g.plansync, g.reference])
        out.push(`| ${r.writers} | ${r.server} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.databaseCpuSeconds)} | ${fmt(r.serverRssMb, 0)} | ${fmt(r.clientCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% (${Math.round(100 * r.benchBusy)}%) |`);
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
  if (s.fanout) {
    const f = s.fanout;
    scenarioHeader('2. Grid fan-out', f);
    out.push(`One writer (a stock \`WebsocketProvider\`) sets a cell ${f.plansync.updatesPerSecond} times a second; 1,000 observers in ${options.workers} load processes record the delay. The observers are light y-protocols clients (bench/grid-observer-worker.mjs: sync handshake, then each update's value read from the update) rather than stock providers: 1,000 stock providers would each apply every update to their own Y.Doc, and would each announce awareness on connect and every 15 s, which the server relays to all others (about 67,000 relayed messages a second at 1,000 clients), so on 2 CPUs the load processes, not the server, would be measured. Server CPU per update per observer = server CPU time in the window (/proc/<pid>/stat) / (updates sent in the window x observers). Warm-up ${f.warmupMs / 1000} s, window ${f.measureMs / 1000} s.`, '');
    out.push('| server | observers | updates | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s | us per update per observer | + PostgreSQL | client CPU s | machine busy |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const name of ['plansync', 'reference']) {
      const r = f[name];
      out.push(`| ${name} | ${r.observers} | ${r.sent} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.cpuMicrosPerUpdatePerObserver)} | ${r.cpuMicrosPerUpdatePerObserverWithDatabase != null ? fmt(r.cpuMicrosPerUpdatePerObserverWithDatabase) : '-'} | ${fmt(r.clientCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% |`);
    }
  }
  if (s.cost) {
    const c = s.cost;
    scenarioHeader('3. Grid cost', c);
    out.push(`Server memory after forced full GCs (three rounds; the median of ${options.memorySamples} probe${options.memorySamples > 1 ? 's' : ''}), as deltas: an open document with one connection (before: not loaded), then ${c.idleConnections} idle connections to it (light clients: no awareness, no Y.Doc), then a document of ${options.cost.bigLines.toLocaleString('en')} lines. Another document of 120 lines (OPERATIONS) is opened first and held throughout, so that code compiled on first use is not counted. Documents: MARKETING's 120 lines with both amounts filled (240 cells) and a unit of ${options.cost.bigLines.toLocaleString('en')} lines inserted into PostgreSQL with both amounts (${(2 * options.cost.bigLines).toLocaleString('en')} cells); Plansync seeds the document from the rows, and the reference receives the very state Plansync sent (one update from one client). "Retained" is V8 heap used + external memory; RSS deltas include allocator and heap-reservation growth and are noisier.`, '');
    out.push('| server | per idle connection: retained KB | RSS KB | 120-line document: retained KB | RSS KB | open ms | 10,000-line document: retained KB | RSS KB | open ms | state bytes (120 / 10,000) |');
    out.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const name of ['plansync', 'reference']) {
      const r = c[name];
      out.push(`| ${name} | ${fmt(r.idleConnection.retainedKb)} | ${fmt(r.idleConnection.rssKb)} | ${fmt(r.document120.retainedKb, 0)} | ${fmt(r.document120.rssKb, 0)} | ${r.document120.openMs} | ${fmt(r.document10k.retainedKb, 0)} | ${fmt(r.document10k.rssKb, 0)} | ${r.document10k.openMs} | ${c.plansync.document120.stateBytes} / ${c.plansync.document10k.stateBytes} |`);
    }
  }
  if (s.durability) {
    const d = s.durability;
    scenarioHeader('4. Grid durability cost', d);
    out.push(`The grid writers again, on Plansync (which stores every edit: update log, snapshots, projection into budget_line rows and the audit log), while this process polls the unit's budget_line rows every ${d.pollMs} ms. Edit to row: from the writer's send time (the value itself) to the first poll that saw the value (so up to ${d.pollMs} ms late); edit to updatedAt: to the row's updatedAt, which the server sets just before its transaction commits. The reference stores nothing: its CPU and latency are its grid propagation runs (scenario 1); the CPU comparison uses the grid runs (no poller there) of both, and \"beyond idle\" first takes from each server what it burns with no client over as long a window (measured after the warm-up).`, '');
    out.push('| writers | writes sent | seen in rows | edit to row p50 / p90 / p99 / max ms | edit to updatedAt p50 / p99 ms | propagation p99 ms (this run) | Plansync CPU s: server + PostgreSQL (grid run) | reference CPU s | extra CPU ms per write | same, beyond idle | CPU ratio |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of d.runs) {
      const x = r.cpuVsReference;
      out.push(`| ${r.writers} | ${r.sent} | ${r.rowsSeen} | ${fmt(r.editToRowMs.p50, 1)} / ${fmt(r.editToRowMs.p90, 1)} / ${fmt(r.editToRowMs.p99, 1)} / ${fmt(r.editToRowMs.max, 1)} | ${fmt(r.editToUpdatedAtMs.p50, 1)} / ${fmt(r.editToUpdatedAtMs.p99, 1)} | ${fmt(r.propagationMs.p99)} | ${x ? `${fmt(x.plansyncCpuSeconds)} + ${fmt(x.databaseCpuSeconds)}` : '-'} | ${x ? fmt(x.referenceCpuSeconds) : '-'} | ${x ? fmt(x.extraCpuMsPerWrite) : '-'} | ${x?.extraCpuMsPerWriteBeyondIdle != null ? fmt(x.extraCpuMsPerWriteBeyondIdle) : '-'} | ${x ? fmtRatio(x.ratio) : '-'} |`);
    }
  }
  if (s.subscriptions) {
    const sub = s.subscriptions;
    scenarioHeader('5. Subscriptions', sub);
    out.push(
      `\`${sub.query}\` as admin@example.com, ${sub.perSocket === 1 ? "one subscription per socket (each subscriber a browser tab with its own socket: the costlier case for the server, as every socket authenticates and holds its own state; the shared-socket rows show a subscription's cost without its socket, 50 per socket, the server's cap)" : `${sub.perSocket} subscriptions per socket (--quick: connecting thousands of sockets, each authenticated, would not fit in its time)`}, from ${options.workers} load processes speaking graphql-transport-ws on ws directly (bench/gql-subscriber-worker.mjs). Events: one \`startWorkflow(new_partner)\` every ${Object.entries(sub.periodMs).map(([n, ms]) => `${ms / 1000} s at ${Number(n).toLocaleString('en')}`).join(' and ')} subscribers; each start is one transaction with three events (execution RUNNING, first step AWAITING_INPUT, execution AWAITING_INPUT), published together, so the server fans out 3 x subscribers messages at once. Executions are not driven through their automatic steps: those come in bursts of about 17 events paced by the job queue, and at 5,000 subscribers on 2 CPUs such bursts keep the server saturated, so latency would measure queueing rather than fan-out. Latency: delivery time - the event's \`at\` (ms resolution; Plansync sets \`at\` inside the transaction, so its commit and the event sequencer count). The reference (bench/reference-graphql-ws.mjs: graphql-js schema of the same shape, graphql-ws \`useServer\` on ws, an in-memory pub/sub) publishes the events Plansync published, grouped as they were, at the same offsets. Warm-up ${sub.warmupMs / 1000} s, window ${sub.measureMs / 1000} s. Memory per idle subscription: delta after a forced GC from before the first subscriber, divided by the subscriptions.`,
      '',
    );
    out.push('| server | subscribers | events (per s) | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s | CPU us per delivery | PostgreSQL CPU s | idle KB per subscription: retained / RSS | connect s | machine busy |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const name of ['plansync', 'reference']) {
      for (const r of sub[name].runs) {
        out.push(`| ${name} | ${r.subscribers} | ${r.events} (${fmt(r.eventsPerSecond, 1)}) | ${fmt(r.latencyMs.p50, 1)} | ${fmt(r.latencyMs.p90, 1)} | ${fmt(r.latencyMs.p99, 1)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)} | ${fmt(r.cpuMicrosPerDelivery, 1)} | ${fmt(r.databaseCpuSeconds)} | ${fmt(r.memoryPerIdleSubscription.retainedKb)} / ${fmt(r.memoryPerIdleSubscription.rssKb)} | ${fmt(r.connectMs / 1000, 1)} | ${Math.round(100 * r.machineBusy)}% |`);
      }
      const shared = sub[name].sharedSocket;
      if (shared) out.push(`| ${name}, shared sockets | ${shared.subscriptions} on ${shared.sockets} sockets | | | | | | | | | | ${fmt(shared.memoryPerIdleSubscription.retainedKb)} / ${fmt(shared.memoryPerIdleSubscription.rssKb)} | | |`);
    }
  }
  if (s.reads) {
    const r = s.reads;
    scenarioHeader('6. GraphQL reads', r);
    out.push(`\`budgetLines(planId, businessUnitCode: "SALES_NORTH")\` with the contract's fields (120 lines), POSTed by ${r.concurrency} closed-loop clients on keep-alive connections from one load process (bench/http-load-worker.mjs); Plansync with admin@example.com's token. Reference (bench/reference-graphql-http.mjs): graphql-js \`execute\` on node:http, the resolver reading the same PostgreSQL with pg in one query (no authentication, no authorisation, no ORM). Both answers identical: ${r.sameAnswer ? 'yes' : 'no'}. Warm-up ${r.warmupMs / 1000} s, window ${r.durationMs / 1000} s.`, '');
    out.push('| server | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | bytes per answer | server CPU ms per request | PostgreSQL CPU s | client CPU s | machine busy |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const name of ['plansync', 'reference']) {
      const x = r[name];
      out.push(`| ${name} | ${fmt(x.requestsPerSecond, 0)} | ${fmt(x.latencyMs.p50)} | ${fmt(x.latencyMs.p90)} | ${fmt(x.latencyMs.p99)} | ${fmt(x.latencyMs.max, 1)} | ${x.errors} | ${fmt(x.bytesPerResponse, 0)} | ${fmt(x.serverCpuMsPerRequest, 3)} | ${fmt(x.databaseCpuSeconds)} | ${fmt(x.clientCpuSeconds)} | ${Math.round(100 * x.machineBusy)}% |`);
    }
  }
  if (s.coldstart) {
    const c = s.coldstart;
    scenarioHeader('7. Cold start', c);
    out.push(`From spawning \`node server/dist/server/src/main.js\` (what \`npm start\` runs once the build is present) on a fresh DATA_DIR to the first 200 from /healthz (polled every 10 ms): initialising the embedded PostgreSQL cluster, starting it, migrations, seeding the demo data (argon2 password hashes), the workflow engine. Phases from Plansync's own log, in ms from the spawn: until initdb starts, Node and Plansync's modules load. The reference, y-websocket's \`bin/server.js\` to its first HTTP answer, is the floor of any Node server (runtime and module loading): there is no reference that also brings up a database; the phases show where Plansync's time goes.`, '');
    out.push('| run | Plansync ready ms | from spawn: initdb starts ms | PostgreSQL listening ms | demo data seeded ms | Plansync listening ms | reference ready ms |');
    out.push('|---|---|---|---|---|---|---|');
    c.plansync.runs.forEach((p, i) =>
      out.push(`| ${i + 1} | ${p.readyMs} | ${p.initdbStartMs ?? '-'} | ${p.postgresListeningMs ?? '-'} | ${p.seededMs ?? '-'} | ${p.listeningMs ?? '-'} | ${c.reference.runs[i]?.readyMs ?? '-'} |`),
    );
  }
  if (s.scaleout) {
    scenarioHeader('8. Scale-out: two instances vs one', s.scaleout);
    out.push(...scaleoutMarkdown(s.scaleout));
  }
  // Profiles of the missed targets (and of the reads, the widest gap), from the latest `--cpu-prof` run.
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
        if (row.target === TARGETS.gridP99) wanted.add('grid 200 writers');
        if (row.target === TARGETS.fanoutCpu) wanted.add('fanout 1 writer x 1000 observers');
        if (row.target === TARGETS.subscriptionP99) wanted.add('subscriptions 5000');
      }
      wanted.add('reads');
      for (const label of wanted) out.push(...profileTables(profile, label, 12, 8));
      if (missed.some((r) => r.target === TARGETS.idleConnection || r.target === TARGETS.idleSubscription))
        out.push('', 'Memory targets: a CPU profile says nothing about them; see the retained and RSS figures above.');
    }
  }
  out.push('');
  return out.join('\n');
}

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

function profileMarkdown(p) {
  const out = [
    `# CPU profile per benchmark window`,
    '',
    `\`node bench/run.mjs${p.quick ? ' --quick' : ''} --cpu-prof\` on ${p.date} (commit ${p.gitCommit}). Every server under \`node --cpu-prof\` (raw profiles in bench/results/profiles/, not committed); self time on the main thread inside each measurement window, without idle time. Profiling slows the servers: compare none of this run's latencies.`,
  ];
  for (const label of [...new Set(p.windows.map((w) => w.label))]) out.push(...profileTables(p, label, 20, 12));
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------- main
const SCENARIOS = [
  ['grid', '1. grid propagation', gridScenario],
  ['fanout', '2. grid fan-out', fanoutScenario],
  ['cost', '3. grid cost', costScenario],
  ['durability', '4. grid durability', durabilityScenario],
  ['subscriptions', '5. subscriptions', subscriptionsScenario],
  ['reads', '6. GraphQL reads', readsScenario],
  ['coldstart', '7. cold start', coldStartScenario],
  ['scaleout', '8. scale-out', scaleoutScenario],
];

/** --render: writes bench/results.md again from bench/results.json and the latest profile, running nothing. */
async function render() {
  const result = JSON.parse(fs.readFileSync(path.join(benchDir, 'results.json'), 'utf8'));
  result.summary = summaryRows(result.scenarios, result.options);
  result.profile = readProfile();
  await fsp.writeFile(path.join(benchDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(benchDir, 'results.md'), markdown(result));
  log('written: bench/results.md, bench/results.json (rendered again, nothing run)');
}

function readProfile() {
  try {
    const profile = JSON.parse(fs.readFileSync(path.join(resultsDir, 'suite-profile.json'), 'utf8'));
    delete profile.summary;
    return profile;
  } catch {
    return null;
  }
}

async function main() {
  if (flag('render')) return render();
  const t0 = now();
  const machine = machineInfo();
  const loadBefore = os.loadavg();
  log(`machine: ${machine.nproc} x ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const buildWarning = ensureBuilt();
  const profileDir = options.cpuProf ? path.join(resultsDir, 'profiles') : null;
  const needed = new Set(options.only);

  log('starting Plansync (embedded PostgreSQL in a fresh DATA_DIR)...');
  servers.plansync = await startPlansync({ env: { GRID_IDLE_UNLOAD_MS: '1000' }, probe: true, profileDir, pollMs: 20 });
  log(`  Plansync on ${servers.plansync.url} (pid ${servers.plansync.pid}), ready in ${Math.round(servers.plansync.readyMs)} ms`);
  if (['grid', 'fanout', 'cost', 'durability'].some((s) => needed.has(s))) {
    servers.reference = await startReference({ probe: true, profileDir });
    log(`  reference y-websocket@1.5.4 on ${servers.reference.url}`);
  }
  if (needed.has('subscriptions')) {
    servers.referenceWs = await startScript('reference-graphql-ws', 'reference-graphql-ws.mjs', { probe: true, profileDir });
    log(`  reference graphql-ws on ${servers.referenceWs.url}`);
  }
  if (needed.has('reads')) {
    const db = plansyncDatabase(servers.plansync.dataDir);
    servers.referenceHttp = await startScript('reference-graphql-http', 'reference-graphql-http.mjs', {
      profileDir,
      env: { PGHOST: db.host, PGPORT: String(db.port), PGUSER: db.user, PGPASSWORD: db.password, PGDATABASE: db.database },
    });
    log(`  reference graphql-js over http on ${servers.referenceHttp.url}`);
  }

  const ctx = { results: {}, errors: {} };
  if (['grid', 'fanout', 'cost', 'durability'].some((s) => needed.has(s))) ctx.warmup = await warmUp();
  for (const [key, title, fn] of SCENARIOS) {
    if (!needed.has(key)) continue;
    const quiet = options.wait ? await waitForQuiet(options.quiet) : { load1m: os.loadavg()[0], loadAtStart: os.loadavg()[0], waitedMs: 0, quiet: null, reason: 'not waited' };
    if (options.wait) log(`${title}: load ${fmt(quiet.load1m)}${quiet.waitedMs > 1000 ? ` after waiting ${fmt(quiet.waitedMs / 1000, 0)} s (${quiet.reason})` : ''}`);
    const startedAt = now();
    try {
      const outcome = await fn(ctx);
      ctx.results[key] = { quiet, ...outcome, loadAfter: os.loadavg()[0], seconds: Math.round((now() - startedAt) / 100) / 10 };
      log(`${title}: done in ${fmt((now() - startedAt) / 1000, 1)} s`);
    } catch (err) {
      // One scenario failing does not lose the others; its load processes are stopped, the servers keep running.
      log(`${title}: FAILED: ${err.stack ?? err}`);
      ctx.errors[key] = String(err.message ?? err);
      for (const w of [...started.workers]) if (!w.gone) w.child.kill('SIGKILL');
      process.exitCode = 1;
    }
  }
  for (const keeper of Object.values(ctx.keepers ?? {})) await keeper.close();

  // Stop the servers, Plansync (and its PostgreSQL, which the graphql-js reference reads) last; with --cpu-prof each
  // writes its profile as it exits, named after its pid.
  for (const server of Object.values(servers).reverse()) await stopProcess(server);
  let suiteProfile = null;
  if (profileDir) {
    const files = fs.readdirSync(profileDir);
    const fileOf = (server) => {
      const name = files.find((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(server.pid));
      return name ? path.join(profileDir, name) : null;
    };
    const windows = [];
    for (const w of profileWindows) {
      const file = servers[w.server] && fileOf(servers[w.server]);
      if (!file) continue;
      windows.push({ label: w.label, server: w.server === 'plansync' ? 'plansync' : 'reference', file: path.relative(root, file), ...summarizeProfile(file, [w.window]) });
    }
    if (!windows.length) log('no CPU profile was written');
    suiteProfile = { date: machine.date, gitCommit: machine.gitCommit, quick: options.quick, windows };
  }

  const result = {
    machine,
    loadBefore,
    loadAfter: os.loadavg(),
    durationSeconds: (now() - t0) / 1000,
    buildWarning,
    options,
    targets: TARGETS,
    versions: {
      referenceYWebsocket: JSON.parse(fs.readFileSync(path.join(root, 'node_modules/y-websocket-reference/package.json'), 'utf8')).version,
      yWebsocketClient: JSON.parse(fs.readFileSync(path.join(root, 'node_modules/y-websocket/package.json'), 'utf8')).version,
      graphql: JSON.parse(fs.readFileSync(path.join(root, 'node_modules/graphql/package.json'), 'utf8')).version,
      graphqlWs: JSON.parse(fs.readFileSync(path.join(root, 'node_modules/graphql-ws/package.json'), 'utf8')).version,
    },
    warmup: ctx.warmup ?? null,
    scenarios: ctx.results,
    errors: ctx.errors,
    incidents,
  };
  result.summary = summaryRows(ctx.results, options);
  if (options.cpuProf) {
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
      if (previous?.notes && flag('keep-notes')) suiteProfile.notes = previous.notes;
      await fsp.writeFile(path.join(resultsDir, 'suite-profile.json'), JSON.stringify({ ...suiteProfile, summary: result.summary }, null, 2) + '\n');
      await fsp.writeFile(path.join(resultsDir, 'suite-profile.md'), profileMarkdown(suiteProfile));
    }
    printSummary(result);
    log(`written: bench/results/suite-profile.json, bench/results/suite-profile.md (results.* untouched: profiling slows the server)`);
    return;
  }
  result.profile = readProfile();
  await fsp.writeFile(path.join(benchDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(benchDir, 'results.md'), markdown(result));
  printSummary(result);
  log(`written: bench/results.md, bench/results.json (${fmt(result.durationSeconds, 0)} s)`);
}

function printSummary(result) {
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

await runMain(main);
