/**
 * Configuration: every environment variable Plansync reads, parsed and checked once at start.
 * A bad value fails fast with a message that names the variable, instead of surfacing later as a
 * confusing runtime error. Nothing else in the server reads `process.env`.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { clientDistDir } from './paths.js';

/**
 * The roles of the contract, plus PARTNER_USER: a person a partner organisation onboarded through
 * `new_partner_user`, who signs in but reads no budget and drives no workflow.
 */
export type Role = 'ADMIN' | 'ANALYST' | 'BU_LEADER' | 'VIEWER' | 'PARTNER_ADMIN' | 'PARTNER_USER';
export const ROLES: readonly Role[] = ['ADMIN', 'ANALYST', 'BU_LEADER', 'VIEWER', 'PARTNER_ADMIN', 'PARTNER_USER'];

export interface EntraConfig {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Entra group object id -> Plansync role. */
  groupRoles: Record<string, Role>;
  /**
   * Base URL of the authority, default https://login.microsoftonline.com. Only tests point it elsewhere
   * (a local fake of the authority); it must be https, as msal-node insists.
   */
  authorityHost: string;
  /**
   * ENTRA_API_SCOPE: the delegated scope this API exposes; a bearer Entra token must carry it in `scp` (an ID
   * token, or an access token for another API or scope, is refused). Default access_as_user.
   */
  apiScope: string;
}

/**
 * Microsoft Teams through Microsoft Graph, app-only with the Entra app's credentials (application permissions
 * Channel.Create, User.Invite.All and TeamMember.ReadWrite.All, admin-consented). On when TEAMS_TEAM_ID is set.
 */
export interface TeamsConfig {
  /** TEAMS_TEAM_ID: the team (its Microsoft 365 group id) in which each partner gets a standard channel. */
  teamId: string;
  /** TEAMS_INVITE_REDIRECT_URL: where an invited guest lands once they redeem. Default https://teams.microsoft.com */
  inviteRedirectUrl: string;
  /** GRAPH_BASE_URL: default https://graph.microsoft.com/v1.0 (another for a national cloud). */
  graphBaseUrl: string;
}

/**
 * Power BI push dataset the approved budgets go to, app-only with the Entra app's credentials (the app, as a
 * service principal, is a member of the workspace). On when POWERBI_GROUP_ID and POWERBI_DATASET_ID are set.
 */
export interface PowerBiConfig {
  /** POWERBI_GROUP_ID: the workspace id. */
  groupId: string;
  /** POWERBI_DATASET_ID: the push dataset id. */
  datasetId: string;
  /** POWERBI_TABLE: the dataset's table for budget rows. Default BudgetLines. */
  table: string;
  /** POWERBI_API_URL: default https://api.powerbi.com/v1.0/myorg */
  apiUrl: string;
}

/**
 * The Power BI import semantic model (dataset) to refresh when a budget is approved: it reads the OData feed
 * (integrations/powerbi/), so a refresh shows the approved figures. Push datasets, the other path, can no
 * longer be created (Microsoft retires them); this is the path new deployments take. On when
 * POWERBI_REFRESH_GROUP_ID and POWERBI_REFRESH_DATASET_ID are set; app-only with the Entra app's credentials.
 */
export interface PowerBiRefreshConfig {
  /** POWERBI_REFRESH_GROUP_ID: the workspace id. */
  groupId: string;
  /** POWERBI_REFRESH_DATASET_ID: the import semantic model's id. */
  datasetId: string;
  /** POWERBI_API_URL, shared with the push dataset. */
  apiUrl: string;
}

/**
 * Prior-year actuals read from a Power BI semantic model (REST "Execute Queries", a DAX query) into a plan's
 * priorYearActual column by an admin (loadPriorYearActuals). On when POWERBI_ACTUALS_DATASET_ID and
 * POWERBI_ACTUALS_DAX are set; app-only with the Entra app's credentials.
 */
export interface PowerBiActualsConfig {
  /** POWERBI_ACTUALS_DATASET_ID: the semantic model's id. */
  datasetId: string;
  /** POWERBI_ACTUALS_GROUP_ID: its workspace; absent: the "Execute Queries" call without a workspace. */
  groupId?: string;
  /**
   * POWERBI_ACTUALS_DAX: the DAX query; `{fiscalYear}` in it is replaced by the plan's fiscal year minus 1.
   * Its result columns: BusinessUnitCode, ProductCategory, Region, Quarter, Amount (Table[...] prefixes ignored).
   */
  query: string;
  /** POWERBI_API_URL, shared with the other Power BI settings. */
  apiUrl: string;
}

