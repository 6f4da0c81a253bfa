// One load process of bench/grid-propagation.mjs (forked by it, never run by hand). It hosts a share of the
// scenario's clients: stock y-websocket 3 `WebsocketProvider`s with `ws` as their WebSocket, as
// server/src/testing/gridClients.ts connects them. Every client observes; writers also set their own cell
// about once a second to the send time (ms since the parent's epoch, a float), and every client records
// `now - value` for each change it receives from the server.
//
// Messages from the parent (IPC, advanced serialization):
//   { type: 'connect', url, docName, token, epoch, clients: [{ index, key, writer }] }  -> { type: 'synced' }
//   { type: 'start', writeStart, measureStart, measureEnd, periodMs? }   writers write from writeStart to measureEnd,
//                                                             every periodMs (default 1000)
//   { type: 'count' }   -> { type: 'count', received }        deliveries counted so far (drain check)
//   { type: 'report' }  -> { type: 'report', ... }            latencies and counts
//   { type: 'close' }   destroys the clients and exits
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

// Each stock provider adds a process 'exit' listener; dozens per process are expected here.
process.setMaxListeners(0);

let epoch = 0;
/** Milliseconds since the parent's epoch, sub-millisecond, comparable across processes. */
const now = () => performance.timeOrigin + performance.now() - epoch;

let measureStart = Infinity;
let measureEnd = -Infinity;
let stopped = false;
const clients = [];
/** Latencies (ms) of changes sent inside the measurement window, as received by any client here. */
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
let received = 0;
let cpuAtStart;
let cpuInWindow;
const LOOP_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

function record(latency) {
  if (latencyCount === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[latencyCount++] = latency;
}

function connectClient(spec, url, docName, token) {
  const doc = new Y.Doc();
  const cells = doc.getMap('cells');
  const provider = new WebsocketProvider(url, docName, doc, {
    params: { token },
    WebSocketPolyfill: WebSocket,
    disableBc: true,
  });
  const client = { ...spec, doc, cells, provider, sent: 0, receivedByKey: new Map(), disconnects: 0, closeCodes: [], timer: undefined };
  provider.on('status', ({ status }) => {
    if (status === 'disconnected' && client.synced) client.disconnects += 1;
  });
  provider.on('connection-close', (event) => {
    if (event && event.code) client.closeCodes.push(event.code);
  });
  cells.observe((event, tr) => {
    if (tr.origin !== provider) return; // our own change, or not from the server
    const t = now();
    for (const key of event.keysChanged) {
      const value = cells.get(key);
      if (typeof value !== 'number' || value < measureStart || value >= measureEnd) continue;
      record(t - value);
      received += 1;
      client.receivedByKey.set(key, (client.receivedByKey.get(key) ?? 0) + 1);
    }
  });
  client.syncedPromise = new Promise((resolve) => {
    if (provider.synced) {
      client.synced = true;
      return resolve();
    }
    const onSync = (isSynced) => {
      if (!isSynced) return;
      provider.off('sync', onSync);
      client.synced = true;
      resolve();
    };
    provider.on('sync', onSync);
  });
  return client;
}

function startWriting(client, writeStart, periodMs = 1000) {
  const first = writeStart + Math.random() * periodMs;
  let n = 0;
  const tick = () => {
    if (stopped) return;
    const t = now();
    if (t >= measureEnd) return;
    client.cells.set(client.key, t);
    if (t >= measureStart) client.sent += 1;
    n += 1;
    client.timer = setTimeout(tick, Math.max(0, first + n * periodMs - now()));
  };
  client.timer = setTimeout(tick, Math.max(0, first - now()));
}

process.on('message', async (message) => {
  switch (message.type) {
    case 'connect': {
      epoch = message.epoch;
      for (const spec of message.clients) clients.push(connectClient(spec, message.url, message.docName, message.token));
      await Promise.all(clients.map((c) => c.syncedPromise));
      process.send({ type: 'synced' });
      break;
    }
    case 'start': {
      measureStart = message.measureStart;
      measureEnd = message.measureEnd;
      for (const client of clients) if (client.writer) startWriting(client, message.writeStart, message.periodMs);
      setTimeout(() => {
        loopDelay.reset();
        loopDelay.enable();
        cpuAtStart = process.cpuUsage();
      }, Math.max(0, measureStart - now()));
      setTimeout(() => {
        loopDelay.disable();
        cpuInWindow = process.cpuUsage(cpuAtStart);
      }, Math.max(0, measureEnd - now()));
      break;
    }
    case 'count':
      process.send({ type: 'count', received });
      break;
    case 'report': {
      stopped = true;
      process.send({
        type: 'report',
        latencies: latencies.slice(0, latencyCount),
        received,
        cpuSeconds: cpuInWindow ? (cpuInWindow.user + cpuInWindow.system) / 1e6 : null,
        // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
        loopDelayP99Ms: loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : null,
        loopDelayMaxMs: loopDelay.count > 0 ? Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS) : null,
        clients: clients.map((c) => ({
          index: c.index,
          key: c.key,
          writer: c.writer,
          sent: c.sent,
          receivedByKey: Object.fromEntries(c.receivedByKey),
          disconnects: c.disconnects,
          closeCodes: c.closeCodes,
        })),
      });
      break;
    }
    case 'close': {
      stopped = true;
      for (const client of clients) {
        clearTimeout(client.timer);
        client.provider.destroy();
        client.doc.destroy();
      }
      // Let the close frames go out, then leave.
      setTimeout(() => process.exit(0), 200);
      break;
    }
  }
});

process.on('disconnect', () => process.exit(0));
