/**
 * How the Microsoft integrations are doing, for /readyz: per service, simulated (not configured), configured
 * (real, no call yet), ok (the last call succeeded) or failing (the last call failed), with the time of that
 * call. Per instance: each replica reports the calls it made itself (the workflow steps run on any of them).
 *
 * The error text stays out of /readyz: it answers anyone who can reach it, and a Power BI or Graph error names
 * workspace, dataset and team ids. The step's error (workflow history, admins) carries the message, and so does
 * `details()`, which only the admins' `integrations` query shows (workflow/integrationStatus.ts).
 */

export type MicrosoftService = 'Microsoft Graph' | 'Power BI';

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

/** What callMicrosoftApi reports each finished call to; `error` is the failed call's message. */
export interface ApiCallRecorder {
  record(service: MicrosoftService, ok: boolean, error?: string): void;
}

/** Long enough for "Power BI POST <path> answered 429 TooManyRequests: <the service's sentence>". */
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
  private readonly last = new Map<MicrosoftService, { ok: boolean; at: Date }>();
  private readonly lastFailure = new Map<MicrosoftService, { message: string; at: Date }>();

  constructor(private readonly real: Record<MicrosoftService, boolean>) {}

  record(service: MicrosoftService, ok: boolean, error?: string): void {
    const at = new Date();
    this.last.set(service, { ok, at });
    if (!ok) this.lastFailure.set(service, { message: shownError(error ?? 'failed without a message'), at });
  }

  /** As /readyz shows it, plus the last failure (admins only). */
  details(service: MicrosoftService): ServiceHealthDetails {
    const failure = this.lastFailure.get(service);
    return { ...this.of(service), ...(failure ? { lastError: failure.message, lastErrorAt: failure.at.toISOString() } : {}) };
  }

  private of(service: MicrosoftService): ServiceHealth {
    if (!this.real[service]) return { status: 'simulated' };
    const last = this.last.get(service);
    if (!last) return { status: 'configured' };
    return { status: last.ok ? 'ok' : 'failing', lastCallAt: last.at.toISOString() };
  }

  snapshot(): { microsoftGraph: ServiceHealth; powerBi: ServiceHealth } {
    return { microsoftGraph: this.of('Microsoft Graph'), powerBi: this.of('Power BI') };
  }
}