/**
 * Metabase through its REST API with an API key (Admin > Settings > Authentication > API keys, in the Admin
 * group: creating groups and changing permissions needs an admin). On when METABASE_URL is set; then
 * METABASE_API_KEY, METABASE_TEMPLATE_COLLECTION_ID and METABASE_DATABASE_ID are required.
 */
export interface MetabaseConfig {
  /** METABASE_URL: the instance's address (http or https), without /api. */
  url: string;
  /** METABASE_API_KEY: sent as the x-api-key header. */
  apiKey: string;
  /** METABASE_TEMPLATE_COLLECTION_ID: the collection whose questions and dashboards each partner gets a copy of. */
  templateCollectionId: number;
  /** METABASE_DATABASE_ID: the database each partner's group may query. */
  databaseId: number;
  /** METABASE_PARENT_COLLECTION_ID: where the partners' collections go. Default the root collection. */
  parentCollectionId?: number;
  /** PROVISIONING_TIMEOUT_SECONDS, in ms. */
  timeoutMs: number;
}

/**
 * Slack through the official Web API client with a bot token (scopes usergroups:read, usergroups:write,
 * users:read, users:read.email). On when SLACK_BOT_TOKEN is set.
 */
export interface SlackConfig {
  /** SLACK_BOT_TOKEN: xoxb-... */
  botToken: string;
  /** SLACK_API_URL: default https://slack.com/api/ (tests point it at a fake). */
  apiUrl: string;
  /** PROVISIONING_TIMEOUT_SECONDS, in ms. */
  timeoutMs: number;
}

/**
 * Studio, Infrabot or LMS: a company's own service behind the generic HTTP adapter (README, "Connecting the
 * provisioning targets"). On when <NAME>_URL is set, with <NAME>_SECRET.
 */
export interface ProvisioningServiceConfig {
  /** <NAME>_URL: the base URL; each operation is POST <url>/<operation>. */
  url: string;
  /** <NAME>_SECRET: sent as Authorization: Bearer <secret>. */
  secret: string;
  /** PROVISIONING_TIMEOUT_SECONDS, in ms. */
  timeoutMs: number;
}

