// What the two grid load processes share (bench/grid-worker.mjs, stock providers, and
// bench/grid-light-worker.mjs, light clients): the measurement window, the writers' timing, the IPC messages
// 'start', 'count', 'sends' and 'report', and the CPU and event-loop delay measured inside the window.
//
// Two delays are measured for every delivery. A writer takes the time, sets its cell to it (a Yjs transaction on
// its own Y.Doc, whose 'update' handler frames the update and hands it to the socket), so `now - value` at a
// receiver is the delay from before the writer's edit: it includes the writer's own Yjs work, 0.2-0.3 ms typical
// and 1-2.6 ms at its 99th percentile here (issue 16, stop 46), growing with the client ids the document has
// gathered, and larger for a server that sends the document's history to a joining writer than for one that
// sends none (the floors). Propagation is measured from the moment the update is handed to the writer's socket:
// each writer notes, per value, how long after the value was taken its update went out ('sends'); the parent
// gathers those from every load process and hands them back with 'report', and each receiver subtracts the
// writer's offset from its delay.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuWindow, epochClock, Latencies } from './loadProcess.mjs';

const LOOP_RESOLUTION_MS = 10;

/**
 * The state of one grid load process. `now` is ms since the parent's epoch (set on 'connect'); a client
 * counts each delivery of a value in [measureStart, measureEnd) with `delivered(writer, value, now - value)`,
 * `writer` being how the load processes name the value's writer (a light client's Yjs client id, a stock
 * provider's cell key), and a writer calls `sending(writer)` as its update is handed to its socket.
 */
