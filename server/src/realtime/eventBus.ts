/**
 * The one event bus of the process: every live event (budget line changes, submissions, workflow events,
 * access changes) is published here once and fanned out to subscribers.
 *
 * One instance: in memory. Several (REDIS_URL set): the same bus over a cluster event target. An event is
 * delivered to this instance's subscribers at once, in memory, and published once to Redis with our
 * instance id; the other instances deliver it to theirs, and skip their own echo. Unlike a target that
 * routes even local events through Redis (@graphql-yoga/redis-event-target), local subscribers never wait
 * for a round trip and keep receiving while Redis is away. Payloads cross as JSON, Dates tagged so they
 * come back as Dates: a subscriber cannot tell a remote event from a local one.
 *
 * Two topics never leave the process: CLUSTER_RESYNC (Redis came back, or is still away: catch up from
 * PostgreSQL) and WORKFLOW_EVENT_ORDERED (workflow events in cursor order, see workflow/eventSequencer.ts).
 *
 * Events carry what subscription filters need (plan, unit), so fan-out never queries the database.
 */
import { createPubSub } from '@graphql-yoga/subscription';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { BudgetLineSnapshot } from '../budget/lineSnapshot.js';
import type { SubmissionSnapshot } from '../budget/submissionSnapshot.js';
import type { WorkflowEventRecord } from '../workflow/transitions.js';
import type { RedisLink, ResyncReason } from './redisLink.js';

export interface BudgetLineChangedEvent {
  planId: string;
  unitId: string;
  line: BudgetLineSnapshot;
}

/** A unit's submission changed status: open grid connections of the unit re-check their rights. */
export interface SubmissionStatusChangedEvent {
  planId: string;
  unitId: string;
  status: SubmissionStatus;
  submission: SubmissionSnapshot;
}

/** A person's role, units or organisation changed: their open sockets must not keep the old rights. */
export interface UserAccessChangedEvent {
  userId: string;
}

/** A token was ended before its expiry (`signOut`): sockets opened with it close with 4401. */
export interface TokensRevokedEvent {
  userId: string;
  /** The token's id (Viewer.tokenId). */
  tokenId: string;
}

/** Redis came back after an outage ('reconnected'), or is still away ('degraded'): catch up from PostgreSQL. */
export interface ClusterResyncEvent {
  reason: ResyncReason;
}

/** In memory without a link; shared with the other instances through Redis with one. */
export function createEventBus(link?: RedisLink) {
  if (!link) return createPubSub<BusTopics>();
  const target = new ClusterEventTarget(link);
  const bus = createPubSub<BusTopics>({ eventTarget: target });
  clusterTargets.set(bus, target);
  return bus;
}

const clusterTargets = new WeakMap<object, ClusterEventTarget>();

/**
 * Delivers an event to this instance's subscribers only: for what an instance reads back from PostgreSQL to
 * catch up, which every other instance catches up with by itself.
 */
export function publishLocally<K extends keyof BusTopics>(bus: EventBus, topic: K, payload: TopicPayload<K>): void {
  const target = clusterTargets.get(bus);
  if (target) target.deliver(topic, payload);
  else (bus.publish as (t: K, p: TopicPayload<K>) => void)(topic, payload);
}

export type EventBus = ReturnType<typeof createEventBus>;

type TopicPayload<K extends keyof BusTopics> = BusTopics[K][0];
type BusTopics = {
  BUDGET_LINE_CHANGED: [BudgetLineChangedEvent];
  SUBMISSION_STATUS_CHANGED: [SubmissionStatusChangedEvent];
  /** As published by the instance that committed it, in whatever order instances' messages arrive. */
  WORKFLOW_EVENT: [WorkflowEventRecord];
  USER_ACCESS_CHANGED: [UserAccessChangedEvent];
  TOKENS_REVOKED: [TokensRevokedEvent];
  /** Local: every workflow event exactly once, in cursor order (workflow/eventSequencer.ts). */
  WORKFLOW_EVENT_ORDERED: [WorkflowEventRecord];
  /** Local: see ClusterResyncEvent. */
  CLUSTER_RESYNC: [ClusterResyncEvent];
};

/** The topics other instances receive; the rest stay in the process. */
const CLUSTER_TOPICS: ReadonlySet<string> = new Set<keyof BusTopics>([
  'BUDGET_LINE_CHANGED',
  'SUBMISSION_STATUS_CHANGED',
  'WORKFLOW_EVENT',
  'USER_ACCESS_CHANGED',
  'TOKENS_REVOKED',
]);

/** JSON with Dates tagged, so that they come back as Dates (`updatedAt`, `at`, `createdAt`, `submittedAt`, ...). */
export function serializeEvent(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.toISOString() } : v;
  });
}

export function deserializeEvent(text: string): unknown {
  return JSON.parse(text, (_key, v) =>
    v !== null && typeof v === 'object' && typeof v.$date === 'string' && Object.keys(v).length === 1 ? new Date(v.$date) : v,
  );
}

interface BusMessage {
  from: string;
  topic: string;
  detail: unknown;
}

/**
 * An EventTarget that delivers locally, then publishes cluster topics to Redis (one channel for the bus);
 * events from other instances are delivered locally as if published here.
 */
class ClusterEventTarget extends EventTarget {
  private readonly channel: string;

  constructor(private readonly link: RedisLink) {
    super();
    this.channel = link.channel('bus');
    void link.subscribe(this.channel, (message) => this.receive(message));
    link.onResync((reason) => this.deliver('CLUSTER_RESYNC', { reason } satisfies ClusterResyncEvent));
  }

  override dispatchEvent(event: Event): boolean {
    const delivered = super.dispatchEvent(event);
    if (CLUSTER_TOPICS.has(event.type)) {
      const message: BusMessage = { from: this.link.instanceId, topic: event.type, detail: (event as CustomEvent).detail };
      this.link.publish(this.channel, serializeEvent(message));
    }
    return delivered;
  }

  deliver(topic: string, detail: unknown): void {
    super.dispatchEvent(new CustomEvent(topic, { detail }));
  }

  private receive(raw: Buffer): void {
    let message: BusMessage;
    try {
      message = deserializeEvent(raw.toString('utf8')) as BusMessage;
    } catch {
      return;
    }
    if (message.from === this.link.instanceId || !CLUSTER_TOPICS.has(message.topic)) return;
    this.deliver(message.topic, message.detail);
  }
}

/**
 * Calls `handler` for every event of `topic` from now on (for server-side listeners such as the grid
 * server, not subscriptions); returns the function that stops listening.
 */
export function onEvent<K extends keyof BusTopics>(bus: EventBus, topic: K, handler: (event: TopicPayload<K>) => void): () => void {
  const iterator = (bus.subscribe as (t: K) => AsyncIterable<TopicPayload<K>>)(topic)[Symbol.asyncIterator]();
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
