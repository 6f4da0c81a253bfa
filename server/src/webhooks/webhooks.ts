/**
 * Webhooks per the Standard Webhooks specification: admins' endpoints, signed deliveries, retries.
 *
 * Delivery is at least once and survives restarts:
 * - Events reach the outbox (`webhook_outbox`) by database triggers in the transaction of the change itself
 *   (see events.ts): nothing is lost if a process dies between the change and the enqueue, since there is no
 *   "between".
 * - The dispatcher moves outbox rows into `webhook_delivery` rows (one per webhook taking the event) and pg-boss
 *   jobs, in ONE transaction, taking the rows with FOR UPDATE SKIP LOCKED: with several instances each row is
 *   taken by exactly one. It runs when the outbox announces a row (pg_notify at the commit that added it, heard
 *   by every instance: Migration20261206060000_WebhookOutboxNotify). Polling is the safety net: every
 *   `pollSeconds` while the announcements cannot be heard (the listening connection is down), otherwise once
 *   every `SAFETY_POLL_MS`.
 * - A job makes one attempt. Its outcome and the next attempt's job (after WEBHOOK_RETRY_BASE_SECONDS x
 *   2^(n-1)) are written in one transaction; a job whose process dies mid-request expires and pg-boss hands it
 *   out again. The `webhook-id` is the delivery's id: the same on every attempt, so receivers dedupe on it.
 * - Deleting a webhook deletes its deliveries (cascade); a job that finds no PENDING delivery does nothing.
 */
import { OutageLog } from '../internals/outageLog.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import PgBoss from 'pg-boss';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { recordActivity } from '../activity/activityLog.js';
import { withSchemaLock } from '../db/orm.js';
import { PgListener } from '../db/listener.js';
import { PgBossDb } from '../db/pgBossDb.js';
import { withSqlClient } from '../db/sql.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { transactionConnection } from '../internals/knexPool.js';
import { IDLE_POLL_SECONDS, WorkerWakeups } from '../internals/workerWakeups.js';
import type { Logger } from '../log.js';
import { canManageWebhooks } from '../policies/webhook.js';
import type { Viewer } from '../policies/viewer.js';
import type { WebhookHealth } from '../workflow/integrationStatus.js';
import { pinnedLookup, resolveTarget, UnsafeUrlError, type CheckedTarget } from './addresses.js';
import { isWebhookEvent, WEBHOOK_EVENTS, type DeliveryStatus } from './events.js';

export const DELIVERY_QUEUE = 'webhook-delivery';
/** A receiver's answer is read up to this many bytes (only its status matters; the rest is not kept). */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_DESCRIPTION = 500;
const MAX_URL = 2000;
export const MAX_DELIVERY_PAGE = 500;
const KEY_PURPOSE = 'webhook-secrets';
const FORMAT = 'v1';

export interface WebhookOptions {
  em: EntityManager;
  databaseUrl: string;
  deriveKey: (purpose: string) => Buffer;
  log: Logger;
  /** WEBHOOK_MAX_ATTEMPTS: attempts of one delivery in all, the first included. */
  maxAttempts: number;
  /** WEBHOOK_RETRY_BASE_SECONDS: the n-th retry waits base x 2^(n-1). */
  retryBaseSeconds: number;
  /** WEBHOOK_TIMEOUT_SECONDS: an answer later than this is a failed attempt (10 s by the contract). */
  timeoutSeconds: number;
  /** WEBHOOK_ALLOW_INSECURE: plain http and internal addresses accepted (tests, development). */
  allowInsecure: boolean;
  /** How often the outbox is looked at while its announcements cannot be heard. Default 1. */
  pollSeconds?: number;
}

export interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  createdAt: Date;
}

export interface DeliveryRow {
  id: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  at: Date;
}

interface DeliveryJob {
  deliveryId: string;
  attempt: number;
}

/** pg-boss's SQL on our transaction's own connection, as pg-boss wrote it (see workflow/transitions.ts for why). */
function bossDb(tx: EntityManager): PgBoss.Db {
  const trx = tx.getTransactionContext<Knex.Transaction>();
  if (!trx) throw new Error('bossDb: not in a transaction');
  return {
    async executeSql(text: string, values: unknown[]) {
      const connection = await transactionConnection(trx);
      const { rows } = await connection.query(text, values);
      return { rows };
    },
  };
}

function exec<T>(tx: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return tx.getConnection().execute<T[]>(sql, params, 'all', tx.getTransactionContext());
}

