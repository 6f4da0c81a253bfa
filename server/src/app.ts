/**
 * Composition of one Plansync instance: database, services, HTTP server. `main.ts` runs it as a process;
 * tests start it in-process on port 0 against their own database.
 */
import { Accounts } from './auth/accounts.js';
import { loadSigningKeys } from './auth/keys.js';
import { EntraTokenVerifier } from './auth/entraTokens.js';
import { entraSignInRoutes } from './auth/entraSignIn.js';
import { LocalLogin } from './auth/localLogin.js';
import { TokenService } from './auth/tokens.js';
import { TotpService } from './auth/totp.js';
import { ViewerResolver } from './auth/viewers.js';
import { BudgetLineWriter } from './budget/budgetLineWriter.js';
import { UnitEventCatchUp } from './budget/unitEventCatchUp.js';
import { createGridMetrics } from './collab/gridMetrics.js';
import { GridServer } from './collab/GridServer.js';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embeddedPostgres.js';
import { ensureDatabase, openOrm, setOrmLogger, type Orm } from './db/orm.js';
import { seedDemoData } from './seed.js';
import { entities } from './entities.js';
import { buildPlansyncSchema } from './schema.js';
import { createMetrics, registerSignInMetrics } from './http/metrics.js';
import { hashingStats } from './auth/passwords.js';
import { startHttpServer, type RunningHttpServer } from './http/server.js';
import { PersonSockets } from './realtime/personSockets.js';
import { createLogger, type Logger } from './log.js';
import { createPlansyncBus } from './events.js';
import { RedisLink } from './realtime/redisLink.js';
import { integrationHealthFor, integrationProvider, realAdapters } from './workflow/adapters/index.js';
import { WorkflowEngine } from './workflow/engine.js';
import { WorkflowEventSequencer } from './workflow/eventSequencer.js';
import { WebhookService } from './webhooks/webhooks.js';
import { NotificationFeed } from './notifications/notificationFeed.js';
import type { Services } from './services.js';

export interface Plansync {
  /** http://host:port of the running server. */
  url: string;
  port: number;
  services: Services;
  /** Graceful stop: no new connections, requests in flight finish, then the database closes. */
  stop(): Promise<void>;
}

/** The database name Plansync uses on the embedded cluster. */
const EMBEDDED_DATABASE = 'plansync';

