#!/usr/bin/env node
// What one grid edit costs a server's main thread before and after its sends, the sends themselves left out
// (issue 16, the 50-writer target): the reference y-websocket server's work per update (Y.applyUpdate on its
// Y.Doc, whose 'update' event encodes the sync message it then writes to every socket) against Plansync's
// (server/dist GridDocument: the check and send-ahead of a writer's cell edit, the turn's framing, then the
// apply in a validated transaction; its storage and projection parts are left empty, a queue push each in the
// server). The same 50 writers' cell edits, in the same order, for both, measured in three states:
//   fresh    the first 600 edits a new process applies: V8 has not optimized the code yet, as for a server's first
//            minutes at 50 edits a second (bench/jit-settle.mjs);
//   hot      edits 600-20,600, one after the other: optimized, in cache;
//   evicted  the same as hot, with 8 MB of memory walked between edits, as the sends, the other processes and
//            PostgreSQL evict a server's data between two edits 20 ms apart on a shared machine.
// The document has PAST_WRITERS (default 250) earlier writers' client ids, as the bench's does after five runs:
// every Yjs transaction walks them (its state vectors before and after). Each variant runs in a process of its own, so that neither warms the other's code. Not part of the suite.
// PER_TURN (default 1): how many edits arrive in one event-loop turn. Plansync sends a turn's edits together and
// applies them in one transaction (GridDocument.settle, since issue 16 stop 44); the reference applies each
// update as it reads it, whatever the turn.
//
//   node bench/pipeline-micro.mjs            (npm run build -w server first)
//   PER_TURN=4 PAST_WRITERS=1000 node bench/pipeline-micro.mjs
//   PLANSYNC_DIST=path/to/other/server/dist node bench/pipeline-micro.mjs     (another build's GridDocument)
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [variant] = process.argv.slice(2);
const FRESH = 600;
const HOT = 20_000;
const EVICTED = 2_000;
/** Writers the document had before (each run of the bench's grid scenario brings 50 new client ids). */
const PAST_WRITERS = Number(process.env.PAST_WRITERS ?? 250);
/** Edits per event-loop turn (each writer's next edit is 50 edits later: those of a turn never build on each other). */
const PER_TURN = Math.max(1, Math.min(50, Number(process.env.PER_TURN ?? 1)));