export interface Config {
  /** HTTP port; 0 picks a free one (tests). Default 4000. */
  port: number;
  /** Interface to bind. Default 0.0.0.0. */
  host: string;
  /** Where the embedded PostgreSQL and generated keys live. Default ./.data */
  dataDir: string;
  /** An external PostgreSQL; when absent an embedded one is started under dataDir. */
  databaseUrl?: string;
  /**
   * Redis that carries live events between instances (grid updates and presence, GraphQL events); absent:
   * everything stays in memory, for one instance.
   */
  redisUrl?: string;
  /** Prefix of every Redis channel Plansync uses, so several deployments (or test runs) can share one Redis. Default plansync. */
  redisPrefix: string;
  /** PEM keys for ES256 tokens; generated once under dataDir when absent. */
  jwtPrivateKey?: string;
  jwtPublicKey?: string;
  /** Lifetime of the tokens Plansync signs, in seconds. Default 8 hours. */
  jwtTtlSeconds: number;
  /**
   * SESSION_MAX_HOURS: how long after a sign-in its session may be renewed to (`renewSession`, which the web
   * client calls while the person works); then they sign in again. Default 12, a long working day.
   */
  sessionMaxHours: number;
  entra?: EntraConfig;
  /** Real integrations; the simulated ones otherwise. Both need `entra` (they use the app's credentials). */
  teams?: TeamsConfig;
  powerBi?: PowerBiConfig;
  powerBiRefresh?: PowerBiRefreshConfig;
  powerBiActuals?: PowerBiActualsConfig;
  /** The other provisioning targets of the onboarding workflows, real when configured (issue 17). */
  metabase?: MetabaseConfig;
  slack?: SlackConfig;
  studio?: ProvisioningServiceConfig;
  infrabot?: ProvisioningServiceConfig;
  lms?: ProvisioningServiceConfig;
  /**
   * PROVISIONING_TIMEOUT_SECONDS: how long one call to Metabase, Slack, Studio, Infrabot or the LMS may take
   * (fractions allowed); no answer by then is a transient failure. Default 15. Checked even when none is set up.
   */
  provisioningTimeoutSeconds: number;
  /** Seed the demo data into an empty database. Default on. */
  seedDemo: boolean;
  simulatedStepMs: number;
  simulateFailureSteps: string[];
  production: boolean;
  logLevel: string;
  /** Directory of the built web client, served at `/` when it exists. */
  clientDir: string;
  /** Workflow steps: attempts on transient errors, first retry delay, presumed-dead timeout, expiry checks. */
  workflowMaxAttempts: number;
  workflowRetryDelaySeconds: number;
  workflowStepTimeoutSeconds: number;
  workflowMaintenanceSeconds: number;
  /** How long a grid document nobody has open stays in memory before it is stored and unloaded. */
  gridIdleUnloadMs: number;
  /**
   * HEAP_GROWTH_PERCENT: how far (in % of what the last full collection kept) V8 lets the heap grow before the
   * next one; 0 leaves V8's own heuristic. Default 100: rare full collections, which stall the main thread
   * (internals/heapGrowth.ts). At most 400.
   */
  heapGrowthPercent: number;
  /**
   * Websockets (grid and GraphQL together) one person may hold open on an instance; one more is closed with
   * CloseCode.TooManySockets. MAX_SOCKETS_PER_PERSON, default 20 (two per browser tab on the grid page, ten
   * tabs).
   */
  maxSocketsPerPerson: number;
  /**
   * Failed sign-ins in a row, from one address on one account, before that account is locked for that address
   * (not for its owner elsewhere), and for how long. LOGIN_LOCKOUT_THRESHOLD (5), LOGIN_LOCKOUT_SECONDS (900).
   */
  lockoutThreshold: number;
  lockoutSeconds: number;
  /**
   * LOGIN_FAILURES_PER_MINUTE: failed sign-ins one address may make per minute, whatever the emails, checked
   * before any password is hashed; beyond it RATE_LIMITED (429 with Retry-After). Default 30.
   */
  loginFailuresPerMinute: number;
  /**
   * Webhooks (webhooks/): WEBHOOK_MAX_ATTEMPTS attempts of a delivery in all (default 8); the n-th retry waits
   * WEBHOOK_RETRY_BASE_SECONDS x 2^(n-1) (default 5, fractions allowed for tests); an answer later than
   * WEBHOOK_TIMEOUT_SECONDS (default 10) is a failed attempt; WEBHOOK_ALLOW_INSECURE=true accepts plain http and
   * loopback or private addresses (tests, development only).
   */
  webhookMaxAttempts: number;
  webhookRetryBaseSeconds: number;
  webhookTimeoutSeconds: number;
  webhookAllowInsecure: boolean;
  /**
   * RATE_LIMIT_PER_MINUTE: requests per minute on HTTP (/graphql, and the other API routes that mount
   * http/rateLimits.ts) for one access token, one person, or one unauthenticated address; beyond it
   * RATE_LIMITED (429 with Retry-After). Shared between instances through Redis when REDIS_URL is set. Default 1200.
   */
  rateLimitPerMinute: number;
  /**
   * TRUST_PROXY: which proxies' X-Forwarded-For to believe for the caller's address (express's `trust proxy`:
   * `loopback`, `uniquelocal`, addresses or subnets, comma-separated). Default loopback. Sign-in limits are per
   * address: behind a proxy that is not on loopback, name it, or every caller has the proxy's address.
   */
  trustProxy: string;
  /**
   * METRICS_TOKEN: when set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (from anywhere);
   * when absent, only callers on loopback. Default absent.
   */
  metricsToken?: string;
  /**
   * XLSX_READER_MEMORY_MB: the heap a worker thread reading one uploaded xlsx workbook may take (spreadsheets/
   * xlsxWorker.ts); a workbook that needs more is refused. Two read at a time. Default 1536.
   */
  xlsxReaderMemoryMb: number;
  /** ODATA_PAGE_SIZE: rows per page of the OData feed before an @odata.nextLink (odata/). Default 5000. */
  odataPageSize: number;
  /**
   * PUBLIC_URL: the address people reach Plansync at, which set-password links start with
   * (`<PUBLIC_URL>/set-password#<token>`). Default: where this instance listens (http://<HOST>:<PORT>, with
   * localhost for 0.0.0.0), which suits one machine; set it behind a proxy or a domain.
   */
  publicUrl?: string;
  /** INVITATION_TTL_HOURS: how long a set-password link works. Default 72. */
  invitationTtlHours: number;
  /** PASSWORD_MIN_LENGTH: the shortest password accepted (at most 256, never the email's local part). Default 10. */
  passwordMinLength: number;
  /**
   * ADMIN_EMAIL and ADMIN_PASSWORD: when both are set and no active admin exists at start (an empty production
   * database), this admin is created. Ignored once any admin exists. Both or neither; the password follows the
   * password rules. Default absent (see also `npm run create-admin -- <email>`).
   */
  firstAdmin?: { email: string; password: string };
  /**
   * REQUIRE_TOTP_ROLES: comma-separated roles whose people, when they sign in with a password, must use
   * two-factor sign-in (TOTP). Until they have enrolled, their sign-in works but their session may only enrol
   * (every other operation answers FORBIDDEN with `extensions.totpEnrollmentRequired`, auth/totpGate.ts).
   * Default empty: nobody is required.
   */
  requireTotpRoles: Role[];
  /**
   * SMTP_URL and SMTP_FROM: when SMTP_URL is set (`smtp://user:pass@host:587`, or `smtps://...:465` for TLS from
   * the start), createUser and resetPassword also e-mail the set-password link to the person
   * (auth/invitationMail.ts), from SMTP_FROM (required then: `Plansync <plansync@example.com>`). Default absent:
   * the admin passes the link on.
   */
  smtp?: { url: string; from: string };
}

