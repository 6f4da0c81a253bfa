// What the two grid load processes share (bench/grid-worker.mjs, stock providers, and
// bench/grid-light-worker.mjs, light clients): the measurement window, the writers' timing, the IPC messages
// 'start', 'count' and 'report', and the CPU and event-loop delay measured inside the window.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuWindow, epochClock, Latencies } from './loadProcess.mjs';

const LOOP_RESOLUTION_MS = 10;

/**
 * The state of one grid load process. `now` is ms since the parent's epoch (set on 'connect'); a client
 * counts deliveries of values in [measureStart, measureEnd) with `latencies.record(now - value)` and
 * `received += 1`.
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
    /** Latencies (ms) of changes sent inside the measurement window, as received by any client here. */
    latencies: new Latencies(),
    received: 0,

    /** A writer sets its own cell (`client.cells`, `client.key`) to the send time every periodMs, at a random phase. */
    startWriting(client, writeStart, periodMs = 1000) {
      const first = writeStart + Math.random() * periodMs;
      let n = 0;
      const tick = () => {
        if (w.stopped) return;
        const t = w.now();
        if (t >= w.measureEnd) return;
        client.cells.set(client.key, t);
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

    /** The 'report' message, each client described by `describe(client)`. */
    report(describe) {
      // TRACE_DELIVERIES=<folder> (bench/tail-trace.mjs): every delivery of the run, as recorded by `trace`.
      if (process.env.TRACE_DELIVERIES) {
        const file = `${process.env.TRACE_DELIVERIES}/${process.pid}-${Date.now()}.json`;
        fs.writeFileSync(file, JSON.stringify({ epoch: performance.timeOrigin + performance.now() - w.now(), start: w.measureStart, end: w.measureEnd, trace: w.deliveries }));
      }
      w.deliveries = [];
      return {
        type: 'report',
        latencies: w.latencies.slice(),
        received: w.received,
        cpuSeconds: cpu.seconds(),
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
      case 'report': {
        w.stopped = true;
        process.send(w.report(describe));
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
