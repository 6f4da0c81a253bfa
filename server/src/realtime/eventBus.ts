/**
 * The event bus of the process, generic over its topics: every live event is published here once and fanned
 * out to subscribers. The topics and their payloads belong to the capabilities that publish them
 * (budget/events.ts, workflow/events.ts, realtime/sessionEvents.ts); `events.ts`, beside `app.ts`, puts
 * them together into the bus the process runs, and says which topics cross to other instances.
 *
 * One instance: in memory. Several (REDIS_URL set): the same bus over a cluster event target. An event is
 * delivered to this instance's subscribers at once, in memory, and published once to Redis with our
 * instance id; the other instances deliver it to theirs, and skip their own echo. Unlike a target that
 * routes even local events through Redis (@graphql-yoga/redis-event-target), local subscribers never wait
 * for a round trip and keep receiving while Redis is away. Payloads cross as JSON, Dates tagged so they
 * come back as Dates: a subscriber cannot tell a remote event from a local one.
 *
 * Topics not named as cluster topics never leave the process. CLUSTER_RESYNC (realtime/sessionEvents.ts) is
 * delivered here when Redis comes back, or is still away: catch up from PostgreSQL.
 *
 * Out of scope: what an event means, who may see it (subscription filters ask policies/), and ordering
 * across instances (workflow/eventSequencer.ts orders workflow events by their chain).
 */
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { patternsExcluding, type RedisLink } from './redisLink.js';
import { CLUSTER_RESYNC, type ClusterResyncEvent } from './sessionEvents.js';

/** Topic name -> payload, one payload per event. */
export type TopicMap = Record<string, unknown>;

/**
 * The bus over these topics: graphql-yoga's PubSub (type-graphql's `pubSub`), one payload per topic. `topics`
 * exists only in the type, so that `onEvent(bus, topic, ...)` infers the payload from the bus it is given.
 */
export type EventBus<T extends TopicMap = TopicMap> = PubSub<{ [K in keyof T]: [T[K]] }> & { readonly topics?: T };

export interface EventBusOptions<T extends TopicMap> {
  /** The link to the other instances; without it the bus stays in memory. */
  link?: RedisLink;
  /** The topics other instances receive; the rest stay in the process. */
  clusterTopics: readonly (keyof T & string)[];
}

/** In memory without a link; shared with the other instances through Redis with one. */
export function createEventBus<T extends TopicMap>(options: EventBusOptions<T>): EventBus<T> {
  if (!options.link) {
    const target = new EventTarget();
    const bus = createPubSub({ eventTarget: target }) as EventBus<T>;
    busTargets.set(bus, target);
    return bus;
  }
  const target = new ClusterEventTarget(options.link, new Set(options.clusterTopics));
  const bus = createPubSub({ eventTarget: target }) as EventBus<T>;
  clusterTargets.set(bus, target);
  busTargets.set(bus, target);
  return bus;
}

const clusterTargets = new WeakMap<object, ClusterEventTarget>();
/** The EventTarget under each bus made here: what `onEvent` listens on. */
const busTargets = new WeakMap<object, EventTarget>();

/**
 * Delivers an event to this instance's subscribers only: for what an instance reads back from PostgreSQL to
 * catch up, which every other instance catches up with by itself.
 */
export function publishLocally<T extends TopicMap, K extends keyof T & string>(bus: EventBus<T>, topic: K, payload: T[K]): void {
  const target = clusterTargets.get(bus);
  if (target) target.deliver(topic, payload);
  else (bus.publish as (t: K, p: T[K]) => void)(topic, payload);
}

/** Publishes one event (the typed form of `bus.publish`, for generic callers). */
export function publish<T extends TopicMap, K extends keyof T & string>(bus: EventBus<T>, topic: K, payload: T[K]): void {
  (bus.publish as (t: K, p: T[K]) => void)(topic, payload);
}

