// Shared by the benchmarks (bench/run.mjs and its bench/scenarios/, bench/grid-propagation.mjs and the other
// entry points): process management with cleanup on every exit path, CPU and memory sampling from /proc,
// statistics, the machine's description, waiting for a quiet machine, and CPU profile summaries. Nothing here
// asserts anything.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { newestMtime } from '../../scripts/staleness.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const benchDir = path.join(root, 'bench');
export const resultsDir = path.join(benchDir, 'results');
export const serverEntry = path.join(root, 'server/dist/server/src/main.js');
export const referenceEntry = path.join(root, 'node_modules/y-websocket-reference/bin/server.js');
/** Preloaded into every server we measure memory of: a forced GC and process.memoryUsage() over IPC. */
export const memoryProbe = pathToFileURL(path.join(benchDir, 'lib/memory-probe.mjs')).href;

// ---------------------------------------------------------------------------------------------- time
/** The epoch every process of a run shares: wall-clock ms (performance.timeOrigin + performance.now()). */
export const epoch = performance.timeOrigin + performance.now();
/** ms since the shared epoch (what the load processes use too). */
export const now = () => performance.timeOrigin + performance.now() - epoch;
export const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** A deadline for Promise.race that does not keep the process alive once the race is decided. */
export const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());
/** CLOCK_MONOTONIC in microseconds: the clock of V8's CPU profiles, for windows within them. */
export const monoMicros = () => Number(process.hrtime.bigint() / 1000n);
let logPrefix = 'bench';
export const setLogPrefix = (prefix) => (logPrefix = prefix);
export const log = (...parts) => console.error(`[${logPrefix} ${(now() / 1000).toFixed(1)}s]`, ...parts);

// ---------------------------------------------------------------------------------------------- /proc
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export function freePort() {
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
export function procStat(pid, thread) {
  try {
    const text = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** All live descendants of pid (not pid itself). */
export function descendants(pid) {
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
export function cpuSample(pid) {
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
  // The main thread apart (its task id is the pid): the rest is V8's GC and compiler threads and libuv's pool.
  const main = procStat(pid, pid);
  const mainSeconds = main ? (Number(main[11]) + Number(main[12])) / CLK_TCK : NaN;
  const mainSystemSeconds = main ? Number(main[12]) / CLK_TCK : NaN;
  // System calls that read and write (sockets included): what the kernel time above is made of, mostly.
  let readCalls = NaN;
  let writeCalls = NaN;
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    readCalls = Number(/syscr:\s+(\d+)/.exec(io)?.[1]);
    writeCalls = Number(/syscw:\s+(\d+)/.exec(io)?.[1]);
  } catch {}
  // Page faults (minor: a page first touched, or handed back and touched again; the GC's doing, mostly) and
  // context switches of the main thread: kernel time that is not the sends.
  const minorFaults = own ? Number(own[7]) : NaN;
  let contextSwitches = NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
    contextSwitches = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1]);
  } catch {}
  return { ownSeconds, ownSystemSeconds, mainSeconds, mainSystemSeconds, readCalls, writeCalls, minorFaults, contextSwitches, childSeconds, rssMb, hwmMb };
}

/** Machine-wide CPU jiffies (all processes, ours and anyone else's): busy and total. */
export function machineCpu() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4]; // idle + iowait
  return { busy: total - idle, total };
}

/** Share of the machine busy between two machineCpu() samples (0..1). */
export const busyShare = (before, after) => (after.busy - before.busy) / Math.max(1, after.total - before.total);

// ---------------------------------------------------------------------------------------------- statistics
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Distribution of a list of numbers (any array-like); sorts a copy. */
export function distribution(values) {
  const all = Float64Array.from(values);
  all.sort();
  const mean = all.reduce((a, b) => a + b, 0) / (all.length || 1);
  return {
    count: all.length,
    p50: percentile(all, 0.5),
    p90: percentile(all, 0.9),
    p99: percentile(all, 0.99),
    max: all.length ? all[all.length - 1] : null,
    min: all.length ? all[0] : null,
    mean: all.length ? mean : null,
  };
}

