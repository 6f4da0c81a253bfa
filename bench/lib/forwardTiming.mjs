// A grid server's own share of an edit's way from one person to the next: the time from a message's arrival (ws
// has read its frame) to the last write of the broadcast it started, to every connection of its document. Plansync
// keeps it as the Prometheus histogram `plansync_grid_forward_seconds` (server/src/collab/arrivalClock.ts); the
// reference y-websocket@1.5.4 server keeps nothing of the kind, so the bench runs a timed copy of it (its bin/,
// with a clock read where a message arrives and after each broadcast's sends, counted in the same buckets) beside
// the untouched one. Both are read the same way and their quantiles interpolated within the same buckets, so they
// compare; the buckets are fine below a millisecond, where a broadcast to tens of connections falls.
import fs from 'node:fs';
import path from 'node:path';
import { root } from './common.mjs';

/** The upper bounds of the buckets, seconds: the same as the server's (server/src/collab/gridMetrics.ts). */
export const FORWARD_BUCKETS = [0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const referenceBin = path.join(root, 'node_modules/y-websocket-reference/bin');
// Inside node_modules, so that the copy's require()s find the reference's own dependencies.
const timedBin = path.join(root, 'node_modules/.cache/plansync-bench/timed-reference/bin');

/** Replaces `from` in `text` once, or throws: the copy must be timed where this module says, or not run at all. */
function patch(text, from, to, file) {
  if (text.split(from).length !== 2) throw new Error(`timed reference: ${file} of y-websocket-reference is not the 1.5.4 this patch knows (${JSON.stringify(from.slice(0, 60))})`);
  return text.replace(from, to);
}

/** The entry (server.js) of the timed copy of the reference, written afresh from the installed reference. */
export function timedReferenceEntry() {
  fs.rmSync(timedBin, { recursive: true, force: true });
  fs.mkdirSync(timedBin, { recursive: true });
  for (const file of fs.readdirSync(referenceBin)) fs.copyFileSync(path.join(referenceBin, file), path.join(timedBin, file));
  const utilsFile = path.join(timedBin, 'utils.js');
  let utils = fs.readFileSync(utilsFile, 'utf8');
  utils = patch(
    utils,
    "const Y = require('yjs')",
    `const Y = require('yjs')
// Timed (Plansync's bench, bench/lib/forwardTiming.mjs): a message's arrival to the end of the broadcast it starts.
const FORWARD_BUCKETS = ${JSON.stringify(FORWARD_BUCKETS)}
const forwardCounts = new Array(FORWARD_BUCKETS.length).fill(0)
let forwardCount = 0
let forwardSum = 0
let arrivedAt = 0n
const forwarded = () => {
  if (arrivedAt === 0n) return
  const seconds = Number(process.hrtime.bigint() - arrivedAt) / 1e9
  arrivedAt = 0n
  forwardCount++
  forwardSum += seconds
  for (let i = 0; i < FORWARD_BUCKETS.length; i++) if (seconds <= FORWARD_BUCKETS[i]) forwardCounts[i]++
}
exports.forwardTiming = () => ({ buckets: FORWARD_BUCKETS.map((le, i) => ({ le, count: forwardCounts[i] })), count: forwardCount, sum: forwardSum })`,
    'utils.js',
  );
  utils = patch(utils, '  doc.conns.forEach((_, conn) => send(doc, conn, message))\n}', '  doc.conns.forEach((_, conn) => send(doc, conn, message))\n  forwarded()\n}', 'utils.js');
  utils = patch(utils, '      this.conns.forEach((_, c) => {\n        send(this, c, buff)\n      })\n', '      this.conns.forEach((_, c) => {\n        send(this, c, buff)\n      })\n      forwarded()\n', 'utils.js');
  utils = patch(
    utils,
    "conn.on('message', /** @param {ArrayBuffer} message */ message => messageListener(conn, doc, new Uint8Array(message)))",
    "conn.on('message', /** @param {ArrayBuffer} message */ message => { arrivedAt = process.hrtime.bigint(); try { messageListener(conn, doc, new Uint8Array(message)) } finally { arrivedAt = 0n } })",
    'utils.js',
  );
  fs.writeFileSync(utilsFile, utils);
  const serverFile = path.join(timedBin, 'server.js');
  const server = patch(
    fs.readFileSync(serverFile, 'utf8'),
    "const server = http.createServer((request, response) => {\n",
    "const server = http.createServer((request, response) => {\n  if (request.url === '/forward-timing') return response.end(JSON.stringify(require('./utils.js').forwardTiming()))\n",
    'server.js',
  );
  fs.writeFileSync(serverFile, server);
  return serverFile;
}

/** The timed copy's counts so far: { buckets: [{ le, count }] (cumulative), count, sum }. */
export async function readTimedReference(server) {
  return (await fetch(`${server.url}/forward-timing`)).json();
}

/** Plansync's `plansync_grid_forward_seconds` so far, from /metrics (loopback: no token needed), as above. */
export async function readPlansyncForward(server) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (pattern) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    buckets: FORWARD_BUCKETS.map((le) => ({ le, count: value(`plansync_grid_forward_seconds_bucket\\{le="${le}"\\}`) })),
    count: value('plansync_grid_forward_seconds_count'),
    sum: value('plansync_grid_forward_seconds_sum'),
  };
}

/**
 * What was counted between two readings: how many, the mean, and the 50th, 90th and 99th percentiles in
 * microseconds, each interpolated linearly within its bucket (as Prometheus's histogram_quantile does); null when
 * the percentile falls beyond the last bucket.
 */
export function forwardBetween(before, after) {
  const count = after.count - before.count;
  if (!(count > 0)) return { count: 0, meanUs: null, p50Us: null, p90Us: null, p99Us: null };
  const cumulative = after.buckets.map((b, i) => b.count - before.buckets[i].count);
  const quantile = (q) => {
    const rank = q * count;
    for (let i = 0; i < cumulative.length; i++) {
      if (cumulative[i] < rank) continue;
      const below = i === 0 ? 0 : cumulative[i - 1];
      const lower = i === 0 ? 0 : FORWARD_BUCKETS[i - 1];
      const inBucket = cumulative[i] - below;
      return 1e6 * (lower + (FORWARD_BUCKETS[i] - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1));
    }
    return null;
  };
  return { count, meanUs: (1e6 * (after.sum - before.sum)) / count, p50Us: quantile(0.5), p90Us: quantile(0.9), p99Us: quantile(0.99) };
}