/**
 * JSON with Dates tagged, so that they come back as Dates (`updatedAt`, `at`, `createdAt`, `submittedAt`, ...).
 *
 * The tags are put in by a walk before a plain `JSON.stringify`, and taken out by a walk after a plain
 * `JSON.parse`, rather than by a replacer and a reviver: V8 calls those back for every key, from C++, and with two
 * instances every projection batch's events cross this way (issue 16: the reviver alone was about 1% of each
 * instance's CPU at 50 writers). Measured on a message of three line events: 7 against 12 us to serialise, 7
 * against 20 us to parse. The walk copies only the objects on the way to a Date; the rest is shared.
 */
export function serializeEvent(value: unknown): string {
  return JSON.stringify(tagDates(value));
}

export function deserializeEvent(text: string): unknown {
  return untagDates(JSON.parse(text));
}

/** `value` with every Date replaced by `{ $date: iso }`; copies only what leads to a Date. */
function tagDates(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return { $date: value.toISOString() };
  // What JSON.stringify would write for it instead (a Buffer's toJSON, say), tagged in turn.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return tagDates((value as { toJSON(): unknown }).toJSON());
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const tagged = tagDates(value[i]);
      if (tagged !== value[i]) (copy ??= value.slice())[i] = tagged;
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const tagged = tagDates(record[key]);
    if (tagged !== record[key]) (copy ??= { ...record })[key] = tagged;
  }
  return copy ?? value;
}

/** Parsed JSON with every `{ $date: string }` (that key alone) turned back into a Date, in place. */
function untagDates(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = untagDates(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === '$date' && typeof record.$date === 'string') return new Date(record.$date);
  for (const key of keys) {
    const untagged = untagDates(record[key]);
    // Assigned only when it changed: JSON.parse makes "__proto__" an own key, which an assignment would not be.
    if (untagged !== record[key]) Object.defineProperty(record, key, { value: untagged, enumerable: true, writable: true, configurable: true });
  }
  return record;
}

interface BusEvent {
  topic: string;
  detail: unknown;
}

/** One event (what one was published alone), or several, in the order they were published. */
type BusMessage = ({ from: string } & BusEvent) | { from: string; events: BusEvent[] };

/** At most this many events in one message (a larger turn goes out as several, in order). */
const MAX_EVENTS_PER_MESSAGE = 256;

/**
 * An EventTarget that delivers locally, then publishes cluster topics to Redis; events from other instances are
 * delivered locally as if published here.
 *
 * Each instance publishes on a channel of its own (`<prefix>:bus:<instanceId>`) and listens to every other
 * instance's, through patterns that match every such channel but its own (redisLink.ts `patternsExcluding`):
 * on a channel they all shared, Redis would send each message back to its sender too, a wake-up and a parse of
 * the instance's own message for nothing (issue 16, two instances: about one bus message per projection batch,
 * so about ten a second per busy instance). What instances before this publish on the shared channel
 * (`<prefix>:bus`) is still received; they do not hear this version's instances (during a rolling upgrade, an
 * older instance's subscribers miss the newer ones' events until it is replaced).
 *
 * The cluster events of one turn of the event loop go out together, in order, as one message: a grid
 * projection's batch publishes an event per line it wrote, and each Redis message costs every instance a
 * wake-up and a parse (issue 16, two instances). A message that carries our own id (a copy of ours, however it
 * came back) is skipped by its first bytes, before it is parsed.
 */
class ClusterEventTarget extends EventTarget {
  /** Where this instance publishes. */
  private readonly channel: string;
  /** How every message we publish starts (`from` is serialised first). */
  private readonly ownPrefix: Buffer;
  private outgoing: BusEvent[] = [];
  private flushScheduled = false;

  constructor(
    private readonly link: RedisLink,
    private readonly clusterTopics: ReadonlySet<string>,
  ) {
    super();
    this.channel = link.channel(`bus:${link.instanceId}`);
    this.ownPrefix = Buffer.from(`{"from":${JSON.stringify(link.instanceId)},`);
    const receive = (message: Buffer) => this.receive(message);
    void link.subscribePatterns(patternsExcluding(link.channel('bus:'), link.instanceId), receive);
    void link.subscribe(link.channel('bus'), receive);
    link.onResync((reason) => this.deliver(CLUSTER_RESYNC, { reason } satisfies ClusterResyncEvent));
  }

