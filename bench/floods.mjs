#!/usr/bin/env node
// Memory under the grid floods of issue 11, Plansync next to the reference y-websocket server in the same run:
// the server's memory after a forced GC before and after each flood (bench/lib/memory-probe.mjs).
//   node bench/floods.mjs [--mb=90]
//   1. pending: updates whose dependencies were never sent (Yjs would hold them), --mb MB in all;
//   2. presence: 300,000 made-up people in awareness messages of 1,000 each;
//   3. not reading: a client that stops reading and asks for everyone's presence 200,000 times (10 people present).
// Nothing here asserts: the tests do (server/src/collab/gridAttacks.test.ts); this says how much.
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { cleanup, ensureBuilt, fmt, graphql, installCleanup, login, serverMemory, sleep, startPlansync, startReference } from './lib/common.mjs';

const MB = Number(process.argv.find((a) => a.startsWith('--mb='))?.slice(5) ?? 90);

function frame(write) {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}
const updateFrame = (u) => frame((e) => (encoding.writeVarUint(e, 0), encoding.writeVarUint(e, 2), encoding.writeVarUint8Array(e, u)));
const awarenessFrame = (entries) =>
  frame((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(
      e,
      frame((a) => {
        encoding.writeVarUint(a, entries.length);
        for (const { id, clock, state } of entries) (encoding.writeVarUint(a, id), encoding.writeVarUint(a, clock), encoding.writeVarString(a, JSON.stringify(state)));
      }),
    );
  });

function open(url) {
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  return new Promise((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('close', () => resolve(ws));
  });
}
const drained = async (ws) => {
  while (ws.readyState === ws.OPEN && ws.bufferedAmount > 0) await sleep(20);
};

async function pendingFlood(url) {
  const ws = await open(url);
  // One writer's first change is never sent; every later one depends on it.
  const doc = new Y.Doc();
  const text = doc.getText('notes');
  doc.transact(() => text.insert(0, 'x'));
  const chunk = 'p'.repeat(512 * 1024);
  let sent = 0;
  for (let i = 0; sent < MB * 1024 * 1024 && ws.readyState === ws.OPEN; i++) {
    const before = Y.encodeStateVector(doc);
    text.insert(text.length, chunk);
    const update = Y.encodeStateAsUpdate(doc, before);
    ws.send(updateFrame(update));
    sent += update.byteLength;
    await drained(ws);
  }
  await sleep(500);
  ws.close();
  return sent;
}

async function presenceFlood(url) {
  const ws = await open(url);
  for (let m = 0; m < 300 && ws.readyState === ws.OPEN; m++) {
    ws.send(awarenessFrame(Array.from({ length: 1000 }, (_, i) => ({ id: 1_000_000 + m * 1000 + i, clock: 1, state: { user: { name: `fake ${m}-${i}`, color: '#123456' } } }))));
    await drained(ws);
  }
  await sleep(500);
  const closed = ws.readyState !== ws.OPEN;
  ws.close();
  return closed;
}

async function notReadingFlood(url, present) {
  const people = [];
  for (let i = 0; i < present; i++) {
    const ws = await open(url);
    ws.send(awarenessFrame([{ id: 5000 + i, clock: 1, state: { user: { name: `person ${i}`, email: `p${i}@example.com`, color: '#123456' }, cell: null } }]));
    people.push(ws);
  }
  const ws = await open(url);
  await sleep(300);
  ws._socket.pause(); // reads nothing from now on
  const query = frame((e) => encoding.writeVarUint(e, 3));
  for (let i = 0; i < 200_000; i++) ws.send(query);
  await sleep(3000);
  return { ws, people };
}

/** Each flood against a fresh server of each kind: memory after a forced GC, before and after. */
async function measure(flood) {
  const plansync = await startPlansync({ probe: true });
  const token = await login(plansync.url, 'lead.sales-north@example.com');
  const planId = (await graphql(plansync.url, '{ budgetPlans { id } }', {}, token)).budgetPlans[0].id;
  const reference = await startReference({ probe: true });
  const targets = [
    [plansync, `${plansync.url.replace('http', 'ws')}/yjs/budget:${planId}:SALES_NORTH?token=${token}`],
    [reference, `${reference.url.replace('http', 'ws')}/budget`],
  ];
  const growth = [];
  for (const [server, url] of targets) {
    const before = await serverMemory(server);
    const detail = await flood(url);
    growth.push({ bytes: (await serverMemory(server)).rss - before.rss, detail });
  }
    return growth;
}

installCleanup();
ensureBuilt();
try {
  const mb = (b) => fmt(b / 1024 / 1024, 1);
  const rows = [];
  const [ours1, theirs1] = await measure(pendingFlood);
  rows.push(`| ${mb(ours1.detail)} MB of updates with missing dependencies | ${mb(ours1.bytes)} MB | ${mb(theirs1.bytes)} MB |`);
  const [ours2, theirs2] = await measure(presenceFlood);
  rows.push(`| 300,000 made-up people in presence | ${mb(ours2.bytes)} MB${ours2.detail ? ' (socket closed 4400)' : ''} | ${mb(theirs2.bytes)} MB |`);
  const [ours3, theirs3] = await measure(async (url) => {
    const held = await notReadingFlood(url, 10);
    return () => (held.ws.terminate(), held.people.forEach((p) => p.close()));
  });
  rows.push(`| 200,000 presence queries from a client not reading, 10 people present | ${mb(ours3.bytes)} MB | ${mb(theirs3.bytes)} MB |`);
  console.log(`\nServer memory growth (RSS after a forced GC), Plansync / reference y-websocket@1.5.4, fresh servers, same run:`);
  console.log(`| flood | Plansync | reference |`);
  console.log(`| --- | --- | --- |`);
  for (const row of rows) console.log(row);
} finally {
  await cleanup();
}
