/**
 * Live events to many GraphQL subscribers, computed once and sent to all.
 *
 * graphql-ws on its own runs, for every event and every subscriber: a pub/sub iterator step, an async
 * generator step, a GraphQL execution, a JSON serialisation and an awaited send. With thousands of monitors
 * open that is most of the server's work, and the same work thousands of times. Here subscribers that would
 * receive the same result share a group: the same person (so the same rights), the same document and the
 * same variables. For each event the group decides visibility once, executes once and serialises once (and
 * encodes the result as UTF-8 once per batch); each subscriber then costs copies of those bytes behind its own
 * prefix and a synchronous write, with no promise unless a result needs the database. Events that arrive together (one transaction publishes several) go out together: a
 * socket's messages of a batch are framed into one buffer and written with one call, not one per message
 * (`sendTogether`).
 *
 * A subscriber starts buffering: it joins before its stream replays stored events (nothing published
 * meanwhile is missed), and flushes what it buffered when the replay is done, skipping what the replay
 * already sent. The stream is what graphql-ws iterates (FanoutSubscription): it yields the replayed results,
 * then waits, while live results bypass it; graphql-ws still owns the protocol (ids, complete, errors,
 * cancellation through `return()`).
 */
import { execute, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import { nextMessage, nextMessagePrefix } from '../internals/graphqlWsEnvelope.js';
import { unsentBytes, websocketTextFramesOfParts, writeFrameDirect } from '../internals/wsSender.js';
import { corkSocket, uncorkSocket } from '../internals/wsSocket.js';
import { CloseCode } from '../../../schema/codes.js';
import { onEvent, type EventBus } from './eventBus.js';

/** A subscriber whose socket holds more than this unsent is too slow to follow: closed (CloseCode.TryAgainLater). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** What a graphql-ws subscription brings to a fanout: where its results go and how they are computed. */
export interface LiveDelivery {
  socket: WebSocket;
  /** The subscription id of graphql-transport-ws. */
  id: string;
  /** Subscribers with the same key receive the same results: viewer, rights, document, variables. */
  groupKey: string;
  /** The execution of this subscription, without its root value and context. */
  execution: Omit<ExecutionArgs, 'rootValue' | 'contextValue'>;
  /** A fresh context for one execution (its own EntityManager when a resolver asks for one). */
  makeContext: () => unknown;
  /** Masks errors, as every result leaving the server is. */
  finish: (result: ExecutionResult) => ExecutionResult;
}

export interface FollowOptions<E> {
  /** Whether the group's subscribers may see this event (the same for the whole group, by its key). */
  visible: (event: E) => boolean;
  /** Stored events to send first, in order; live ones published meanwhile wait, then follow. */
  replay?: () => AsyncIterator<E>;
  /** After the replay: live events it already covered. */
  skipAfterReplay?: (event: E) => boolean;
}

type Payload = string | Promise<string>;
type Executor = Pick<LiveDelivery, 'execution' | 'makeContext' | 'finish'>;

class Group<E extends object> {
  readonly subscribers = new Set<FanoutSubscription<E>>();
  private readonly payloads = new WeakMap<E, Payload>();
  /** Work waiting for results that need the database; everything after it waits too, so order is kept. */
  private tail: Promise<void> | null = null;

  constructor(
    readonly key: string,
    readonly visible: (event: E) => boolean,
    /** How the group's results are computed (of the subscriber that opened it; never its socket). */
    private readonly delivery: Executor,
    private readonly fanout: TopicFanout<E>,
  ) {}

  /** The serialised result of this event for the group, computed once. */
  payloadOf(event: E): Payload {
    let payload = this.payloads.get(event);
    if (payload === undefined) {
      payload = serialise(executeFor(this.delivery, event), this.delivery);
      this.payloads.set(event, payload);
    }
    return payload;
  }

  /** Sends these (visible) events to every subscriber: at once when their results are ready, else in order later. */
  deliver(events: E[]): void {
    const payloads = events.map((event) => this.payloadOf(event));
    this.whenReady(payloads, (ready) => {
      for (const subscription of this.subscribers) {
        for (let i = 0; i < events.length; i++) subscription.push(events[i], ready[i]);
      }
    });
  }

  /**
   * Runs `send` with the results as strings: now if they all are and nothing waits before them, else after
   * what waits and once they are computed (inside a batch of its own, so sockets are corked again).
   */
  private whenReady(payloads: Payload[], send: (ready: string[]) => void): void {
    if (this.tail === null && payloads.every((p) => typeof p === 'string')) {
      send(payloads as string[]);
      return;
    }
    const tail: Promise<void> = (this.tail ?? Promise.resolve())
      .then(() => Promise.all(payloads))
      .then(
        (ready) => this.fanout.batch(() => send(ready)),
        // Serialising a result cannot fail (execution errors are results); a rejection here is a bug, not
        // a reason to stop the group.
        () => undefined,
      )
      .then(() => {
        if (this.tail === tail) this.tail = null;
      });
    this.tail = tail;
  }
}

function executeFor(delivery: Executor, event: unknown): ExecutionResult | Promise<ExecutionResult> {
  try {
    return execute({ ...delivery.execution, rootValue: event, contextValue: delivery.makeContext() }) as
      | ExecutionResult
      | Promise<ExecutionResult>;
  } catch (err) {
    return { errors: [err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error })] };
  }
}

