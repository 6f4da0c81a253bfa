#!/usr/bin/env node
// The benchmark suite (`npm run bench`): Plansync next to a reference for each scenario, in one run, on this
// machine. A benchmark, not a test: it asserts nothing, it measures and writes bench/results.md and
// bench/results.json.
//
//   node bench/run.mjs [--quick] [--only=grid,fanout,cost,durability,subscriptions,reads,coldstart,scaleout,batch,webhooks,...,gridbrowser,clientload]
//                      [--workers=4] [--grid-clients=light|stock] [--grid-repeats=5] [--grid-writers=1,50,200] [--no-wait] [--cpu-prof [--keep-notes]] [--render] [--redis=redis://host:port]
//
// It starts its own servers on free ports of 127.0.0.1 (Plansync with a fresh embedded PostgreSQL under a
// temporary DATA_DIR, the reference y-websocket@1.5.4 server, and the two references written for this suite:
// bench/reference-graphql-ws.mjs and bench/reference-graphql-http.mjs), drives them from forked load
// processes, and stops every server, load process and PostgreSQL and removes every temporary folder at the
// end, on errors and on Ctrl-C too. This file only chooses, starts and runs: each scenario measures in its own
// module of bench/scenarios/ (the warm-up and the helpers they share beside them), and bench/report.mjs writes
// the results.
//
// Scenarios (each with its reference in the same run):
//  grid           grid propagation: 1, 50 and 200 concurrent writers on one document (50 and 200: --grid-repeats
//                 rounds, 5 by default, 1 with --quick, to show the spread; bench/lib/grid.mjs, as
//                 bench/grid-propagation.mjs); reference y-websocket@1.5.4 bin/server.js. Light y-websocket
//                 clients (bench/grid-light-worker.mjs): the stock protocol traffic (sync handshake, awareness,
//                 each writer a real Y.Doc sending the update of its own Y.Map.set), but no client applies the
//                 others' updates (it reads writer and value from each update): with stock providers, ~40,000
//                 Yjs applies a second at 200 writers saturated the load processes and the p99 measured their
//                 queueing. --grid-clients=stock runs stock WebsocketProviders instead, to compare.
//  fanout         one writer (10 updates/s), 1,000 observers (light y-protocols clients, bench/grid-observer-worker.mjs:
//                 why not stock providers is said there); p50/p99 and server CPU per update per observer; 3 runs of each
//                 server, interleaved (1 with --quick), the median shown.
//  cost           server memory after a forced GC (servers run with --expose-gc and bench/lib/memory-probe.mjs):
//                 per idle grid connection (2,000 of them, in 3 measured rounds) and per open document of 120 and of 10,000 filled lines
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
//                 instance, in the same run (bench/lib/scaleout.mjs, also `npm run bench:two-instances`); and the
//                 same two configurations of the reference y-websocket server, two of it relaying through the same
//                 Redis the simplest way (bench/reference-relay-server.mjs), for the cost of scaling out itself; at
//                 50 writers 8 rounds of the four (1 with --quick), the targets judged on all rounds pooled. Redis:
//                 --redis, else 127.0.0.1:6379 if it answers, else a redis-server of its own; else skipped, said so.
//  batch          updateBudgetLines with 5,000 changes in one HTTP call over 42 documents: wall time and CPU
//                 (server, PostgreSQL) per cell; reference: the same rows and audit entries written by one plain SQL
//                 statement through pg, the lower bound (bench/scenarios/batch.mjs says why not 5,000 single calls).
//  webhooks       2,000 events (--quick: 300) from the outbox to SUCCEEDED deliveries at a local receiver, on a
//                 Plansync of its own: deliveries/s and CPU each; reference: the same bodies signed with
//                 standardwebhooks and POSTed by this process with the same parallelism, nothing stored.
//  odata          OData full read of 100,000 lines (GET /odata/BudgetLines, Basic, following @odata.nextLink):
//                 rows/s and the server's peak RSS growth; reference: the same rows by one plain pg query and
//                 JSON.stringify in a process of its own (bench/scenarios/odata.mjs).
//  spreadsheets   exports of 50,000 and 100,000 lines as CSV and xlsx (GET /export/budget-lines.*): rows/s and the
//                 server's peak RSS growth (the same at both sizes: it does not grow with the rows); reference: the
//                 rows by one plain pg query written as CSV text in a process of its own. An import of 10,000 lines
//                 (POST /import/budget-lines, every budget amount changed): wall and CPU per cell; reference: the
//                 same changes through updateBudgetLines (bench/scenarios/spreadsheets.mjs).
//  gridbrowser    the budget grid page (AG Grid Community) of a unit of 10,000 lines in headless Chromium: time to the
//                 first rows drawn with their values, JS heap after a forced GC, main-thread time per scroll step;
//                 reference: the same page on a unit of 120 lines (bench/scenarios/gridBrowser.mjs). Needs client/dist.
//  clientload     the web client's load in headless Chromium: time from navigation to the first cell value of a
//                 120-line grid page, cold (empty cache), warm (second visit), reloaded and cold on a 10 Mbit/s link,
//                 bytes over the wire, the sign-in page's bytes; reference: the same client/dist served the old way
//                 (express.static, maxAge 1h, uncompressed: bench/reference-client-static.mjs). Needs client/dist.
//
// Before each scenario the suite waits (up to 3 minutes; not with --quick or --no-wait) until the 1-minute load
// average is below 1.5, or the machine has been under 15% busy for 10 s, and records what it saw. --quick
// shortens every window (under two minutes on 2 CPUs). --cpu-prof runs Plansync under `node --cpu-prof` and
// writes bench/results/suite-profile.{json,md} (self time per measurement window) instead of bench/results.*;
// the profile summary is then shown in results.md where a target is missed (with the `notes` of
// suite-profile.json, written by hand after reading the profile; --keep-notes carries them to a new profile).
// --render writes results.md again from results.json and the latest profile, without running anything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLine, ensureBuilt, fmt, incidents, installCleanup, log, machineInfo, now, plansyncDatabase, printUsageAndExit, resultsDir, root, runMain, started, startPlansync, startReference, startScript, stopProcess, waitForQuiet } from './lib/common.mjs';
import { scaleoutDefaults } from './lib/scaleout.mjs';
import { collectProfile, render, summaryRows, TARGETS, writeProfile, writeResults } from './report.mjs';
import * as batch from './scenarios/batch.mjs';
import * as cost from './scenarios/cost.mjs';
import * as coldstart from './scenarios/coldstart.mjs';
import * as durability from './scenarios/durability.mjs';
import * as fanout from './scenarios/fanout.mjs';
import * as grid from './scenarios/grid.mjs';
import * as gridBrowser from './scenarios/gridBrowser.mjs';
import * as clientLoad from './scenarios/clientLoad.mjs';
import * as odata from './scenarios/odata.mjs';
import * as reads from './scenarios/reads.mjs';
import * as scaleout from './scenarios/scaleout.mjs';
import * as spreadsheets from './scenarios/spreadsheets.mjs';
import * as subscriptions from './scenarios/subscriptions.mjs';
import * as webhooks from './scenarios/webhooks.mjs';
import { warmUp } from './scenarios/warmup.mjs';

