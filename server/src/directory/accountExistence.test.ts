/**
 * Whether an email has an account, from a partner admin's side: onboarding a person through
 * new_partner_user must not tell them about accounts outside their own organisation. A taken address of
 * another organisation (or of the company itself) is accepted exactly like a free one, and the run stops
 * before any integration hears of it, without touching that account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

const START = 'mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }';
const INPUT = `mutation($id: ID!, $input: JSON!) {
  submitStepInput(executionId: $id, stepKey: "input_user_details", input: $input) { id steps { key status error } }
}`;
const EXECUTION = 'query($id: ID!) { workflowExecution(id: $id) { status steps { key status error } } }';

describe('new_partner_user does not reveal accounts outside the organisation', () => {
  let server: TestServer;
  let partnerAdmin: string;
  let admin: string;
  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '20' });
    partnerAdmin = await server.login('partner.admin@acme.example');
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  /** A new_partner_user of `token`, waiting for the person's details (a partner admin's organisation is set at start). */
  async function waitingForDetails(token: string, organizationId?: string): Promise<string> {
    const started = await server.gql(START, {}, token);
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id as string;
    if (organizationId) {
      await eventually(async () => {
        const res = await server.gql(
          'mutation($id: ID!, $o: JSON!) { submitStepInput(executionId: $id, stepKey: "select_organization", input: $o) { id } }',
          { id, o: { organizationId } },
          token,
        );
        return !res.errors;
      }, 'the organisation step to wait');
    }
    await eventually(async () => {
      const res = await server.gql(EXECUTION, { id }, token);
      return res.data.workflowExecution.steps.find((s: { key: string }) => s.key === 'input_user_details').status === 'AWAITING_INPUT';
    }, 'the details step to wait');
    return id;
  }

  /** What the requester sees of their answer: errors, and the details step. */
  async function submit(token: string, id: string, email: string) {
    const res = await server.gql(INPUT, { id, input: { email, displayName: 'Some Person' } }, token);
    return {
      errors: res.errors ?? null,
      detailsStep: res.data?.submitStepInput?.steps.find((s: { key: string }) => s.key === 'input_user_details') ?? null,
    };
  }

  it('answers a taken address of someone outside the organisation exactly like a free one', async () => {
    const free = await submit(partnerAdmin, await waitingForDetails(partnerAdmin), 'brand.new.person@partner.example');
    expect(free).toEqual({ errors: null, detailsStep: { key: 'input_user_details', status: 'SUCCEEDED', error: null } });
    for (const taken of ['admin@example.com', 'Lead.Sales-North@Example.com']) {
      const id = await waitingForDetails(partnerAdmin);
      expect(await submit(partnerAdmin, id, taken), taken).toEqual(free);

      // The run stops at the account's creation, before any integration call, saying nothing about the account.
      const failed = await eventually(async () => {
        const res = await server.gql(EXECUTION, { id }, partnerAdmin);
        return res.data.workflowExecution.status === 'FAILED' ? res.data.workflowExecution : null;
      }, 'the run to stop');
      const step = failed.steps.find((s: { status: string }) => s.status === 'FAILED');
      expect(step.key).toBe('add_user_to_studio_companies');
      expect(step.error).not.toMatch(/exist|already|account|duplicate|unique|@/i);
    }
    // The accounts are as they were: no organisation, role or grant of Acme's.
    const rows = await server.sql(
      `SELECT u.email, u.role, u.organization_id, (SELECT count(*)::int FROM access_grant g WHERE g.user_id = u.id) AS grants
       FROM app_user u WHERE u.email IN ('admin@example.com', 'lead.sales-north@example.com') ORDER BY u.email`,
    );
    expect(rows).toEqual([
      { email: 'admin@example.com', role: 'ADMIN', organization_id: null, grants: 0 },
      { email: 'lead.sales-north@example.com', role: 'BU_LEADER', organization_id: null, grants: 0 },
    ]);
  });

  it('tells a partner admin about an address taken in their own organisation', async () => {
    const answer = await submit(partnerAdmin, await waitingForDetails(partnerAdmin), 'partner.admin@acme.example');
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0]?.message).toMatch(/already has an account/);
  });

  it('tells an admin about any taken address', async () => {
    const [{ id: acme }] = await server.sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
    const answer = await submit(admin, await waitingForDetails(admin, acme), 'analyst@example.com');
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
