// Scale-out: grid propagation with the writers split across two Plansync instances (one PostgreSQL, one Redis),
// next to the same load on one instance, in the same run. The `scaleout` scenario of bench/run.mjs, and
// bench/two-instances.mjs (`npm run bench:two-instances`). A benchmark, not a test: it asserts nothing.
//
// Instances, all started fresh for the run from server/dist, with the same signing keys:
//   A    Plansync with its embedded PostgreSQL (a temporary DATA_DIR, as the suite starts Plansync) and REDIS_URL;
//   B    Plansync with DATABASE_URL on A's cluster, A's database, and REDIS_URL: A and B are one deployment;
//   one  Plansync without REDIS_URL (as a single instance runs today) on a database of its own on A's cluster.
// Configurations: "two" deals the load processes alternately to A and B, so half of the writers are on each and
// most deliveries cross instances through Redis (with 1 writer: the writer on A, its observer on B, so every
// delivery crosses); "one" puts every client on `one`. Each run is bench/lib/grid.mjs's grid run (light
// y-websocket clients in bench/grid-light-worker.mjs, W writers on `budget:<plan>:SALES_NORTH`, each a real
// Y.Doc setting its own cell about once a second, every other client recording the delay without applying it). Each instance holds one idle keeper
// connection for the whole scenario, so the two documents carry the same history from run to run.
// CPU in the window: each instance's own; PostgreSQL (every database on A's cluster: A's child processes);
// Redis only when we started it.
//
// Redis: the one given (--redis), else 127.0.0.1:6379 when it answers, else a `redis-server` started on a free
// port when installed; else the scenario is skipped, with the reason as its result. Every channel carries a
// random REDIS_PREFIX, so a shared Redis is safe. Everything started here is stopped here (A, which holds the
// cluster, last), and by cleanup() on errors and signals.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import pg from 'pg';
import { cpuSample, fmt, fmtRatio, freePort, log, newProfile, now, plansyncDatabase, ratio, resultsDir, root, sleep, started, startPlansync, startProcess, stopProcess, summarizeProfile } from './common.mjs';
import { gridTarget, openKeeper, runGridScenario } from './grid.mjs';

const LOCAL_REDIS = 'redis://127.0.0.1:6379';

/** Whether a Redis answers PING at `url` (within 1 s). */
export function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function onPath(binary) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, binary);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {}
  }
  return null;
}

/** { url, origin, server? } (server: a redis-server we started), or { skipped: why }. */
export async function provideRedis(given = null, local = LOCAL_REDIS) {
  if (given) return (await redisAnswers(given)) ? { url: given, origin: `given (${given})` } : { skipped: `no Redis answers at --redis=${given}` };
  if (await redisAnswers(local)) return { url: local, origin: `the local one on ${new URL(local).host}` };
  const binary = onPath('redis-server');
  if (!binary) return { skipped: `no Redis: none answers on ${new URL(local).host} and \`redis-server\` is not installed (give one with --redis=redis://host:port)` };
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = startProcess('redis', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], process.env, { command: binary });
  for (let i = 0; i < 50 && !server.gone; i++) {
    if (await redisAnswers(url)) return { url, origin: `a redis-server started for the run on port ${port}`, server };
    await sleep(100);
  }
  const output = server.output().trim().slice(-500);
  await stopProcess(server, 1000);
  return { skipped: `no Redis: none answers on ${new URL(local).host} and \`redis-server\` did not answer within 5 s${output ? ` (${output.replace(/\s+/g, ' ')})` : ''}` };
}

/** A postgres:// URL of database `name` on the embedded cluster of a Plansync DATA_DIR. */
function databaseUrl(dataDir, name) {
  const db = plansyncDatabase(dataDir);
  return `postgres://${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}@${db.host}:${db.port}/${name}`;
}

