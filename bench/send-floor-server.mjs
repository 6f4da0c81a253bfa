#!/usr/bin/env node
// The floor of grid fan-out on this machine (bench/scenarios/fanout.mjs): the least a y-websocket server can do
// to deliver one writer's updates to many observers, so that the CPU per update per observer of Plansync and of
// the reference can be set against what the sends alone cost here. Not a server anyone should run.
//
// It speaks just enough of the y-websocket protocol for the fan-out run's clients (a stock WebsocketProvider
// writer, light observers): a sync step 1 is answered with an empty sync step 2; sync step 2 and query-awareness
// are ignored; every update and awareness message is relayed to every connection (the sender included, as the
// reference does) as a websocket frame built once and written to each TCP socket with one `socket.write`, the
// same send path Plansync's broadcasts take (server/src/internals/wsSender.ts). No Y.Doc, no validation, no
// storage, no authentication: what is left is ws's frame parsing of the writer's message and one system call per
// observer, which is what the kernel charges for a loopback send.
//
// With work (WORK_US, or `POST /work?us=N` at any time; 0 by default), it also spends N microseconds of CPU after
// relaying each update, right after its writes, as Plansync spends its extra CPU (the apply, validation,
// storage and projection run once the turn's sends have gone): the "floor doing Plansync's work" of the grid
// propagation scenario at 50 writers (bench/scenarios/grid.mjs), which asks how much of Plansync's p99 is its
// CPU per update on cores the load processes share, rather than any wait in its pipeline. The CPU is this
// process's own (user + system, process.cpuUsage), so time spent switched out does not count as work done.
//
// With database work too (`POST /work?us=N&db=M`, M microseconds per update; 0 by default), a stand-in for a
// database (a child process, started on first use) spends, every 100 ms, M microseconds of its own CPU for each
// update relayed since: the CPU Plansync's embedded PostgreSQL spends per update, in a process of its own beside
// the server's, batched as Plansync writes (issue 16, stop 47: whether that CPU on the shared CPUs is what
// Plansync's p99 has beyond the floor spending only its server's CPU). The stand-in's CPU is not the server's.
//
// With a document (FLOOR_YJS=1), it keeps one Y.Doc and applies every update and sync step 2 to it before the
// update is relayed, as the reference server does, and answers a sync step 1 with what the document holds: the
// least a Yjs server that can bring a new client up to date must do (the grid propagation scenario's "Yjs relay at
// the floor"), with the floor's sends (framed once, one `socket.write` per connection) rather than ws's.
//
// Environment: PORT, HOST (default 127.0.0.1), WORK_US, FLOOR_YJS. Prints `listening <port>` once it listens.
import { spawn } from 'node:child_process';
import http from 'node:http';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebSocketServer } from 'ws';
import * as Y from 'yjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
/** Sync step 2 carrying an empty update (Y.encodeStateAsUpdate of an empty Y.Doc is [0, 0]). */
const EMPTY_STEP2 = Buffer.from([MESSAGE_SYNC, 1, 2, 0, 0]);
/** Sync step 1 with an empty state vector: asks the client for everything (it answers with sync step 2). */
const EMPTY_STEP1 = Buffer.from([MESSAGE_SYNC, SYNC_STEP1, 1, 0]);

/** One unmasked binary websocket frame (RFC 6455, 5.2), as a server sends it. */
function frame(message) {
  const n = message.length;
  const header = n < 126 ? Buffer.from([0x82, n]) : n < 65536 ? Buffer.from([0x82, 126, n >> 8, n & 255]) : null;
  if (!header) throw new Error('message too large for the floor server');
  return Buffer.concat([header, message]);
}

let workMicros = Number(process.env.WORK_US ?? 0);
/** The document (FLOOR_YJS=1), or null: relay only. */
const doc = process.env.FLOOR_YJS === '1' ? new Y.Doc() : null;

/** A client's sync message applied to the document (its update or sync step 2); a sync step 1 answered from it. */
function withDocument(ws, data) {
  const decoder = decoding.createDecoder(data);
  decoding.readVarUint(decoder); // message type: sync
  const syncType = decoding.readVarUint(decoder);
  const payload = decoding.readVarUint8Array(decoder);
  if (syncType === SYNC_STEP1) {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    encoding.writeVarUint(encoder, SYNC_STEP2);
    encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(doc, payload));
    ws.send(encoding.toUint8Array(encoder));
  } else Y.applyUpdate(doc, payload, ws);
}

/** Spends `micros` of this process's CPU time. */
function work(micros) {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= micros) return;
  }
}

/** The database stand-in: microseconds of its CPU per update relayed, updates not yet handed to it, the process. */
let databaseMicros = 0;
let databasePending = 0;
let database = null;
const DATABASE_BATCH_MS = 100;
const DATABASE_STANDIN = `process.on('message', (m) => {
  const start = process.cpuUsage();
  for (;;) { const used = process.cpuUsage(start); if (used.user + used.system >= m.us) break; }
});
process.on('disconnect', () => process.exit(0));`;

function setDatabaseWork(micros) {
  databaseMicros = micros;
  databasePending = 0;
  if (micros === 0 || database) return;
  database = spawn(process.execPath, ['-e', DATABASE_STANDIN], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  database.on('exit', () => (database = null));
  setInterval(() => {
    if (!database || databasePending === 0 || databaseMicros === 0) return;
    database.send({ us: databasePending * databaseMicros });
    databasePending = 0;
  }, DATABASE_BATCH_MS).unref();
}

const connections = new Set();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://floor');
  if (req.method === 'POST' && url.pathname === '/work') {
    workMicros = Math.max(0, Number(url.searchParams.get('us')) || 0);
    setDatabaseWork(Math.max(0, Number(url.searchParams.get('db')) || 0));
  }
  res.end(url.pathname === '/work' ? String(workMicros) : 'floor');
});
const wss = new WebSocketServer({ server, clientTracking: false });
wss.on('connection', (ws) => {
  connections.add(ws);
  ws.on('close', () => connections.delete(ws));
  ws.on('error', () => ws.terminate());
  ws.send(EMPTY_STEP1);
  ws.on('message', (data) => {
    const kind = data[0];
    if (doc && kind === MESSAGE_SYNC) {
      try {
        withDocument(ws, data);
      } catch {
        return ws.terminate();
      }
      if (data[1] !== SYNC_UPDATE) return;
    } else if (kind === MESSAGE_SYNC && data[1] === SYNC_STEP1) return ws.send(EMPTY_STEP2);
    if ((kind === MESSAGE_SYNC && data[1] === SYNC_UPDATE) || kind === MESSAGE_AWARENESS) {
      const framed = frame(data);
      for (const peer of connections) peer._socket.write(framed);
      if (workMicros > 0 && kind === MESSAGE_SYNC) work(workMicros);
      if (databaseMicros > 0 && kind === MESSAGE_SYNC) databasePending += 1;
    }
  });
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => {
  database?.kill();
  process.exit(0);
});
