/**
 * Configuration: every environment variable Plansync reads, parsed and checked once at start.
 * A bad value fails fast with a message that names the variable, instead of surfacing later as a
 * confusing runtime error. Nothing else in the server reads `process.env`.
 */
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
  redisUrl?: string;
  /** PEM keys for ES256 tokens; generated once under dataDir when absent. */
  jwtPrivateKey?: string;
  jwtPublicKey?: string;
  /** Lifetime of the tokens Plansync signs, in seconds. Default 8 hours. */
  jwtTtlSeconds: number;
  entra?: EntraConfig;
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
  /** Failed sign-ins in a row before an address is locked out, and for how long. */
  lockoutThreshold: number;
  lockoutSeconds: number;
}

class ConfigError extends Error {}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be a whole number >= ${min}, got "${raw}"`);
  }
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
  };
}

/** Reads the configuration from an environment (process.env by default) and checks every value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  const simulateFailureSteps = (env.SIMULATE_FAILURE_STEPS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    port: integer(env, 'PORT', 4000),
    host: env.HOST || '0.0.0.0',
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    jwtPrivateKey: pem(env, 'JWT_PRIVATE_KEY'),
    jwtPublicKey: pem(env, 'JWT_PUBLIC_KEY'),
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 8 * 3600, 1),
    entra: entra(env),
    seedDemo: flag(env, 'SEED_DEMO', true),
    simulatedStepMs: integer(env, 'SIMULATED_STEP_MS', 300),
    simulateFailureSteps,
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL || 'info',
    clientDir: env.CLIENT_DIR ? path.resolve(env.CLIENT_DIR) : clientDistDir,
    gridIdleUnloadMs: integer(env, 'GRID_IDLE_UNLOAD_MS', 5000),
    workflowMaxAttempts: integer(env, 'WORKFLOW_MAX_ATTEMPTS', 3, 1),
    workflowRetryDelaySeconds: integer(env, 'WORKFLOW_RETRY_DELAY_SECONDS', 1, 0),
    workflowStepTimeoutSeconds: integer(env, 'WORKFLOW_STEP_TIMEOUT_SECONDS', 60, 1),
    workflowMaintenanceSeconds: integer(env, 'WORKFLOW_MAINTENANCE_SECONDS', 10, 1),
    lockoutThreshold: integer(env, 'LOGIN_LOCKOUT_THRESHOLD', 5, 1),
    lockoutSeconds: integer(env, 'LOGIN_LOCKOUT_SECONDS', 15 * 60, 1),
  };
}

export { ConfigError };
