#!/usr/bin/env node
// The main thread's long stretches of work in measurement windows, from a V8 CPU profile: every run of
// consecutive samples that are not (idle), its length, and for the long ones what ran in them. An update that
// reaches a server while its main thread is inside such a stretch waits for the stretch to end, so the longest
// stretches, not the total CPU, are what a quiet machine's p99 at a low update rate is made of (issue 16: at 50
// writers Plansync's p99 stayed above that of a floor spending as much CPU per update, in one short spin per
// update).
//
//   node bench/long-tasks.mjs <file.cpuprofile> [--windows=<windows.json>:<server>] [--long-ms=2] [--top=15] [--each=N]
//
// windows.json as bench/grid-ab.mjs --cpu-prof writes it: { server: [[startMicros, endMicros], ...] }. Profile with
// a short sampling interval (BENCH_EXTRA_FLAGS=--cpu-prof-interval=100) for stretches of a few milliseconds.
import fs from 'node:fs';

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: node bench/long-tasks.mjs <file.cpuprofile> [--windows=<windows.json>:<server>] [--long-ms=2] [--top=15]');
  process.exit(2);
}
const [windowsFile, windowsOf] = (option('windows', '') || ':').split(':');
const windows = windowsFile ? JSON.parse(fs.readFileSync(windowsFile, 'utf8'))[windowsOf] : [];
const longMicros = 1000 * Number(option('long-ms', '2'));
const top = Number(option('top', '15'));
const each = Number(option('each', '0')); // list the N longest stretches one by one

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const label = (cf) =>
  `${cf.functionName || '(anonymous)'}${cf.url ? ` ${cf.url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/.*\/server\/dist\//, '')}:${cf.lineNumber + 1}` : ''}`;
/** The outermost frame of our own code on a sample's stack, or its outermost frame with a name. */
const entryOf = new Map();
const entry = (id) => {
  if (entryOf.has(id)) return entryOf.get(id);
  let outermostOurs = null;
  let outermostNamed = null;
  for (let at = id; at != null; at = parentOf.get(at)) {
    const cf = byId.get(at).callFrame;
    if (cf.url.includes('/server/dist/')) outermostOurs = label(cf);
    if (cf.functionName && cf.functionName !== '(root)') outermostNamed = label(cf);
  }
  const result = outermostOurs ?? outermostNamed ?? '(root)';
  entryOf.set(id, result);
  return result;
};
const inWindow = (t) => !windows.length || windows.some(([a, b]) => t >= a && t <= b);

const stretches = [];
let current = null;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  const weight = profile.timeDeltas[i + 1] ?? 0;
  const node = byId.get(profile.samples[i]);
  const idle = node.callFrame.functionName === '(idle)';
  if (idle || !inWindow(t)) {
    if (current) stretches.push(current);
    current = null;
    continue;
  }
  current ??= { start: t, micros: 0, self: new Map(), entries: new Map() };
  current.micros += weight;
  const self = label(node.callFrame);
  current.self.set(self, (current.self.get(self) ?? 0) + weight);
  const outer = entry(profile.samples[i]);
  current.entries.set(outer, (current.entries.get(outer) ?? 0) + weight);
}
if (current) stretches.push(current);

const total = stretches.reduce((a, s) => a + s.micros, 0);
const bounds = [0.5, 1, 2, 3, 5, 10, Infinity];
console.log(`${file}${windowsOf ? ` (${windowsOf})` : ''}: ${stretches.length} busy stretches, ${(total / 1000).toFixed(0)} ms busy`);
let low = 0;
for (const high of bounds) {
  const these = stretches.filter((s) => s.micros >= low * 1000 && s.micros < high * 1000);
  const ms = these.reduce((a, s) => a + s.micros, 0) / 1000;
  console.log(`  ${low}-${high} ms: ${these.length} stretches, ${ms.toFixed(0)} ms`);
  low = high;
}
const long = stretches.filter((s) => s.micros >= longMicros).sort((a, b) => b.micros - a.micros);
const sum = (maps) => {
  const out = new Map();
  for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
  return [...out.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
};
console.log(`\n  ${long.length} stretches of ${longMicros / 1000} ms or more; the longest: ${long.slice(0, 10).map((s) => (s.micros / 1000).toFixed(1)).join(', ')} ms`);
console.log('  in them, by outermost frame of ours (else outermost named frame):');
for (const [name, micros] of sum(long.map((s) => s.entries))) console.log(`    ${(micros / 1000).toFixed(1).padStart(8)} ms  ${name}`);
console.log('  in them, self time:');
for (const [name, micros] of sum(long.map((s) => s.self))) console.log(`    ${(micros / 1000).toFixed(1).padStart(8)} ms  ${name}`);
for (const stretch of long.slice(0, each)) {
  const parts = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, micros]) => `${(micros / 1000).toFixed(1)} ${name}`).join('; ');
  console.log(`\n  ${(stretch.micros / 1000).toFixed(1)} ms at ${((stretch.start - profile.startTime) / 1e6).toFixed(3)} s:\n    outer: ${parts(stretch.entries)}\n    self: ${parts(stretch.self)}`);
}
