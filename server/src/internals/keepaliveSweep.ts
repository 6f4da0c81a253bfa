/**
 * Keep-alive for many sockets on one timer, a slice at a time.
 *
 * Each member is visited once per interval (the caller's visit pings it, or drops it when the last ping went
 * unanswered). A sweep of every socket at once holds the event loop for the whole sweep, and then again for the
 * pongs, which come back together: with 5,000 GraphQL sockets that is tens of milliseconds every interval, during
 * which no live event and no grid edit goes out (bench/results.md, section 5, measures the fan-out such a stall
 * would delay). Here the members are spread over slices, one slice visited per tick, so each tick pings about
 * members / slices sockets and their pongs trickle back.
 *
 * A member joins the smallest slice, so the slices stay even as sockets come and go. Its first visit comes within
 * one interval of joining, as with a sweep of all at once; from then on it is visited every interval exactly.
 *
 * Out of scope: what a visit does (the caller's), the timers of one socket (there are none: one timer for all).
 */

/** How often a slice is visited, at most: short enough that each slice is small, long enough to cost nothing idle. */
const TICK_MS = 500;

export class KeepaliveSweep<T> {
  private readonly slices: Set<T>[];
  /** The slice the next tick visits. */
  private turn = 0;
  private readonly timer: NodeJS.Timeout;

  /**
   * @param visit called once per interval for each member, never for one deleted
   * @param intervalMs how often each member is visited
   */
  constructor(
    private readonly visit: (member: T) => void,
    intervalMs: number,
  ) {
    const count = Math.max(1, Math.round(intervalMs / TICK_MS));
    this.slices = Array.from({ length: count }, () => new Set<T>());
    this.timer = setInterval(() => this.tick(), intervalMs / count);
    // Keep-alive never keeps the process alive.
    this.timer.unref();
  }

  /** Members in all slices. */
  get size(): number {
    return this.slices.reduce((total, slice) => total + slice.size, 0);
  }

  add(member: T): void {
    let smallest = this.slices[0];
    for (const slice of this.slices) if (slice.size < smallest.size) smallest = slice;
    smallest.add(member);
  }

  /** Stops visiting `member` (a closed socket). A few dozen Set lookups: closes are rare next to visits. */
  delete(member: T): void {
    for (const slice of this.slices) if (slice.delete(member)) return;
  }

  /** Stops the timer; nothing is visited after. */
  close(): void {
    clearInterval(this.timer);
    for (const slice of this.slices) slice.clear();
  }

  private tick(): void {
    const slice = this.slices[this.turn];
    this.turn = (this.turn + 1) % this.slices.length;
    // A copy: a visit may close its socket, and a close handler may delete members of this slice.
    for (const member of [...slice]) {
      if (slice.has(member)) this.visit(member);
    }
  }
}
