/**
 * Workflow events in cursor order, each exactly once, on every instance: WORKFLOW_EVENT in,
 * WORKFLOW_EVENT_ORDERED out (local to the process), which is what `workflowEvents` streams follow.
 *
 * On one instance, events are published in commit order, nearly always. With several instances they are
 * not: two instances commit events 10 and 11 one after the other, and their messages reach a third in
 * either order; and while Redis is away, another instance's events do not arrive at all. Every event names
 * the one committed just before it (`previousCursor`, read under the event lock), so the events form one
 * chain and this instance knows what it holds:
 * - an event whose predecessor is the last one delivered goes out at once (the common case, no query);
 * - one that arrives early waits, briefly, for the ones before it;
 * - when those do not come (lost while Redis was away, or their instance died between commit and publish),
 *   the missing ones are read from PostgreSQL, once for the instance, not per subscriber.
 * When Redis comes back, and now and then while it is away, the newest stored events are read as well, so
 * monitors on every instance keep following, a little later, even without Redis.
 *
 * Since ids become visible in the order they are assigned (transitions.ts), reading `id <= N` where N is
 * a committed id sees every event up to N: nothing delivered from storage can be followed by an older one.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../log.js';
import { onEvent, type EventBus } from '../realtime/eventBus.js';
import type { SessionTopics } from '../realtime/sessionEvents.js';
import { fromRow, type StoredEventRow } from './events.js';
import type { WorkflowEventRecord, WorkflowTopics } from './events.js';

/** How long an early event waits for the ones before it before they are read from storage. */
const GAP_WAIT_MS = 250;
/** After reading from storage failed (the database is away), how long before trying again. */
const RETRY_MS = 2000;
const FILL_PAGE = 1000;

export class WorkflowEventSequencer {
  /** The cursor of the last event delivered (null until started). */
  private last: bigint | null = null;
  /** Events that came before their predecessor, by the predecessor's cursor. */
  private readonly early = new Map<string, WorkflowEventRecord>();
  /** Events received before start() read where the chain stands. */
  private readonly beforeStart: WorkflowEventRecord[] = [];
  private gapTimer?: NodeJS.Timeout;
  private filling?: Promise<void>;
  private stops: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly em: EntityManager,
    private readonly bus: EventBus<WorkflowTopics & SessionTopics>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Listen first, then read where the chain stands: nothing falls in between.
    this.stops = [
      onEvent(this.bus, 'WORKFLOW_EVENT', (event) => this.receive(event)),
      onEvent(this.bus, 'CLUSTER_RESYNC', () => void this.fill(null)),
    ];
    this.last = await this.newestStored();
    for (const event of this.beforeStart.splice(0)) this.receive(event);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.gapTimer);
    this.stops.forEach((stop) => stop());
  }

  private receive(event: WorkflowEventRecord): void {
    if (this.last === null) {
      this.beforeStart.push(event);
      return;
    }
    if (BigInt(event.cursor) <= this.last) return; // delivered already (from storage, or a second copy)
    const previous = event.previousCursor;
    if (!this.filling && previous !== undefined && BigInt(previous) <= this.last) {
      this.deliver(event);
      this.deliverWaiting();
      return;
    }
    // Early, or its predecessor unknown: wait for the ones before it, then read them if they do not come.
    this.early.set(previous ?? `?${event.cursor}`, event);
    this.gapTimer ??= setTimeout(() => void this.fill(this.newestWaiting()), GAP_WAIT_MS);
  }

  private deliver(event: WorkflowEventRecord): void {
    this.last = BigInt(event.cursor);
    this.bus.publish('WORKFLOW_EVENT_ORDERED', event);
  }

  /** Delivers waiting events whose predecessor has been delivered, in chain order. */
  private deliverWaiting(): void {
    for (let next = this.early.get(String(this.last)); next; next = this.early.get(String(this.last))) {
      this.early.delete(String(this.last));
      this.deliver(next);
    }
    for (const [key, event] of this.early) if (BigInt(event.cursor) <= this.last!) this.early.delete(key);
    if (this.early.size === 0) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  private newestWaiting(): bigint | null {
    let newest: bigint | null = null;
    for (const event of this.early.values()) if (newest === null || BigInt(event.cursor) > newest) newest = BigInt(event.cursor);
    return newest;
  }

  /**
   * Delivers, from storage, every event after the last delivered one up to `upTo` (a committed event), or up
   * to the newest stored one when null. One at a time.
   */
  private fill(upTo: bigint | null): Promise<void> {
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    if (this.filling || this.last === null || this.stopped) return this.filling ?? Promise.resolve();
    const filling = (async () => {
      let failed = false;
      try {
        const target = upTo ?? (await this.newestStored());
        while (this.last! < target && !this.stopped) {
          const rows = await this.em.fork().getConnection().execute<StoredEventRow[]>(
            `SELECT e.*, x.created_at FROM workflow_event e JOIN workflow_execution x ON x.id = e.execution_id
             WHERE e.id > ? AND e.id <= ? ORDER BY e.id LIMIT ${FILL_PAGE}`,
            [this.last!.toString(), target.toString()],
          );
          for (const row of rows) this.deliver(fromRow(row));
          if (rows.length < FILL_PAGE) {
            this.last = target;
            break;
          }
        }
      } catch (err) {
        failed = true;
        this.log.error({ err }, 'reading missed workflow events failed; will retry');
      } finally {
        this.filling = undefined;
      }
      if (this.stopped) return;
      this.deliverWaiting();
      if (this.early.size > 0) this.gapTimer ??= setTimeout(() => void this.fill(this.newestWaiting()), failed ? RETRY_MS : GAP_WAIT_MS);
    })();
    this.filling = filling;
    return filling;
  }

  private async newestStored(): Promise<bigint> {
    const [{ max }] = await this.em.fork().getConnection().execute<{ max: string | null }[]>('SELECT max(id) AS max FROM workflow_event');
    return max === null ? 0n : BigInt(max);
  }
}