export async function startPlansync(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Plansync> {
  const started = Date.now();
  let embedded: EmbeddedDatabase | undefined;
  let orm: Orm | undefined;
  let http: RunningHttpServer | undefined;
  let grid: GridServer | undefined;
  let workflows: WorkflowEngine | undefined;
  let sequencer: WorkflowEventSequencer | undefined;
  let catchUp: UnitEventCatchUp | undefined;
  let redis: RedisLink | undefined;
  let webhooks: WebhookService | undefined;
  let notifications: NotificationFeed | undefined;
  setOrmLogger(log.child({ component: 'mikro-orm' }));
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres(config.dataDir, log);
      databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
    }
    orm = await openOrm(databaseUrl, entities);
    if (config.seedDemo && (await seedDemoData(orm.em.fork()))) log.info('seeded the demo data');
    // Set-password links start with PUBLIC_URL, else with where this instance listens (known once it does).
    let listeningUrl = '';
    const accounts = new Accounts({
      invitationTtlHours: config.invitationTtlHours,
      passwordMinLength: config.passwordMinLength,
      publicUrl: () => config.publicUrl ?? listeningUrl,
    });
    if (config.firstAdmin && (await accounts.ensureFirstAdmin(orm.em, config.firstAdmin))) {
      log.info({ email: config.firstAdmin.email }, 'created the first admin (ADMIN_EMAIL)');
    }

    const keys = await loadSigningKeys({ privatePem: config.jwtPrivateKey, publicPem: config.jwtPublicKey, dataDir: config.dataDir });
    const tokens = new TokenService(keys, config.jwtTtlSeconds);
    const totp = new TotpService(keys.deriveKey);
    if (config.redisUrl) {
      redis = new RedisLink({ url: config.redisUrl, prefix: config.redisPrefix, log: log.child({ component: 'redis' }) });
      // Waits a little for Redis, never for ever: without it this instance still serves its own clients.
      await redis.start(3000);
    }
    const events = createPlansyncBus(redis);
    // A role an Entra sign-in's groups change reaches the person's open sockets as an admin's change does.
    const entraTokens = config.entra
      ? new EntraTokenVerifier(config.entra, (userId) => events.publish('USER_ACCESS_CHANGED', { userId }))
      : undefined;
    const integrationHealth = integrationHealthFor(config);
    const integrations = integrationProvider(config, realAdapters(config, integrationHealth));
    log.info({ integrations: integrations.describe() }, 'workflow integrations');
    // Workflow events in cursor order for the `workflowEvents` streams, from this instance and every other:
    // listening before the engine runs a step, so no event of this instance passes unseen.
    sequencer = new WorkflowEventSequencer(orm.em, events, log.child({ component: 'workflow' }));
    await sequencer.start();
    workflows = new WorkflowEngine({
      em: orm.em,
      databaseUrl,
      events,
      integrations,
      log: log.child({ component: 'workflow' }),
      maxAttempts: config.workflowMaxAttempts,
      retryDelaySeconds: config.workflowRetryDelaySeconds,
      stepTimeoutSeconds: config.workflowStepTimeoutSeconds,
      maintenanceIntervalSeconds: config.workflowMaintenanceSeconds,
    });
    await workflows.start();
    // Its own pg-boss on the same database and schema as the workflow engine's: deliveries are jobs there.
    webhooks = new WebhookService({
      em: orm.em,
      databaseUrl,
      deriveKey: keys.deriveKey,
      log: log.child({ component: 'webhooks' }),
      maxAttempts: config.webhookMaxAttempts,
      retryBaseSeconds: config.webhookRetryBaseSeconds,
      timeoutSeconds: config.webhookTimeoutSeconds,
      allowInsecure: config.webhookAllowInsecure,
    });
    await webhooks.start();
    // Notifications written by any instance (database triggers), pushed to this instance's subscribers.
    notifications = new NotificationFeed({ em: orm.em, databaseUrl, events, log: log.child({ component: 'notifications' }) });
    await notifications.start();
    if (redis) {
      catchUp = new UnitEventCatchUp(orm.em, events, log.child({ component: 'catch-up' }));
      await catchUp.start();
    }
    const services: Services = {
      config,
      log,
      orm,
      tokens,
      viewers: new ViewerResolver(tokens, entraTokens, config.requireTotpRoles),
      localLogin: new LocalLogin(
        tokens,
        { threshold: config.lockoutThreshold, lockoutSeconds: config.lockoutSeconds, failuresPerMinute: config.loginFailuresPerMinute },
        log.child({ component: 'sign-in' }),
        totp,
      ),
      accounts,
      totp,
      budgetLines: new BudgetLineWriter(),
      events,
      sockets: new PersonSockets(config.maxSocketsPerPerson),
      redis,
      workflows,
      webhooks,
      integrationHealth,
    };
    const schema = await buildPlansyncSchema(events);
    const metrics = createMetrics();
    registerSignInMetrics(metrics.registry, { outcomes: () => services.localLogin.stats(), hashing: hashingStats });
    grid = new GridServer({
      em: orm.em,
      viewers: services.viewers,
      writer: services.budgetLines,
      events,
      log: log.child({ component: 'grid' }),
      metrics: createGridMetrics(metrics.registry),
      idleUnloadMs: config.gridIdleUnloadMs,
      sockets: services.sockets,
      redis,
    });
    const gridServer = grid;
    http = await startHttpServer({
      schema,
      services,
      metrics,
      routes: entraSignInRoutes(services, entraTokens),
      upgrades: { '/yjs': (request, socket, head) => gridServer.handleUpgrade(request, socket, head) },
    });
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host}:${http.port}`;
    listeningUrl = `http://${config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : host}:${http.port}`;
    log.info(
      { url, startupMs: Date.now() - started, embeddedDatabase: Boolean(embedded), redis: redis ? (redis.up ? 'up' : 'down') : 'off' },
      'Plansync is listening',
    );

    const running = { http, grid, workflows, webhooks, notifications, sequencer, catchUp, orm, embedded, redis };
    let stopping: Promise<void> | undefined;
    return {
      url,
      port: http.port,
      services,
      stop: () => (stopping ??= shutdown(running, log)),
    };
  } catch (err) {
    await shutdown({ http, grid, workflows, webhooks, notifications, sequencer, catchUp, orm, embedded, redis }, log).catch(() => undefined);
    throw err;
  }
}

async function shutdown(
  parts: {
    http?: RunningHttpServer;
    grid?: GridServer;
    workflows?: WorkflowEngine;
    webhooks?: WebhookService;
    notifications?: NotificationFeed;
    sequencer?: WorkflowEventSequencer;
    catchUp?: UnitEventCatchUp;
    orm?: Orm;
    embedded?: EmbeddedDatabase;
    redis?: RedisLink;
  },
  log: Logger,
): Promise<void> {
  log.info('shutting down');
  // Order matters: stop taking requests and sockets, then store every accepted grid edit, then close the
  // database, then stop it.
  await parts.http?.close().catch((err) => log.error({ err }, 'closing the HTTP server failed'));
  await parts.workflows?.stop().catch((err) => log.error({ err }, 'stopping the workflow workers failed'));
  await parts.webhooks?.stop().catch((err) => log.error({ err }, 'stopping the webhook workers failed'));
  await parts.notifications?.stop().catch((err) => log.error({ err }, 'stopping the notification feed failed'));
  parts.sequencer?.stop();
  parts.catchUp?.stop();
  await parts.grid?.stop().catch((err) => log.error({ err }, 'storing the grid documents failed'));
  await parts.redis?.close().catch((err) => log.error({ err }, 'closing the Redis connections failed'));
  await parts.orm?.close(true).catch((err) => log.error({ err }, 'closing the database pool failed'));
  await parts.embedded?.stop().catch((err) => log.error({ err }, 'stopping the embedded PostgreSQL failed'));
  log.info('stopped');
}