class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(`${name} must be a whole number ${range}, got "${raw}"`);
  }
  return value;
}

/** A positive number of seconds, fractions allowed (tests shorten waits with e.g. 0.2). */
function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number of seconds > 0, got "${raw}"`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** PEM keys arrive through environments that often flatten newlines to "\n"; accept both. */
function pem(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const value = raw.includes('\\n') ? raw.replace(/\\n/g, '\n') : raw;
  if (!value.includes('-----BEGIN')) throw new ConfigError(`${name} must be a PEM key`);
  return value;
}

/**
 * JWT_PRIVATE_KEY and JWT_PUBLIC_KEY, both or neither, checked as one ES256 pair now: a public key from another
 * pair let the server start, then every sign-in failed with INTERNAL_SERVER_ERROR; an unreadable key failed only
 * after the database was started, with a stack trace that named no setting. No message repeats a key.
 */
function jwtKeys(env: NodeJS.ProcessEnv): { jwtPrivateKey?: string; jwtPublicKey?: string } {
  const privatePem = pem(env, 'JWT_PRIVATE_KEY');
  const publicPem = pem(env, 'JWT_PUBLIC_KEY');
  if (!privatePem && !publicPem) return {};
  const advice = '`npm run keys` prints a pair';
  if (!privatePem || !publicPem) throw new ConfigError(`JWT_PRIVATE_KEY and JWT_PUBLIC_KEY go together: set both (${advice}), or neither`);
  // What jose reads (auth/keys.ts): PKCS#8 and SPKI, not the "EC PRIVATE KEY" form, nor a private key as the public.
  if (!privatePem.includes('-----BEGIN PRIVATE KEY-----')) throw new ConfigError(`JWT_PRIVATE_KEY must be a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----); ${advice}`);
  if (!publicPem.includes('-----BEGIN PUBLIC KEY-----')) throw new ConfigError(`JWT_PUBLIC_KEY must be an SPKI PEM key (-----BEGIN PUBLIC KEY-----); ${advice}`);
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey(privatePem);
  } catch {
    throw new ConfigError(`JWT_PRIVATE_KEY cannot be read as a PEM private key; ${advice}`);
  }
  try {
    publicKey = createPublicKey(publicPem);
  } catch {
    throw new ConfigError(`JWT_PUBLIC_KEY cannot be read as a PEM public key; ${advice}`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigError(`JWT_PRIVATE_KEY must be an ES256 key (EC on the P-256 curve); ${advice}`);
  }
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(privateKey)).equals(spki(publicKey))) {
    throw new ConfigError(`JWT_PUBLIC_KEY is not the public half of JWT_PRIVATE_KEY: give the two lines of one \`npm run keys\``);
  }
  return { jwtPrivateKey: privatePem, jwtPublicKey: publicPem };
}

