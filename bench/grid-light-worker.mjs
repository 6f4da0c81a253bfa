// One load process of the grid propagation run (bench/lib/grid.mjs: bench/run.mjs's `grid`, `durability` and
// `scaleout`, bench/grid-propagation.mjs; forked, never run by hand). It hosts a share of the run's clients as
// light y-websocket clients: the same protocol traffic to the server as stock y-websocket `WebsocketProvider`s
// (bench/grid-worker.mjs), without integrating other clients' updates into a Y.Doc.
//
// Why: with stock providers every client applies every other client's update to its own Y.Doc. At 200 writers
// (about 200 updates/s) that is 200 x 199 = ~40,000 Yjs applies a second in the load processes, which then
// saturate the machine's cores shared with the server: the measured latency becomes the load generator's
// queueing. Here a received update costs its socket read, a ws frame and a few varints: 16-19 us of CPU
// per delivery at 200 writers on a 2-CPU EPYC, against 85-95 us with stock providers (which then could not
// even keep their writers' 1 s period).
//
// A client, as a stock provider would behave on the wire:
//  - connects to <url>/<docName>?token=... (the name unencoded, as the stock client puts it; `ws` with its
//    default options, as the stock client creates it);
//  - on open sends sync step 1 (its state vector) and its awareness (state {}, clock 0), renewed every 15 s as
//    the stock Awareness does, and its removal (state null) when it closes;
//  - answers the server's sync step 1 with sync step 2 (a writer: Y.encodeStateAsUpdate of its Y.Doc against
//    the server's state vector; an observer, which has no Y.Doc: an empty update);
//  - a writer applies the server's sync step 2 to its Y.Doc (so its own sets have the right origins), and from
//    then on writes its own cell with a local `Y.Map.set` (the Y.Doc's 'update' is sent as an update message,
//    as the stock provider does). It ignores every later update: no other client writes its cell. So each
//    write is a real Yjs update, which the server validates, stores and broadcasts as a stock client's.
//  - every client (writers included) reads each update message it receives without applying it: the writer
//    of each item is its Yjs client id (a writer's Y.Doc clientID, reported to the parent, which maps it to the
//    writer's cell), the value its content's last number (the writer's send time, ms since the parent's
//    epoch); `now - value` is recorded for values sent inside the measurement window, and the delivery counted
//    per writer so that the parent can check that every write reached every other client. The item's key
//    cannot be read from the update itself: a Y.Map.set on a key that already has a value encodes its origin
//    (the previous item) instead of the key. The read is a scan of the v1 encoding with lib0 (no Item objects),
//    with Y.decodeUpdate as the fallback for anything but GC, Skip, Deleted and Any content. Measured on these
//    34-byte updates (node 20, 2M reads, a busy 2-CPU machine): 0.4-0.9 us a read for the scan, 0.8-1.4 us for
//    Y.decodeUpdate (which builds Item objects); both are small next to the frame itself.
//  Cells, values and timing are those of bench/grid-worker.mjs: each writer sets its own cell (`key`) every
//  periodMs (default 1000) at a random phase, to the send time.
//
// Messages from the parent (IPC, advanced serialization), as bench/grid-worker.mjs:
//   { type: 'connect', url, docName, token, epoch, clients: [{ index, key, writer }] }
//        -> { type: 'synced', writerIds }   (the Yjs client ids of this process's writers)
//   { type: 'start', writeStart, measureStart, measureEnd, periodMs?, writerIds }   writerIds: of every process;
//        only their items count
//   { type: 'count' }   -> { type: 'count', received }
//   { type: 'sends' }   -> { type: 'sends', sends }   (this process's writers' sends: writer id, value, offset)
//   { type: 'report', sends }  (every process's sends)
//        -> { type: 'report', latencies, editLatencies, unmatched, received, cpuSeconds, loopDelayP99Ms, loopDelayMaxMs,
//             clients: [{ index, key, writer, clientId, sent, receivedByClient, disconnects, closeCodes }] }
//   { type: 'close' }   closes the clients and exits
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { gridWorker, serveGridWorker } from './lib/gridWorkerCommon.mjs';

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_QUERY_AWARENESS = 3;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
/** The stock Awareness: checked every outdatedTimeout / 10, renewed when outdatedTimeout / 2 old. */
const AWARENESS_CHECK_MS = 3000;
const AWARENESS_RENEW_MS = 15_000;

