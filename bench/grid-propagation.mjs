#!/usr/bin/env node
// Grid propagation latency: Plansync's collaborative grid against the reference Yjs server
// (y-websocket@1.5.4 `bin/server.js`, installed as the devDependency `y-websocket-reference`), side by side in
// one run, with the same clients, keys, values and load. A benchmark, not a test: it asserts nothing.
//
//   node bench/grid-propagation.mjs [--quick] [--scenarios=1,50,200] [--servers=plansync,reference]
//                                   [--workers=4] [--cpu-prof] [--worker-cpu-prof=<dir>]
//
// Each scenario puts W concurrent writers on ONE document (`budget:<planId>:SALES_NORTH`). Every client is a
// stock y-websocket 3 `WebsocketProvider` (ws as its WebSocket, disableBc), hosted by forked load processes
// (bench/grid-worker.mjs). Every client observes; each writer sets its own cell about once a second (random
// phase) to the send time in ms since an epoch shared by all processes (performance.timeOrigin +
// performance.now()); every other client records now - value when the change arrives from the server. With
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
// --cpu-prof runs both servers under `node --cpu-prof` and adds, per measurement window, the functions and
// packages with the most self time (bench/results/grid-propagation-profile.{json,md}; the raw profiles stay
// in bench/results/profiles/, not committed). Profiling slows the servers: compare its latencies with nothing.
//
// Reading the figures: the load processes run on the same machine as the servers. A stock Yjs client pays,
// for every update it applies, time proportional to the number of clients in the document's history, and
// every client applies every update, so client CPU grows with the cube of the writer count: on a 2-CPU
// machine 200 writers saturate the load processes themselves (the `busy` figures say so), and there only the
// server CPU figures compare the servers. Other processes on the machine add noise: run again when `busy` is
// high with little of it ours.
import { spawn, spawnSync, fork, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'bench');
const resultsDir = path.join(benchDir, 'results');
const workerScript = path.join(benchDir, 'grid-worker.mjs');
const serverEntry = path.join(root, 'server/dist/server/src/main.js');
const referenceEntry = path.join(root, 'node_modules/y-websocket-reference/bin/server.js');

// ---------------------------------------------------------------------------------------------- options
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
};
const quick = flag('quick');
const options = {
  quick,
  scenarios: option('scenarios', '1,50,200').split(',').map(Number),
  servers: option('servers', 'plansync,reference').split(','),
  workers: Number(option('workers', '4')),
  warmupMs: quick ? 2000 : 3000,
  measureMs: quick ? 3000 : 10_000,
  cpuProf: flag('cpu-prof'),
  /** Profiles the load processes too (to see what a client costs), into this folder. */
  workerCpuProf: option('worker-cpu-prof', null),
};
if (args.includes('--help') || args.includes('-h')) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0].replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
for (const w of options.scenarios) if (!(Number.isInteger(w) && w >= 1 && w <= 240)) throw new Error(`--scenarios: writers must be 1..240, got ${w}`);
for (const s of options.servers) if (!['plansync', 'reference'].includes(s)) throw new Error(`--servers: unknown server ${s}`);

// ---------------------------------------------------------------------------------------------- helpers
const epoch = performance.timeOrigin + performance.now();
/** ms since the shared epoch (what the workers use too). */
const now = () => performance.timeOrigin + performance.now() - epoch;
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** A deadline for Promise.race that does not keep the process alive once the race is decided. */
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

/** Fields of /proc/<pid>/stat after the command name: [0] = state, [1] = ppid, [11..14] = utime stime cutime cstime. */
function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** All live descendants of pid (not pid itself). */
function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (!stat) continue;
    const ppid = Number(stat[1]);
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

/** CPU seconds of the process itself and of its descendants (with what they reaped), and its RSS. */
function cpuSample(pid) {
  const own = procStat(pid);
  const ownSeconds = own ? (Number(own[11]) + Number(own[12])) / CLK_TCK : NaN;
  const ownSystemSeconds = own ? Number(own[12]) / CLK_TCK : NaN;
  let childSeconds = own ? (Number(own[13]) + Number(own[14])) / CLK_TCK : 0;
  for (const p of descendants(pid)) {
    const s = procStat(p);
    if (s) childSeconds += (Number(s[11]) + Number(s[12]) + Number(s[13]) + Number(s[14])) / CLK_TCK;
  }
  let rssMb = NaN;
  let hwmMb = NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    rssMb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
    hwmMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } catch {}
  return { ownSeconds, ownSystemSeconds, childSeconds, rssMb, hwmMb };
}