function entra(env: NodeJS.ProcessEnv): EntraConfig | undefined {
  const names = ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID', 'ENTRA_CLIENT_SECRET', 'ENTRA_REDIRECT_URI'] as const;
  const given = names.filter((n) => env[n]);
  if (given.length === 0) return undefined;
  if (given.length < names.length) {
    const missing = names.filter((n) => !env[n]);
    throw new ConfigError(`Entra ID sign-in needs ${missing.join(', ')} as well as ${given.join(', ')}`);
  }
  let groupRoles: Record<string, Role> = {};
  if (env.ENTRA_GROUP_ROLES) {
    try {
      groupRoles = JSON.parse(env.ENTRA_GROUP_ROLES);
    } catch {
      throw new ConfigError('ENTRA_GROUP_ROLES must be a JSON object of Entra group id -> role');
    }
    if (typeof groupRoles !== 'object' || groupRoles === null || Array.isArray(groupRoles)) {
      throw new ConfigError('ENTRA_GROUP_ROLES must be a JSON object of Entra group id -> role');
    }
    for (const [group, role] of Object.entries(groupRoles)) {
      if (!ROLES.includes(role)) {
        throw new ConfigError(`ENTRA_GROUP_ROLES maps ${group} to "${role}", which is not one of ${ROLES.join(', ')}`);
      }
    }
  }
  const authorityHost = (env.ENTRA_AUTHORITY_HOST ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  if (!authorityHost.startsWith('https://')) throw new ConfigError('ENTRA_AUTHORITY_HOST must be an https URL');
  return {
    tenantId: env.ENTRA_TENANT_ID!,
    clientId: env.ENTRA_CLIENT_ID!,
    clientSecret: env.ENTRA_CLIENT_SECRET!,
    redirectUri: env.ENTRA_REDIRECT_URI!,
    groupRoles,
    authorityHost,
    apiScope: (env.ENTRA_API_SCOPE ?? '').trim() || 'access_as_user',
  };
}

/** An https URL (tokens travel to it), without its trailing slash. */
function httpsUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an https URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`${name} must be an https URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function guid(env: NodeJS.ProcessEnv, name: string, what: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!GUID.test(raw)) throw new ConfigError(`${name} must be ${what} (a GUID), got "${raw}"`);
  return raw;
}

/** The real integrations sign in as the Entra app: without its credentials they could never work. */
function needsEntra(entraConfig: EntraConfig | undefined, variable: string, integration: string): void {
  if (!entraConfig) {
    throw new ConfigError(
      `${variable} turns the real ${integration} integration on, which calls Microsoft as the Entra app: ` +
        'set ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET and ENTRA_REDIRECT_URI as well',
    );
  }
}

function teams(env: NodeJS.ProcessEnv, entraConfig: EntraConfig | undefined): TeamsConfig | undefined {
  // Parsed even when Teams is off, so a typo fails now rather than on the day the team id is added.
  const inviteRedirectUrl = httpsUrl(env, 'TEAMS_INVITE_REDIRECT_URL', 'https://teams.microsoft.com');
  const graphBaseUrl = httpsUrl(env, 'GRAPH_BASE_URL', 'https://graph.microsoft.com/v1.0');
  const teamId = guid(env, 'TEAMS_TEAM_ID', "the team's id");
  if (!teamId) return undefined;
  needsEntra(entraConfig, 'TEAMS_TEAM_ID', 'Microsoft Teams');
  return { teamId, inviteRedirectUrl, graphBaseUrl };
}

function powerBi(env: NodeJS.ProcessEnv, entraConfig: EntraConfig | undefined): PowerBiConfig | undefined {
  const apiUrl = httpsUrl(env, 'POWERBI_API_URL', 'https://api.powerbi.com/v1.0/myorg');
  const table = (env.POWERBI_TABLE ?? '').trim() || 'BudgetLines';
  // The name becomes a path segment; Power BI table names are short and plain.
  if (table.length > 100 || /[/\\?#%\u0000-\u001f]/.test(table)) {
    throw new ConfigError(`POWERBI_TABLE must be a table name of at most 100 characters without / \\ ? # %, got "${table}"`);
  }
  const groupId = guid(env, 'POWERBI_GROUP_ID', "the workspace's id");
  const datasetId = guid(env, 'POWERBI_DATASET_ID', "the push dataset's id");
  if (!groupId && !datasetId) return undefined;
  if (!groupId || !datasetId) {
    throw new ConfigError('Power BI needs both POWERBI_GROUP_ID and POWERBI_DATASET_ID (the workspace and the push dataset)');
  }
  needsEntra(entraConfig, 'POWERBI_GROUP_ID', 'Power BI');
  return { groupId, datasetId, table, apiUrl };
}

function powerBiRefresh(env: NodeJS.ProcessEnv, entraConfig: EntraConfig | undefined): PowerBiRefreshConfig | undefined {
  const apiUrl = httpsUrl(env, 'POWERBI_API_URL', 'https://api.powerbi.com/v1.0/myorg');
  const groupId = guid(env, 'POWERBI_REFRESH_GROUP_ID', "the workspace's id");
  const datasetId = guid(env, 'POWERBI_REFRESH_DATASET_ID', "the import semantic model's id");
  if (!groupId && !datasetId) return undefined;
  if (!groupId || !datasetId) {
    throw new ConfigError('Power BI refresh needs both POWERBI_REFRESH_GROUP_ID and POWERBI_REFRESH_DATASET_ID (the workspace and the semantic model)');
  }
  needsEntra(entraConfig, 'POWERBI_REFRESH_GROUP_ID', 'Power BI refresh');
  return { groupId, datasetId, apiUrl };
}

