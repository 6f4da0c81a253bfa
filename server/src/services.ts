/** The services a request can reach, wired once in `app.ts` and handed to every resolver in the context. */
import type { Accounts } from './auth/accounts.js';
import type { LocalLogin } from './auth/localLogin.js';
import type { TokenService } from './auth/tokens.js';
import type { TotpService } from './auth/totp.js';
import type { ViewerResolver } from './auth/viewers.js';
import type { BudgetLineWriter } from './budget/budgetLineWriter.js';
import type { Config } from './config.js';
import type { Orm } from './db/orm.js';
import type { Logger } from './log.js';
import type { PlansyncBus } from './events.js';
import type { PersonSockets } from './realtime/personSockets.js';
import type { RedisLink } from './realtime/redisLink.js';
import type { WebhookService } from './webhooks/webhooks.js';
import type { IntegrationHealth } from './workflow/adapters/health.js';
import type { WorkflowEngine } from './workflow/engine.js';

export interface Services {
  config: Config;
  log: Logger;
  orm: Orm;
  tokens: TokenService;
  viewers: ViewerResolver;
  localLogin: LocalLogin;
  /** Set-password links, password rules, the first admin. */
  accounts: Accounts;
  /** Two-factor sign-in: secrets (encrypted at rest) and codes. */
  totp: TotpService;
  budgetLines: BudgetLineWriter;
  events: PlansyncBus;
  /** Open websockets per person, capped (grid and GraphQL alike). */
  sockets: PersonSockets;
  /** The link to the other instances, when REDIS_URL is set. */
  redis?: RedisLink;
  workflows: WorkflowEngine;
  /** Webhooks: admins' endpoints and their durable, signed deliveries. */
  webhooks: WebhookService;
  /** Microsoft Graph and Power BI: simulated, configured, last call ok or failing (for /readyz). */
  integrationHealth: IntegrationHealth;
}