/** Machine-wide CPU jiffies (all processes, ours and anyone else's): busy and total. */
function machineCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4]; // idle + iowait
  return { busy: total - idle, total };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Newest modification time under the given paths, skipping what `tsc -b` does not compile. */
function newest(paths, skip = () => false) {
  let latest = 0;
  const visit = (p) => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch {
      return;
    }
    if (skip(p)) return;
    if (stat.isDirectory()) for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    else latest = Math.max(latest, stat.mtimeMs);
  };
  paths.forEach((p) => visit(path.join(root, p)));
  return latest;
}

// ---------------------------------------------------------------------------------------- processes
/** Everything we started, for cleanup on any exit path. */
const started = { servers: new Set(), workers: new Set(), dirs: new Set(), keepers: new Set() };

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = procStat(pid);
  return !stat || stat[0] !== 'Z';
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a server in its own process group (so a Ctrl-C on the terminal reaches only us, and we stop it in
 * order: a second signal would make Plansync exit without stopping its PostgreSQL).
 */
function startProcess(name, nodeArgs, env) {
  const child = spawn(process.execPath, nodeArgs, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const server = { name, child, pid: child.pid, exited, output: () => output, gone: false };
  void exited.then(() => (server.gone = true));
  started.servers.add(server);
  return server;
}

async function stopProcess(server, graceMs = 30_000) {
  if (!server.gone) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {}
    await Promise.race([server.exited, deadline(graceMs)]);
  }
  // Whatever is left of its process group (Plansync's PostgreSQL after a forced exit): fast shutdown, then kill.
  if (groupAlive(server.pid)) {
    try {
      process.kill(-server.pid, 'SIGINT');
    } catch {}
    for (let i = 0; i < 100 && groupAlive(server.pid); i++) await sleep(100);
    if (groupAlive(server.pid)) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {}
    }
  }
  started.servers.delete(server);
}

async function waitForHttp(server, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.gone) throw new Error(`${server.name} exited before it answered:\n${server.output()}`);
    if (Date.now() > deadline) throw new Error(`${server.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${server.output()}`);
    const ok = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
}

let buildWarning = null;
function ensureBuilt() {
  const sources = newest(['server/src', 'migrations', 'server/tsconfig.json', 'tsconfig.base.json'], (p) => p.endsWith('.test.ts') || p.includes(`${path.sep}testing`));
  const built = fs.existsSync(serverEntry) ? newest(['server/dist']) : 0;
  if (built >= sources) return;
  log('server/dist is missing or older than its sources: npm run build -w server');
  const result = spawnSync('npm', ['run', 'build', '-w', 'server'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status === 0) return;
  // Work in progress elsewhere in the tree may not compile; the grid does not depend on it.
  if (!fs.existsSync(serverEntry)) throw new Error('npm run build -w server failed and there is no server/dist to run');
  log('WARNING: npm run build -w server failed (see above); running the existing server/dist, which may not match the working tree');
  buildWarning = 'npm run build -w server failed; the existing server/dist was used';
}

/** The environment for our servers: ours, minus anything that would point them elsewhere. */
function serverEnv(extra) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|DATA_DIR|DATABASE_URL|SEED_DEMO|REDIS_URL|LOG_LEVEL|NODE_OPTIONS|YPERSISTENCE|GC)$/.test(k)),
  );
  return { ...env, ...extra };
}

async function startPlansync() {
  ensureBuilt();
  const port = await freePort();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'plansync-bench-'));
  started.dirs.add(dataDir);
  let profileDir = null;
  const nodeArgs = [serverEntry];
  if (options.cpuProf) {
    profileDir = path.join(resultsDir, 'profiles');
    await fsp.mkdir(profileDir, { recursive: true });
    nodeArgs.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const server = startProcess('plansync', nodeArgs, serverEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }));
  server.url = `http://127.0.0.1:${port}`;
  server.dataDir = dataDir;
  server.profileDir = profileDir;
  await waitForHttp(server, `${server.url}/healthz`, 180_000);
  return server;
}