/** Whether the outbox holds anything (the poll's question). */
const OUTBOX_WAITING = { name: 'webhooks.outbox-waiting', text: 'SELECT EXISTS (SELECT 1 FROM webhook_outbox) AS waiting' };

/** The channel on which the outbox announces its rows (Migration20261206060000_WebhookOutboxNotify). */
export const OUTBOX_CHANNEL = 'plansync_webhook_outbox';
/** How the outbox's listening connection names itself in pg_stat_activity. */
export const OUTBOX_LISTENER_NAME = 'plansync-webhooks';
/** While the announcements are heard, the outbox is still looked at this often, in case one was not. */
const SAFETY_POLL_MS = 60_000;

export class WebhookService {
  private boss?: PgBoss;
  private wakeups?: WorkerWakeups;
  private db?: PgBossDb;
  private readonly workerIds: string[] = [];
  private readonly key: Buffer;
  private pollTimer?: NodeJS.Timeout;
  private lastPoll = 0;
  private readonly listener: PgListener;
  private draining?: Promise<void>;
  private drainAgain = false;
  private stopped = false;

  constructor(private readonly options: WebhookOptions) {
    this.key = options.deriveKey(KEY_PURPOSE);
    this.listener = new PgListener({
      databaseUrl: options.databaseUrl,
      applicationName: OUTBOX_LISTENER_NAME,
      channels: { [OUTBOX_CHANNEL]: () => this.drainSoon() },
      // Listening (again): rows announced while nobody listened are taken now.
      onListening: () => this.drainSoon(),
      what: 'the webhook outbox listener',
      log: options.log,
    });
  }

  async start(): Promise<void> {
    // Its own pool, its statements prepared (db/pgBossDb.ts), idle connections kept (as the workflow engine's).
    const db = new PgBossDb(
      { connectionString: this.options.databaseUrl, max: 4, idleTimeoutMillis: 300_000 },
      new OutageLog(this.options.log, 'pg-boss connection error (webhooks)').error,
    );
    this.db = db;
    const boss = new PgBoss({
      db,
      schema: 'pgboss',
      maintenanceIntervalSeconds: 10,
      monitorStateIntervalSeconds: 60,
      schedule: false,
    });
    // While the database is down these come several times a second: logged as one outage (internals/outageLog.ts).
    boss.on('error', new OutageLog(this.options.log, 'pg-boss error (webhooks)').error);
    await withSchemaLock(this.options.databaseUrl, async () => {
      await boss.start();
      await boss.createQueue(DELIVERY_QUEUE, {
        name: DELIVERY_QUEUE,
        // Our retries are explicit attempts with their own jobs; pg-boss's are for a job whose worker died
        // (it expires) or whose outcome could not be written (the database failed).
        retryLimit: 3,
        retryDelay: 1,
        retryBackoff: true,
        expireInSeconds: Math.ceil(this.options.timeoutSeconds) + 30,
      });
    });
    this.boss = boss;
    // Fresh jobs and retries wake the workers when they are due (internals/workerWakeups.ts): polling only finds
    // jobs nobody here announced, and is slow.
    const wakeups = new WorkerWakeups(boss, this.workerIds);
    this.wakeups = wakeups;
    for (let i = 0; i < 2; i++) {
      let self = '';
      self = await boss.work<DeliveryJob>(DELIVERY_QUEUE, { batchSize: 1, pollingIntervalSeconds: IDLE_POLL_SECONDS, includeMetadata: true }, async ([job]) => {
        try {
          await this.attempt(job.data);
        } catch (err) {
          // pg-boss's own retries are spent (the outcome could never be written): FAILED with the reason,
          // rather than PENDING for ever with no job left to run it.
          if (job.retryCount >= job.retryLimit) await this.abandon(job.data, err).catch(() => undefined);
          else wakeups.failed(job);
          throw err;
        } finally {
          // A worker that just had a job fetches the next one at once instead of sleeping out its polling
          // interval: without this, one job per worker per interval (4 deliveries a second) was the ceiling.
          boss.notifyWorker(self);
        }
      });
      this.workerIds.push(self);
    }
    await this.listener.start();
    this.pollTimer = setInterval(() => void this.pollOutbox(), (this.options.pollSeconds ?? 1) * 1000);
    this.pollTimer.unref();
    this.drainSoon();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeups?.stop();
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.listener.stop();
    await this.draining?.catch(() => undefined);
    await this.boss?.stop({ graceful: true, wait: true, timeout: 15_000 });
    await this.db?.close();
  }

  // -------------------------------------------------------------------------------------------------------
  // Admin operations

