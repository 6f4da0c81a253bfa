/**
 * The link between Plansync instances: one Redis connection that publishes and one that subscribes
 * (ioredis), under a channel prefix (REDIS_PREFIX), with this instance's id on everything it sends so that
 * it can ignore its own messages.
 *
 * Redis only carries live traffic; nothing is stored in it. When it goes away the instance keeps serving its
 * own clients (publishing is skipped, never queued), reports it (`up`, /readyz, one log line), retries for
 * ever, and once it is back re-subscribes and announces a resync: listeners then catch up from PostgreSQL,
 * which holds everything that matters. While it is away, a "degraded" resync fires now and then so that
 * listeners can catch up from PostgreSQL in the meantime.
 *
 * Publishing: what is published in one run of JavaScript (a loop over changed lines, say) goes out at its end,
 * in order, in one write to Redis rather than one write and one Redis wake-up per message. It goes out on a
 * third connection that Redis does not answer (CLIENT REPLY OFF): a publish's reply is of no use to us, and
 * reading it cost a wake-up of the process per publish (bench/results.md, scale-out: about a third of a
 * relayed change's CPU here). While that connection is not ready, or when Redis (or a proxy) answers it all
 * the same, the publisher publishes, as any other command, answered.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';

export type ResyncReason = 'reconnected' | 'degraded';
export type ChannelHandler = (message: Buffer) => void;

export interface RedisLinkOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** While Redis is away, how often listeners are asked to catch up from the database. Default 5 s. */
  degradedResyncMs?: number;
  /** How often the link checks that Redis still answers. Default 5 s. */
  heartbeatMs?: number;
}

const SUBSCRIBE_CHUNK = 500;
const CRLF = Buffer.from('\r\n');
/** CLIENT REPLY OFF, as written to the sender: from then on Redis answers nothing on that connection. */
const REPLY_OFF = Buffer.from('*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n');

/** PUBLISH channel message, as RESP. */
function publishCommand(channel: string, message: Buffer | string, into: Buffer[]): void {
  const body = typeof message === 'string' ? Buffer.from(message) : message;
  into.push(Buffer.from(`*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${body.length}\r\n`), body, CRLF);
}

/** `text` matched literally in a Redis glob pattern (PSUBSCRIBE): every character that means something escaped. */
export function globEscape(text: string): string {
  return text.replace(/[\\*?[\]^-]/g, (c) => `\\${c}`);
}

/**
 * Patterns that together match `base` followed by any string of `id.length` characters but `id`, each such
 * channel by exactly one of them: for each position, the channels that agree with `id` before it and differ at
 * it. With them an instance hears every other instance's channel (`base` + its id, ids of one length) and never
 * its own: Redis does not send it back what it published, as it would on a channel all of them share.
 */
export function patternsExcluding(base: string, id: string): string[] {
  return [...id].map((char, i) => `${globEscape(base + id.slice(0, i))}[^${globEscape(char)}]*`);
}

export class RedisLink {
  /** Who we are on the wire: messages carrying it are our own, echoed back by Redis. */
  readonly instanceId = randomUUID();
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Where publishes go out unanswered (see the header); `quiet` once CLIENT REPLY OFF is written on it. */
  private readonly sender: Redis;
  private senderQuiet = false;
  /** False once Redis answered the sender anyway (CLIENT REPLY unsupported): the publisher publishes from then on. */
  private senderUsable = true;
  private readonly handlers = new Map<string, Set<ChannelHandler>>();
  /** Pattern subscriptions (PSUBSCRIBE): pattern -> its handler. */
  private readonly patternHandlers = new Map<string, ChannelHandler>();
  private readonly resyncListeners = new Set<(reason: ResyncReason) => void>();
  private isUp = false;
  /** Set once Redis was unreachable (or never reached): the next time it is up, listeners resync. */
  private missedSomething = false;
  private closed = false;
  private degradedTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private readonly upWaiters: (() => void)[] = [];
  /** Resubscription after a (re)connect; `up` only once it is done. */
  private resubscribing?: Promise<void>;
  /** Messages published in this run of JavaScript, sent together at its end (`flushOutbox`). */
  private outbox: [channel: string, message: Buffer | string][] = [];
  private readonly flushOutbox = () => this.sendOutbox();
  private readonly onPublishFailed = () => this.evaluate();

