/**
 * Live notifications on every instance. The triggers that write notifications also announce each one with
 * pg_notify, which PostgreSQL delivers at commit (never for a rollback) to every connection LISTENing, so
 * each instance hears every notification whichever instance, job or script wrote it, with no Redis needed.
 * The feed reads the announced rows back in batches and publishes them on the instance's own bus
 * (NOTIFICATION_ADDED, local), where `notificationAdded` subscribers pick up their own.
 *
 * A live stream only: a notification announced while the feed's connection is down is not pushed (it is
 * in the `notifications` query); the feed reconnects after a second.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from '../log.js';
import { publishLocally, type EventBus } from '../realtime/eventBus.js';
import type { NotificationTopics } from './events.js';
import { loadNotifications } from './notifications.js';

export const NOTIFICATION_CHANNEL = 'plansync_notification';
/** How the feed's connection names itself in pg_stat_activity. */
export const FEED_APPLICATION_NAME = 'plansync-notifications';
const RECONNECT_MS = 1000;
const BATCH = 500;

export class NotificationFeed {
  private client?: pg.Client;
  private stopped = false;
  private pending: string[] = [];
  private flushing?: Promise<void>;
  private reconnectTimer?: NodeJS.Timeout;

  constructor(
    private readonly options: { em: EntityManager; databaseUrl: string; events: EventBus<NotificationTopics>; log: Logger },
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
    await this.flushing?.catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: FEED_APPLICATION_NAME });
    client.on('notification', (message) => {
      if (message.channel === NOTIFICATION_CHANNEL && message.payload) this.announced(message.payload);
    });
    client.on('error', (err) => {
      this.options.log.warn({ err }, 'the notification feed lost its connection');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    this.client = client;
    await client.connect();
    await client.query(`LISTEN ${NOTIFICATION_CHANNEL}`);
  }

  private reconnect(client: pg.Client): void {
    if (this.stopped || this.client !== client || this.reconnectTimer) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped) return;
      this.connect().catch((err) => {
        this.options.log.warn({ err }, 'the notification feed could not reconnect');
        if (this.client) this.reconnect(this.client);
      });
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /** Ids announced together (one transaction's) are read back in one query. */
  private announced(id: string): void {
    this.pending.push(id);
    if (this.pending.length === 1 && !this.flushing) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    if (this.flushing || this.pending.length === 0) return;
    const ids = this.pending.splice(0, BATCH);
    this.flushing = loadNotifications(this.options.em.fork(), ids)
      .then((records) => {
        for (const record of records) publishLocally(this.options.events, 'NOTIFICATION_ADDED', record);
      })
      .catch((err) => this.options.log.error({ err }, 'reading announced notifications failed'))
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.flush();
      });
  }
}