async function createDatabase(dataDir, name) {
  const client = new pg.Client({ ...plansyncDatabase(dataDir), database: 'postgres' });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

/** Stops a Plansync we started and removes its DATA_DIR; with --cpu-prof, keeps the profile it writes as it exits. */
async function stopPlansync(server) {
  const before = server.profileDir ? new Set(fs.readdirSync(server.profileDir)) : null;
  await stopProcess(server);
  // Node names a profile CPU.<date>.<time>.<pid>...: instances stopped together each take their own.
  if (before) server.profileFile = newProfile(server.profileDir, new Set([...before, ...fs.readdirSync(server.profileDir).filter((f) => !f.includes(`.${server.pid}.`))]));
  await fsp.rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined);
  started.dirs.delete(server.dataDir);
}

/**
 * Runs the scenario. options: { writers: [1, 50], warmupMs, measureMs, drainQuietMs, workers, pauseMs, redis, cpuProf }
 * (redis: a URL, or null to find or start one; cpuProf: run the three instances under `node --cpu-prof`, profiles
 * in bench/results/profiles/scaleout/, and summarise each instance's self time per measurement window). Returns
 * { skipped } or the runs with their ratios (and `profile` with cpuProf).
 */
export async function runScaleout(options) {
  const redis = await provideRedis(options.redis);
  if (redis.skipped) {
    log(`scaleout: skipped: ${redis.skipped}`);
    return { skipped: redis.skipped };
  }
  log(`scaleout: Redis: ${redis.origin}`);
  const instances = [];
  const keepers = [];
  const profileDir = options.cpuProf ? path.join(resultsDir, 'profiles', 'scaleout') : null;
  /** With cpuProf: [instance, writers, config, window] of every run, summarised once the profiles are written. */
  const windows = [];
  let result;
  try {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const keys = { JWT_PRIVATE_KEY: await exportPKCS8(privateKey), JWT_PUBLIC_KEY: await exportSPKI(publicKey) };
    // SCALEOUT_NODE_OPTIONS: node options for the three instances (e.g. --perf-basic-prof, to profile them with perf).
    if (process.env.SCALEOUT_NODE_OPTIONS) keys.NODE_OPTIONS = process.env.SCALEOUT_NODE_OPTIONS;
    const clusterEnv = { REDIS_URL: redis.url, REDIS_PREFIX: `plansync-bench-${randomBytes(4).toString('hex')}`, ...keys };
    const t0 = now();
    log('scaleout: starting instance A (embedded PostgreSQL), then B (A\'s database) and one (a database of its own on A\'s cluster)...');
    const a = await startPlansync({ name: 'scaleout-A', env: clusterEnv, profileDir });
    instances.push(a);
    await createDatabase(a.dataDir, 'plansync_one');
    const starts = await Promise.allSettled([
      startPlansync({ name: 'scaleout-B', env: { ...clusterEnv, DATABASE_URL: databaseUrl(a.dataDir, 'plansync') }, profileDir }),
      startPlansync({ name: 'scaleout-one', env: { ...keys, DATABASE_URL: databaseUrl(a.dataDir, 'plansync_one') }, profileDir }),
    ]);
    for (const s of starts) if (s.status === 'fulfilled') instances.push(s.value);
    for (const s of starts) if (s.status === 'rejected') throw s.reason;
    const [b, one] = starts.map((s) => s.value);
    const startMs = now() - t0;
    log(`  A ${a.url} (pid ${a.pid}), B ${b.url} (pid ${b.pid}), one ${one.url} (pid ${one.pid}), in ${fmt(startMs / 1000, 1)} s`);

    const configs = {
      one: { servers: [one], target: await gridTarget(one.url) },
      two: { servers: [a, b], target: await gridTarget(a.url) },
    };
    for (const config of Object.values(configs)) for (const server of config.servers) keepers.push(await openKeeper(server, config.target));
    const settled = await settleAfterStart([a, b, one], t0, options.settleAfterStartMs ?? 0);
    if (settled) log(`  settled: ${fmt(settled.waitedMs / 1000, 1)} s after the starts, quiet for ${settled.quietSeconds} s`);

    // PostgreSQL (A's children: the whole cluster) and Redis (when ours) over the measurement window.
    const sampler = () => {
      const read = () => ({ database: cpuSample(a.pid).childSeconds, redis: redis.server ? cpuSample(redis.server.pid).ownSeconds : null });
      const samples = [];
      let timers = [];
      return {
        onStart: ({ measureStart, measureEnd }) => {
          timers = [measureStart, measureEnd].map((t) => setTimeout(() => samples.push(read()), Math.max(0, t - now())));
        },
        onDone: () => {
          timers.forEach(clearTimeout);
          const [x, y] = samples;
          return { databaseCpuSeconds: y ? y.database - x.database : null, redisCpuSeconds: y && y.redis != null ? y.redis - x.redis : null };
        },
      };
    };

    const scenarios = [];
    for (const [i, writers] of options.writers.entries()) {
      const scenario = { writers, clients: Math.max(writers, 2) };
      for (const name of i % 2 === 0 ? ['one', 'two'] : ['two', 'one']) {
        log(`scaleout: ${writers} writer(s) -> ${name === 'one' ? 'one instance' : 'two instances'}...`);
        const run = await runGridScenario(configs[name].servers, configs[name].target, writers, { ...options, hooks: sampler() });
        for (const server of configs[name].servers) windows.push({ server, writers, config: name, window: [run.window.monoStartMicros, run.window.monoEndMicros] });
        delete run.window;
        Object.assign(run, run.extra);
        delete run.extra;
        run.serverCpuSecondsEach ??= [run.serverCpuSeconds];
        run.writersPerServer ??= [writers];
        scenario[name] = run;
        log(
          `  p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; server CPU ${run.serverCpuSecondsEach.map((c) => fmt(c)).join(' + ')} s (+${fmt(run.databaseCpuSeconds)} s PostgreSQL${run.redisCpuSeconds != null ? `, ${fmt(run.redisCpuSeconds)} s Redis` : ''})`,
        );
        await sleep(options.pauseMs ?? 500);
      }
      scenario.ratio = {
        p50: ratio(scenario.two.latencyMs.p50, scenario.one.latencyMs.p50),
        p99: ratio(scenario.two.latencyMs.p99, scenario.one.latencyMs.p99),
        cpu: ratio(scenario.two.serverCpuSeconds, scenario.one.serverCpuSeconds),
        cpuPerDelivery: ratio(scenario.two.serverCpuMicrosPerDelivery, scenario.one.serverCpuMicrosPerDelivery),
      };
      scenarios.push(scenario);
    }
    result = {
      redis: redis.origin,
      instancesStartMs: Math.round(startMs),
      settledAfterStartMs: settled?.waitedMs ?? null,
      document: configs.two.target.docName,
      warmupMs: options.warmupMs,
      measureMs: options.measureMs,
      workers: options.workers,
      scenarios,
    };
  } finally {
    for (const keeper of keepers) await keeper.close();
    // A holds the cluster the others use: it stops last; then Redis, if ours.
    const a = instances.find((s) => s.name === 'scaleout-A');
    await Promise.all(instances.filter((s) => s !== a).map(stopPlansync));
    if (a) await stopPlansync(a);
    if (redis.server) await stopProcess(redis.server, 5000);
  }
  if (profileDir) {
    result.profile = windows.map(({ server, writers, config, window }) => ({
      instance: server.name,
      writers,
      config,
      file: server.profileFile ? path.relative(root, server.profileFile) : null,
      window,
      ...(server.profileFile ? summarizeProfile(server.profileFile, [window]) : {}),
    }));
  }
  return result;
}