  async create(viewer: Viewer, url: string, events: string[], description: string | null): Promise<{ secret: string; webhook: WebhookRow }> {
    if (!canManageWebhooks(viewer)) throw forbidden('Only admins manage webhooks');
    if (url.length > MAX_URL) throw badUserInput(`The URL is longer than ${MAX_URL} characters`, 'url');
    try {
      await resolveTarget(url, this.options.allowInsecure);
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw badUserInput(`${err.message}. Plain http and loopback or private addresses are refused unless WEBHOOK_ALLOW_INSECURE=true`, 'url');
      throw err;
    }
    const unknown = events.find((e) => !isWebhookEvent(e));
    if (unknown !== undefined) throw badUserInput(`Unknown event "${unknown.slice(0, 100)}": events are ${WEBHOOK_EVENTS.join(', ')}`, 'events');
    const chosen = [...new Set(events)];
    if (chosen.length === 0) throw badUserInput('Choose at least one event', 'events');
    const text = description?.trim() || null;
    if (text && text.length > MAX_DESCRIPTION) throw badUserInput(`The description is longer than ${MAX_DESCRIPTION} characters`, 'description');
    if (text && /\u0000/.test(text)) throw badUserInput('The description contains a NUL character', 'description');
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const cleanUrl = url.trim();
    const row = await this.options.em.fork().transactional(async (tx) => {
      const id = (await exec<{ id: string }>(tx, 'select gen_random_uuid() as id'))[0].id;
      const [created] = await exec<Record<string, unknown>>(
        tx,
        `insert into webhook (id, url, events, description, secret, created_by_id)
         values (?, ?, array(select jsonb_array_elements_text(cast(? as jsonb))), ?, ?, ?)
         returning id, url, events, description, active, created_at`,
        [id, cleanUrl, JSON.stringify(chosen), text, this.encrypt(id, secret), viewer.userId],
      );
      recordActivity(tx, viewer, 'WEBHOOK_CREATED', cleanUrl, { webhookId: id, events: chosen, description: text });
      return created;
    });
    return { secret, webhook: webhookOf(row) };
  }

  async list(viewer: Viewer): Promise<WebhookRow[]> {
    if (!canManageWebhooks(viewer)) throw forbidden('Only admins read webhooks');
    const rows = await exec<Record<string, unknown>>(
      this.options.em.fork(),
      'select id, url, events, description, active, created_at from webhook order by created_at, id',
    );
    return rows.map(webhookOf);
  }

  /** Deletes the webhook and with it its deliveries, pending ones included: they are never attempted again. */
  async delete(viewer: Viewer, id: string): Promise<boolean> {
    if (!canManageWebhooks(viewer)) throw forbidden('Only admins manage webhooks');
    if (!isUuid(id)) throw notFound('The webhook');
    await this.options.em.fork().transactional(async (tx) => {
      const [gone] = await exec<{ url: string; events: string[] }>(tx, 'delete from webhook where id = ? returning url, events', [id]);
      if (!gone) throw notFound('The webhook');
      recordActivity(tx, viewer, 'WEBHOOK_DELETED', gone.url, { webhookId: id, events: gone.events });
    });
    return true;
  }

  /**
   * How the webhooks are doing, for the admins' integrations page: active ones, deliveries that gave up in the
   * last 24 hours (FAILED) or wait for a retry after a failed attempt, and the last attempt and failure.
   */
  async health(viewer: Viewer): Promise<WebhookHealth> {
    if (!canManageWebhooks(viewer)) throw forbidden('Only admins read webhooks');
    const em = this.options.em.fork();
    const [counts] = await exec<Record<string, unknown>>(
      em,
      `select (select count(*) from webhook where active) as active,
              count(*) filter (where d.status = 'FAILED' and d.at > now() - interval '24 hours') as failed,
              count(*) filter (where d.status = 'PENDING' and d.attempts > 0) as retrying,
              max(d.at) filter (where d.attempts > 0 or d.status = 'FAILED') as last_attempt_at
         from webhook_delivery d`,
    );
    const [failure] = await exec<{ last_error: string | null; at: string }>(
      em,
      `select last_error, at from webhook_delivery where last_error is not null order by at desc limit 1`,
    );
    return {
      active: Number(counts.active),
      failedLastDay: Number(counts.failed),
      retrying: Number(counts.retrying),
      lastAttemptAt: counts.last_attempt_at ? new Date(counts.last_attempt_at as string) : null,
      lastError: failure?.last_error ?? null,
      lastErrorAt: failure ? new Date(failure.at) : null,
    };
  }