function serialise(result: ExecutionResult | Promise<ExecutionResult>, delivery: Executor): Payload {
  if (result instanceof Promise) return result.then((r) => JSON.stringify(delivery.finish(r)));
  return JSON.stringify(delivery.finish(result));
}

/**
 * A `next` message of a batch, in parts: the subscriber's prefix (`nextMessagePrefix`: short, written into the
 * frame as it is), the group's result (UTF-8, encoded once per batch and shared by every subscriber of the
 * group) and the closing `}`.
 */
type NextMessageParts = [prefix: string, result: Buffer, close: string];

/**
 * A socket's messages of one batch in one kernel write. Framed here into one buffer and written past ws's sender
 * when it is idle (internals/wsSender.ts): per socket, one allocation, copies of bytes encoded once, and one
 * `write`, where `ws.send` per message costs its framing, options and a `writev` of header and payload (with the
 * socket corked) each, and a string per message would be encoded again for every socket: the subscription
 * fan-out's main-thread JavaScript beside the kernel's write (bench/results.md, section 5, and its profile).
 * Otherwise ws sends them as text, corked into one write all the same.
 */
function sendTogether(socket: WebSocket, messages: NextMessageParts[]): void {
  if (socket.readyState !== socket.OPEN) return;
  if (writeFrameDirect(socket, websocketTextFramesOfParts(messages))) return;
  corkSocket(socket);
  try {
    for (const [prefix, result, close] of messages) socket.send(prefix + result.toString() + close);
  } finally {
    uncorkSocket(socket);
  }
}

/** One topic of the bus, fanned out to groups of subscribers. */
export class TopicFanout<E extends object> {
  private readonly groups = new Map<string, Group<E>>();
  private pending: E[] = [];
  private scheduled = false;
  /** The current batch's messages, by socket, sent together when it ends; null outside a batch. */
  private batched: Map<WebSocket, NextMessageParts[]> | null = null;
  /** The current batch's results as UTF-8, each encoded once for all the subscribers it goes to. */
  private encoded = new Map<string, Buffer>();
  private readonly stopListening: () => void;
  private closed = false;

  constructor(bus: EventBus<Record<string, E>>, topic: string) {
    this.stopListening = onEvent(bus, topic, (event) => this.receive(event));
  }

  /** A subscription (buffering until its first `next()`), for graphql-ws to iterate. */
  follow(delivery: LiveDelivery, options: FollowOptions<E>): FanoutSubscription<E> {
    let group = this.groups.get(delivery.groupKey);
    if (!group) {
      const { execution, makeContext, finish } = delivery;
      group = new Group(delivery.groupKey, options.visible, { execution, makeContext, finish }, this);
      this.groups.set(delivery.groupKey, group);
    }
    const subscription = new FanoutSubscription<E>(this, group, delivery, options);
    if (this.closed) subscription.end();
    else group.subscribers.add(subscription);
    return subscription;
  }