  constructor(private readonly options: RedisLinkOptions) {
    const common: RedisOptions = {
      // Reconnect for ever, at most every 2 s.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      // Nothing waits for Redis: a command while it is away fails at once (publishing is best effort).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      lazyConnect: true,
    };
    this.publisher = new Redis(options.url, { ...common, connectionName: `plansync-pub-${this.instanceId.slice(0, 8)}` });
    this.subscriber = new Redis(options.url, {
      ...common,
      connectionName: `plansync-sub-${this.instanceId.slice(0, 8)}`,
      // We re-subscribe ourselves on 'ready', and only then say that Redis is up.
      autoResubscribe: false,
    });
    this.sender = new Redis(options.url, {
      ...common,
      connectionName: `plansync-send-${this.instanceId.slice(0, 8)}`,
      // Nothing is ever sent on it through ioredis after the handshake.
      autoResendUnfulfilledCommands: false,
    });
    this.sender.on('ready', () => {
      if (!this.senderUsable) return void this.sender.disconnect();
      this.sender.stream.write(REPLY_OFF);
      this.senderQuiet = true;
    });
    this.sender.on('close', () => (this.senderQuiet = false));
    this.sender.on('error', (err: Error) => {
      // A reply nobody asked for: Redis (or a proxy in front of it) answers despite CLIENT REPLY OFF.
      if (!this.senderUsable || !err.message.startsWith('Command queue state error')) return;
      this.senderUsable = false;
      this.senderQuiet = false;
      this.sender.disconnect();
      this.options.log.warn('Redis answers publishes despite CLIENT REPLY OFF: publishing on the answered connection');
    });
    // First: 'ready' on the subscriber must start the resubscription before anyone evaluates the state.
    this.subscriber.on('ready', () => this.resubscribeAll());
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('ready', () => this.evaluate());
      connection.on('close', () => this.evaluate());
      connection.on('end', () => this.evaluate());
      // Errors are reported once, as "Redis went away", not on every retry.
      connection.on('error', () => undefined);
    }
    this.subscriber.on('pmessageBuffer', (pattern: string | Buffer, channel: Buffer, message: Buffer) => {
      const handler = this.patternHandlers.get(pattern.toString());
      if (!handler) return;
      try {
        handler(message);
      } catch (err) {
        this.options.log.error({ err, channel: channel.toString() }, 'handling a Redis message failed');
      }
    });
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const name = channel.toString();
      const handlers = this.handlers.get(name);
      if (!handlers) return;
      // (A copy only when there are several: a handler may unsubscribe another.)
      for (const handler of handlers.size === 1 ? handlers : [...handlers]) {
        try {
          handler(message);
        } catch (err) {
          this.options.log.error({ err, channel: name }, 'handling a Redis message failed');
        }
      }
    });
  }

  /**
   * Connects, waiting up to `timeoutMs` for Redis. Never fails: an instance that cannot reach Redis starts
   * anyway, serves its own clients, says so, and keeps trying.
   */
  async start(timeoutMs: number): Promise<boolean> {
    void this.publisher.connect().catch(() => undefined);
    void this.subscriber.connect().catch(() => undefined);
    void this.sender.connect().catch(() => undefined);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs ?? 5000);
    this.heartbeatTimer.unref();
    const up = await this.waitUntilUp(timeoutMs);
    if (!up && !this.isUp) {
      this.missedSomething = true;
      this.options.log.error(
        'Redis is not reachable: this instance serves its own clients and keeps trying; other instances catch up from PostgreSQL',
      );
      this.startDegraded();
    }
    return up;
  }

  /** A channel name under our prefix. */
  channel(name: string): string {
    return `${this.options.prefix}:${name}`;
  }

  /** Whether Redis is reachable now (both connections ready and our subscriptions in place). */
  get up(): boolean {
    return this.isUp;
  }

  /** Whether publishes go out unanswered now (see the header); otherwise the publisher publishes them. */
  get quietPublishing(): boolean {
    return this.senderQuiet && this.sender.status === 'ready';
  }

  /** Resolves once Redis is up, or after `timeoutMs` (false then). */
  async waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (this.isUp) return true;
    let timer: NodeJS.Timeout | undefined;
    const up = await Promise.race([
      new Promise<boolean>((resolve) => this.upWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return up;
  }

  /**
   * Calls `handler` with every message on `channel` (ours included: callers skip their own by instance
   * id). Resolves once Redis confirmed the subscription, or at once while Redis is away (it is made when
   * Redis is back, followed by a resync).
   */
  async subscribe(channel: string, handler: ChannelHandler): Promise<void> {
    let handlers = this.handlers.get(channel);
    const first = !handlers;
    if (!handlers) this.handlers.set(channel, (handlers = new Set()));
    handlers.add(handler);
    if (!first) return;
    if (this.resubscribing) await this.resubscribing;
    if (this.subscriber.status !== 'ready' || !this.handlers.has(channel)) return;
    try {
      await this.subscriber.subscribe(channel);
    } catch (err) {
      // Redis went away meanwhile: the subscription is made again when it is back.
      this.options.log.debug({ err, channel }, 'subscribing failed; will retry when Redis is back');
    }
  }

  unsubscribe(channel: string, handler: ChannelHandler): void {
    const handlers = this.handlers.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.handlers.delete(channel);
    if (this.subscriber.status === 'ready') void this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  /**
   * Publishes when Redis is up; returns false (and drops the message) when it is not. The message goes out at
   * the end of this run of JavaScript, after the ones published before it, with the others published meanwhile.
   */
  publish(channel: string, message: Buffer | string): boolean {
    if (!this.isUp) return false;
    if (this.outbox.push([channel, message]) === 1) process.nextTick(this.flushOutbox);
    return true;
  }

  /**
   * Publishes at once on the answered connection and resolves with how many subscriptions received the message
   * (Redis's answer to PUBLISH: every connection subscribed to the channel at that moment, ours included), or
   * null when Redis is away or did not answer. For the rare message whose receivers must be counted (a grid
   * document's hello); it is not ordered with what `publish` sends, which goes out on another connection.
   */
  async publishCounted(channel: string, message: Buffer | string): Promise<number | null> {
    if (!this.isUp || this.closed) return null;
    try {
      return await this.publisher.publish(channel, message);
    } catch {
      this.onPublishFailed();
      return null;
    }
  }

  private sendOutbox(): void {
    const batch = this.outbox;
    if (batch.length === 0) return;
    this.outbox = [];
    // Redis went away meanwhile: dropped, as anything published while it is away.
    if (!this.isUp || this.closed) return;
    if (this.senderQuiet && this.sender.status === 'ready') {
      const parts: Buffer[] = [];
      for (const [channel, message] of batch) publishCommand(channel, message, parts);
      this.sender.stream.write(Buffer.concat(parts));
      return;
    }
    if (batch.length === 1) {
      this.publisher.publish(batch[0][0], batch[0][1]).catch(this.onPublishFailed);
      return;
    }
    const pipeline = this.publisher.pipeline();
    for (const [channel, message] of batch) pipeline.publish(channel, message);
    pipeline.exec().catch(this.onPublishFailed);
  }

  /**
   * Calls `handler` with every message on a channel matching one of `patterns` (Redis glob patterns: see
   * `globEscape`), once per pattern it matches. Resolves once Redis confirmed them, or at once while Redis is
   * away (they are made when it is back). One handler per pattern.
   */
  async subscribePatterns(patterns: readonly string[], handler: ChannelHandler): Promise<void> {
    const fresh = patterns.filter((pattern) => !this.patternHandlers.has(pattern));
    for (const pattern of patterns) this.patternHandlers.set(pattern, handler);
    if (fresh.length === 0) return;
    if (this.resubscribing) await this.resubscribing;
    const still = fresh.filter((pattern) => this.patternHandlers.has(pattern));
    if (this.subscriber.status !== 'ready' || still.length === 0) return;
    try {
      await this.subscriber.psubscribe(...still);
    } catch (err) {
      // Redis went away meanwhile: the subscriptions are made again when it is back.
      this.options.log.debug({ err }, 'subscribing to patterns failed; will retry when Redis is back');
    }
  }

  unsubscribePatterns(patterns: readonly string[]): void {
    const gone = patterns.filter((pattern) => this.patternHandlers.delete(pattern));
    if (gone.length > 0 && this.subscriber.status === 'ready') void this.subscriber.punsubscribe(...gone).catch(() => undefined);
  }

  /** Calls `listener` when Redis came back (and periodically while it is away); returns the unsubscribe. */
  onResync(listener: (reason: ResyncReason) => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  async close(): Promise<void> {
    // What was published just now goes out before the connection says goodbye.
    this.sendOutbox();
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.degradedTimer);
    this.handlers.clear();
    this.patternHandlers.clear();
    this.resyncListeners.clear();
    // The sender answers nothing, QUIT included: it is ended (what it was given is still written first).
    this.sender.disconnect();
    await Promise.all([this.publisher, this.subscriber].map((c) => c.quit().catch(() => c.disconnect())));
  }

  private resubscribeAll(): void {
    const channels = [...this.handlers.keys()];
    const patterns = [...this.patternHandlers.keys()];
    const work = (async () => {
      for (let i = 0; i < channels.length; i += SUBSCRIBE_CHUNK) {
        await this.subscriber.subscribe(...channels.slice(i, i + SUBSCRIBE_CHUNK));
      }
      if (patterns.length > 0) await this.subscriber.psubscribe(...patterns);
    })();
    const resubscribing = work.then(
      () => undefined,
      (err) => this.options.log.debug({ err }, 'resubscribing failed; will retry on the next connection'),
    );
    this.resubscribing = resubscribing;
    void resubscribing.finally(() => {
      if (this.resubscribing === resubscribing) this.resubscribing = undefined;
      this.evaluate();
    });
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || !this.isUp) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.publisher.ping(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('Redis did not answer a ping within 3 s')), 3000))),
      ]);
    } catch (err) {
      // A connection that silently stopped answering: drop both and let them reconnect.
      this.options.log.debug({ err }, 'Redis heartbeat failed');
      this.publisher.disconnect(true);
      this.subscriber.disconnect(true);
      this.sender.disconnect(true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Recomputes up/down from the connections' states; logs and announces the transitions. */
  private evaluate(): void {
    if (this.closed) return;
    const up = this.publisher.status === 'ready' && this.subscriber.status === 'ready' && !this.resubscribing;
    if (up === this.isUp) {
      if (!up && !this.degradedTimer && this.missedSomething) this.startDegraded();
      return;
    }
    this.isUp = up;
    if (up) {
      clearInterval(this.degradedTimer);
      this.degradedTimer = undefined;
      const wasAway = this.missedSomething;
      this.missedSomething = false;
      if (wasAway) this.options.log.warn('Redis is back: catching up with the other instances');
      else this.options.log.info({ prefix: this.options.prefix }, 'Redis connected: live events are shared with the other instances');
      for (const waiter of this.upWaiters.splice(0)) waiter();
      if (wasAway) this.emitResync('reconnected');
    } else {
      this.missedSomething = true;
      this.options.log.error(
        'Redis went away: this instance keeps serving its own clients; other instances catch up from PostgreSQL until it returns',
      );
      this.startDegraded();
    }
  }

  private startDegraded(): void {
    clearInterval(this.degradedTimer);
    this.degradedTimer = setInterval(() => this.emitResync('degraded'), this.options.degradedResyncMs ?? 5000);
    this.degradedTimer.unref();
  }

  private emitResync(reason: ResyncReason): void {
    for (const listener of [...this.resyncListeners]) {
      try {
        listener(reason);
      } catch (err) {
        this.options.log.error({ err }, 'a resync listener failed');
      }
    }
  }
}