/**
 * Waits, before anything is measured, until the fresh instances are past their start: at least `minMs` after
 * `startedAt`, then until each has used under 20 ms of CPU a second for 3 seconds in a row (at most 30 s more).
 * V8's memory reducer runs a few full collections some 20-30 s after start-up's allocations stop (seen with
 * --trace-gc on an idle server: three mark-compacts, about 0.1-0.4 s of CPU in all); a window that catches them
 * measures the start, not the scenario (a 1-writer window once showed 0.54 s on instance A, its usual 0.1).
 * Returns how long after the start it waited, or null with minMs 0 (--quick).
 */
async function settleAfterStart(servers, startedAt, minMs) {
  if (minMs <= 0) return null;
  const left = startedAt + minMs - now();
  if (left > 0) await sleep(left);
  const until = now() + 30_000;
  let quietSeconds = 0;
  while (quietSeconds < 3 && now() < until) {
    const before = servers.map((s) => cpuSample(s.pid).ownSeconds);
    await sleep(1000);
    const busy = servers.some((s, i) => cpuSample(s.pid).ownSeconds - before[i] > 0.02);
    quietSeconds = busy ? 0 : quietSeconds + 1;
  }
  return { waitedMs: Math.round(now() - startedAt), quietSeconds };
}

/**
 * Writers and windows: the grid scenario's (1 and 50 writers, 3 s warm-up, 10 s window); --quick keeps the
 * 50-writer run only, with a 0.5 s warm-up and a 1.5 s window (the scenario, three instances' start included, then
 * takes about 20 s on 2 CPUs).
 */