async function startReference() {
  if (!fs.existsSync(referenceEntry)) throw new Error(`${referenceEntry} is missing: npm i -D y-websocket-reference@npm:y-websocket@1.5.4`);
  const port = await freePort();
  const nodeArgs = [referenceEntry];
  let profileDir = null;
  if (options.cpuProf) {
    profileDir = path.join(resultsDir, 'profiles');
    await fsp.mkdir(profileDir, { recursive: true });
    // Profiles are written on a normal exit only: make SIGTERM one (the reference has no handler of its own).
    nodeArgs.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--import=data:text/javascript,process.on('SIGTERM',()=>process.exit(0))`);
  }
  const server = startProcess('reference', nodeArgs, serverEnv({ PORT: String(port), HOST: '127.0.0.1' }));
  server.url = `http://127.0.0.1:${port}`;
  server.profileDir = profileDir;
  await waitForHttp(server, server.url, 30_000);
  return server;
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

// ------------------------------------------------------------------------------------------ workers
function startWorker() {
  const execArgv = options.workerCpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.workerCpuProf)}`] : [];
  const child = fork(workerScript, [], { cwd: root, execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
/** One scenario against one server: connect, warm up, measure, drain, collect. */
async function runScenario(server, target, writers) {
  const clientCount = Math.max(writers, 2);
  const workerCount = Math.min(options.workers, clientCount);
  const specs = Array.from({ length: clientCount }, (_, index) => ({ index, key: target.keys[index], writer: index < writers }));
  const wsUrl = server.url.replace(/^http/, 'ws') + '/yjs';
  const workers = Array.from({ length: workerCount }, () => startWorker());
  try {
    const connectStart = now();
    await Promise.all(
      workers.map((w, i) =>
        w.request({ type: 'connect', url: wsUrl, docName: target.docName, token: target.token, epoch, clients: specs.filter((s) => s.index % workerCount === i) }, 'synced'),
      ),
    );
    const connectMs = now() - connectStart;

    const writeStart = now() + 100;
    const measureStart = writeStart + options.warmupMs;
    const measureEnd = measureStart + options.measureMs;
    for (const w of workers) w.send({ type: 'start', writeStart, measureStart, measureEnd });
    const load = [os.loadavg()[0]];

    await sleep(measureStart - now());
    const cpuBefore = cpuSample(server.pid);
    const machineBefore = machineCpu();
    const monoBefore = process.hrtime.bigint();
    await sleep(measureEnd - now());
    const cpuAfter = cpuSample(server.pid);
    const machineAfter = machineCpu();
    const monoAfter = process.hrtime.bigint();
    load.push(os.loadavg()[0]);

    // Drain: wait until no more deliveries arrive (1 s without change), at most 20 s.
    await sleep(1000);
    let last = -1;
    const drainDeadline = now() + 20_000;
    for (;;) {
      const counts = await Promise.all(workers.map((w) => w.request({ type: 'count' }, 'count')));
      const total = counts.reduce((a, c) => a + c.received, 0);
      if (total === last || now() > drainDeadline) break;
      last = total;
      await sleep(1000);
    }
    const reports = await Promise.all(workers.map((w) => w.request({ type: 'report' }, 'report')));

    // Latencies
    const total = reports.reduce((a, r) => a + r.latencies.length, 0);
    const all = new Float64Array(total);
    let offset = 0;
    for (const r of reports) {
      all.set(r.latencies, offset);
      offset += r.latencies.length;
    }
    all.sort();
    const mean = all.reduce((a, b) => a + b, 0) / (all.length || 1);

    // Delivery check: every write sent in the window, by every other client.
    const clients = reports.flatMap((r) => r.clients);
    const sentByKey = new Map(clients.filter((c) => c.writer).map((c) => [c.key, c.sent]));
    const sent = [...sentByKey.values()].reduce((a, b) => a + b, 0);
    let expected = 0;
    let missing = 0;
    let unexpected = 0;
    let incompletePairs = 0;
    for (const c of clients) {
      for (const [key, n] of sentByKey) {
        if (key === c.key) continue;
        const got = c.receivedByKey[key] ?? 0;
        expected += n;
        if (got < n) {
          missing += n - got;
          incompletePairs += 1;
        } else if (got > n) unexpected += got - n;
      }
    }
    const serverCpu = cpuAfter.ownSeconds - cpuBefore.ownSeconds;
    const childCpu = cpuAfter.childSeconds - cpuBefore.childSeconds;
    const workerCpu = reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0);
    const windowSeconds = options.measureMs / 1000;
    return {
      server: server.name,
      writers,
      clients: clientCount,
      workers: workerCount,
      connectMs: Math.round(connectMs),
      sent,
      expected,
      delivered: total,
      missing,
      unexpected,
      incompletePairs,
      latencyMs: {
        p50: percentile(all, 0.5),
        p90: percentile(all, 0.9),
        p99: percentile(all, 0.99),
        max: all.length ? all[all.length - 1] : null,
        min: all.length ? all[0] : null,
        mean: all.length ? mean : null,
      },
      serverCpuSeconds: serverCpu,
      serverSystemCpuSeconds: cpuAfter.ownSystemSeconds - cpuBefore.ownSystemSeconds,
      serverCpuPercent: (100 * serverCpu) / windowSeconds,
      serverCpuMicrosPerDelivery: total > 0 ? (1e6 * serverCpu) / total : null,
      serverCpuMsPerWrite: sent > 0 ? (1000 * serverCpu) / sent : null,
      databaseCpuSeconds: server.name === 'plansync' ? childCpu : null,
      serverRssMb: cpuAfter.rssMb,
      serverPeakRssMb: cpuAfter.hwmMb,
      clientCpuSeconds: workerCpu,
      clientLoopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms ?? 0)),
      /** Share of the machine's CPU used in the window by every process, ours or not (near 1: saturated). */
      machineBusy: (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
      /** The part of it that the server under test and the load processes used. */
      benchBusy: (serverCpu + (server.name === 'plansync' ? childCpu : 0) + workerCpu) / (windowSeconds * os.availableParallelism()),
      disconnects: clients.reduce((a, c) => a + c.disconnects, 0),
      closeCodes: [...new Set(clients.flatMap((c) => c.closeCodes))],
      loadAverage1m: load,
      window: { measureStart, measureEnd, monoStartMicros: Number(monoBefore / 1000n), monoEndMicros: Number(monoAfter / 1000n) },
    };
  } finally {
    await stopWorkers(workers);
  }
}

// ------------------------------------------------------------------------------------------ profile
/** Self time by function (and by package) during the given windows of CLOCK_MONOTONIC microseconds. */
function summarizeProfile(file, windows) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = profile.startTime;
  let inWindows = 0;
  let allSamples = 0;
  const counts = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const delta = profile.timeDeltas[i + 1] ?? 0; // time until the next sample is this sample's weight
    allSamples += delta;
    if (windows.length && !windows.some(([a, b]) => t >= a && t <= b)) continue;
    inWindows += delta;
    counts.set(profile.samples[i], (counts.get(profile.samples[i]) ?? 0) + delta);
  }
  const pkgOf = (url) => {
    if (!url) return '(native/V8)';
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (m) return m[1];
    if (url.startsWith('node:')) return 'node core';
    if (url.includes('/server/dist/')) return 'plansync';
    return url.split('/').slice(-2).join('/');
  };
  const byPackage = new Map();
  for (const [id, micros] of counts) {
    const node = byId.get(id);
    const cf = node.callFrame;
    const name = `${cf.functionName || '(anonymous)'} ${cf.url ? `${cf.url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/.*\/server\/dist\//, 'dist/')}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + micros);
    const pkg = ['(idle)', '(program)', '(garbage collector)'].includes(cf.functionName) ? cf.functionName : pkgOf(cf.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  }
  const top = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, micros]) => ({ name, ms: Math.round(micros / 1000), percent: Math.round((1000 * micros) / (inWindows || 1)) / 10 }));
  const busy = [...self.entries()].filter(([name]) => !name.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  return { windowedMs: Math.round(inWindows / 1000), busyMs: Math.round(busy / 1000), topFunctions: top(self, 30), byPackage: top(byPackage, 15) };
}

// ------------------------------------------------------------------------------------------- output
const fmt = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
const fmtRatio = (v) => (v == null ? '-' : `${v.toFixed(2)}x`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    gitCommit: (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
      } catch {
        return null;
      }
    })(),
  };
}

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
  out.push(`- Node ${m.node}; reference: y-websocket@1.5.4 \`bin/server.js\` (no auth, no validation, no persistence); clients: y-websocket ${result.clientVersion} \`WebsocketProvider\` + ws`);
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
      `**Load-generator bound:** in the ${[...new Set(clientBound.map((r) => `${r.writers}-writer`))].join(', ')} runs the server and the load processes alone used over 60% of the machine (\`busy\` below, in parentheses). There the latencies are mostly queueing in the load processes, not server time: a stock Yjs client spends time proportional to the number of clients in the document's history on every update it applies, and every client applies every update, so the load grows with the cube of the writer count; writers then also fall behind their 1 s period (see \`sent\`). Compare server CPU there rather than latency.`,
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
function closeKeepers() {
  for (const keeper of started.keepers) {
    keeper.provider.destroy();
    keeper.doc.destroy();
  }
  started.keepers.clear();
}

let cleaningUp = null;
async function cleanup() {
  cleaningUp ??= (async () => {
    closeKeepers();
    for (const w of [...started.workers]) if (!w.gone) w.child.kill('SIGKILL');
    await Promise.all([...started.servers].map((s) => stopProcess(s)));
    for (const dir of started.dirs) await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleaningUp;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping servers and load processes`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Last resort (an exception between awaits, process.exit elsewhere): no process of ours outlives us.
process.on('exit', () => {
  for (const w of started.workers) if (!w.gone) w.child.kill('SIGKILL');
  for (const s of started.servers) {
    try {
      process.kill(-s.pid, 'SIGKILL');
    } catch {}
  }
  for (const dir of started.dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function main() {
  const machine = machineInfo();
  log(`machine: ${machine.nproc} x ${machine.cpuModel}, node ${machine.node}, load ${os.loadavg()[0].toFixed(1)}`);
  const servers = {};
  if (options.servers.includes('plansync')) {
    log('starting Plansync (embedded PostgreSQL; the first start takes a few seconds)...');
    servers.plansync = await startPlansync();
    log(`Plansync on ${servers.plansync.url} (pid ${servers.plansync.pid})`);
  }
  if (options.servers.includes('reference')) {
    servers.reference = await startReference();
    log(`reference y-websocket@1.5.4 on ${servers.reference.url} (pid ${servers.reference.pid})`);
  }

  // Token, plan and cells from Plansync (any Plansync will do for the reference when only it runs).
  let target;
  const gqlServer = servers.plansync;
  if (gqlServer) {
    const { login } = await graphql(gqlServer.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', {
      e: 'lead.sales-north@example.com',
      p: 'plansync-demo',
    });
    const { budgetPlans } = await graphql(gqlServer.url, '{ budgetPlans { id } }', {}, login.token);
    const planId = budgetPlans[0].id;
    const { budgetLines } = await graphql(
      gqlServer.url,
      'query($planId: ID!) { budgetLines(planId: $planId, businessUnitCode: "SALES_NORTH") { id } }',
      { planId },
      login.token,
    );
    const lineIds = budgetLines.map((l) => l.id);
    const keys = [...lineIds.map((id) => `${id}/budgetAmount`), ...lineIds.map((id) => `${id}/forecastSales`)];
    target = { token: login.token, docName: `budget:${planId}:SALES_NORTH`, keys };
  } else {
    // Reference only: made-up ids of the same shape (the reference checks nothing).
    const keys = Array.from({ length: 240 }, (_, i) => `${String(i % 120).padStart(8, '0')}-0000-4000-8000-000000000000/${i < 120 ? 'budgetAmount' : 'forecastSales'}`);
    target = { token: 'none', docName: 'budget:00000000-0000-4000-8000-000000000000:SALES_NORTH', keys };
  }
  // One idle keeper connection per server for the whole run: it holds the document between runs, so the
  // reference (which drops a document when its last connection leaves) accumulates the same history as
  // Plansync (which persists it), and Plansync does not unload and reload it between runs. A Yjs client's
  // cost per update grows with the number of clients in the document's history.
  for (const server of Object.values(servers)) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(server.url.replace(/^http/, 'ws') + '/yjs', target.docName, doc, {
      params: { token: target.token },
      WebSocketPolyfill: WebSocket,
      disableBc: true,
    });
    server.keeper = { doc, provider };
    started.keepers.add(server.keeper);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`keeper connection to ${server.name} did not sync`)), 30_000);
      provider.on('sync', (synced) => synced && (clearTimeout(timer), resolve()));
    });
  }

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
      const run = await runScenario(servers[name], target, writers);
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
  closeKeepers();
  for (const [name, server] of Object.entries(servers)) {
    const before = server.profileDir ? new Set(fs.readdirSync(server.profileDir)) : new Set();
    await stopProcess(server);
    if (!server.profileDir) continue;
    const fresh = fs.readdirSync(server.profileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    if (!fresh.length) {
      log(`no CPU profile was written by ${name}`);
      continue;
    }
    const file = path.join(server.profileDir, fresh[0]);
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
    if (r.benchBusy > 0.6) console.log(`note: ${r.writers} writers/${r.server}: the load processes and server used ${Math.round(100 * r.benchBusy)}% of the machine; latency is mostly client-side queueing.`);
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

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