/** The longest DAX query accepted: a query is a few lines; this bounds what travels on every load. */
export const MAX_ACTUALS_DAX_LENGTH = 20_000;

function powerBiActuals(env: NodeJS.ProcessEnv, entraConfig: EntraConfig | undefined): PowerBiActualsConfig | undefined {
  const apiUrl = httpsUrl(env, 'POWERBI_API_URL', 'https://api.powerbi.com/v1.0/myorg');
  const datasetId = guid(env, 'POWERBI_ACTUALS_DATASET_ID', "the semantic model's id");
  const groupId = guid(env, 'POWERBI_ACTUALS_GROUP_ID', "the workspace's id");
  const query = (env.POWERBI_ACTUALS_DAX ?? '').trim();
  if (!datasetId && !query && !groupId) return undefined;
  if (!datasetId || !query) {
    throw new ConfigError('Prior-year actuals from Power BI need both POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX (the semantic model and the DAX query)');
  }
  if (query.length > MAX_ACTUALS_DAX_LENGTH) throw new ConfigError(`POWERBI_ACTUALS_DAX must be at most ${MAX_ACTUALS_DAX_LENGTH} characters`);
  needsEntra(entraConfig, 'POWERBI_ACTUALS_DATASET_ID', 'Power BI actuals');
  return { datasetId, ...(groupId ? { groupId } : {}), query, apiUrl };
}

/** A service's base URL: http or https (often an address inside the company's network), without trailing slashes. */
function serviceUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http or https URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http or https URL, got "${raw}"`);
  if (url.username || url.password || url.search || url.hash) throw new ConfigError(`${name} must be a plain base URL (no credentials, query or fragment)`);
  return raw.replace(/\/+$/, '');
}

function positiveId(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(raw)) throw new ConfigError(`${name} must be a Metabase id (a whole number > 0), got "${raw}"`);
  return Number(raw);
}

function provisioningTimeoutMs(env: NodeJS.ProcessEnv): number {
  return Math.round(seconds(env, 'PROVISIONING_TIMEOUT_SECONDS', 15) * 1000);
}

function metabase(env: NodeJS.ProcessEnv): MetabaseConfig | undefined {
  const url = serviceUrl(env, 'METABASE_URL');
  const apiKey = env.METABASE_API_KEY?.trim();
  const templateCollectionId = positiveId(env, 'METABASE_TEMPLATE_COLLECTION_ID');
  const databaseId = positiveId(env, 'METABASE_DATABASE_ID');
  const parentCollectionId = positiveId(env, 'METABASE_PARENT_COLLECTION_ID');
  const required = { METABASE_API_KEY: apiKey, METABASE_TEMPLATE_COLLECTION_ID: templateCollectionId, METABASE_DATABASE_ID: databaseId };
  if (!url) {
    const stray = [...Object.entries(required), ['METABASE_PARENT_COLLECTION_ID', parentCollectionId] as const].filter(([, v]) => v !== undefined && v !== '').map(([n]) => n);
    if (stray.length > 0) throw new ConfigError(`${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set without METABASE_URL: set METABASE_URL too, or none`);
    return undefined;
  }
  const missing = Object.entries(required).filter(([, v]) => v === undefined || v === '').map(([n]) => n);
  if (missing.length > 0) throw new ConfigError(`METABASE_URL turns the real Metabase integration on, which needs ${missing.join(', ')} as well`);
  return { url, apiKey: apiKey!, templateCollectionId: templateCollectionId!, databaseId: databaseId!, parentCollectionId, timeoutMs: provisioningTimeoutMs(env) };
}

function slack(env: NodeJS.ProcessEnv): SlackConfig | undefined {
  const botToken = env.SLACK_BOT_TOKEN?.trim();
  const apiUrl = serviceUrl(env, 'SLACK_API_URL');
  if (!botToken) {
    if (apiUrl) throw new ConfigError('SLACK_API_URL is set without SLACK_BOT_TOKEN: set SLACK_BOT_TOKEN too, or neither');
    return undefined;
  }
  // The token never appears in a message.
  if (!/^xoxb-[\w-]+$/.test(botToken)) throw new ConfigError("SLACK_BOT_TOKEN must be a Slack bot token (it starts with xoxb-)");
  return { botToken, apiUrl: `${apiUrl ?? 'https://slack.com/api'}/`, timeoutMs: provisioningTimeoutMs(env) };
}

/** STUDIO, INFRABOT or LMS: <NAME>_URL and <NAME>_SECRET, both or neither. */
function provisioningService(env: NodeJS.ProcessEnv, name: 'STUDIO' | 'INFRABOT' | 'LMS'): ProvisioningServiceConfig | undefined {
  const url = serviceUrl(env, `${name}_URL`);
  const secret = env[`${name}_SECRET`]?.trim();
  if (!url && !secret) return undefined;
  if (!url || !secret) throw new ConfigError(`${name}_URL and ${name}_SECRET go together: set both, or neither`);
  return { url, secret, timeoutMs: provisioningTimeoutMs(env) };
}

/**
 * A URL setting, when set (trimmed): one of `protocols`, else refused with a line that names the setting and what
 * it takes. The value is not repeated: database, Redis and SMTP URLs hold passwords.
 */
function urlSetting(env: NodeJS.ProcessEnv, name: string, protocols: readonly string[], example: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const wanted = `${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (e.g. ${example})`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(wanted);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(`${wanted}, not ${url.protocol}//`);
  return raw;
}

function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  return urlSetting(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://host:6379');
}

function redisPrefix(env: NodeJS.ProcessEnv): string {
  const raw = (env.REDIS_PREFIX ?? '').trim() || 'plansync';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(raw)) throw new ConfigError(`REDIS_PREFIX must be 1-64 letters, digits or _ . : -, got "${raw}"`);
  return raw;
}

