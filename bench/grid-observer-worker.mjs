// One load process of bench/run.mjs (forked by it, never run by hand): light grid clients that speak the
// y-websocket protocol with y-protocols/lib0 directly, without a Y.Doc or awareness. Used where stock
// `WebsocketProvider`s would measure the load processes rather than the server: 1,000 observers of one
// writer (each stock provider would apply every update to its own Y.Doc, and would announce its awareness
// on connect and every 15 s, which the server relays to every other client: 1,000 x 1,000 / 15 s = 67,000
// relayed messages a second on top of the updates), and hundreds of idle connections.
//
// A client: connects to <url>/<docName>?token=... (the name as the stock client puts it, unencoded: the
// reference server takes the raw path as the document's name), sends sync step 1 with an empty state vector, answers the
// server's step 1 with an empty step 2, counts as synced on the server's step 2, and from then on reads each
// update message: the value written (the writer's send time, ms since the parent's epoch) is taken from the
// update's content (decoded once per distinct message in this process; the other clients of this process
// compare bytes), and `now - value` recorded for updates sent inside the measurement window.
//
// Messages from the parent (IPC, advanced serialization):
//   { type: 'connect', url, docName, token, epoch, count, concurrency, keepState }
//        -> { type: 'synced', connected, failed, closeCodes, connectMs, state? }  (state: the first client's step 2)
//   { type: 'push', update }   the first client sends `update`, then a step 1, and answers once the server's
//        step 2 came back (so the update was applied)            -> { type: 'pushed', stateBytes }
//   { type: 'start', measureStart, measureEnd }
//   { type: 'count' }  -> { type: 'count', received }
//   { type: 'report' } -> { type: 'report', latencies, received, perClient: { min, max }, cpuSeconds, closes, closeCodes }
//   { type: 'close' }  closes every client and exits
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { cpuWindow, epochClock, Latencies, openInLanes } from './lib/loadProcess.mjs';

const now = epochClock();

const clients = [];
let measureStart = Infinity;
let measureEnd = -Infinity;
const latencies = new Latencies();
let received = 0;
const cpu = cpuWindow();
let closes = 0;
const closeCodes = new Set();

const emptyDoc = new Y.Doc();
const step1Frame = frame((e) => {
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint8Array(e, Y.encodeStateVector(emptyDoc));
});
const step2Frame = frame((e) => {
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(emptyDoc));
});

function frame(write) {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** The last number written in an update (the writer's send time), or null. Cached for the last payload. */
let lastPayload = null;
let lastValue = null;
function valueOf(payload) {
  if (lastPayload && Buffer.compare(lastPayload, payload) === 0) return lastValue;
  let value = null;
  try {
    for (const struct of Y.decodeUpdate(payload).structs) {
      const arr = struct.content?.arr;
      if (arr && typeof arr[arr.length - 1] === 'number') value = arr[arr.length - 1];
    }
  } catch {}
  lastPayload = Buffer.from(payload);
  lastValue = value;
  return value;
}

function connectClient(url, docName, token, keepState) {
  const client = { ws: null, synced: false, received: 0, state: null, onStep2: null };
  const ws = new WebSocket(`${url}/${docName}?token=${encodeURIComponent(token)}`);
  client.ws = ws;
  client.syncedPromise = new Promise((resolve, reject) => {
    client.resolveSynced = resolve;
    ws.once('close', (code) => reject(new Error(`closed with ${code} before sync`)));
    ws.once('error', reject);
  });
  client.syncedPromise.catch(() => undefined);
  ws.on('open', () => ws.send(step1Frame));
  ws.on('error', () => undefined);
  ws.on('close', (code) => {
    if (client.synced) closes += 1;
    closeCodes.add(code);
  });
  ws.on('message', (data) => {
    const t = now();
    const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (decoding.readVarUint(decoder) !== 0) return; // awareness and the rest: not ours to measure
    const syncType = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (syncType === 0) ws.send(step2Frame);
    else if (syncType === 1) {
      if (keepState) client.state = Uint8Array.from(payload);
      if (client.onStep2) {
        const done = client.onStep2;
        client.onStep2 = null;
        done(payload.length);
      }
      if (!client.synced) {
        client.synced = true;
        client.resolveSynced();
      }
    } else if (syncType === 2) {
      const value = valueOf(payload);
      if (value === null || value < measureStart || value >= measureEnd) return;
      latencies.record(t - value);
      received += 1;
      client.received += 1;
    }
  });
  return client;
}

process.on('message', async (message) => {
  try {
    switch (message.type) {
      case 'connect': {
        now.setEpoch(message.epoch);
        const t0 = performance.now();
        // A bounded number of handshakes in flight: each costs the server an authentication.
        const { fresh, failed } = await openInLanes(
          message.count,
          message.concurrency,
          (i) => connectClient(message.url, message.docName, message.token, message.keepState && clients.length + i === 0),
          (client) => client.syncedPromise,
        );
        clients.push(...fresh);
        process.send({
          type: 'synced',
          connected: fresh.length - failed,
          failed,
          closeCodes: [...closeCodes],
          connectMs: performance.now() - t0,
          ...(message.keepState && clients[0]?.state ? { state: clients[0].state } : {}),
        });
        break;
      }
      case 'push': {
        const client = clients[0];
        const stateBytes = await new Promise((resolve) => {
          client.onStep2 = resolve;
          client.ws.send(
            frame((e) => {
              encoding.writeVarUint(e, 0);
              encoding.writeVarUint(e, 2);
              encoding.writeVarUint8Array(e, message.update);
            }),
          );
          client.ws.send(step1Frame);
        });
        process.send({ type: 'pushed', stateBytes });
        break;
      }
      case 'start':
        measureStart = message.measureStart;
        measureEnd = message.measureEnd;
        setTimeout(() => cpu.begin(), Math.max(0, measureStart - now()));
        setTimeout(() => cpu.end(), Math.max(0, measureEnd - now()));
        break;
      case 'count':
        process.send({ type: 'count', received });
        break;
      case 'report': {
        const per = clients.map((c) => c.received);
        process.send({
          type: 'report',
          latencies: latencies.slice(),
          received,
          perClient: { min: per.length ? Math.min(...per) : 0, max: per.length ? Math.max(...per) : 0, clients: per.length },
          cpuSeconds: cpu.seconds(),
          closes,
          closeCodes: [...closeCodes],
        });
        break;
      }
      case 'close':
        for (const c of clients) c.ws.close();
        setTimeout(() => process.exit(0), 300);
        break;
    }
  } catch (err) {
    process.send({ type: message.type === 'connect' ? 'synced' : message.type === 'push' ? 'pushed' : message.type, error: String(err?.stack ?? err) });
  }
});

process.on('disconnect', () => process.exit(0));
