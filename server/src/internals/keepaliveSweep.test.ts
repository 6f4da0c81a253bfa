/**
 * The keep-alive sweep's schedule (keepaliveSweep.ts): every member once per interval, a slice per tick, none
 * after it left. Fake timers drive the sweep's own timer; the servers' wiring is tested with real sockets in
 * realtime/keepalive.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeepaliveSweep } from './keepaliveSweep.js';

const INTERVAL_MS = 12_000;
const TICK_MS = 500;

describe('KeepaliveSweep', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('visits every member once per interval, about members / slices of them per tick', () => {
    const visits = new Map<number, number[]>();
    const perTick: number[] = [];
    let thisTick = 0;
    const sweep = new KeepaliveSweep<number>((member) => {
      visits.set(member, [...(visits.get(member) ?? []), Date.now()]);
      thisTick++;
    }, INTERVAL_MS);
    for (let member = 0; member < 1000; member++) sweep.add(member);
    const start = Date.now();
    for (let t = 0; t < (3 * INTERVAL_MS) / TICK_MS; t++) {
      thisTick = 0;
      vi.advanceTimersByTime(TICK_MS);
      perTick.push(thisTick);
    }
    expect(visits.size).toBe(1000);
    for (const [member, times] of visits) {
      expect(times, `member ${member}`).toHaveLength(3);
      expect(times[0] - start, `member ${member}: first visit within one interval`).toBeLessThanOrEqual(INTERVAL_MS);
      expect(times[1] - times[0], `member ${member}`).toBe(INTERVAL_MS);
      expect(times[2] - times[1], `member ${member}`).toBe(INTERVAL_MS);
    }
    // 1,000 members over 24 slices: 41 or 42 a tick, never all at once.
    expect(Math.max(...perTick)).toBe(42);
    expect(Math.min(...perTick)).toBe(41);
    sweep.close();
  });

  it('keeps the slices even as members come and go', () => {
    const perTick: number[] = [];
    let thisTick = 0;
    const sweep = new KeepaliveSweep<number>(() => thisTick++, INTERVAL_MS);
    for (let member = 0; member < 240; member++) sweep.add(member);
    // Half leave, all of those of the first 12 slices (member m joined slice m % 24), then as many join: they
    // fill the emptied slices rather than the next in turn.
    for (let member = 0; member < 240; member++) if (member % 24 < 12) sweep.delete(member);
    for (let member = 240; member < 360; member++) sweep.add(member);
    expect(sweep.size).toBe(240);
    for (let t = 0; t < INTERVAL_MS / TICK_MS; t++) {
      thisTick = 0;
      vi.advanceTimersByTime(TICK_MS);
      perTick.push(thisTick);
    }
    expect(perTick.every((n) => n === 10)).toBe(true);
    sweep.close();
  });

  it('never visits a member after it was deleted, even one deleted by a visit of its own slice', () => {
    const visited: string[] = [];
    let sweep: KeepaliveSweep<string>;
    // 'a' and 'b' share the first slice (24 slices, 25 members: the 25th joins the smallest, the first).
    const members = Array.from({ length: 25 }, (_, i) => (i === 0 ? 'a' : i === 24 ? 'b' : `m${i}`));
    sweep = new KeepaliveSweep<string>((member) => {
      visited.push(member);
      // A visit that closes a socket whose close handler removes another of the same slice.
      if (member === 'a') sweep.delete('b');
    }, INTERVAL_MS);
    for (const member of members) sweep.add(member);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(visited).toContain('a');
    expect(visited).not.toContain('b');
    sweep.delete('m5');
    visited.length = 0;
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(visited).not.toContain('m5');
    expect(visited).toHaveLength(23);
    sweep.close();
  });

  it('visits nothing once closed', () => {
    const visit = vi.fn();
    const sweep = new KeepaliveSweep<number>(visit, INTERVAL_MS);
    sweep.add(1);
    sweep.close();
    vi.advanceTimersByTime(3 * INTERVAL_MS);
    expect(visit).not.toHaveBeenCalled();
    expect(sweep.size).toBe(0);
  });

  it('does not hold the process open', () => {
    const sweep = new KeepaliveSweep<number>(() => undefined, INTERVAL_MS);
    expect(vi.getTimerCount()).toBe(1);
    // Its timer is unref'd: Node would exit with only it pending.
    expect((sweep as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    sweep.close();
  });
});