// ---------------------------------------------------------------------------------------------- options
/** The scenarios in the order they run and are reported: key (for --only), title, what measures it. */
const SCENARIOS = [
  ['grid', '1. grid propagation', grid.measure],
  ['fanout', '2. grid fan-out', fanout.measure],
  ['cost', '3. grid cost', cost.measure],
  ['durability', '4. grid durability', durability.measure],
  ['subscriptions', '5. subscriptions', subscriptions.measure],
  ['reads', '6. GraphQL reads', reads.measure],
  ['coldstart', '7. cold start', coldstart.measure],
  ['scaleout', '8. scale-out', scaleout.measure],
  ['batch', '9. batch writes', batch.measure],
  ['webhooks', '10. webhook deliveries', webhooks.measure],
  ['odata', '11. OData full read', odata.measure],
  ['spreadsheets', '12. spreadsheets in and out', spreadsheets.measure],
  ['gridbrowser', '13. grid in the browser', gridBrowser.measure],
  ['clientload', '14. loading the web client', clientLoad.measure],
];

const { flag, option } = commandLine();
if (flag('help') || flag('h')) {
  printUsageAndExit(import.meta.url);
}
const ALL = SCENARIOS.map(([key]) => key);
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
  grid: { writers: option('grid-writers', '1,50,200').split(',').map(Number), repeats: Number(option('grid-repeats', quick ? 1 : 5)), clients: option('grid-clients', 'light'), warmupMs: quick ? 500 : 3000, measureMs: quick ? 1500 : 10_000, drainQuietMs: quick ? 250 : 1000 },
  fanout: { observers: 1000, periodMs: 100, warmupMs: quick ? 500 : 2000, measureMs: quick ? 1500 : 10_000, rounds: quick ? 1 : 3 },
  cost: { idleConnections: quick ? 500 : 2000, bigLines: 10_000 },
  durability: { writers: quick ? [50] : [1, 50, 200], pollMs: 20 },
  // One startWorkflow (one transaction: three events) every periodMs[subscribers] ms: 3,000 and 5,000 deliveries a second.
  subscriptions: { counts: [1000, 5000], perSocket: quick ? 50 : 1, periodMs: { 1000: 1000, 5000: quick ? 2000 : 3000 }, warmupMs: quick ? 500 : 3000, measureMs: quick ? 2000 : 15_000, quietMs: quick ? 400 : 1000 },
  reads: { concurrency: 16, warmupMs: quick ? 500 : 2000, durationMs: quick ? 2000 : 10_000 },
  coldStart: { runs: quick ? 1 : 3 },
  scaleout: { ...scaleoutDefaults(quick), redis: option('redis', null) },
  batch: { runs: quick ? 2 : 5 },
  webhooks: { deliveries: quick ? 300 : 2000 },
  odata: { runs: quick ? 1 : 3 },
  spreadsheets: { runs: quick ? 1 : 3 },
  gridBrowser: { runs: quick ? 1 : 3 },
  clientLoad: { runs: quick ? 1 : 5 },
};
if (!['light', 'stock'].includes(options.grid.clients)) throw new Error(`--grid-clients: light or stock, got ${options.grid.clients}`);
for (const s of options.only) if (!ALL.includes(s)) throw new Error(`--only: unknown scenario ${s} (${ALL.join(', ')})`);

