// What the load processes (bench/*-worker.mjs) share: their clocks, the latency recorder, the CPU time of a
// measurement window, and connecting many clients with a bounded number of handshakes in flight.

/**
 * Milliseconds since an epoch given by the parent (ms on the performance.timeOrigin scale), sub-millisecond,
 * comparable across processes. The epoch is 0 until `clock.setEpoch(epoch)`.
 */
export function epochClock() {
  let epoch = 0;
  const clock = () => performance.timeOrigin + performance.now() - epoch;
  clock.setEpoch = (value) => {
    epoch = value;
  };
  return clock;
}

/** Wall-clock ms with sub-ms resolution, aligned with Date.now() when created and at each `clock.align()`. */
export function wallClock() {
  let offset = 0;
  const clock = () => performance.timeOrigin + performance.now() + offset;
  clock.align = () => {
    offset = Date.now() - (performance.timeOrigin + performance.now());
  };
  clock.align();
  return clock;
}

/** Latencies (ms) in a Float64Array that doubles when full. */
export class Latencies {
  values = new Float64Array(1 << 16);
  count = 0;

  record(latency) {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = latency;
  }

  /** A copy of the latencies recorded so far. */
  slice() {
    return this.values.slice(0, this.count);
  }

  /** Forgets the latencies recorded so far. */
  reset() {
    this.count = 0;
  }
}

/** The process's CPU time between two moments, in seconds (null until the window has ended). */
export function cpuWindow() {
  let atStart;
  let inWindow;
  let usageAtStart;
  let switches = null;
  return {
    begin() {
      atStart = process.cpuUsage();
      usageAtStart = process.resourceUsage();
    },
    end() {
      inWindow = process.cpuUsage(atStart);
      const usage = process.resourceUsage();
      switches = {
        voluntary: usage.voluntaryContextSwitches - usageAtStart.voluntaryContextSwitches,
        involuntary: usage.involuntaryContextSwitches - usageAtStart.involuntaryContextSwitches,
      };
    },
    seconds() {
      return inWindow ? (inWindow.user + inWindow.system) / 1e6 : null;
    },
    /**
     * The process's context switches in the window (all its threads): voluntary (it went to sleep, each a wake-up
     * later: for a load process, mostly waiting for the server's next write) and involuntary (preempted).
     */
    switches() {
      return switches;
    },
  };
}

/**
 * Opens `count` connections with `open(i)` (i: 0, 1, ... in this call), at most `concurrency` (default 25)
 * waiting for `ready(connection)` at a time. Returns them all, and how many did not become ready.
 */
export async function openInLanes(count, concurrency, open, ready) {
  const fresh = [];
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      const connection = open(i);
      fresh.push(connection);
      await ready(connection).catch(() => (failed += 1));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency ?? 25, count) }, lane));
  return { fresh, failed };
}
