#!/usr/bin/env node
// What the CPUs were doing while the slowest grid updates waited (issue 16, the 50-writer p99). Runs
// bench/grid-ab.mjs (Plansync a and b, the reference; same build unless told otherwise) with every delivery
// recorded (TRACE_DELIVERIES: each load process writes, per run, every update's send time, delay and writer), and
// the kernel's scheduler traced meanwhile (ftrace's sched_switch through tracefs: which task ran on which CPU,
// to the microsecond, for every process on the machine). Then, for each server, it takes the updates whose FIRST
// delivery came later than --threshold ms (the whole update was late, for every receiver: what makes the p99 at
// this rate, about one update in a hundred) and adds up who held the two CPUs between the update's send and its
// first delivery, against the same over every update. Not part of the suite: it needs root (tracefs) and writes
// nothing under bench/results unless --out is given.
//
//   sudo node bench/tail-trace.mjs [--rounds=2] [--threshold=3] [--out=<file.md>] [grid-ab options...]
//
// Who is who: Plansync's processes (server/dist/server/src/main.js; its main thread apart from its other
// threads: V8's compiler and GC helpers, libuv's pool) and their descendants (its embedded PostgreSQL), the
// reference server, the load processes (bench/grid-light-worker.mjs), the bench process itself (grid-ab.mjs: it
// holds the keeper connections), and everything else on the machine (kernel threads, other services).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const TRACING = '/sys/kernel/tracing';
const option = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const rounds = Number(option('rounds', '2'));
const threshold = Number(option('threshold', '3'));
const out = option('out', null);
const passOn = process.argv.slice(2).filter((a) => !/^--(rounds|threshold|out)=/.test(a));

// ---------------------------------------------------------------------------------------------- tracing
const write = (file, text) => fs.writeFileSync(path.join(TRACING, file), text);
function startTracing() {
  if (!fs.existsSync(path.join(TRACING, 'trace'))) {
    const mounted = spawn('mount', ['-t', 'tracefs', 'nodev', TRACING], { stdio: 'inherit' });
    return new Promise((resolve, reject) => mounted.on('exit', (code) => (code === 0 ? resolve(startTracing()) : reject(new Error(`cannot mount tracefs at ${TRACING} (root needed)`)))));
  }
  write('tracing_on', '0');
  write('trace_clock', 'mono');
  write('buffer_size_kb', String(Math.max(100_000, rounds * 150_000)));
  write('options/record-tgid', '1');
  write('set_event', 'sched:sched_switch\n');
  write('trace', '');
  write('tracing_on', '1');
  return Promise.resolve();
}

/** Marks the wall clock in the trace every second, to map the trace's monotonic clock onto the bench's epoch ms. */
function markEpochs() {
  const fd = fs.openSync(path.join(TRACING, 'trace_marker'), 'w');
  const mark = () => fs.writeSync(fd, `EPOCH ${(performance.timeOrigin + performance.now()).toFixed(3)}\n`);
  mark();
  const timer = setInterval(mark, 1000);
  return () => {
    clearInterval(timer);
    mark();
    fs.closeSync(fd);
  };
}

/** Every process's parent and command line, sampled while the run goes (processes come and go between runs). */
function watchProcesses() {
  const seen = new Map();
  const sample = () => {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      if (seen.has(Number(pid))) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        seen.set(Number(pid), { parent, cmd });
      } catch {
        // gone already
      }
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return () => {
    clearInterval(timer);
    return seen;
  };
}

// ---------------------------------------------------------------------------------------------- the run
const traceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plansync-tail-'));
await startTracing();
const stopMarks = markEpochs();
const stopWatching = watchProcesses();
const abOutput = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'grid-ab.mjs'), `--rounds=${rounds}`, ...passOn], {
    env: { ...process.env, TRACE_DELIVERIES: traceDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its runs are told on stderr (the bench's log), its summary on stdout: both are read for "round N <server>".
  let text = '';
  child.stdout.on('data', (chunk) => {
    text += chunk;
    process.stdout.write(chunk);
  });
  child.stderr.on('data', (chunk) => {
    text += chunk;
    process.stderr.write(chunk);
  });
  child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`grid-ab exited with ${code}`))));
});
stopMarks(); // before tracing stops: the marker file refuses writes (EBADF) once it has
write('tracing_on', '0');
const processes = stopWatching();
const traceText = fs.readFileSync(path.join(TRACING, 'trace'), 'utf8');
write('trace', '');

// ---------------------------------------------------------------------------------------------- reading
const switches = [];
const marks = [];
const tgidOf = new Map();
const line = /^\s*.+?-(\d+)\s+\(\s*(\d+|-+)\)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\S+):\s+(.*)$/;
for (const text of traceText.split('\n')) {
  const m = line.exec(text);
  if (!m) continue;
  const [, pid, tgid, cpu, seconds, event, rest] = m;
  if (/^\d+$/.test(tgid)) tgidOf.set(Number(pid), Number(tgid));
  const at = Number(seconds) * 1000;
  if (event === 'sched_switch') switches.push({ cpu: Number(cpu), at, next: Number(/next_pid=(\d+)/.exec(rest)[1]) });
  else if (event === 'tracing_mark_write' && rest.startsWith('EPOCH')) marks.push({ at, epoch: Number(rest.slice(6)) });
}
if (marks.length === 0 || switches.length === 0) throw new Error('the trace holds no scheduler events or no clock marks');
/** epoch ms = trace ms + offset */
const offset = marks.reduce((sum, m) => sum + (m.epoch - m.at), 0) / marks.length;