function metricsToken(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.METRICS_TOKEN?.trim();
  if (!raw) return undefined;
  // It guards the process's internals: a guessable one is no guard.
  if (raw.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  return raw;
}

function smtp(env: NodeJS.ProcessEnv): Config['smtp'] {
  const url = env.SMTP_URL?.trim();
  const from = env.SMTP_FROM?.trim();
  if (!url) {
    if (from) throw new ConfigError('SMTP_FROM is set without SMTP_URL: set both, or neither');
    return undefined;
  }
  urlSetting(env, 'SMTP_URL', ['smtp:', 'smtps:'], 'smtp://user:password@host:587');
  if (!from) throw new ConfigError('SMTP_URL needs SMTP_FROM, the sender of the invitations (Plansync <plansync@example.com>)');
  return { url, from };
}

/**
 * DATABASE_URL, when set: a postgres:// or postgresql:// URL. Anything else failed only after the start had begun,
 * with a driver's stack trace that named no setting (a mysql:// URL was even tried as PostgreSQL). The URL holds
 * the password: no message repeats it.
 */
function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  return urlSetting(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database');
}

/**
 * DATA_DIR (default ./.data), made absolute. Something there that is not a folder is refused now: it failed once
 * the embedded PostgreSQL was being set up, with a stack trace. A folder that does not exist yet is made later.
 */
function dataDirectory(env: NodeJS.ProcessEnv): string {
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  let isFolder = true;
  try {
    isFolder = statSync(dataDir).isDirectory();
  } catch {
    // Not there yet (made at start), or not reachable: the start says so with the path.
  }
  if (!isFolder) throw new ConfigError(`DATA_DIR must be a folder, and "${dataDir}" is a file`);
  return dataDir;
}

function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  return urlSetting(env, 'PUBLIC_URL', ['https:', 'http:'], 'https://plansync.example.com')?.replace(/\/+$/, '');
}

function firstAdmin(env: NodeJS.ProcessEnv, passwordMinLength: number): Config['firstAdmin'] {
  const email = env.ADMIN_EMAIL?.trim().toLowerCase();
  const password = env.ADMIN_PASSWORD ?? '';
  if (!email && !password) return undefined;
  if (!email || !password) throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD go together: set both, or neither');
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new ConfigError(`ADMIN_EMAIL must be an email address, got "${email}"`);
  const length = [...password].length;
  // The password rules (auth/passwords.ts), checked here so that a bad one fails at start, not at sign-in.
  if (length < passwordMinLength || length > 256) {
    throw new ConfigError(`ADMIN_PASSWORD must have between ${passwordMinLength} (PASSWORD_MIN_LENGTH) and 256 characters`);
  }
  if (password.toLowerCase().includes(email.split('@')[0])) throw new ConfigError("ADMIN_PASSWORD may not contain ADMIN_EMAIL's local part");
  return { email, password };
}