export const scaleoutDefaults = (quick) => ({
  writers: quick ? [50] : [1, 50],
  warmupMs: quick ? 500 : 3000,
  measureMs: quick ? 1500 : 10_000,
  drainQuietMs: quick ? 250 : 1000,
  settleAfterStartMs: quick ? 0 : 35_000,
});

/** Summary rows: Plansync = two instances (writers split), reference = one instance, ratio = two / one. */
export function scaleoutSummary(sc, add) {
  if (!sc || sc.skipped) return;
  for (const s of sc.scenarios) {
    const name = '8 scale-out (two instances vs one)';
    add(name, `${s.writers} writer(s) split over two instances: p50`, s.two.latencyMs.p50, s.one.latencyMs.p50, 'ms', 2);
    add(name, `${s.writers} writer(s) split over two instances: p99`, s.two.latencyMs.p99, s.one.latencyMs.p99, 'ms', 2);
    add(name, `${s.writers} writer(s): server CPU in the window (both instances)`, s.two.serverCpuSeconds, s.one.serverCpuSeconds, 's', 2);
    // Issue 16's target: CPU per delivered update, both instances together, within 1.3x of one instance's.
    const perDelivery = ratio(s.two.serverCpuMicrosPerDelivery, s.one.serverCpuMicrosPerDelivery);
    const target = s.writers >= 50 ? 'CPU per delivered update, two instances <= 1.3x one' : null;
    add(name, `${s.writers} writer(s): server CPU per delivered update (both instances)`, s.two.serverCpuMicrosPerDelivery, s.one.serverCpuMicrosPerDelivery, 'us', 1, target, target && perDelivery != null ? perDelivery <= 1.3 : null);
  }
}

