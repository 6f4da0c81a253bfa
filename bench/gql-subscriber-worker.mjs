// One load process of bench/run.mjs (forked by it, never run by hand): GraphQL subscribers over the
// graphql-transport-ws protocol (what graphql-ws's client speaks), written directly on `ws` so that
// thousands of them cost the load process little: connection_init with the token, then `subscribe`, then
// each `next` is parsed and `now - event.at` recorded (wall clock ms; the server and this process share the
// machine's clock) for events whose `at` lies inside the measurement window.
//
// Messages from the parent (IPC, advanced serialization):
//   { type: 'connect', url, token, sockets, perSocket, query, concurrency }
//        -> { type: 'ready', sockets, subscriptions, failed, closeCodes, connectMs }
//   { type: 'start', measureStart, measureEnd }   (wall-clock ms, as event.at)
//   { type: 'count' }  -> { type: 'count', received }
//   { type: 'report' } -> { type: 'report', latencies, received, perSubscription: { min, max }, errors, closes, closeCodes, cpuSeconds }
//   { type: 'close' }  closes every socket and exits
import WebSocket from 'ws';
import { cpuWindow, Latencies, openInLanes, wallClock } from './lib/loadProcess.mjs';

/** Wall-clock ms with sub-ms resolution (aligned with Date.now() at start, 'connect' and 'start'). */
const wallNow = wallClock();

const sockets = [];
let measureStart = Infinity;
let measureEnd = -Infinity;
const latencies = new Latencies();
let received = 0;
let errors = 0;
const errorSamples = [];
let closes = 0;
const closeCodes = new Set();
const cpu = cpuWindow();

let nextId = 0;
function openSocket(url, token, perSocket, query) {
  const socket = { ws: null, ready: false, subs: new Map() };
  const ws = new WebSocket(url, 'graphql-transport-ws');
  socket.ws = ws;
  socket.readyPromise = new Promise((resolve, reject) => {
    ws.once('close', (code) => reject(new Error(`closed with ${code} before ack`)));
    ws.once('error', reject);
    socket.resolve = resolve;
  });
  socket.readyPromise.catch(() => undefined);
  ws.on('error', () => undefined);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  ws.on('close', (code) => {
    if (socket.ready) closes += 1;
    closeCodes.add(code);
  });
  ws.on('message', (data) => {
    const t = wallNow();
    const message = JSON.parse(data);
    switch (message.type) {
      case 'next': {
        const event = message.payload?.data?.workflowEvents;
        if (!event) {
          errors += 1;
          if (errorSamples.length < 3) errorSamples.push(JSON.stringify(message.payload).slice(0, 500));
          return;
        }
        const at = Date.parse(event.at);
        if (at < measureStart || at >= measureEnd) return;
        latencies.record(t - at);
        received += 1;
        socket.subs.set(message.id, socket.subs.get(message.id) + 1);
        break;
      }
      case 'connection_ack':
        for (let i = 0; i < perSocket; i++) {
          const id = String(++nextId);
          socket.subs.set(id, 0);
          ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
        }
        socket.ready = true;
        socket.resolve();
        break;
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong' }));
        break;
      case 'error':
      case 'complete':
        errors += 1;
        if (errorSamples.length < 3) errorSamples.push(JSON.stringify(message).slice(0, 500));
        break;
    }
  });
  return socket;
}

process.on('message', async (message) => {
  try {
    switch (message.type) {
      case 'connect': {
        wallNow.align();
        const t0 = performance.now();
        const { fresh, failed } = await openInLanes(
          message.sockets,
          message.concurrency,
          () => openSocket(message.url, message.token, message.perSocket, message.query),
          (socket) => socket.readyPromise,
        );
        sockets.push(...fresh);
        process.send({
          type: 'ready',
          sockets: fresh.length - failed,
          subscriptions: (fresh.length - failed) * message.perSocket,
          failed,
          closeCodes: [...closeCodes],
          connectMs: performance.now() - t0,
        });
        break;
      }
      case 'start':
        wallNow.align();
        measureStart = message.measureStart;
        measureEnd = message.measureEnd;
        setTimeout(() => cpu.begin(), Math.max(0, measureStart - Date.now()));
        setTimeout(() => cpu.end(), Math.max(0, measureEnd - Date.now()));
        break;
      case 'count':
        process.send({ type: 'count', received });
        break;
      case 'report': {
        const per = sockets.flatMap((s) => [...s.subs.values()]);
        process.send({
          type: 'report',
          latencies: latencies.slice(),
          received,
          perSubscription: { min: per.length ? Math.min(...per) : 0, max: per.length ? Math.max(...per) : 0, subscriptions: per.length },
          errors,
          errorSamples,
          closes,
          closeCodes: [...closeCodes],
          cpuSeconds: cpu.seconds(),
        });
        // The next window counts afresh.
        measureStart = Infinity;
        measureEnd = -Infinity;
        latencies.reset();
        received = 0;
        for (const s of sockets) for (const id of s.subs.keys()) s.subs.set(id, 0);
        break;
      }
      case 'close':
        for (const s of sockets) s.ws.close(1000);
        setTimeout(() => process.exit(0), 300);
        break;
    }
  } catch (err) {
    process.send({ type: message.type === 'connect' ? 'ready' : message.type, error: String(err?.stack ?? err) });
  }
});

process.on('disconnect', () => process.exit(0));