installCleanup();
/** Between runs: lets the last run's sockets close and the server settle. */
const pause = quick ? 200 : 500;
/** The servers started for this run, by role (bench/scenarios/shared.mjs lists them). */
const servers = {};
/** Measurement windows (CLOCK_MONOTONIC us) of the servers, for the CPU profile. */
const profileWindows = [];
/** A measurement window of `server` (a key of `servers`), for the CPU profiles (--cpu-prof). */
const markWindow = (label, server, startMicros, endMicros) => profileWindows.push({ label, server, window: [startMicros, endMicros] });

// ---------------------------------------------------------------------------------------------- main
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

  const suite = { options, servers, pause, markWindow, results: {}, warmup: null, gridTarget: null, keepers: null };
  const errors = {};
  if (['grid', 'fanout', 'cost', 'durability'].some((s) => needed.has(s))) suite.warmup = await warmUp(suite);
  for (const [key, title, measure] of SCENARIOS) {
    if (!needed.has(key)) continue;
    const quiet = options.wait ? await waitForQuiet(options.quiet) : { load1m: os.loadavg()[0], loadAtStart: os.loadavg()[0], waitedMs: 0, quiet: null, reason: 'not waited' };
    if (options.wait) log(`${title}: load ${fmt(quiet.load1m)}${quiet.waitedMs > 1000 ? ` after waiting ${fmt(quiet.waitedMs / 1000, 0)} s (${quiet.reason})` : ''}`);
    const startedAt = now();
    try {
      const outcome = await measure(suite);
      suite.results[key] = { quiet, ...outcome, loadAfter: os.loadavg()[0], seconds: Math.round((now() - startedAt) / 100) / 10 };
      log(`${title}: done in ${fmt((now() - startedAt) / 1000, 1)} s`);
    } catch (err) {
      // One scenario failing does not lose the others; its load processes are stopped, the servers keep running.
      log(`${title}: FAILED: ${err.stack ?? err}`);
      errors[key] = String(err.message ?? err);
      for (const w of [...started.workers]) if (!w.gone) w.child.kill('SIGKILL');
      process.exitCode = 1;
    }
  }
  for (const keeper of Object.values(suite.keepers ?? {})) await keeper.close();

  // Stop the servers, Plansync (and its PostgreSQL, which the graphql-js reference reads) last; with --cpu-prof each
  // writes its profile as it exits, named after its pid.
  for (const server of Object.values(servers).reverse()) await stopProcess(server);
  const suiteProfile = profileDir ? collectProfile({ profileDir, windows: profileWindows, servers, machine, quick: options.quick }) : null;

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
    warmup: suite.warmup ?? null,
    scenarios: suite.results,
    errors,
    incidents,
  };
  result.summary = summaryRows(suite.results, options);
  if (options.cpuProf) return writeProfile(suiteProfile, result, flag('keep-notes'));
  await writeResults(result);
}

await runMain(main);