export function gridWorker() {
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const cpu = cpuWindow();
  const w = {
    /** Milliseconds since the parent's epoch, sub-millisecond, comparable across processes. */
    now: epochClock(),
    measureStart: Infinity,
    measureEnd: -Infinity,
    stopped: false,
    clients: [],
    /** Delays (ms) from before the writer's edit of changes sent inside the window, as received by any client here. */
    editLatencies: new Latencies(),
    /** The writer and the value of each of those deliveries, in the same order. */
    deliveryWriters: [],
    deliveryValues: new Latencies(),
    received: 0,
    /** This process's writers' updates sent inside the window: writer, value, ms from the value to the send; flat. */
    sends: [],

    /** A delivery of `value`, set by `writer`, received `delay` ms after the value was taken. */
    delivered(writer, value, delay) {
      w.editLatencies.record(delay);
      w.deliveryWriters.push(writer);
      w.deliveryValues.record(value);
      w.received += 1;
    },

    /** A writer's update is being handed to its socket: the edit `startWriting` is making, if any. */
    sending(client, writer) {
      const value = client.editing;
      if (value === undefined || value < w.measureStart || value >= w.measureEnd) return;
      w.sends.push(writer, value, w.now() - value);
    },

    /**
     * The delays from each writer's send (ms), from every writer's sends in every load process (`allSends`, flat
     * as `sends`). A delivery whose send is not among them is counted in `unmatched`, not guessed.
     */
    propagation(allSends = []) {
      const sentAfter = new Map();
      for (let i = 0; i < allSends.length; i += 3) sentAfter.set(`${allSends[i]}|${allSends[i + 1]}`, allSends[i + 2]);
      const latencies = new Latencies();
      let unmatched = 0;
      const delays = w.editLatencies.values;
      const values = w.deliveryValues.values;
      for (let i = 0; i < w.editLatencies.count; i++) {
        const offset = sentAfter.get(`${w.deliveryWriters[i]}|${values[i]}`);
        if (offset === undefined) unmatched += 1;
        else latencies.record(delays[i] - offset);
      }
      return { latencies: latencies.slice(), unmatched };
    },

    /** A writer sets its own cell (`client.cells`, `client.key`) to the send time every periodMs, at a random phase. */
    startWriting(client, writeStart, periodMs = 1000) {
      const first = writeStart + Math.random() * periodMs;
      let n = 0;
      const tick = () => {
        if (w.stopped) return;
        const t = w.now();
        if (t >= w.measureEnd) return;
        client.editing = t; // for `sending`, called from inside the set as the update goes out
        client.cells.set(client.key, t);
        client.editing = undefined;
        if (t >= w.measureStart) client.sent += 1;
        n += 1;
        client.timer = setTimeout(tick, Math.max(0, first + n * periodMs - w.now()));
      };
      client.timer = setTimeout(tick, Math.max(0, first - w.now()));
    },

    /** 'start': the window, the writers, and CPU and event-loop delay measured inside the window. */
    start(message) {
      w.measureStart = message.measureStart;
      w.measureEnd = message.measureEnd;
      for (const client of w.clients) if (client.writer) w.startWriting(client, message.writeStart, message.periodMs);
      setTimeout(() => {
        loopDelay.reset();
        loopDelay.enable();
        cpu.begin();
      }, Math.max(0, w.measureStart - w.now()));
      setTimeout(() => {
        loopDelay.disable();
        cpu.end();
      }, Math.max(0, w.measureEnd - w.now()));
    },

    /**
     * With TRACE_DELIVERIES set, keeps one delivery: the value's send time (ms since the epoch), its delay, the
     * writer's and the receiver's Yjs client ids (flat, four numbers a delivery).
     */
    trace(value, delay, writer, receiver) {
      if (process.env.TRACE_DELIVERIES) w.deliveries.push(value, delay, writer, receiver);
    },
    deliveries: [],

    /** The 'report' message, each client described by `describe(client)`; `allSends` as for `propagation`. */
    report(describe, allSends) {
      // TRACE_DELIVERIES=<folder> (bench/tail-trace.mjs): every delivery of the run, as recorded by `trace`.
      if (process.env.TRACE_DELIVERIES) {
        const file = `${process.env.TRACE_DELIVERIES}/${process.pid}-${Date.now()}.json`;
        fs.writeFileSync(file, JSON.stringify({ epoch: performance.timeOrigin + performance.now() - w.now(), start: w.measureStart, end: w.measureEnd, trace: w.deliveries }));
      }
      w.deliveries = [];
      const { latencies, unmatched } = w.propagation(allSends);
      return {
        type: 'report',
        /** From the writer's send: propagation. */
        latencies,
        /** From before the writer's edit. */
        editLatencies: w.editLatencies.slice(),
        unmatched,
        received: w.received,
        cpuSeconds: cpu.seconds(),
        switches: cpu.switches(),
        // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
        loopDelayP99Ms: loopDelay.count > 0 ? Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : null,
        loopDelayMaxMs: loopDelay.count > 0 ? Math.max(0, loopDelay.max / 1e6 - LOOP_RESOLUTION_MS) : null,
        clients: w.clients.map(describe),
      };
    },
  };
  return w;
}

/**
 * Answers the parent's IPC messages: 'connect' and 'close' by the worker's own handlers, 'start' (after
 * `beforeStart(message)`, if given), 'count' and 'report' (clients described by `describe`) here. Exits
 * when the parent goes away.
 */
export function serveGridWorker(w, { connect, beforeStart, describe, close }) {
  process.on('message', async (message) => {
    switch (message.type) {
      case 'connect': {
        w.now.setEpoch(message.epoch);
        await connect(message);
        break;
      }
      case 'start': {
        beforeStart?.(message);
        w.start(message);
        break;
      }
      case 'count':
        process.send({ type: 'count', received: w.received });
        break;
      case 'sends':
        w.stopped = true;
        process.send({ type: 'sends', sends: w.sends });
        break;
      case 'report': {
        w.stopped = true;
        process.send(w.report(describe, message.sends));
        break;
      }
      case 'close': {
        w.stopped = true;
        close();
        break;
      }
    }
  });
  process.on('disconnect', () => process.exit(0));
}