/** Concatenates Float64Arrays (latency lists from several processes). */
export function concatFloat64(arrays) {
  const total = arrays.reduce((a, x) => a + x.length, 0);
  const out = new Float64Array(total);
  let offset = 0;
  for (const x of arrays) {
    out.set(x, offset);
    offset += x.length;
  }
  return out;
}

export const median = (values) => {
  const sorted = [...values].filter((v) => v != null && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const fmt = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
export const fmtRatio = (v) => (v == null || Number.isNaN(v) ? '-' : `${v.toFixed(2)}x`);
export const ratio = (a, b) => (a == null || b == null || Number.isNaN(a) || Number.isNaN(b) || b === 0 ? null : a / b);

// ---------------------------------------------------------------------------------------------- build
/** Builds the server when server/dist is missing or older than its sources; returns a warning or null. */
export function ensureBuilt() {
  const at = (paths) => paths.map((p) => path.join(root, p));
  // What `tsc -b` does not compile (tests, the testing helpers) cannot make the build stale.
  const sources = newestMtime(at(['server/src', 'migrations', 'schema/codes.ts', 'server/tsconfig.json', 'tsconfig.base.json']), (p) => p.endsWith('.test.ts') || p.includes(`${path.sep}testing`));
  const built = fs.existsSync(serverEntry) ? newestMtime(at(['server/dist'])) : 0;
  if (built >= sources) return null;
  log('server/dist is missing or older than its sources: npm run build -w server');
  const result = spawnSync('npm', ['run', 'build', '-w', 'server'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status === 0) return null;
  // Work in progress elsewhere in the tree may not compile; the benchmarks do not depend on it.
  if (!fs.existsSync(serverEntry)) throw new Error('npm run build -w server failed and there is no server/dist to run');
  log('WARNING: npm run build -w server failed (see above); running the existing server/dist, which may not match the working tree');
  return 'npm run build -w server failed; the existing server/dist was used';
}

// ---------------------------------------------------------------------------------------------- processes
/** Servers that exited while we still needed them (with their last output). */
export const incidents = [];

/** Everything we started, for cleanup on any exit path. */
export const started = { servers: new Set(), workers: new Set(), dirs: new Set(), closers: new Set() };

export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = procStat(pid);
  return !stat || stat[0] !== 'Z';
}

export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a server in its own process group (so a Ctrl-C on the terminal reaches only us, and we stop it in
 * order: a second signal would make Plansync exit without stopping its PostgreSQL). With `ipc`, the process
 * gets an IPC channel (the memory probe answers on it). `command` runs another program than node (e.g.
 * redis-server, with `nodeArgs` as its arguments); it must exist.
 */
export function startProcess(name, nodeArgs, env, { ipc = false, command = process.execPath } = {}) {
  const child = spawn(command, nodeArgs, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
  let output = '';
  const logFile = process.env.BENCH_LOG_DIR ? path.join(process.env.BENCH_LOG_DIR, `${name}-${Date.now()}.log`) : null;
  const keep = (chunk) => {
    if (logFile) fs.appendFileSync(logFile, chunk);
    output = (output + chunk).slice(-50_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const server = { name, child, pid: child.pid, exited, output: () => output, gone: false, startedAt: now() };
  void exited.then(({ code, signal }) => {
    server.gone = true;
    if (server.stopping) return;
    log(`${name} (pid ${server.pid}) exited unexpectedly (${code ?? signal}); its last output:\n${output.slice(-4000)}`);
    incidents.push({ server: name, at: Math.round(now()), exit: code ?? signal, output: output.slice(-4000) });
  });
  if (ipc) {
    server.pending = new Map();
    child.on('message', (m) => {
      const waiter = m && server.pending.get(m.id);
      if (waiter) {
        server.pending.delete(m.id);
        waiter(m);
      }
    });
    child.on('error', () => undefined);
  }
  started.servers.add(server);
  return server;
}

export async function stopProcess(server, graceMs = 30_000) {
  server.stopping = true;
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

export async function waitForHttp(server, url, timeoutMs, pollMs = 100) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (server.gone) throw new Error(`${server.name} exited before it answered:\n${server.output()}`);
    if (Date.now() > until) throw new Error(`${server.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${server.output()}`);
    const ok = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(pollMs);
  }
}

let probeId = 0;
/**
 * The server's memory after a forced full GC (through the memory probe: --expose-gc and an IPC request), as
 * the median of `samples` probes a little apart. Bytes: rss, heapUsed, heapTotal, external, arrayBuffers.
 */
export async function serverMemory(server, samples = 3) {
  if (!server.pending) throw new Error(`${server.name} was started without the memory probe`);
  const results = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(150);
    const id = `probe-${++probeId}`;
    // A server busy with thousands of closing sockets may take a while to read its IPC channel.
    const cpuBefore = cpuSample(server.pid);
    const reply = Promise.race([
      new Promise((resolve) => server.pending.set(id, resolve)),
      deadline(120_000).then(() => {
        const cpu = cpuSample(server.pid).ownSeconds - cpuBefore.ownSeconds;
        throw new Error(`${server.name} did not answer the memory probe within 120 s (it used ${cpu.toFixed(1)} CPU s meanwhile; ${server.gone ? 'it has exited' : 'still running'}); its last output:\n${server.output().slice(-3000)}`);
      }),
    ]);
    server.child.send({ type: 'bench:memory', id });
    results.push(await reply);
  }
  const pick = (k) => median(results.map((r) => r[k]));
  return { rss: pick('rss'), heapUsed: pick('heapUsed'), heapTotal: pick('heapTotal'), external: pick('external'), arrayBuffers: pick('arrayBuffers'), code: pick('code'), gc: results[0].gc };
}

/**
 * The environment for every server, ours and the references alike: ours, minus anything that would point them
 * elsewhere, with NODE_ENV=production as deployed (the Dockerfile sets it; graphql-js, among others, skips its
 * development-time checks then). The load processes play thousands of people with a few demo tokens, so the
 * cap on sockets per person (MAX_SOCKETS_PER_PERSON, 20 by default) is lifted.
 */
export function serverEnv(extra) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|DATA_DIR|DATABASE_URL|SEED_DEMO|REDIS_URL|LOG_LEVEL|NODE_OPTIONS|NODE_ENV|YPERSISTENCE|GC|SIMULATED_STEP_MS|SIMULATE_FAILURE_STEPS|GRID_IDLE_UNLOAD_MS|MAX_SOCKETS_PER_PERSON)$/.test(k)),
  );
  return { ...env, NODE_ENV: 'production', MAX_SOCKETS_PER_PERSON: '1000000', ...extra };
}

