import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { OutageLog } from './outageLog.js';

/** A real pino logger whose lines are kept: what an operator would read. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info');
  const recorded = log.child({});
  for (const level of ['error', 'info'] as const) {
    recorded[level] = ((obj: Record<string, unknown>, msg: string) => lines.push({ level, msg, ...obj })) as never;
  }
  return { log: recorded, lines };
}

describe('OutageLog', () => {
  it('logs the first error of an outage whole, sums the repeats up once a minute, and says when they stopped', () => {
    let now = 0;
    const { log, lines } = recordingLogger();
    const outage = new OutageLog(log, 'pg-boss error', { now: () => now, summaryEveryMs: 60_000, quietAfterMs: 30_000 });
    // Three a second for two and a half minutes, as pg-boss did with the database down.
    for (; now < 150_000; now += 333) outage.error(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    const lastError = now - 333;
    expect(lines.map((l) => l.msg)).toEqual(['pg-boss error', 'pg-boss error: 181 more since the last line', 'pg-boss error: 181 more since the last line']);
    expect(lines[0].err).toBeInstanceOf(Error);
    expect(lines[1]).toMatchObject({ level: 'error', repeats: 181, last: 'connect ECONNREFUSED 127.0.0.1:5432' });
    // Not quiet long enough yet: nothing said.
    now = lastError + 10_000;
    outage.checkQuiet();
    expect(lines).toHaveLength(3);
    now = lastError + 30_000;
    outage.checkQuiet();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ level: 'info', msg: 'pg-boss error: no more since 30 s (451 in all)', errors: 451 });
    // The next outage starts afresh, with its first error whole.
    outage.error(new Error('again'));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatchObject({ msg: 'pg-boss error' });
    outage.stop();
  });
});
