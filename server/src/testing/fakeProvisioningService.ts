/**
 * A reference implementation, for tests, of the service a company puts behind the generic HTTP adapter (Studio,
 * Infrabot, LMS; README, "Connecting the provisioning targets"): plain http on 127.0.0.1, `POST /<operation>`
 * with `Authorization: Bearer <secret>` (401 otherwise), a JSON body naming the arguments and an Idempotency-Key.
 *
 * - A key seen before with the same body gets the first answer again, without doing anything (422 when the body
 *   differs); a key whose first call failed is not remembered.
 * - Without a key match, creating what exists answers 409 with its id; removing what is not there answers 404.
 *
 * It holds what exists (companies, their members, invitations, Infrabot runs, tenants, shares) for the tests.
 */
import { randomUUID } from 'node:crypto';
import { startFakeHttpService, type FakeAnswer, type FakeHttpService } from './fakeHttpService.js';

export interface FakeProvisioningService extends FakeHttpService {
  secret: string;
  companies: { companyId: string; organizationName: string | null; name: string; environment: string | null; owner: string | null; archived: boolean }[];
  companyMembers: { companyId: string; email: string }[];
  invites: { inviteId: string; email: string }[];
  runs: { runId: string; kind: 'provision' | 'deprovision'; organizationName: string }[];
  tenants: { tenantId: string; organizationName: string; closed: boolean }[];
  shares: { tenantId: string; email: string }[];
  /** Idempotency keys answered from memory (a retry recognised). */
  replays: string[];
}

