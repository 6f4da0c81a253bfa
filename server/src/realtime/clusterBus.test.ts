/**
 * The event bus between instances, on the local Redis (skipped, with a message, when none answers): two
 * buses on RedisLinks in this process stand for two instances. The cluster events of one turn go out as one
 * message, in order, on the sender's own channel; each instance delivers its own events once, and Redis never
 * sends an instance back what it published (its patterns match every instance's channel but its own, whatever
 * the prefix); a message of one event alone (what instances before batching sent), on the channel instances
 * shared before, is still understood; and what is not a message of ours is dropped without harm.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { eventually } from '../testing/gridClients.js';
import { LOCAL_REDIS_URL, redisReachable } from '../testing/instances.js';
import { createEventBus, onEvent, serializeEvent, type EventBus } from './eventBus.js';
import { patternsExcluding, RedisLink } from './redisLink.js';

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) console.warn(`[clusterBus.test] SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}.`);

type Topics = { LINE: { n: number }; SUBMISSION: { n: number }; LOCAL_ONLY: { n: number } };

describe.skipIf(!reachable)('event bus between instances', () => {
  const prefix = `plansync-test-bus-${randomBytes(4).toString('hex')}`;
  const log = createLogger('silent');
  const links: RedisLink[] = [];
  let spy: Redis;
  let raw: Redis;
  let a: EventBus<Topics>;
  let b: EventBus<Topics>;
  const seenOnA: string[] = [];
  const seenOnB: string[] = [];
  const stops: (() => void)[] = [];

  async function bus(): Promise<EventBus<Topics>> {
    const link = new RedisLink({ url: LOCAL_REDIS_URL, prefix, log });
    await link.start(5000);
    links.push(link);
    return createEventBus<Topics>({ link, clusterTopics: ['LINE', 'SUBMISSION'] });
  }

  function follow(on: EventBus<Topics>, into: string[]) {
    for (const topic of ['LINE', 'SUBMISSION', 'LOCAL_ONLY'] as const) stops.push(onEvent(on, topic, ({ n }) => into.push(`${topic}:${n}`)));
  }

  beforeAll(async () => {
    spy = new Redis(LOCAL_REDIS_URL);
    raw = new Redis(LOCAL_REDIS_URL);
    a = await bus();
    b = await bus();
    follow(a, seenOnA);
    follow(b, seenOnB);
    await spy.psubscribe(`${prefix}:bus:*`);
  });
  afterAll(async () => {
    stops.forEach((stop) => stop());
    await Promise.all(links.map((link) => link.close()));
    spy?.disconnect();
    raw?.disconnect();
  });

  it('sends the cluster events of one turn as one message, in order; each instance delivers each event once', async () => {
    const messages: Buffer[] = [];
    spy.on('pmessageBuffer', (_pattern: string, channel: Buffer, message: Buffer) => {
      expect(channel.toString()).toBe(`${prefix}:bus:${links[0].instanceId}`);
      messages.push(message);
    });
    seenOnA.length = 0;
    seenOnB.length = 0;
    for (let n = 1; n <= 5; n++) a.publish(n % 2 ? 'LINE' : 'SUBMISSION', { n });
    a.publish('LOCAL_ONLY', { n: 6 });
    const expected = ['LINE:1', 'SUBMISSION:2', 'LINE:3', 'SUBMISSION:4', 'LINE:5'];
    await eventually(() => seenOnB.length >= expected.length, 'the events to reach B');
    // In order within each topic (a listener of each topic is its own async iterator: topics interleave freely).
    const ofTopic = (seen: string[], topic: string) => seen.filter((e) => e.startsWith(`${topic}:`));
    for (const topic of ['LINE', 'SUBMISSION']) expect(ofTopic(seenOnB, topic)).toEqual(ofTopic(expected, topic));
    expect(seenOnB).toHaveLength(expected.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...seenOnA].sort()).toEqual([...expected, 'LOCAL_ONLY:6'].sort());
    expect(messages).toHaveLength(1);
    spy.removeAllListeners('pmessageBuffer');
  });

  it('never sends an instance back what it published: its patterns match every other instance\'s channel, not its own', async () => {
    // A's own subscriptions, as a client of their own: what Redis would deliver to A.
    const [linkA, linkB] = links;
    const asA = new Redis(LOCAL_REDIS_URL);
    const received: string[] = [];
    try {
      await asA.psubscribe(...patternsExcluding(`${prefix}:bus:`, linkA.instanceId));
      asA.on('pmessageBuffer', (_pattern: string, channel: Buffer) => received.push(channel.toString()));
      seenOnA.length = 0;
      seenOnB.length = 0;
      a.publish('LINE', { n: 10 });
      b.publish('LINE', { n: 11 });
      await eventually(() => seenOnA.includes('LINE:11') && seenOnB.includes('LINE:10'), 'each instance to hear the other');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([`${prefix}:bus:${linkB.instanceId}`]);
      expect([...seenOnA].sort()).toEqual(['LINE:10', 'LINE:11']);
      expect([...seenOnB].sort()).toEqual(['LINE:10', 'LINE:11']);
    } finally {
      asA.disconnect();
    }
  });

  it('matches every channel of another id exactly once, and never its own, with glob characters in the prefix', async () => {
    const base = `${prefix}:we*ird?[pre]fix^-\\:bus:`;
    const own = 'c0ffee00-0000-4000-8000-00000000abcd';
    const listener = new Redis(LOCAL_REDIS_URL);
    const received: string[] = [];
    try {
      await listener.psubscribe(...patternsExcluding(base, own));
      listener.on('pmessageBuffer', (_pattern: string, channel: Buffer) => received.push(channel.toString()));
      // Other ids: differing at the first, a middle, a dash's and the last position; our own; and channels
      // outside the base (a prefix that merely looks alike).
      const others = ['d0ffee00-0000-4000-8000-00000000abcd', 'c0ffee00-0000-4000-9000-00000000abcd', 'c0ffee00x0000-4000-8000-00000000abcd', 'c0ffee00-0000-4000-8000-00000000abce'];
      for (const id of others) await raw.publish(base + id, 'x');
      await raw.publish(base + own, 'x');
      await raw.publish(`${prefix}:weXird?[pre]fix^-\\:bus:${others[0]}`, 'x');
      await raw.publish(`${prefix}:bus:${others[0]}`, 'x');
      await eventually(() => received.length >= others.length, 'the other ids\' messages');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual(others.map((id) => base + id));
    } finally {
      listener.disconnect();
    }
  });

  it('understands a message of one event alone, and drops what is not a message of ours', async () => {
    seenOnB.length = 0;
    const channel = `${prefix}:bus`;
    for (const garbage of ['not json', 'null', '{"from":"x","events":"no"}', '{"from":"x","events":[null,{"topic":"LOCAL_ONLY","detail":{"n":0}}]}', '{"from":"x","topic":"UNKNOWN","detail":{}}']) {
      await raw.publish(channel, garbage);
    }
    await raw.publish(channel, serializeEvent({ from: 'an-older-instance', topic: 'LINE', detail: { n: 7 } }));
    // And on another instance's own channel: garbage dropped there too, the event delivered.
    const other = `${prefix}:bus:00000000-0000-4000-8000-000000000000`;
    await raw.publish(other, 'not json');
    await raw.publish(other, serializeEvent({ from: '00000000-0000-4000-8000-000000000000', topic: 'LINE', detail: { n: 8 } }));
    await eventually(() => seenOnB.length >= 2, 'the single events to arrive');
    expect(seenOnB).toEqual(['LINE:7', 'LINE:8']);
  });
});
