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
import { PgListener } from '../db/listener.js';
import type { Logger } from '../log.js';
import { publishLocally, type EventBus } from '../realtime/eventBus.js';
import type { NotificationTopics } from './events.js';
import { loadNotifications } from './notifications.js';

export const NOTIFICATION_CHANNEL = 'plansync_notification';
/** How the feed's connection names itself in pg_stat_activity. */
export const FEED_APPLICATION_NAME = 'plansync-notifications';
const BATCH = 500;

export class NotificationFeed {
  private readonly listener: PgListener;
  private pending: string[] = [];
  private flushing?: Promise<void>;

  constructor(
    private readonly options: { em: EntityManager; databaseUrl: string; events: EventBus<NotificationTopics>; log: Logger },
  ) {
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      applicationName: FEED_APPLICATION_NAME,
      channels: {
        [NOTIFICATION_CHANNEL]: (id) => {
          if (id) this.announced(id);
        },
      },
      what: 'the notification feed',
      log: options.log,
    });
  }

  async start(): Promise<void> {
    await this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    await this.flushing?.catch(() => undefined);
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