/** pino's levels: any other name made pino throw before the first log line, a stack trace naming no setting. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  const raw = env.LOG_LEVEL?.trim().toLowerCase();
  if (!raw) return 'info';
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  return raw;
}

function requireTotpRoles(env: NodeJS.ProcessEnv): Role[] {
  const names = (env.REQUIRE_TOTP_ROLES ?? '').split(',').map((r) => r.trim().toUpperCase()).filter(Boolean);
  for (const name of names) {
    if (!ROLES.includes(name as Role)) throw new ConfigError(`REQUIRE_TOTP_ROLES names "${name}", which is not one of ${ROLES.join(', ')}`);
  }
  return [...new Set(names as Role[])];
}

/** Reads the configuration from an environment (process.env by default) and checks every value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = dataDirectory(env);
  const entraConfig = entra(env);
  const passwordMinLength = integer(env, 'PASSWORD_MIN_LENGTH', 10, 1);
  if (passwordMinLength > 256) throw new ConfigError(`PASSWORD_MIN_LENGTH must be at most 256, got ${passwordMinLength}`);
  const simulateFailureSteps = (env.SIMULATE_FAILURE_STEPS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    // Beyond 65535 Node refuses to listen, but only after the database was started, migrated and seeded.
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    dataDir,
    databaseUrl: databaseUrl(env),
    redisUrl: redisUrl(env),
    redisPrefix: redisPrefix(env),
    ...jwtKeys(env),
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 8 * 3600, 1),
    sessionMaxHours: integer(env, 'SESSION_MAX_HOURS', 12, 1),
    entra: entraConfig,
    teams: teams(env, entraConfig),
    powerBi: powerBi(env, entraConfig),
    powerBiRefresh: powerBiRefresh(env, entraConfig),
    powerBiActuals: powerBiActuals(env, entraConfig),
    metabase: metabase(env),
    slack: slack(env),
    studio: provisioningService(env, 'STUDIO'),
    infrabot: provisioningService(env, 'INFRABOT'),
    lms: provisioningService(env, 'LMS'),
    provisioningTimeoutSeconds: seconds(env, 'PROVISIONING_TIMEOUT_SECONDS', 15),
    seedDemo: flag(env, 'SEED_DEMO', true),
    simulatedStepMs: integer(env, 'SIMULATED_STEP_MS', 300),
    simulateFailureSteps,
    production: env.NODE_ENV === 'production',
    logLevel: logLevel(env),
    clientDir: env.CLIENT_DIR ? path.resolve(env.CLIENT_DIR) : clientDistDir,
    gridIdleUnloadMs: integer(env, 'GRID_IDLE_UNLOAD_MS', 5000),
    heapGrowthPercent: integer(env, 'HEAP_GROWTH_PERCENT', 100, 0, 400),
    maxSocketsPerPerson: integer(env, 'MAX_SOCKETS_PER_PERSON', 20, 1),
    workflowMaxAttempts: integer(env, 'WORKFLOW_MAX_ATTEMPTS', 3, 1),
    workflowRetryDelaySeconds: integer(env, 'WORKFLOW_RETRY_DELAY_SECONDS', 1, 0),
    workflowStepTimeoutSeconds: integer(env, 'WORKFLOW_STEP_TIMEOUT_SECONDS', 60, 1),
    workflowMaintenanceSeconds: integer(env, 'WORKFLOW_MAINTENANCE_SECONDS', 10, 1),
    lockoutThreshold: integer(env, 'LOGIN_LOCKOUT_THRESHOLD', 5, 1),
    lockoutSeconds: integer(env, 'LOGIN_LOCKOUT_SECONDS', 15 * 60, 1),
    loginFailuresPerMinute: integer(env, 'LOGIN_FAILURES_PER_MINUTE', 30, 1),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 1200, 1),
    webhookMaxAttempts: integer(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1),
    webhookRetryBaseSeconds: seconds(env, 'WEBHOOK_RETRY_BASE_SECONDS', 5),
    webhookTimeoutSeconds: seconds(env, 'WEBHOOK_TIMEOUT_SECONDS', 10),
    webhookAllowInsecure: flag(env, 'WEBHOOK_ALLOW_INSECURE', false),
    trustProxy: (env.TRUST_PROXY ?? '').trim() || 'loopback',
    metricsToken: metricsToken(env),
    odataPageSize: integer(env, 'ODATA_PAGE_SIZE', 5000, 1),
    xlsxReaderMemoryMb: integer(env, 'XLSX_READER_MEMORY_MB', 1536, 64),
    publicUrl: publicUrl(env),
    invitationTtlHours: integer(env, 'INVITATION_TTL_HOURS', 72, 1),
    passwordMinLength,
    firstAdmin: firstAdmin(env, passwordMinLength),
    requireTotpRoles: requireTotpRoles(env),
    smtp: smtp(env),
  };
}

export { ConfigError };