  override dispatchEvent(event: Event): boolean {
    const delivered = super.dispatchEvent(event);
    if (this.clusterTopics.has(event.type)) {
      this.outgoing.push({ topic: event.type, detail: (event as CustomEvent).detail });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }
    return delivered;
  }

  /** Publishes the turn's cluster events: alone as one event, else as a list, in order. */
  private flush(): void {
    this.flushScheduled = false;
    const events = this.outgoing;
    this.outgoing = [];
    const from = this.link.instanceId;
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_MESSAGE) {
      const part = events.slice(i, i + MAX_EVENTS_PER_MESSAGE);
      const message: BusMessage = part.length === 1 ? { from, ...part[0] } : { from, events: part };
      this.link.publish(this.channel, serializeEvent(message));
    }
  }

  deliver(topic: string, detail: unknown): void {
    super.dispatchEvent(new CustomEvent(topic, { detail }));
  }

  private receive(raw: Buffer): void {
    const own = this.ownPrefix;
    if (raw.length >= own.length && raw.compare(own, 0, own.length, 0, own.length) === 0) return;
    let message: BusMessage;
    try {
      message = deserializeEvent(raw.toString('utf8')) as BusMessage;
    } catch {
      return;
    }
    if (message === null || typeof message !== 'object' || message.from === this.link.instanceId) return;
    const events = 'events' in message ? message.events : [message];
    if (!Array.isArray(events)) return;
    for (const event of events) {
      if (event !== null && typeof event === 'object' && this.clusterTopics.has(event.topic)) this.deliver(event.topic, event.detail);
    }
  }
}

/**
 * Calls `handler` for every event of `topic` from now on (for server-side listeners such as the grid
 * server, not subscriptions); returns the function that stops listening.
 *
 * A listener on the bus's EventTarget: the handler runs in a microtask of its own after the publisher's code, in
 * the order of publication, as it would at the end of a subscription's async iteration, but without a Repeater
 * (a promise and queue entries per event): with several instances, every projected grid change reaches the
 * resync catch-up's listener (budget/unitEventCatchUp.ts), and the Repeater was about 2% of an instance's CPU
 * at 50 writers (issue 16). A bus not made by `createEventBus` is followed through `subscribe`.
 */
export function onEvent<T extends TopicMap, K extends keyof T & string>(bus: EventBus<T>, topic: K, handler: (event: T[K]) => void): () => void {
  const target = busTargets.get(bus);
  if (!target) return followSubscription(bus, topic, handler);
  let running = true;
  const run = (detail: T[K]) => {
    if (!running) return;
    try {
      handler(detail);
    } catch {
      // A failing listener must not stop the others.
    }
  };
  const listener = (event: Event) => {
    const detail = (event as CustomEvent<T[K]>).detail;
    queueMicrotask(() => run(detail));
  };
  target.addEventListener(topic, listener);
  return () => {
    running = false;
    target.removeEventListener(topic, listener);
  };
}

/** `onEvent` on any PubSub: through its subscription's async iterator. */
function followSubscription<T extends TopicMap, K extends keyof T & string>(bus: EventBus<T>, topic: K, handler: (event: T[K]) => void): () => void {
  const iterator = (bus.subscribe as (t: K) => AsyncIterable<T[K]>)(topic)[Symbol.asyncIterator]();
  let running = true;
  // The first next() attaches the listener (the subscription is a lazy Repeater), synchronously.
  let next = iterator.next();
  void (async () => {
    while (running) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      try {
        handler(result.value);
      } catch {
        // A failing listener must not stop the others, nor this loop.
      }
    }
  })();
  return () => {
    running = false;
    void iterator.return?.();
  };
}