/** Who ran on each CPU, as [from, to, tid] stretches. */
const stretches = new Map();
const current = new Map();
for (const s of switches) {
  const was = current.get(s.cpu);
  if (was) (stretches.get(s.cpu) ?? stretches.set(s.cpu, []).get(s.cpu)).push([was.at, s.at, was.next]);
  current.set(s.cpu, s);
}

const roleOfProcess = new Map();
const isUnder = (pid, ancestor) => {
  for (let p = processes.get(pid)?.parent; p; p = processes.get(p)?.parent) if (p === ancestor) return true;
  return false;
};
const plansyncPids = [...processes].filter(([, p]) => p.cmd.includes('server/dist/server/src/main.js')).map(([pid]) => pid);
for (const [pid, { cmd }] of processes) {
  let role = null;
  if (plansyncPids.includes(pid)) role = 'plansync';
  else if (plansyncPids.some((p) => isUnder(pid, p))) role = "Plansync's PostgreSQL";
  else if (cmd.includes('y-websocket-reference/bin/server.js')) role = 'reference';
  else if (cmd.includes('grid-light-worker.mjs')) role = 'load processes';
  else if (cmd.includes('grid-ab.mjs')) role = 'bench (keepers)';
  if (role) roleOfProcess.set(pid, role);
}
function roleOf(tid) {
  if (tid === 0) return 'idle';
  const tgid = tgidOf.get(tid) ?? tid;
  const role = roleOfProcess.get(tgid);
  if (!role) return 'other (kernel, services)';
  if (role === 'plansync' || role === 'reference') return tid === tgid ? `${role}: main thread` : `${role}: other threads`;
  return role;
}

/** CPU ms per role over [from, to) (epoch ms), both CPUs. */
function occupancy(from, to, into) {
  const a = from - offset;
  const b = to - offset;
  for (const list of stretches.values()) {
    for (const [s, e, tid] of list) {
      if (e <= a || s >= b) continue;
      const role = roleOf(tid);
      into.set(role, (into.get(role) ?? 0) + Math.min(e, b) - Math.max(s, a));
    }
  }
}

// Runs, in the order grid-ab ran them (its "round N <server>:" lines), and the load processes' files per run.
const runServers = [...abOutput.matchAll(/round \d+ (\S+): p50/g)].map((m) => m[1]);
const files = fs
  .readdirSync(traceDir)
  .map((f) => ({ f, t: Number(f.split('-')[1].replace('.json', '')) }))
  .sort((x, y) => x.t - y.t);
const perRun = Math.round(files.length / Math.max(1, runServers.length));
const byServer = new Map();
runServers.forEach((server, r) => {
  const updates = new Map();
  for (const { f } of files.slice(r * perRun, (r + 1) * perRun)) {
    const { epoch, trace } = JSON.parse(fs.readFileSync(path.join(traceDir, f), 'utf8'));
    for (let i = 0; i < trace.length; i += 4) {
      const key = `${trace[i + 2]}:${trace[i]}`;
      const u = updates.get(key) ?? updates.set(key, { sentAt: trace[i] + epoch, first: Infinity }).get(key);
      u.first = Math.min(u.first, trace[i + 1]);
    }
  }
  const entry = byServer.get(server) ?? byServer.set(server, { updates: 0, slow: 0, slowMs: 0, allMs: 0, inSlow: new Map(), inAll: new Map() }).get(server);
  for (const u of updates.values()) {
    entry.updates += 1;
    entry.allMs += u.first;
    occupancy(u.sentAt, u.sentAt + u.first, entry.inAll);
    if (u.first > threshold) {
      entry.slow += 1;
      entry.slowMs += u.first;
      occupancy(u.sentAt, u.sentAt + u.first, entry.inSlow);
    }
  }
});

// ---------------------------------------------------------------------------------------------- report
const roles = [...new Set([...byServer.values()].flatMap((e) => [...e.inSlow.keys(), ...e.inAll.keys()]))].sort();
const share = (map, role, total) => (total > 0 ? `${((100 * (map.get(role) ?? 0)) / total).toFixed(0)}%` : '-');
const lines = [
  `# Who held the CPUs while the slowest updates waited`,
  '',
  `\`node bench/tail-trace.mjs --rounds=${rounds} --threshold=${threshold}\` on ${new Date().toISOString()}: bench/grid-ab.mjs (50 writers unless told otherwise), every delivery recorded, the scheduler traced (sched_switch). "Slow": updates whose first delivery came more than ${threshold} ms after the send. CPU time is summed over both CPUs from each update's send to its first delivery (2 CPU-ms per ms of delay); "all" is the same over every update.`,
  '',
  `| server | updates | slow | mean delay, slow / all (ms) | ${roles.map((r) => `${r}: slow / all`).join(' | ')} |`,
  `|---|---|---|---|${roles.map(() => '---|').join('')}`,
];
for (const [server, e] of byServer) {
  const slowCpu = [...e.inSlow.values()].reduce((a, b) => a + b, 0);
  const allCpu = [...e.inAll.values()].reduce((a, b) => a + b, 0);
  lines.push(`| ${server} | ${e.updates} | ${e.slow} | ${(e.slowMs / Math.max(1, e.slow)).toFixed(2)} / ${(e.allMs / Math.max(1, e.updates)).toFixed(2)} | ${roles.map((r) => `${share(e.inSlow, r, slowCpu)} / ${share(e.inAll, r, allCpu)}`).join(' | ')} |`);
}
const report = lines.join('\n') + '\n';
console.log('\n' + report);
if (out) fs.writeFileSync(out, report);
fs.rmSync(traceDir, { recursive: true, force: true });