const w = gridWorker();
/** The writers' Yjs client ids (all load processes): only their items are counted. */
let writerIds = new Set();

function frame(write) {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

const emptyUpdate = Y.encodeStateAsUpdate(new Y.Doc());
const emptyStep2Frame = frame((e) => {
  encoding.writeVarUint(e, MESSAGE_SYNC);
  encoding.writeVarUint(e, SYNC_STEP2);
  encoding.writeVarUint8Array(e, emptyUpdate);
});

/** An awareness message for one client (y-protocols' encodeAwarenessUpdate, written out). */
function awarenessFrame(clientId, clock, state) {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    const update = frame((u) => {
      encoding.writeVarUint(u, 1);
      encoding.writeVarUint(u, clientId);
      encoding.writeVarUint(u, clock);
      encoding.writeVarString(u, JSON.stringify(state));
    });
    encoding.writeVarUint8Array(e, update);
  });
}

// ------------------------------------------------------------------------------------- reading updates
/**
 * The items of a v1 update as pairs in `out` ([clientId, value, clientId, value, ...]): each item whose
 * content is Any with a number last. Returns false when the update holds a content other than Any or
 * Deleted (the caller falls back to Y.decodeUpdate). Exported for the measurement in the commit message.
 */
export function scanUpdate(payload, out) {
  out.length = 0;
  const d = decoding.createDecoder(payload);
  const sections = decoding.readVarUint(d);
  for (let s = 0; s < sections; s++) {
    const structs = decoding.readVarUint(d);
    const client = decoding.readVarUint(d);
    decoding.readVarUint(d); // clock
    for (let i = 0; i < structs; i++) {
      const info = decoding.readUint8(d);
      const ref = info & 31;
      if (ref === 0 || ref === 10) {
        decoding.readVarUint(d); // GC or Skip: length
        continue;
      }
      if (info & 128) (decoding.readVarUint(d), decoding.readVarUint(d)); // origin
      if (info & 64) (decoding.readVarUint(d), decoding.readVarUint(d)); // right origin
      if ((info & (128 | 64)) === 0) {
        if (decoding.readVarUint(d) === 1) decoding.readVarString(d); // parent: a root type's name
        else (decoding.readVarUint(d), decoding.readVarUint(d)); // parent: an item's id
        if (info & 32) decoding.readVarString(d); // parentSub
      }
      if (ref === 1) {
        decoding.readVarUint(d); // Deleted: length
      } else if (ref === 8) {
        const n = decoding.readVarUint(d);
        let last;
        for (let k = 0; k < n; k++) last = decoding.readAny(d);
        if (typeof last === 'number') out.push(client, last);
      } else return false;
    }
  }
  return true;
}

/** As scanUpdate, with Y.decodeUpdate. */
export function decodeUpdateItems(payload, out) {
  out.length = 0;
  for (const struct of Y.decodeUpdate(payload).structs) {
    const arr = struct.content?.arr;
    if (arr && typeof arr[arr.length - 1] === 'number') out.push(struct.id.client, arr[arr.length - 1]);
  }
  return true;
}

const items = [];
function readItems(payload) {
  try {
    if (!scanUpdate(payload, items)) decodeUpdateItems(payload, items);
  } catch {
    items.length = 0;
  }
  return items;
}

