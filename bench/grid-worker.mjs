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
//   { type: 'sends' }   -> { type: 'sends', sends }            the writers' sends (bench/lib/gridWorkerCommon.mjs)
//   { type: 'report', sends } -> { type: 'report', ... }      latencies (given every process's sends) and counts
//   { type: 'close' }   destroys the clients and exits
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { gridWorker, serveGridWorker } from './lib/gridWorkerCommon.mjs';

// Each stock provider adds a process 'exit' listener; dozens per process are expected here.
process.setMaxListeners(0);

const w = gridWorker();

function connectClient(spec, url, docName, token) {
  const doc = new Y.Doc();
  const cells = doc.getMap('cells');
  // Registered before the provider's own 'update' handler, so it runs just before the provider sends the update.
  doc.on('update', () => w.sending(client, client.key));
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
    const t = w.now();
    for (const key of event.keysChanged) {
      const value = cells.get(key);
      if (typeof value !== 'number' || value < w.measureStart || value >= w.measureEnd) continue;
      w.delivered(key, value, t - value);
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

serveGridWorker(w, {
  async connect(message) {
    for (const spec of message.clients) w.clients.push(connectClient(spec, message.url, message.docName, message.token));
    await Promise.all(w.clients.map((c) => c.syncedPromise));
    process.send({ type: 'synced' });
  },
  describe: (c) => ({
    index: c.index,
    key: c.key,
    writer: c.writer,
    sent: c.sent,
    receivedByKey: Object.fromEntries(c.receivedByKey),
    disconnects: c.disconnects,
    closeCodes: c.closeCodes,
  }),
  close() {
    for (const client of w.clients) {
      clearTimeout(client.timer);
      client.provider.destroy();
      client.doc.destroy();
    }
    // Let the close frames go out, then leave.
    setTimeout(() => process.exit(0), 200);
  },
});
