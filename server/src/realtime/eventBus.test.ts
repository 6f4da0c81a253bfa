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
  it('tags Dates wherever JSON.stringify would reach them, and copies nothing it does not change', () => {
    const shared = { a: 1, nested: { b: 'x' } };
    const withDate = { at: new Date('2026-01-01T00:00:00Z'), shared };
    const viaToJson = { toJSON: () => ({ when: new Date('2026-02-02T00:00:00Z') }) };
    const event = { withDate, shared, viaToJson, missing: undefined, list: [shared, new Date(5)] };
    const text = serializeEvent(event);
    expect(text).toBe(JSON.stringify({ withDate: { at: { $date: '2026-01-01T00:00:00.000Z' }, shared }, shared, viaToJson: { when: { $date: '2026-02-02T00:00:00.000Z' } }, list: [shared, { $date: '1970-01-01T00:00:00.005Z' }] }));
    expect(withDate.at).toBeInstanceOf(Date); // the caller's objects are left as they were
    expect(event.list[1]).toBeInstanceOf(Date);
  });

  it('parses a "__proto__" key as data, never as a prototype', () => {
    const back = deserializeEvent('{"detail":{"__proto__":{"$date":"2026-01-01T00:00:00Z"},"n":1}}') as { detail: Record<string, unknown> };
    expect(Object.getPrototypeOf(back.detail)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back.detail, '__proto__')?.value).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(back.detail.n).toBe(1);
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
