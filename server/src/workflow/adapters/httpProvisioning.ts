/**
 * Studio, Infrabot and LMS have no public API: each is a company's own service, reached through this one
 * generic HTTP adapter (three configurations: STUDIO_*, INFRABOT_*, LMS_*). README's "Connecting the
 * provisioning targets" is the document a company implements; in short, every operation is
 *
 *   POST <base>/<operation>
 *   Authorization: Bearer <secret>
 *   Content-Type: application/json
 *   Idempotency-Key: <64 hex digits: SHA-256 of the service, the operation and its arguments>
 *   { ...the operation's arguments by name }
 *
 * answered 2xx with a JSON object holding the id the operation returns (companyId, runId, tenantId, inviteId)
 * or nothing for the others. The key is the same on every attempt of the same call, so a retry after a lost
 * answer is recognised by the service and answered as the first time, never done twice. The service may also
 * answer 409 (it exists already: the body carries its id, as for a success) and, for a removal, 404 (gone
 * already): both count as done. 429, 5xx and no answer within PROVISIONING_TIMEOUT_SECONDS are transient (the
 * engine retries the step); any other answer fails the step with the service's message.
 */
import { createHash } from 'node:crypto';
import type { ProvisioningServiceConfig } from '../../config.js';
import type { ApiCallRecorder } from './health.js';
import { callServiceApi, type ServiceApiError } from './serviceApi.js';
import { IntegrationError, type InfrabotAdapter, type LmsAdapter, type StudioAdapter } from './types.js';

type ServiceName = 'Studio' | 'Infrabot' | 'LMS';

/** Operations whose 404 means "already gone". */
const REMOVALS = new Set(['removeUserFromCompany', 'archiveCompany', 'revokeDocumentation', 'closeTenant']);

/** The same key for the same call, whenever it is made: service, operation and arguments (keys sorted). */
export function idempotencyKey(service: ServiceName, operation: string, args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ service, operation, args })).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** One configured service: `call` posts one operation and returns the answer's JSON object. */
export class HttpProvisioningService {
  constructor(
    readonly service: ServiceName,
    private readonly config: ProvisioningServiceConfig,
    private readonly health?: ApiCallRecorder,
  ) {}

  async call(operation: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const removal = REMOVALS.has(operation);
    const done = (e: ServiceApiError) => e.status === 409 || (removal && e.status === 404);
    const result = await callServiceApi<unknown>({
      service: this.service,
      method: 'POST',
      url: `${this.config.url}/${operation}`,
      headers: { authorization: `Bearer ${this.config.secret}`, 'idempotency-key': idempotencyKey(this.service, operation, args) },
      body: args,
      timeoutMs: this.config.timeoutMs,
      accept: done,
      health: this.health,
    });
    const answer = result.refused ? result.refused.body : result.ok;
    return answer && typeof answer === 'object' && !Array.isArray(answer) ? (answer as Record<string, unknown>) : {};
  }

  /** An operation that returns an id: the answer must carry it (a 409 too, naming what exists). */
  async callForId<K extends string>(operation: string, args: Record<string, unknown>, field: K): Promise<Record<K, string>> {
    const answer = await this.call(operation, args);
    const id = answer[field];
    if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
      throw new IntegrationError(`${this.service} answered ${operation} without "${field}" (a non-empty string) in its JSON`);
    }
    return { [field]: String(id) } as Record<K, string>;
  }
}

export function studioAdapter(config: { studio?: ProvisioningServiceConfig }, health?: ApiCallRecorder): StudioAdapter | undefined {
  if (!config.studio) return undefined;
  const studio = new HttpProvisioningService('Studio', config.studio, health);
  return {
    createCompany: (organizationName, company) =>
      studio.callForId('createCompany', { organizationName, company: { name: company.name, environment: company.environment } }, 'companyId'),
    addUserToCompany: async (email, companyId) => void (await studio.call('addUserToCompany', { email, companyId })),
    createUserCompany: (email, name) => studio.callForId('createUserCompany', { email, name }, 'companyId'),
    sendInvite: (email) => studio.callForId('sendInvite', { email }, 'inviteId'),
    removeUserFromCompany: async (email, companyId) => void (await studio.call('removeUserFromCompany', { email, companyId })),
    archiveCompany: async (companyId) => void (await studio.call('archiveCompany', { companyId })),
  };
}

export function infrabotAdapter(config: { infrabot?: ProvisioningServiceConfig }, health?: ApiCallRecorder): InfrabotAdapter | undefined {
  if (!config.infrabot) return undefined;
  const infrabot = new HttpProvisioningService('Infrabot', config.infrabot, health);
  return {
    provisionOrganization: (organizationName) => infrabot.callForId('provisionOrganization', { organizationName }, 'runId'),
    deprovisionOrganization: (organizationName) => infrabot.callForId('deprovisionOrganization', { organizationName }, 'runId'),
  };
}

export function lmsAdapter(config: { lms?: ProvisioningServiceConfig }, health?: ApiCallRecorder): LmsAdapter | undefined {
  if (!config.lms) return undefined;
  const lms = new HttpProvisioningService('LMS', config.lms, health);
  return {
    setupTenant: (organizationName) => lms.callForId('setupTenant', { organizationName }, 'tenantId'),
    shareDocumentation: async (email, tenantId) => void (await lms.call('shareDocumentation', { email, tenantId })),
    revokeDocumentation: async (email, tenantId) => void (await lms.call('revokeDocumentation', { email, tenantId })),
    closeTenant: async (tenantId) => void (await lms.call('closeTenant', { tenantId })),
  };
}
