/**
 * How the real integrations are doing, for /readyz: per service (Microsoft Graph, Power BI, Metabase, Slack and
 * the Studio, Infrabot and LMS services), simulated (not configured), configured
 * (real, no call yet), ok (the last call succeeded) or failing (the last call failed), with the time of that
 * call. Per instance: each replica reports the calls it made itself (the workflow steps run on any of them).
 *
 * The error text stays out of /readyz: it answers anyone who can reach it, and a Power BI or Graph error names
 * workspace, dataset and team ids. The step's error (workflow history, admins) carries the message, and so does
 * `details()`, which only the admins' `integrations` query shows (workflow/integrationStatus.ts).
 */

export type MicrosoftService = 'Microsoft Graph' | 'Power BI';
/** The provisioning targets of the onboarding workflows other than Teams (issue 17). */
export type ProvisioningService = 'Metabase' | 'Slack' | 'Studio' | 'Infrabot' | 'LMS';
export type IntegrationService = MicrosoftService | ProvisioningService;

/** Every service, with its key in /readyz's `integrations` and in the admins' `integrations` query. */
export const SERVICE_KEYS: Record<IntegrationService, string> = {
  'Microsoft Graph': 'microsoftGraph',
  'Power BI': 'powerBi',
  Metabase: 'metabase',
  Slack: 'slack',
  Studio: 'studio',
  Infrabot: 'infrabot',
  LMS: 'lms',
};

export interface ServiceHealth {
  status: 'simulated' | 'configured' | 'ok' | 'failing';
  /** When the last call ended (ISO 8601), once there was one. */
  lastCallAt?: string;
}

/** The same for admins: also the last failure's message and time, kept after the service recovers. */
export interface ServiceHealthDetails extends ServiceHealth {
  lastError?: string;
  lastErrorAt?: string;
}

/** What the adapters report each finished call to; `error` is the failed call's message. */
export interface ApiCallRecorder {
  record(service: IntegrationService, ok: boolean, error?: string): void;
}

/** Long enough for "Power BI POST <path> answered 429 TooManyRequests: <the service's sentence>". */
/**
 * Runs one call to a service and tells `health` how it went: an answer (an accepted refusal included) is a
 * success; a throw (the service down, a refusal nobody handles, a failed token request) a failure, with its message.
 */
export async function recordedCall<T>(health: ApiCallRecorder | undefined, service: IntegrationService, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    health?.record(service, true);
    return result;
  } catch (err) {
    health?.record(service, false, err instanceof Error ? err.message : String(err));
    throw err;
  }
}

export const MAX_ERROR_LENGTH = 300;

/**
 * The message as an admin may read it. callMicrosoftApi never puts a token in one, but a token request's error
 * comes from msal-node: anything shaped like a bearer token or a JWT is blanked, whatever its source.
 */
export function shownError(message: string): string {
  const blanked = message
    .replace(/\bBearer\s+\S+/gi, 'Bearer [redacted]')
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return blanked.length > MAX_ERROR_LENGTH ? `${blanked.slice(0, MAX_ERROR_LENGTH - 1)}…` : blanked;
}

export class IntegrationHealth implements ApiCallRecorder {
  private readonly last = new Map<IntegrationService, { ok: boolean; at: Date }>();
  private readonly lastFailure = new Map<IntegrationService, { message: string; at: Date }>();

  /** `real`: which services have their real adapter (configured); the others are simulated. */
  constructor(private readonly real: Partial<Record<IntegrationService, boolean>>) {}

  record(service: IntegrationService, ok: boolean, error?: string): void {
    const at = new Date();
    this.last.set(service, { ok, at });
    if (!ok) this.lastFailure.set(service, { message: shownError(error ?? 'failed without a message'), at });
  }

  /** As /readyz shows it, plus the last failure (admins only). */
  details(service: IntegrationService): ServiceHealthDetails {
    const failure = this.lastFailure.get(service);
    return { ...this.of(service), ...(failure ? { lastError: failure.message, lastErrorAt: failure.at.toISOString() } : {}) };
  }

  private of(service: IntegrationService): ServiceHealth {
    if (!this.real[service]) return { status: 'simulated' };
    const last = this.last.get(service);
    if (!last) return { status: 'configured' };
    return { status: last.ok ? 'ok' : 'failing', lastCallAt: last.at.toISOString() };
  }

  /** Every service by its key (SERVICE_KEYS): microsoftGraph, powerBi, metabase, slack, studio, infrabot, lms. */
  snapshot(): Record<string, ServiceHealth> {
    return Object.fromEntries((Object.keys(SERVICE_KEYS) as IntegrationService[]).map((s) => [SERVICE_KEYS[s], this.of(s)]));
  }
}
