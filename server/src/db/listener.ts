/**
 * One connection LISTENing to PostgreSQL channels for as long as the instance runs. PostgreSQL delivers a
 * pg_notify at commit (never for a rollback) to every connection listening, so what a trigger announces reaches
 * every instance, whichever instance, job or script made the change, with no Redis and no polling.
 *
 * A lost connection is made again a second later; `onListening` runs each time it listens (again), since what
 * was announced meanwhile was not heard: a user that must not miss anything looks for it then.
 */
import pg from 'pg';
import type { Logger } from '../log.js';

const RECONNECT_MS = 1000;

export interface PgListenerOptions {
  databaseUrl: string;
  /** How the connection names itself in pg_stat_activity. */
  applicationName: string;
  /** Each channel's handler, with the notification's payload. */
  channels: Readonly<Record<string, (payload: string) => void>>;
  /** Listening, first or again (see the header). */
  onListening?: () => void;
  /** What listens, for the log: "the notification feed". */
  what: string;
  log: Logger;
}

export class PgListener {
  private client?: pg.Client;
  private stopped = false;
  private reconnectTimer?: NodeJS.Timeout;
  /** Whether the connection listens now: announcements are heard. */
  listening = false;

  constructor(private readonly options: PgListenerOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const { databaseUrl, applicationName, channels, log, what } = this.options;
    const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
    client.on('notification', (message) => channels[message.channel]?.(message.payload ?? ''));
    client.on('error', (err) => {
      log.warn({ err }, `${what} lost its database connection`);
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    this.client = client;
    await client.connect();
    for (const channel of Object.keys(channels)) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    if (this.client !== client || this.stopped) return;
    this.listening = true;
    this.options.onListening?.();
  }

  private reconnect(client: pg.Client): void {
    if (this.client === client) this.listening = false;
    if (this.stopped || this.client !== client || this.reconnectTimer) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped) return;
      this.connect().catch((err) => {
        this.options.log.warn({ err }, `${this.options.what} could not reconnect to the database`);
        if (this.client) this.reconnect(this.client);
      });
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }
}
