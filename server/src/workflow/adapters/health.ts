/**
 * How the Microsoft integrations are doing, for /readyz: per service, simulated (not configured), configured
 * (real, no call yet), ok (the last call succeeded) or failing (the last call failed), with the time of that
 * call. Per instance: each replica reports the calls it made itself (the workflow steps run on any of them).
 *
 * The error text stays out of it: /readyz answers anyone who can reach it, and a Power BI or Graph error names
 * workspace, dataset and team ids. The step's error (workflow history, admins) carries the message.
 */

export type MicrosoftService = 'Microsoft Graph' | 'Power BI';

export interface ServiceHealth {
  status: 'simulated' | 'configured' | 'ok' | 'failing';
  /** When the last call ended (ISO 8601), once there was one. */
  lastCallAt?: string;
}

/** What callMicrosoftApi reports each finished call to. */
export interface ApiCallRecorder {
  record(service: MicrosoftService, ok: boolean): void;
}

export class IntegrationHealth implements ApiCallRecorder {
  private readonly last = new Map<MicrosoftService, { ok: boolean; at: Date }>();

  constructor(private readonly real: Record<MicrosoftService, boolean>) {}

  record(service: MicrosoftService, ok: boolean): void {
    this.last.set(service, { ok, at: new Date() });
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