  async deliveries(viewer: Viewer, webhookId: string, first: number | null): Promise<DeliveryRow[]> {
    if (!canManageWebhooks(viewer)) throw forbidden('Only admins read webhook deliveries');
    const limit = first ?? 50;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_DELIVERY_PAGE) throw badUserInput(`first must be between 0 and ${MAX_DELIVERY_PAGE}`, 'first');
    const em = this.options.em.fork();
    if (!isUuid(webhookId) || (await exec(em, 'select 1 from webhook where id = ?', [webhookId])).length === 0) throw notFound('The webhook');
    const rows = await exec<Record<string, unknown>>(
      em,
      `select id, event, status, attempts, response_status, at from webhook_delivery where webhook_id = ?
       order by created_at desc, id desc limit ?`,
      [webhookId, limit],
    );
    return rows.map((r) => ({
      id: String(r.id),
      event: String(r.event),
      status: r.status as DeliveryStatus,
      attempts: Number(r.attempts),
      responseStatus: r.response_status === null ? null : Number(r.response_status),
      at: new Date(r.at as string),
    }));
  }

  // -------------------------------------------------------------------------------------------------------
  // Dispatch: outbox -> deliveries and jobs

  /** Drains the outbox now, or once more after the drain under way (a nudge during a drain is never lost). */
  drainSoon(): void {
    if (this.stopped || !this.boss) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = (async () => {
      try {
        do {
          this.drainAgain = false;
          while (!this.stopped && (await this.dispatchBatch()) > 0);
        } while (this.drainAgain && !this.stopped);
      } catch (err) {
        // The rows stay in the outbox: the next poll takes them again.
        this.options.log.error({ err }, 'moving webhook events to deliveries failed');
      } finally {
        this.draining = undefined;
      }
    })();
  }

  /**
   * The poll: drains when the outbox holds anything. One plain query when it is empty (as it is most of the time)
   * rather than the drain's transaction, which an idle server would otherwise open every second; prepared, so that
   * PostgreSQL plans it once per connection rather than every second.
   */
  private async pollOutbox(): Promise<void> {
    if (this.stopped || this.draining) return;
    // Heard: the announcements bring the rows; look only now and then, in case one was missed.
    if (this.listener.listening && Date.now() - this.lastPoll < SAFETY_POLL_MS) return;
    this.lastPoll = Date.now();
    try {
      const { rows } = await withSqlClient(this.options.em, (client) => client.query<{ waiting: boolean }>(OUTBOX_WAITING));
      const [row] = rows;
      if (row?.waiting) this.drainSoon();
    } catch (err) {
      this.options.log.error({ err }, 'looking at the webhook outbox failed');
    }
  }

  /** One transaction: up to 100 outbox rows become deliveries and their first jobs. Returns how many rows. */
  private async dispatchBatch(): Promise<number> {
    const boss = this.boss!;
    let jobs = 0;
    const taken = await this.options.em.fork().transactional(async (tx) => {
      const rows = await exec<{ id: string; event: string; data: unknown; at: Date }>(
        tx,
        `delete from webhook_outbox where id in (select id from webhook_outbox order by id limit 100 for update skip locked)
         returning id, event, data, at`,
      );
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      for (const row of rows) {
        const payload = { type: row.event, timestamp: new Date(row.at).toISOString(), data: row.data };
        const deliveries = await exec<{ id: string }>(
          tx,
          `insert into webhook_delivery (webhook_id, event, payload, created_at, at)
           select id, ?, cast(? as jsonb), clock_timestamp(), clock_timestamp() from webhook where active and ? = any(events) returning id`,
          [row.event, JSON.stringify(payload), row.event],
        );
        for (const d of deliveries) {
          await this.enqueue(boss, tx, { deliveryId: d.id, attempt: 1 }, null);
          jobs++;
        }
      }
      return rows.length;
    });
    if (jobs > 0) this.wakeups?.all();
    return taken;
  }

  private async enqueue(boss: PgBoss, tx: EntityManager, job: DeliveryJob, startAfter: Date | null): Promise<void> {
    await boss.send(DELIVERY_QUEUE, job as unknown as object, {
      db: bossDb(tx),
      singletonKey: `${job.deliveryId}:${job.attempt}`,
      retryLimit: 3,
      retryDelay: 1,
      retryBackoff: true,
      ...(startAfter ? { startAfter } : {}),
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Delivery: one attempt per job

  private async attempt(job: DeliveryJob): Promise<void> {
    const em = this.options.em.fork();
    const [delivery] = await exec<{ id: string; webhook_id: string; url: string; secret: string; payload: unknown; status: string; attempts: number }>(
      em,
      `select d.id, d.webhook_id, w.url, w.secret, d.payload, d.status, d.attempts
         from webhook_delivery d join webhook w on w.id = d.webhook_id where d.id = ? and w.active`,
      [job.deliveryId],
    );
    // Deleted with its webhook, already answered, or a stale job for an attempt already made.
    if (!delivery || delivery.status !== 'PENDING' || delivery.attempts !== job.attempt - 1) return;
    const body = JSON.stringify(delivery.payload);
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      // Resolved and checked again now: the name may point elsewhere than when the webhook was created.
      const target = await resolveTarget(delivery.url, this.options.allowInsecure);
      const secret = this.decrypt(delivery.webhook_id, delivery.secret);
      const timestamp = new Date();
      const signature = new StandardWebhook(secret).sign(delivery.id, timestamp, body);
      responseStatus = await post(target, body, {
        'content-type': 'application/json',
        'user-agent': 'Plansync-Webhooks/1',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      }, this.options.timeoutSeconds * 1000);
      if (responseStatus < 200 || responseStatus > 299) error = `The receiver answered ${responseStatus}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const attempts = job.attempt;
    const status: DeliveryStatus = error === null ? 'SUCCEEDED' : attempts >= this.options.maxAttempts ? 'FAILED' : 'PENDING';
    const retryAfterMs = await this.options.em.fork().transactional(async (tx) => {
      const updated = await exec(
        tx,
        `update webhook_delivery set attempts = ?, status = ?, response_status = ?, last_error = ?, at = clock_timestamp()
          where id = ? and status = 'PENDING' and attempts = ? returning id`,
        [attempts, status, responseStatus, error?.slice(0, 1000) ?? null, delivery.id, attempts - 1],
      );
      if (updated.length > 0 && status === 'PENDING') {
        const waitMs = this.options.retryBaseSeconds * 2 ** (attempts - 1) * 1000;
        await this.enqueue(this.boss!, tx, { deliveryId: delivery.id, attempt: attempts + 1 }, new Date(Date.now() + waitMs));
        return waitMs;
      }
      return null;
    });
    if (retryAfterMs !== null) this.wakeups?.due(retryAfterMs / 1000);
    if (error) this.options.log.info({ deliveryId: delivery.id, attempts, status, error }, 'webhook delivery attempt failed');
  }

  private async abandon(job: DeliveryJob, err: unknown): Promise<void> {
    const reason = `Not delivered: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000);
    await exec(this.options.em.fork(), `update webhook_delivery set status = 'FAILED', last_error = ?, at = clock_timestamp() where id = ? and status = 'PENDING'`, [reason, job.deliveryId]);
    this.options.log.error({ err, deliveryId: job.deliveryId }, 'webhook delivery abandoned');
  }

  // -------------------------------------------------------------------------------------------------------
  // Secrets at rest: AES-256-GCM, the webhook's id as associated data (a secret copied to another row fails).

  private encrypt(webhookId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(webhookId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  private decrypt(webhookId: string, stored: string): string {
    try {
      const [format, iv, tag, body] = stored.split('.');
      if (format !== FORMAT) throw new Error('unknown format');
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(webhookId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // What the admin reading the delivery log needs to know, rather than the cipher's own words.
      throw new Error(
        "The webhook's secret cannot be decrypted with this server's key: every instance must share JWT_PRIVATE_KEY " +
          '(or DATA_DIR), the key it was stored with. Delete the webhook and create it again if that key is gone.',
      );
    }
  }
}

function webhookOf(row: Record<string, unknown>): WebhookRow {
  return {
    id: String(row.id),
    url: String(row.url),
    events: row.events as string[],
    description: (row.description as string | null) ?? null,
    active: Boolean(row.active),
    createdAt: new Date(row.created_at as string),
  };
}

/**
 * One POST to the checked address (never another one DNS might give now), no redirects followed (Node's
 * request follows none), the answer read up to MAX_RESPONSE_BYTES, the whole exchange within `timeoutMs`.
 * Resolves with the status; rejects on no answer in time or a broken connection.
 */
function post(target: CheckedTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = target.url.protocol === 'https:' ? https : http;
    const request = client.request(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinnedLookup(target),
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(new Error(`No answer within ${timeoutMs / 1000} s`)), timeoutMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    request.on('response', (response) => {
      let read = 0;
      const done = () => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
      };
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Enough: the status is all we keep, and a receiver must not make us buffer without end.
        if (read > MAX_RESPONSE_BYTES) {
          response.destroy();
          done();
        }
      });
      response.on('end', done);
      response.on('error', () => done());
    });
    request.end(body);
  });
}
