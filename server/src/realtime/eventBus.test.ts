/** Events cross instances as JSON: Dates must come back as Dates, and nothing else may change. */
import { describe, expect, it } from 'vitest';
import { createPubSub } from '@graphql-yoga/subscription';
import { createEventBus, deserializeEvent, onEvent, publish, serializeEvent, type EventBus } from './eventBus.js';

describe('event serialisation between instances', () => {
  it('brings Dates back as Dates, at any depth, and leaves everything else alone', () => {
    const event = {
      planId: 'p',
      line: { updatedAt: new Date('2026-11-21T06:00:00.123Z'), updatedBy: null, comment: '2026-11-21T06:00:00.123Z', budgetAmount: 0 },
      submission: { submittedAt: new Date(0), submittedBy: { email: 'a@b' } },
      execution: { createdAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date('2026-01-02T00:00:00Z') },
      lookalike: { $date: 'not a date on its own', other: 1 },
      list: [new Date('2026-03-04T05:06:07Z'), 'x'],
    };
    const back = deserializeEvent(serializeEvent(event)) as typeof event;
    expect(back).toEqual(event);
    expect(back.line.updatedAt).toBeInstanceOf(Date);
    expect(back.submission.submittedAt).toBeInstanceOf(Date);
    expect(typeof back.line.comment).toBe('string');
    expect(back.list[0]).toBeInstanceOf(Date);
  });
});

describe('server-side listeners (onEvent)', () => {
  type Topics = { LINE: { n: number }; OTHER: { n: number } };

  it('runs each handler after the publisher, in the order of publication, only for its topic, on any bus', async () => {
    const made = createEventBus<Topics>({ clusterTopics: [] });
    const plain = createPubSub() as unknown as EventBus<Topics>; // a bus made elsewhere: followed through subscribe
    for (const bus of [made, plain]) {
      const seen: string[] = [];
      const stop = onEvent(bus, 'LINE', ({ n }) => seen.push(`line ${n}`));
      publish(bus, 'LINE', { n: 1 });
      publish(bus, 'OTHER', { n: 2 });
      publish(bus, 'LINE', { n: 3 });
      seen.push('publisher done');
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual(['publisher done', 'line 1', 'line 3']);
      stop();
    }
  });

  it('a handler that throws stops neither the others nor its own later events; once stopped, nothing more arrives, even what was already published', async () => {
    const bus = createEventBus<Topics>({ clusterTopics: [] });
    const seen: number[] = [];
    const stopThrowing = onEvent(bus, 'LINE', ({ n }) => {
      if (n === 1) throw new Error('listener bug');
      seen.push(-n);
    });
    const stop = onEvent(bus, 'LINE', ({ n }) => seen.push(n));
    publish(bus, 'LINE', { n: 1 });
    publish(bus, 'LINE', { n: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1, -2, 2]);
    publish(bus, 'LINE', { n: 3 });
    stop(); // published, not yet handled: not delivered
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1, -2, 2, -3]);
    stopThrowing();
    publish(bus, 'LINE', { n: 4 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1, -2, 2, -3]);
  });
});