export async function startFakeProvisioningService(secret = 'provisioning-secret'): Promise<FakeProvisioningService> {
  const companies: FakeProvisioningService['companies'] = [];
  const companyMembers: FakeProvisioningService['companyMembers'] = [];
  const invites: FakeProvisioningService['invites'] = [];
  const runs: FakeProvisioningService['runs'] = [];
  const tenants: FakeProvisioningService['tenants'] = [];
  const shares: FakeProvisioningService['shares'] = [];
  const replays: string[] = [];
  const remembered = new Map<string, { body: string; answer: FakeAnswer }>();
  const id = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
  const fail = (status: number, message: string): FakeAnswer => ({ status, body: { message } });
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);

  function work(operation: string, b: Record<string, any>): FakeAnswer {
    switch (operation) {
      case 'createCompany': {
        const organizationName = str(b.organizationName);
        const name = str(b.company?.name);
        const environment = b.company?.environment;
        if (!organizationName || !name || !['test', 'prod'].includes(environment)) return fail(400, 'organizationName, company.name and company.environment (test or prod) are required');
        const existing = companies.find((c) => c.organizationName === organizationName && c.name === name && c.environment === environment && !c.archived);
        if (existing) return { status: 409, body: { companyId: existing.companyId, message: 'The company exists already' } };
        const company = { companyId: id('company'), organizationName, name, environment, owner: null, archived: false };
        companies.push(company);
        return { status: 201, body: { companyId: company.companyId } };
      }
      case 'createUserCompany': {
        const email = str(b.email)?.toLowerCase();
        const name = str(b.name);
        if (!email || !name) return fail(400, 'email and name are required');
        const existing = companies.find((c) => c.owner === email && !c.archived);
        if (existing) return { status: 409, body: { companyId: existing.companyId } };
        const company = { companyId: id('company'), organizationName: null, name, environment: null, owner: email, archived: false };
        companies.push(company);
        return { status: 201, body: { companyId: company.companyId } };
      }
      case 'addUserToCompany':
      case 'removeUserFromCompany': {
        const email = str(b.email)?.toLowerCase();
        const company = companies.find((c) => c.companyId === b.companyId);
        if (!email) return fail(400, 'email is required');
        if (!company) return fail(404, `No company ${b.companyId}`);
        const index = companyMembers.findIndex((m) => m.companyId === company.companyId && m.email === email);
        if (operation === 'addUserToCompany') {
          if (index >= 0) return { status: 409, body: { message: 'Already a member' } };
          companyMembers.push({ companyId: company.companyId, email });
          return { status: 200, body: {} };
        }
        if (index < 0) return fail(404, `${email} is not in ${company.companyId}`);
        companyMembers.splice(index, 1);
        return { status: 200, body: {} };
      }
      case 'sendInvite': {
        const email = str(b.email)?.toLowerCase();
        if (!email) return fail(400, 'email is required');
        const invite = { inviteId: id('invite'), email };
        invites.push(invite);
        return { status: 201, body: { inviteId: invite.inviteId } };
      }
      case 'archiveCompany': {
        const company = companies.find((c) => c.companyId === b.companyId && !c.archived);
        if (!company) return fail(404, `No company ${b.companyId}`);
        company.archived = true;
        return { status: 200, body: {} };
      }
      case 'provisionOrganization':
      case 'deprovisionOrganization': {
        const organizationName = str(b.organizationName);
        if (!organizationName) return fail(400, 'organizationName is required');
        const run = { runId: id('run'), kind: operation === 'provisionOrganization' ? ('provision' as const) : ('deprovision' as const), organizationName };
        runs.push(run);
        return { status: 202, body: { runId: run.runId } };
      }
      case 'setupTenant': {
        const organizationName = str(b.organizationName);
        if (!organizationName) return fail(400, 'organizationName is required');
        const existing = tenants.find((t) => t.organizationName === organizationName && !t.closed);
        if (existing) return { status: 409, body: { tenantId: existing.tenantId } };
        const tenant = { tenantId: id('tenant'), organizationName, closed: false };
        tenants.push(tenant);
        return { status: 201, body: { tenantId: tenant.tenantId } };
      }
      case 'shareDocumentation':
      case 'revokeDocumentation': {
        const email = str(b.email)?.toLowerCase();
        const tenant = tenants.find((t) => t.tenantId === b.tenantId);
        if (!email) return fail(400, 'email is required');
        if (!tenant) return fail(404, `No tenant ${b.tenantId}`);
        const index = shares.findIndex((s) => s.tenantId === tenant.tenantId && s.email === email);
        if (operation === 'shareDocumentation') {
          if (index < 0) shares.push({ tenantId: tenant.tenantId, email });
          return { status: 200, body: {} };
        }
        if (index < 0) return fail(404, `Nothing shared with ${email}`);
        shares.splice(index, 1);
        return { status: 200, body: {} };
      }
      case 'closeTenant': {
        const tenant = tenants.find((t) => t.tenantId === b.tenantId && !t.closed);
        if (!tenant) return fail(404, `No open tenant ${b.tenantId}`);
        tenant.closed = true;
        return { status: 200, body: {} };
      }
    }
    return fail(404, `Unknown operation ${operation}`);
  }

  const service = await startFakeHttpService({
    route: (method, url) => {
      const operation = /^\/(\w+)$/.exec(url.pathname)?.[1];
      return method === 'POST' && operation ? { route: operation, params: [] } : undefined;
    },
    authorise: (req) => (req.headers.authorization === `Bearer ${secret}` ? undefined : fail(401, 'Unauthorised')),
    failure: (_route, f) => fail(f.status, f.status === 429 ? 'Slow down' : f.status >= 500 ? 'Internal error' : 'Refused'),
    act(operation, _params, body, _url, req) {
      const key = req.headers['idempotency-key'];
      const text = JSON.stringify(body ?? {});
      if (typeof key === 'string') {
        const seen = remembered.get(key);
        if (seen) {
          if (seen.body !== text) return fail(422, 'This Idempotency-Key was used with another request');
          replays.push(key);
          return seen.answer;
        }
      }
      const answer = work(operation, (body ?? {}) as Record<string, any>);
      if (typeof key === 'string' && answer.status < 400) remembered.set(key, { body: text, answer });
      return answer;
    },
  });
  return { ...service, secret, companies, companyMembers, invites, runs, tenants, shares, replays };
}
