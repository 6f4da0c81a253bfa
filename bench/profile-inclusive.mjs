#!/usr/bin/env node
// Where a server's CPU went in measurement windows, from a V8 CPU profile: time by the package of the function
// running (self time), and inclusive time of the functions of our own code (server/dist) or of any frame matching
// --match, each sample counted once per function on its stack. Answers "how much does the projection, the
// store, the sends cost, everything under them included", which self time alone does not.
//
//   node bench/profile-inclusive.mjs <file.cpuprofile> [--windows=<windows.json>:<server>] [--top=40] [--match=regex]
//
// windows.json as bench/grid-ab.mjs --cpu-prof writes it: { server: [[startMicros, endMicros], ...] }.
import fs from 'node:fs';

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: node bench/profile-inclusive.mjs <file.cpuprofile> [--windows=<windows.json>:<server>] [--top=40] [--match=regex]');
  process.exit(2);
}
const [windowsFile, windowsOf] = (option('windows', '') || ':').split(':');
const windows = windowsFile ? JSON.parse(fs.readFileSync(windowsFile, 'utf8'))[windowsOf] : [];
const top = Number(option('top', '40'));
const match = option('match', null);
const ours = match ? new RegExp(match) : /\/server\/dist\//;

const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const label = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/.*\/server\/dist\//, '')}:${cf.lineNumber + 1}`;
const pkgOf = (cf) => {
  if (['(idle)', '(program)', '(garbage collector)'].includes(cf.functionName)) return cf.functionName;
  if (!cf.url) return '(native/V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(cf.url);
  if (m) return m[1];
  if (cf.url.startsWith('node:')) return 'node core';
  if (cf.url.includes('/server/dist/')) return 'plansync';
  return cf.url.split('/').slice(-2).join('/');
};

/** Per node: the labels of our functions on its stack (each once). */
const stackCache = new Map();
function oursOnStack(id) {
  let labels = stackCache.get(id);
  if (labels) return labels;
  const set = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const cf = byId.get(at).callFrame;
    if (cf.url && ours.test(cf.url)) set.add(label(cf));
  }
  labels = [...set];
  stackCache.set(id, labels);
  return labels;
}

const weightOf = new Map();
let t = profile.startTime;
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  const weight = profile.timeDeltas[i + 1] ?? 0;
  if (windows.length && !windows.some(([a, b]) => t >= a && t <= b)) continue;
  total += weight;
  weightOf.set(profile.samples[i], (weightOf.get(profile.samples[i]) ?? 0) + weight);
}
const byPackage = new Map();
const inclusive = new Map();
let busy = 0;
for (const [id, weight] of weightOf) {
  const cf = byId.get(id).callFrame;
  const pkg = pkgOf(cf);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + weight);
  if (pkg !== '(idle)') busy += weight;
  for (const name of oursOnStack(id)) inclusive.set(name, (inclusive.get(name) ?? 0) + weight);
}
const ms = (micros) => (micros / 1000).toFixed(1).padStart(8);
console.log(`windows: ${windows.length || 'whole profile'}; sampled ${ms(total)} ms, busy ${ms(busy)} ms`);
console.log('\nself time by package:');
for (const [name, w] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${ms(w)} ms  ${name}`);
console.log(`\ninclusive time of ${match ? `frames matching ${match}` : 'our functions'}:`);
for (const [name, w] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(w)} ms  ${name}`);
