/**
 * Organisations as the contract's v1.1 gives them (organization, renameOrganization, deleteOrganization), against
 * the real server: every role, hidden answered like missing, the details only for admins and the organisation's
 * own partner admin, CONFLICT while an organisation has people or an unfinished execution, and the activity entries.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { runNewPartner } from '../testing/workflowRuns.js';

const ORGANIZATION = `query($id: ID!) { organization(id: $id) { id name createdAt } }`;
const DETAILS = `query($id: ID!) { organization(id: $id) {
  id name createdAt
  studioCompanies { name environment externalId }
  systemGroups { tool name externalId }
  users { email }
} }`;
const RENAME = `mutation($id: ID!, $name: String!) { renameOrganization(id: $id, name: $name) { id name } }`;
const DELETE = `mutation($id: ID!) { deleteOrganization(id: $id) }`;
const ACTIVITY = `query($action: String) { activityLog(action: $action, first: 50) { edges { node { action actor { email } subject details } } } }`;

const PEOPLE = {
  ADMIN: 'admin@example.com',
  ANALYST: 'analyst@example.com',
  LEAD: 'lead.sales-north@example.com',
  VIEWER: 'viewer.sales-north@example.com',
  PARTNER: 'partner.admin@acme.example',
  MEMBER: 'member@acme.example', // PARTNER_USER of Acme Partners, made below
} as const;
type Person = keyof typeof PEOPLE;

describe('organisations', () => {
  let server: TestServer;
  const tokens = {} as Record<Person, string>;
  let acme: string;
  let beta: string;

  const organizationId = async (name: string) => (await server.sql(`SELECT id FROM organization WHERE name = $1`, [name]))[0]?.id as string;
  const activity = async (action: string) => (await server.gql(ACTIVITY, { action }, tokens.ADMIN)).data.activityLog.edges.map((e: any) => e.node);

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5' });
    // A person of Acme who is not its partner admin, with the demo password.
    await server.sql(
      `INSERT INTO app_user (id, email, display_name, role, password_hash, organization_id)
       SELECT gen_random_uuid(), $1, 'Acme Member', 'PARTNER_USER', password_hash, organization_id FROM app_user WHERE email = $2`,
      [PEOPLE.MEMBER, PEOPLE.PARTNER],
    );
    for (const [who, email] of Object.entries(PEOPLE)) tokens[who as Person] = await server.login(email);
    acme = await organizationId('Acme Partners');
    // Beta Partners: made by the real onboarding, with its company and groups, and nobody in it.
    const onboarding = await runNewPartner(server, tokens.ADMIN, 'Beta Partners');
    await eventually(
      async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: onboarding }, tokens.ADMIN)).data.workflowExecution.status === 'COMPLETED',
      'Beta Partners to be onboarded',
    );
    beta = await organizationId('Beta Partners');
  });
  afterAll(() => server?.stop());

  describe('organization(id)', () => {
    it('gives admins everything inside any organisation', async () => {
      const res = await server.gql(DETAILS, { id: acme }, tokens.ADMIN);
      expect(res.errors).toBeUndefined();
      const org = res.data.organization;
      expect(org).toMatchObject({ id: acme, name: 'Acme Partners' });
      expect(Number.isNaN(Date.parse(org.createdAt))).toBe(false);
      expect(org.studioCompanies).toEqual([
        { name: 'Acme Partners', environment: 'prod', externalId: 'studio-prod-acme' },
        { name: 'Acme Partners Sandbox', environment: 'test', externalId: 'studio-test-acme' },
      ]);
      expect(org.systemGroups.map((g: any) => g.tool)).toEqual(['metabase', 'teams', 'slack', 'lms']);
      expect(org.systemGroups.find((g: any) => g.tool === 'metabase')).toEqual({ tool: 'metabase', name: 'Acme Partners analysts', externalId: 'metabase-group-acme' });
      expect(org.users.map((u: any) => u.email)).toEqual([PEOPLE.MEMBER, PEOPLE.PARTNER]);

      const onboarded = (await server.gql(DETAILS, { id: beta }, tokens.ADMIN)).data.organization;
      expect(onboarded.studioCompanies).toEqual([{ name: 'HQ', environment: 'prod', externalId: expect.any(String) }]);
      expect(onboarded.systemGroups).toHaveLength(4);
      expect(onboarded.users).toEqual([]);
    });

    it("gives a partner admin their own organisation's details, and answers another one like a missing one", async () => {
      const own = await server.gql(DETAILS, { id: acme }, tokens.PARTNER);
      expect(own.errors).toBeUndefined();
      expect(own.data.organization.users.map((u: any) => u.email)).toEqual([PEOPLE.MEMBER, PEOPLE.PARTNER]);
      expect(own.data.organization.studioCompanies).toHaveLength(2);
      for (const id of [beta, randomUUID(), 'not-an-id']) {
        const res = await server.gql(DETAILS, { id }, tokens.PARTNER);
        expect(res.errors).toBeUndefined();
        expect(res.data.organization).toBeNull();
      }
    });

    it("lets a member read their organisation's name but not what is inside it", async () => {
      const named = await server.gql(ORGANIZATION, { id: acme }, tokens.MEMBER);
      expect(named.data.organization).toMatchObject({ id: acme, name: 'Acme Partners' });
      for (const field of ['studioCompanies { name }', 'systemGroups { name }', 'users { email }']) {
        const res = await server.gql(`query($id: ID!) { organization(id: $id) { ${field} } }`, { id: acme }, tokens.MEMBER);
        expect(errorCode(res), field).toBe('FORBIDDEN');
      }
      expect((await server.gql(ORGANIZATION, { id: beta }, tokens.MEMBER)).data.organization).toBeNull();
    });

    it('answers null to everyone outside the organisation, exactly as for one that does not exist', async () => {
      for (const who of ['ANALYST', 'LEAD', 'VIEWER'] as const) {
        for (const id of [acme, beta, randomUUID()]) {
          const res = await server.gql(DETAILS, { id }, tokens[who]);
          expect(res.errors, who).toBeUndefined();
          expect(res.data.organization, who).toBeNull();
        }
      }
      expect(errorCode(await server.gql(ORGANIZATION, { id: acme }, null))).toBe('UNAUTHENTICATED');
    });
  });

  describe('renameOrganization', () => {
    it('is refused to everyone but admins: FORBIDDEN where they see it, NOT_FOUND where they do not, nothing changed', async () => {
      const cases: [Person | 'ANON', string, string][] = [
        ['PARTNER', acme, 'FORBIDDEN'],
        ['MEMBER', acme, 'FORBIDDEN'],
        ['PARTNER', beta, 'NOT_FOUND'],
        ['PARTNER', randomUUID(), 'NOT_FOUND'],
        ['ANALYST', acme, 'NOT_FOUND'],
        ['LEAD', acme, 'NOT_FOUND'],
        ['VIEWER', beta, 'NOT_FOUND'],
        ['ANALYST', randomUUID(), 'NOT_FOUND'],
        ['ANON', acme, 'UNAUTHENTICATED'],
      ];
      for (const [who, id, code] of cases) {
        const res = await server.gql(RENAME, { id, name: 'Hijacked' }, who === 'ANON' ? null : tokens[who]);
        expect(errorCode(res), `${who} renaming ${id}`).toBe(code);
      }
      expect(await server.sql(`SELECT name FROM organization ORDER BY name`)).toEqual([{ name: 'Acme Partners' }, { name: 'Beta Partners' }]);
    });

    it('refuses an empty name or one another organisation has (whatever its case) with BAD_USER_INPUT', async () => {
      for (const name of ['', '   ', 'beta partners', ' BETA PARTNERS ', 'x'.repeat(201)]) {
        expect(errorCode(await server.gql(RENAME, { id: acme, name }, tokens.ADMIN)), JSON.stringify(name)).toBe('BAD_USER_INPUT');
      }
      expect(errorCode(await server.gql(RENAME, { id: randomUUID(), name: 'Nobody' }, tokens.ADMIN))).toBe('NOT_FOUND');
      expect(await activity('ORGANIZATION_RENAMED')).toEqual([]);
    });

    it('renames for an admin, trimmed, and logs who renamed what', async () => {
      const res = await server.gql(RENAME, { id: acme, name: '  Acme Partners GmbH ' }, tokens.ADMIN);
      expect(res.errors).toBeUndefined();
      expect(res.data.renameOrganization).toEqual({ id: acme, name: 'Acme Partners GmbH' });
      expect((await server.gql(ORGANIZATION, { id: acme }, tokens.PARTNER)).data.organization.name).toBe('Acme Partners GmbH');
      // Its own name in another case is its own, not taken.
      expect((await server.gql(RENAME, { id: acme, name: 'ACME Partners GmbH' }, tokens.ADMIN)).errors).toBeUndefined();
      expect(await activity('ORGANIZATION_RENAMED')).toEqual([
        {
          action: 'ORGANIZATION_RENAMED',
          actor: { email: PEOPLE.ADMIN },
          subject: 'ACME Partners GmbH',
          details: { organizationId: acme, previousName: 'Acme Partners GmbH', name: 'ACME Partners GmbH' },
        },
        {
          action: 'ORGANIZATION_RENAMED',
          actor: { email: PEOPLE.ADMIN },
          subject: 'Acme Partners GmbH',
          details: { organizationId: acme, previousName: 'Acme Partners', name: 'Acme Partners GmbH' },
        },
      ]);
    });
  });

  describe('deleteOrganization', () => {
    it('is refused to everyone but admins, and nothing is deleted', async () => {
      const cases: [Person | 'ANON', string, string][] = [
        ['PARTNER', acme, 'FORBIDDEN'],
        ['MEMBER', acme, 'FORBIDDEN'],
        ['PARTNER', beta, 'NOT_FOUND'],
        ['ANALYST', beta, 'NOT_FOUND'],
        ['LEAD', acme, 'NOT_FOUND'],
        ['VIEWER', beta, 'NOT_FOUND'],
        ['ANALYST', randomUUID(), 'NOT_FOUND'],
        ['ANON', beta, 'UNAUTHENTICATED'],
      ];
      for (const [who, id, code] of cases) {
        const res = await server.gql(DELETE, { id }, who === 'ANON' ? null : tokens[who]);
        expect(errorCode(res), `${who} deleting ${id}`).toBe(code);
      }
      expect(await server.sql(`SELECT count(*)::int AS n FROM organization`)).toEqual([{ n: 2 }]);
      expect(errorCode(await server.gql(DELETE, { id: randomUUID() }, tokens.ADMIN))).toBe('NOT_FOUND');
    });

    it('is a CONFLICT while the organisation has people', async () => {
      const res = await server.gql(DELETE, { id: acme }, tokens.ADMIN);
      expect(errorCode(res)).toBe('CONFLICT');
      expect((await server.gql(DETAILS, { id: acme }, tokens.ADMIN)).data.organization.studioCompanies).toHaveLength(2);
      expect(await activity('ORGANIZATION_DELETED')).toEqual([]);
    });

    it('is a CONFLICT while an execution for it is unfinished, and goes through once that one is cancelled', async () => {
      // Adding someone to Beta: the organisation is chosen, the person's details are awaited.
      const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, tokens.ADMIN);
      const executionId = started.data.startWorkflow.id;
      await eventually(async () => {
        const res = await server.gql(
          `mutation($id: ID!, $org: ID!) { submitStepInput(executionId: $id, stepKey: "select_organization", input: { organizationId: $org }) { id } }`,
          { id: executionId, org: beta },
          tokens.ADMIN,
        );
        return !res.errors;
      }, 'the organisation step to wait');
      await eventually(
        async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: executionId }, tokens.ADMIN)).data.workflowExecution.status === 'AWAITING_INPUT',
        'the details step to wait',
      );
      expect(errorCode(await server.gql(DELETE, { id: beta }, tokens.ADMIN))).toBe('CONFLICT');

      const cancelled = await server.gql(`mutation($id: ID!) { cancelExecution(executionId: $id, reason: "Beta is closing") { status } }`, { id: executionId }, tokens.ADMIN);
      expect(cancelled.data.cancelExecution.status).toBe('CANCELLED');
      const deleted = await server.gql(DELETE, { id: beta }, tokens.ADMIN);
      expect(deleted.errors).toBeUndefined();
      expect(deleted.data.deleteOrganization).toBe(true);

      // Gone, with its companies and groups; its finished executions stay, no longer naming it.
      expect((await server.gql(DETAILS, { id: beta }, tokens.ADMIN)).data.organization).toBeNull();
      expect(await server.sql(`SELECT count(*)::int AS n FROM studio_company WHERE organization_id = $1`, [beta])).toEqual([{ n: 0 }]);
      expect(await server.sql(`SELECT count(*)::int AS n FROM system_group WHERE organization_id = $1`, [beta])).toEqual([{ n: 0 }]);
      const execution = (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status organization { id } } }`, { id: executionId }, tokens.ADMIN)).data
        .workflowExecution;
      expect(execution).toEqual({ status: 'CANCELLED', organization: null });
      expect(await activity('ORGANIZATION_DELETED')).toEqual([
        { action: 'ORGANIZATION_DELETED', actor: { email: PEOPLE.ADMIN }, subject: 'Beta Partners', details: { organizationId: beta, name: 'Beta Partners' } },
      ]);
      // Deleted once: a second time it is missing.
      expect(errorCode(await server.gql(DELETE, { id: beta }, tokens.ADMIN))).toBe('NOT_FOUND');
    });

    it('lists no deleted person among its people, and counts none of them against deleting it', async () => {
      const gamma = await runNewPartner(server, tokens.ADMIN, 'Gamma Partners');
      await eventually(
        async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: gamma }, tokens.ADMIN)).data.workflowExecution.status === 'COMPLETED',
        'Gamma Partners to be onboarded',
      );
      const id = await organizationId('Gamma Partners');
      const created = await server.gql(
        `mutation($org: ID!) { createUser(input: { email: "gone@gamma.example", displayName: "Gone Soon", role: PARTNER_USER, organizationId: $org }) { user { id } } }`,
        { org: id },
        tokens.ADMIN,
      );
      expect(created.errors).toBeUndefined();
      expect((await server.gql(DETAILS, { id }, tokens.ADMIN)).data.organization.users).toEqual([{ email: 'gone@gamma.example' }]);
      expect(errorCode(await server.gql(DELETE, { id }, tokens.ADMIN))).toBe('CONFLICT');

      const removed = await server.gql(`mutation($id: ID!) { deleteUser(userId: $id) }`, { id: created.data.createUser.user.id }, tokens.ADMIN);
      expect(removed.errors).toBeUndefined();
      expect((await server.gql(DETAILS, { id }, tokens.ADMIN)).data.organization.users).toEqual([]);
      const deleted = await server.gql(DELETE, { id }, tokens.ADMIN);
      expect(deleted.errors).toBeUndefined();
      // The deleted person's row stays, with its email, no longer in the organisation.
      expect(await server.sql(`SELECT organization_id, deleted_at IS NOT NULL AS deleted FROM app_user WHERE email = 'gone@gamma.example'`)).toEqual([
        { organization_id: null, deleted: true },
      ]);
    });
  });
});