  leave(group: Group<E>, subscription: FanoutSubscription<E>): void {
    group.subscribers.delete(subscription);
    if (group.subscribers.size === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /**
   * Sends the `next` message of a subscriber (`prefix`: its nextMessagePrefix) for one serialised result: with
   * the socket's others when the current batch ends, at once outside a batch.
   */
  write(socket: WebSocket, prefix: string, json: string): void {
    if (socket.readyState !== socket.OPEN) return;
    if (unsentBytes(socket) > MAX_BUFFERED_BYTES) {
      socket.close(CloseCode.TryAgainLater, 'Too slow to follow live events');
      return;
    }
    if (!this.batched) {
      socket.send(nextMessage(prefix, json));
      return;
    }
    // The group's subscribers share the result's string, whose hash V8 keeps: one lookup each, one encoding.
    let result = this.encoded.get(json);
    if (result === undefined) this.encoded.set(json, (result = Buffer.from(json)));
    const message: NextMessageParts = [prefix, result, '}'];
    const messages = this.batched.get(socket);
    if (messages) messages.push(message);
    else this.batched.set(socket, [message]);
  }

  close(): void {
    this.closed = true;
    this.stopListening();
    for (const group of this.groups.values()) for (const subscription of group.subscribers) subscription.end();
    this.groups.clear();
  }

  private receive(event: E): void {
    this.pending.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    // Events published in the same turn (one transaction's events) are sent as one batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const events = this.pending;
    this.pending = [];
    this.batch(() => {
      for (const group of this.groups.values()) {
        let visible: E[] | null = null;
        for (const event of events) if (group.visible(event)) (visible ??= []).push(event);
        if (visible) group.deliver(visible);
      }
    });
  }

  /** Runs `send`, holding what it writes to each socket until it returns, then sending it together. */
  batch(send: () => void): void {
    if (this.batched) {
      send();
      return;
    }
    this.batched = new Map();
    try {
      send();
    } finally {
      const batched = this.batched;
      this.batched = null;
      this.encoded.clear();
      for (const [socket, messages] of batched) sendTogether(socket, messages);
    }
  }
}

/**
 * One subscriber, as graphql-ws iterates it: the replayed results one by one, then nothing until it ends
 * (live results are sent by the fanout, in order, behind the replay).
 */
export class FanoutSubscription<E extends object> implements AsyncIterableIterator<ExecutionResult> {
  /** Live events held until the replay is done, each followed by its result; null once live. */
  private buffer: (E | string)[] | null = [];
  private replay: AsyncIterator<E> | null;
  /** The start of this subscriber's `next` messages (nextMessagePrefix). */
  private readonly prefix: string;
  private done = false;
  private resolveEnded!: (result: IteratorResult<ExecutionResult>) => void;
  private readonly ended = new Promise<IteratorResult<ExecutionResult>>((resolve) => (this.resolveEnded = resolve));

  constructor(
    private readonly fanout: TopicFanout<E>,
    private readonly group: Group<E>,
    private readonly delivery: LiveDelivery,
    private readonly options: FollowOptions<E>,
  ) {
    this.prefix = nextMessagePrefix(delivery.id);
    this.replay = options.replay?.() ?? null;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.done) return { done: true, value: undefined };
    if (this.replay) {
      const step = await this.replay.next();
      if (!step.done && !this.done) {
        // graphql-ws masks it (onNext), as every result it sends.
        return { done: false, value: await executeFor(this.delivery, step.value) };
      }
      this.replay = null;
    }
    if (this.buffer) this.goLive();
    return this.ended;
  }

  /**
   * graphql-ws has sent every replayed result (it pulls the next one after sending), so what was buffered
   * goes out now, in order; then the fanout sends the rest. Results the group still computes are of later
   * events: they reach this subscriber after, as to every other.
   */
  private goLive(): void {
    const buffered = this.buffer!;
    this.buffer = null;
    this.fanout.batch(() => {
      for (let i = 0; i < buffered.length; i += 2) this.push(buffered[i] as E, buffered[i + 1] as string);
    });
  }

  /** A live event for this subscriber, with its group's serialised result. */
  push(event: E, json: string): void {
    if (this.done) return;
    if (this.buffer) {
      this.buffer.push(event, json);
      return;
    }
    if (this.options.skipAfterReplay?.(event)) return;
    this.fanout.write(this.delivery.socket, this.prefix, json);
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    return { done: true, value: undefined };
  }

  async throw(err: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    throw err;
  }

  /** Stops for good: leaves the group, ends the iteration, closes the replay. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.buffer = null;
    this.fanout.leave(this.group, this);
    // A replay's clean-up (its generator's finally) may fail, e.g. with the database: nothing waits for it.
    Promise.resolve(this.replay?.return?.()).catch(() => undefined);
    this.replay = null;
    this.resolveEnded({ done: true, value: undefined });
  }
}