/** The scenario's description and tables, as markdown lines. */
export function scaleoutMarkdown(sc) {
  const out = [];
  if (sc.skipped) {
    out.push(`**Skipped:** ${sc.skipped}.`);
    return out;
  }
  out.push(
    `The grid propagation run (scenario 1's load: light y-websocket clients, bench/grid-light-worker.mjs, in ${sc.workers} load processes, W writers on one document, each setting its own cell about once a second, every other client recording the delay) against two Plansync instances of one deployment, next to the same load on one instance, in the same run. **two**: A (embedded PostgreSQL) and B (\`DATABASE_URL\` on A's database), both with \`REDIS_URL\` (Redis: ${sc.redis}); the load processes alternate between A and B, so the writers split as shown and most deliveries cross instances through Redis (with 1 writer, the writer is on A and its observer on B: every delivery crosses). **one**: a single Plansync without \`REDIS_URL\` on a database of its own on the same cluster, every client on it. All three instances run throughout, fresh for this scenario (\`LOG_LEVEL=warn\`, no memory probe; started in ${fmt(sc.instancesStartMs / 1000, 1)} s${sc.settledAfterStartMs ? `; measured from ${fmt(sc.settledAfterStartMs / 1000, 0)} s after the start, once each had been quiet for 3 s, so that V8's memory reducer, which runs a few full collections 20-30 s after a start, falls outside the windows` : ''}), with one idle keeper connection each. Warm-up ${sc.warmupMs / 1000} s, window ${sc.measureMs / 1000} s. Ratio: two / one. Server CPU per delivered update: both instances' CPU in the window over every delivery counted in it (issue 16's measure: within 1.3x of one instance). PostgreSQL CPU is the whole cluster's; Redis CPU only when the benchmark started its own.`,
    '',
  );
  out.push('| writers (clients) | instances | writers per instance | p50 ms | p90 ms | p99 ms | max ms | delivered / expected | server CPU s (per instance) | server CPU per delivered update, us | PostgreSQL CPU s | Redis CPU s | machine busy (ours) |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of sc.scenarios) {
    for (const name of ['one', 'two']) {
      const r = s[name];
      out.push(
        `| ${s.writers} (${s.clients}) | ${name} | ${r.writersPerServer.join(' + ')} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${r.delivered}/${r.expected} | ${fmt(r.serverCpuSeconds)}${r.serverCpuSecondsEach.length > 1 ? ` (${r.serverCpuSecondsEach.map((c) => fmt(c)).join(' + ')})` : ''} | ${fmt(r.serverCpuMicrosPerDelivery, 1)} | ${fmt(r.databaseCpuSeconds)} | ${fmt(r.redisCpuSeconds)} | ${Math.round(100 * r.machineBusy)}% (${Math.round(100 * r.benchBusy)}%) |`,
      );
    }
    out.push(`| | two / one | | ${fmtRatio(s.ratio.p50)} | | ${fmtRatio(s.ratio.p99)} | | | ${fmtRatio(s.ratio.cpu)} | ${fmtRatio(s.ratio.cpuPerDelivery)} | | | |`);
  }
  const short = sc.scenarios.flatMap((s) => [s.one, s.two]).filter((r) => r.missing > 0 || r.disconnects > 0);
  if (short.length) out.push('', `**Not every delivery arrived:** ${short.map((r) => `${r.writers} writer(s) on ${r.server}: ${r.missing} missing, ${r.disconnects} disconnects${r.closeCodes.length ? ` (close codes ${r.closeCodes.join(', ')})` : ''}`).join('; ')}.`);
  const contended = sc.scenarios.flatMap((s) => [s.one, s.two]).filter((r) => r.machineBusy > 0.85);
  if (contended.length) out.push('', `**Contended:** during ${contended.map((r) => `${r.writers}-writer/${r.server}`).join(', ')} the machine was over 85% busy: those latencies include waiting for a CPU.`);
  out.push(
    '',
    "**Where two instances' extra CPU goes, and the floor** (issue 16; profiled with perf, kernel included, and `bench/two-instances.mjs --cpu-prof`): not the sends to clients (the same writes either way), but Redis messages. Each relayed edit costs a publish of the grid change and two receipts (one of them the sender's own echo, skipped on its first bytes), each a process wake-up, and a share of a bus message (`BUDGET_LINE_CHANGED` for the lines a projection batch wrote: since issue 16 the bus events of one turn go as one message, so one per batch, about every 100 ms per instance, rather than one per line); then a second Yjs apply of the update (about 0.3 ms), the second instance's own timers, and two database batchers instead of one. `node bench/redis-floor.mjs` measures the messages alone on this machine with ioredis at 50 messages a second: an answered PUBLISH 330-345 us of CPU (mostly the reply's wake-up), one on a connection Redis does not answer (CLIENT REPLY OFF, what Plansync's publisher now uses) 54-172 us, each message received 220-260 us. At 50 writers editing once a second at random moments hardly two edits share an event-loop turn, so the per-turn batching of relayed changes (one Redis message per document per turn) cannot spread these costs. The ratio also moves with the one instance it is set against: issue 16's send-ahead of plain cell edits and leaner connections cut one instance's CPU per delivered update by about a quarter, while a relayed change is applied before it is sent on the receiving instance, and the Redis messages cost what they cost. Left to reach the target: echoes avoided (a channel per sender, which needs the instances to know each other), and a relayed plain edit sent ahead of its apply as a local one is.",
  );
  return out;
}