/**
 * node flags for a server: the memory probe, and optionally --cpu-prof into profileDir. BENCH_EXTRA_FLAGS adds
 * flags of your own to every server (a diagnosis: `--trace-gc`, `--import=<a GC observer>`); with BENCH_LOG_DIR
 * each server's output is also kept in a file there (V8's traces go to stdout).
 */
function nodeFlags({ probe, profileDir, exitOnSigterm }) {
  const flags = (process.env.BENCH_EXTRA_FLAGS ?? '').split(' ').filter(Boolean);
  if (probe) flags.push('--expose-gc', `--import=${memoryProbe}`);
  if (profileDir) {
    flags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
    // Profiles are written on a normal exit only: make SIGTERM one (for servers without a handler of their own).
    if (exitOnSigterm) flags.push(`--import=data:text/javascript,process.on('SIGTERM',()=>process.exit(0))`);
  }
  return flags;
}

/**
 * Starts Plansync (embedded PostgreSQL in a fresh temporary DATA_DIR) and waits for /healthz.
 * Returns the server with url, dataDir, and readyMs (spawn to the first 200 from /healthz). `entry`: the server's
 * main.js, server/dist's by default; another build's for an A/B of code (bench/grid-ab.mjs --b-entry).
 */
export async function startPlansync({ env = {}, probe = false, profileDir = null, pollMs = 100, name = 'plansync', entry = serverEntry } = {}) {
  const port = await freePort();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'plansync-bench-'));
  started.dirs.add(dataDir);
  if (profileDir) await fsp.mkdir(profileDir, { recursive: true });
  const t0 = now();
  // The request limit (RATE_LIMIT_PER_MINUTE, 1200 a person by default) stays on, so that its cost is measured,
  // but high enough that a benchmark's thousands of requests a second as one person are never refused.
  const limits = { RATE_LIMIT_PER_MINUTE: '1000000000' };
  const server = startProcess(name, [...nodeFlags({ probe, profileDir }), entry], serverEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...limits, ...env }), {
    ipc: probe,
  });
  server.url = `http://127.0.0.1:${port}`;
  server.dataDir = dataDir;
  server.profileDir = profileDir;
  await waitForHttp(server, `${server.url}/healthz`, 180_000, pollMs);
  server.readyMs = now() - t0;
  return server;
}

