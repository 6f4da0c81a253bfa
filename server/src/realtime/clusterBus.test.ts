/**
 * The event bus between instances, on the local Redis (skipped, with a message, when none answers): two
 * buses on RedisLinks in this process stand for two instances. The cluster events of one turn go out as one
 * message, in order; each instance delivers its own events once (its echo from Redis skipped); a message of
 * one event alone (what instances before batching sent) is still understood; and what is not a message of ours
 * is dropped without harm.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { eventually } from '../testing/gridClients.js';
import { LOCAL_REDIS_URL, redisReachable } from '../testing/instances.js';
import { createEventBus, onEvent, serializeEvent, type EventBus } from './eventBus.js';
import { RedisLink } from './redisLink.js';

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
    await spy.subscribe(`${prefix}:bus`);
  });
  afterAll(async () => {
    stops.forEach((stop) => stop());
    await Promise.all(links.map((link) => link.close()));
    spy?.disconnect();
    raw?.disconnect();
  });

  it('sends the cluster events of one turn as one message, in order; each instance delivers each event once', async () => {
    const messages: Buffer[] = [];
    spy.on('messageBuffer', (_channel: Buffer, message: Buffer) => messages.push(message));
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
    spy.removeAllListeners('messageBuffer');
  });

  it('understands a message of one event alone, and drops what is not a message of ours', async () => {
    seenOnB.length = 0;
    const channel = `${prefix}:bus`;
    for (const garbage of ['not json', 'null', '{"from":"x","events":"no"}', '{"from":"x","events":[null,{"topic":"LOCAL_ONLY","detail":{"n":0}}]}', '{"from":"x","topic":"UNKNOWN","detail":{}}']) {
      await raw.publish(channel, garbage);
    }
    await raw.publish(channel, serializeEvent({ from: 'an-older-instance', topic: 'LINE', detail: { n: 7 } }));
    await eventually(() => seenOnB.length >= 1, 'the single event to arrive');
    expect(seenOnB).toEqual(['LINE:7']);
  });
});