// ------------------------------------------------------------------------------------------- clients
function connectClient(spec, url, docName, token) {
  const doc = spec.writer ? new Y.Doc() : null;
  const client = {
    ...spec,
    doc,
    cells: doc?.getMap('cells') ?? null,
    clientId: doc ? doc.clientID : Math.floor(Math.random() * 0x100000000) >>> 0,
    ws: null,
    synced: false,
    sent: 0,
    receivedByClient: new Map(),
    disconnects: 0,
    closeCodes: [],
    timer: undefined,
    awarenessClock: 0,
    awarenessAt: performance.now(),
    awarenessTimer: undefined,
  };
  const ws = new WebSocket(`${url}/${docName}?token=${encodeURIComponent(token)}`);
  client.ws = ws;
  const send = (bytes) => ws.readyState === WebSocket.OPEN && ws.send(bytes);
  client.send = send;
  client.syncedPromise = new Promise((resolve, reject) => {
    client.resolveSynced = resolve;
    ws.once('close', (code) => reject(new Error(`closed with ${code} before sync`)));
    ws.once('error', reject);
  });
  client.syncedPromise.catch(() => undefined);
  if (doc) {
    // The stock provider's update handler: every local change goes to the server.
    doc.on('update', (update, origin) => {
      if (origin === client) return;
      w.sending(client, client.clientId);
      send(
        frame((e) => {
          encoding.writeVarUint(e, MESSAGE_SYNC);
          encoding.writeVarUint(e, SYNC_UPDATE);
          encoding.writeVarUint8Array(e, update);
        }),
      );
    });
  }
  ws.on('open', () => {
    send(
      frame((e) => {
        encoding.writeVarUint(e, MESSAGE_SYNC);
        encoding.writeVarUint(e, SYNC_STEP1);
        encoding.writeVarUint8Array(e, doc ? Y.encodeStateVector(doc) : new Uint8Array([0]));
      }),
    );
    send(awarenessFrame(client.clientId, client.awarenessClock, {}));
  });
  client.awarenessTimer = setInterval(() => {
    if (performance.now() - client.awarenessAt < AWARENESS_RENEW_MS) return;
    client.awarenessAt = performance.now();
    client.awarenessClock += 1;
    send(awarenessFrame(client.clientId, client.awarenessClock, {}));
  }, AWARENESS_CHECK_MS);
  ws.on('error', () => undefined);
  ws.on('close', (code) => {
    clearInterval(client.awarenessTimer);
    if (client.synced && !w.stopped) client.disconnects += 1;
    if (code) client.closeCodes.push(code);
  });
  ws.on('message', (data) => {
    const t = w.now();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const decoder = decoding.createDecoder(bytes);
    const messageType = decoding.readVarUint(decoder);
    if (messageType === MESSAGE_QUERY_AWARENESS) {
      send(awarenessFrame(client.clientId, client.awarenessClock, {}));
      return;
    }
    if (messageType !== MESSAGE_SYNC) return; // others' awareness: nothing to measure
    const syncType = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (syncType === SYNC_UPDATE) {
      const found = readItems(payload);
      for (let k = 0; k < found.length; k += 2) {
        const from = found[k];
        const value = found[k + 1];
        if (from === client.clientId || value < w.measureStart || value >= w.measureEnd || !writerIds.has(from)) continue;
        w.delivered(from, value, t - value);
        w.trace(value, t - value, from, client.clientId);
        client.receivedByClient.set(from, (client.receivedByClient.get(from) ?? 0) + 1);
      }
    } else if (syncType === SYNC_STEP1) {
      send(
        doc
          ? frame((e) => {
              encoding.writeVarUint(e, MESSAGE_SYNC);
              encoding.writeVarUint(e, SYNC_STEP2);
              encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(doc, payload));
            })
          : emptyStep2Frame,
      );
    } else if (syncType === SYNC_STEP2) {
      if (doc) Y.applyUpdate(doc, payload, client);
      if (!client.synced) {
        client.synced = true;
        client.resolveSynced();
      }
    }
  });
  return client;
}

serveGridWorker(w, {
  async connect(message) {
    const fresh = message.clients.map((spec) => connectClient(spec, message.url, message.docName, message.token));
    w.clients.push(...fresh);
    try {
      await Promise.all(fresh.map((c) => c.syncedPromise));
      process.send({ type: 'synced', writerIds: fresh.filter((c) => c.writer).map((c) => c.clientId) });
    } catch (err) {
      process.send({ type: 'synced', error: String(err?.message ?? err) });
    }
  },
  beforeStart(message) {
    writerIds = new Set(message.writerIds);
  },
  describe: (c) => ({
    index: c.index,
    key: c.key,
    writer: c.writer,
    clientId: c.clientId,
    sent: c.sent,
    receivedByClient: Object.fromEntries(c.receivedByClient),
    disconnects: c.disconnects,
    closeCodes: c.closeCodes,
  }),
  close() {
    for (const client of w.clients) {
      clearTimeout(client.timer);
      clearInterval(client.awarenessTimer);
      // The stock provider's disconnect: its awareness removed, then the socket closed.
      client.send(awarenessFrame(client.clientId, client.awarenessClock, null));
      client.ws.close();
      client.doc?.destroy();
    }
    setTimeout(() => process.exit(0), 200);
  },
});