/** Starts the reference y-websocket@1.5.4 server and waits until it answers HTTP. */
export async function startReference({ probe = false, profileDir = null, pollMs = 100, name = 'reference', entry = referenceEntry } = {}) {
  if (!fs.existsSync(entry)) throw new Error(`${entry} is missing: npm i -D y-websocket-reference@npm:y-websocket@1.5.4`);
  const port = await freePort();
  if (profileDir) await fsp.mkdir(profileDir, { recursive: true });
  const t0 = now();
  const server = startProcess(name, [...nodeFlags({ probe, profileDir, exitOnSigterm: true }), entry], serverEnv({ PORT: String(port), HOST: '127.0.0.1' }), { ipc: probe });
  server.url = `http://127.0.0.1:${port}`;
  server.profileDir = profileDir;
  await waitForHttp(server, server.url, 30_000, pollMs);
  server.readyMs = now() - t0;
  return server;
}

/** Starts one of our own reference servers (a script under bench/), which prints `listening <port>`. */
export async function startScript(name, script, { env = {}, probe = false, profileDir = null } = {}) {
  const port = await freePort();
  if (profileDir) await fsp.mkdir(profileDir, { recursive: true });
  const t0 = now();
  const server = startProcess(name, [...nodeFlags({ probe, profileDir, exitOnSigterm: true }), path.join(benchDir, script)], serverEnv({ PORT: String(port), HOST: '127.0.0.1', ...env }), {
    ipc: probe,
  });
  server.url = `http://127.0.0.1:${port}`;
  server.profileDir = profileDir;
  await waitForHttp(server, `${server.url}/healthz`, 30_000, 50);
  server.readyMs = now() - t0;
  return server;
}

/** The embedded database of a Plansync DATA_DIR, as pg connection options for the `plansync` database. */
export function plansyncDatabase(dataDir) {
  return {
    host: '127.0.0.1',
    port: Number(fs.readFileSync(path.join(dataDir, 'postgres.port'), 'utf8').trim()),
    user: 'postgres',
    password: fs.readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim(),
    database: 'plansync',
  };
}