if (!variant) {
  const results = {};
  for (const name of ['reference', 'plansync']) {
    results[name] = await new Promise((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [name], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', resolve);
      child.on('exit', (code) => code !== 0 && reject(new Error(`${name} exited with ${code}`)));
    });
  }
  console.log(`${PAST_WRITERS} past writers, ${PER_TURN} edit(s) per turn`);
  console.log('| state | reference, us per edit | Plansync, us per edit | Plansync / reference |');
  console.log('|---|---|---|---|');
  for (const state of ['fresh', 'hot', 'evicted']) {
    const r = results.reference[state];
    const p = results.plansync[state];
    console.log(`| ${state} | ${r.toFixed(1)} | ${p.toFixed(1)} | ${(p / r).toFixed(2)}x |`);
  }
} else {
  const Y = await import('yjs');
  const encoding = await import('lib0/encoding');
  const lines = Array.from({ length: 120 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const edits = writersEdits(Y, lines, FRESH + HOT + EVICTED);
  const junk = new Float64Array(1 << 20); // 8 MB
  const evict = () => {
    let sum = 0;
    for (let i = 0; i < junk.length; i += 8) sum += junk[i]++;
    return sum;
  };
  const history = pastWriters(Y, lines, PAST_WRITERS);
  const apply = variant === 'reference' ? referenceApply(Y, encoding, history) : await plansyncApply(lines, history);
  const measure = (from, to, between) => {
    let ns = 0n;
    for (let k = from; k < to; k++) {
      between?.();
      const start = process.hrtime.bigint();
      apply(edits[k], k);
      ns += process.hrtime.bigint() - start;
    }
    return Number(ns) / 1e3 / (to - from);
  };
  // Whole turns in each state (FRESH, HOT and EVICTED are multiples of every PER_TURN that divides 200; others
  // end a state mid-turn, its last edits then applied at the next state's first turn end).
  const fresh = measure(0, FRESH);
  const hot = measure(FRESH, FRESH + HOT);
  const evicted = measure(FRESH + HOT, FRESH + HOT + EVICTED, evict);
  process.send({ fresh, hot, evicted }, () => process.exit(0));
}

/** 50 writers, each setting a cell of its own line in turn: each edit as the Yjs update its writer sent. */
function writersEdits(Y, lines, count) {
  const writers = Array.from({ length: 50 }, (_, i) => {
    const doc = new Y.Doc();
    doc.clientID = 1000 + i;
    return doc;
  });
  const edits = [];
  for (let k = 0; k < count; k++) {
    const writer = writers[k % writers.length];
    let update;
    const keep = (u) => (update = u);
    writer.on('update', keep);
    writer.getMap('cells').set(`${lines[k % writers.length]}/budgetAmount`, k);
    writer.off('update', keep);
    edits.push(update);
    // Every writer sees every edit, as the server's clients do: a writer's next edit deletes what it replaces.
    for (const other of writers) if (other !== writer) Y.applyUpdate(other, update);
  }
  return edits;
}

/** The document's past: `count` writers that each set one cell once, as one stored update. */
function pastWriters(Y, lines, count) {
  const doc = new Y.Doc();
  for (let i = 0; i < count; i++) {
    const writer = new Y.Doc();
    writer.clientID = 100_000 + i;
    Y.applyUpdate(writer, Y.encodeStateAsUpdate(doc));
    writer.getMap('cells').set(`${lines[i % lines.length]}/forecastSales`, i);
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(writer));
  }
  return Y.encodeStateAsUpdate(doc);
}

/** y-websocket@1.5.4 bin/utils.js: apply, and in the 'update' event encode the message sent to every socket. */
function referenceApply(Y, encoding, history) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, history);
  let encoded = 0;
  doc.on('update', (update) => {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0); // messageSync
    encoding.writeVarUint(encoder, 2); // messageYjsUpdate
    encoding.writeVarUint8Array(encoder, update);
    encoded += encoding.toUint8Array(encoder).length;
  });
  const conn = {};
  return (update) => Y.applyUpdate(doc, update, conn);
}

/** Plansync's GridDocument with one peer (the send: framed once for all peers, not written), parts empty. */
async function plansyncApply(lines, history) {
  // PLANSYNC_DIST: another build's server/dist (say a copy of an earlier commit's, for an A/B).
  const dist = process.env.PLANSYNC_DIST ? path.resolve(process.env.PLANSYNC_DIST) : path.join(here, '../server/dist');
  const { GridDocument } = await import(path.join(dist, 'server/src/collab/GridDocument.js'));
  const document = new GridDocument('budget:micro:U', 'micro', 'unit', 'U', lines);
  document.loadState(history);
  let framed = 0;
  const peer = { send() {}, sendFramed: (_messages, bytes) => (framed += bytes.length), identity: {}, userId: 'keeper', writer: { userId: 'keeper' } };
  document.addPeer(peer);
  document.parts = { store() {}, project() {}, onError: (part, err) => { throw Object.assign(err, { part }); } };
  const writers = new Map();
  return (update, k) => {
    const client = 1000 + (k % 50);
    let writer = writers.get(client);
    if (!writer) {
      writer = { userId: `writer-${client}`, connection: {} };
      writers.set(client, writer);
    }
    document.applyClientUpdate(update, { kind: 'connection', author: { userId: writer.userId, source: 'GRID' }, writer });
    if (k % PER_TURN !== PER_TURN - 1) return;
    // The turn's end: its sends, framed once for all peers, then its edits applied together.
    document.sendOutgoing();
    document.settle();
  };
}