export async function graphql(baseUrl, query, variables, token) {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function login(baseUrl, email, password = 'plansync-demo') {
  const { login: result } = await graphql(baseUrl, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
  return result.token;
}

// ---------------------------------------------------------------------------------------------- cleanup
let cleaningUp = null;
/** Stops everything we started (closers first: client connections held by this process). */
export async function cleanup() {
  cleaningUp ??= (async () => {
    for (const close of [...started.closers]) {
      try {
        await close();
      } catch {}
    }
    started.closers.clear();
    for (const w of [...started.workers]) if (!w.gone) w.child.kill('SIGKILL');
    await Promise.all([...started.servers].map((s) => stopProcess(s)));
    for (const dir of started.dirs) await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleaningUp;
}

/** Signal handlers and a last-resort exit hook: no process of ours outlives us, no temp dir stays. */
export function installCleanup() {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      log(`${signal}: stopping servers and load processes`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  process.on('exit', () => {
    for (const w of started.workers) if (!w.gone) w.child.kill('SIGKILL');
    for (const s of started.servers) {
      try {
        process.kill(-s.pid, 'SIGKILL');
      } catch {}
    }
    for (const dir of started.dirs) fs.rmSync(dir, { recursive: true, force: true });
  });
}

/** Runs an entry point's main(): an error is printed and sets exit code 1; cleanup() runs in every case. */
export async function runMain(main) {
  try {
    await main();
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

// ---------------------------------------------------------------------------------------------- command line
/** The entry points' options: `flag('quick')` for --quick, `option('workers', '4')` for --workers=<value>. */
export function commandLine(args = process.argv.slice(2)) {
  const flag = (name) => args.includes(`--${name}`);
  const option = (name, fallback) => {
    const hit = args.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : fallback;
  };
  return { args, flag, option };
}

/** Prints an entry point's leading comment (its usage; `fileUrl`: its import.meta.url) and exits. */
export function printUsageAndExit(fileUrl) {
  console.log(fs.readFileSync(fileURLToPath(fileUrl), 'utf8').split('\nimport ')[0].replace(/^#!.*\n/, '').replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------- machine
export function machineInfo() {
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
    gitDirty: (() => {
      try {
        return execFileSync('git', ['status', '--porcelain', '--', 'server', 'migrations'], { cwd: root, encoding: 'utf8' }).trim().length > 0;
      } catch {
        return null;
      }
    })(),
  };
}

/**
 * Waits until the machine is quiet: the 1-minute load average below `threshold`, or the machine under 15%
 * busy (all processes) for `idleSeconds` in a row (the load average lags by a minute behind our own previous
 * scenario, which has stopped). Gives up after maxWaitMs. Returns what it saw.
 */
export async function waitForQuiet({ threshold = 1.5, maxWaitMs = 180_000, idleSeconds = 10 } = {}) {
  const start = Date.now();
  const before = os.loadavg()[0];
  let quietFor = 0;
  let last = machineCpu();
  for (;;) {
    const load = os.loadavg()[0];
    if (load < threshold) return { load1m: load, loadAtStart: before, waitedMs: Date.now() - start, quiet: true, reason: 'load average' };
    if (quietFor >= idleSeconds) return { load1m: load, loadAtStart: before, waitedMs: Date.now() - start, quiet: true, reason: `machine under 15% busy for ${idleSeconds} s` };
    if (Date.now() - start >= maxWaitMs) return { load1m: load, loadAtStart: before, waitedMs: Date.now() - start, quiet: false, reason: 'gave up waiting' };
    await sleep(1000);
    const cpu = machineCpu();
    quietFor = busyShare(last, cpu) < 0.15 ? quietFor + 1 : 0;
    last = cpu;
  }
}

// ---------------------------------------------------------------------------------------------- profiles
/** Self time by function (and by package) during the given windows of CLOCK_MONOTONIC microseconds. */
export function summarizeProfile(file, windows) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let t = profile.startTime;
  let inWindows = 0;
  const counts = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const delta = profile.timeDeltas[i + 1] ?? 0; // time until the next sample is this sample's weight
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

/** The profile file a server wrote into its profileDir as it exited (null if none). */
export function newProfile(profileDir, before) {
  if (!profileDir) return null;
  const fresh = fs
    .readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => path.join(profileDir, f));
  return fresh[0] ?? null;
}
