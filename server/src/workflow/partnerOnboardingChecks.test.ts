/**
 * What partner onboarding refuses before any integration hears of it, found in a QA pass as an admin: a second
 * onboarding of a name already being onboarded (both used to run, the second provisioning Infrabot and Studio
 * and then failing on the unique index with its SQL), a blank Studio company; and deleting a person who still
 * has access in a partner's tools keeps the record of that access (the grants went without a trace).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

describe('partner onboarding checks', () => {
  let server: TestServer;
  let admin: string;

  const start = async (definitionKey: string, input: Record<string, unknown>) =>
    server.gql(`mutation($k: String!, $i: JSON) { startWorkflow(definitionKey: $k, input: $i) { id } }`, { k: definitionKey, i: input }, admin);
  const give = (id: string, stepKey: string, input: unknown) =>
    server.gql(`mutation($id: ID!, $k: String!, $i: JSON!) { submitStepInput(executionId: $id, stepKey: $k, input: $i) { id } }`, { id, k: stepKey, i: input }, admin);
  const execution = async (id: string) =>
    (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status organization { id } steps { key status error output } } }`, { id }, admin)).data
      .workflowExecution;
  const until = (id: string, status: string) =>
    eventually(async () => {
      const e = await execution(id);
      return e?.status === status && e;
    }, `execution ${id} to be ${status}`);

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5' });
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  it('refuses a second onboarding of a name while the first is under way, and frees the name when it is cancelled', async () => {
    const first = await start('new_partner', { organizationName: 'Beta Corp' });
    expect(first.errors).toBeUndefined();
    const id = first.data.startWorkflow.id;
    await until(id, 'AWAITING_INPUT');

    for (const organizationName of ['Beta Corp', 'beta corp', '  BETA CORP ']) {
      const second = await start('new_partner', { organizationName });
      expect(errorCode(second), organizationName).toBe('BAD_USER_INPUT');
      expect((second.errors as any)[0].message).toMatch(/under way/);
    }
    // Nor can an organisation be renamed to it meanwhile.
    const [acme] = await server.sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
    const rename = await server.gql(`mutation($id: ID!) { renameOrganization(id: $id, name: "Beta Corp") { name } }`, { id: acme.id }, admin);
    expect(errorCode(rename)).toBe('BAD_USER_INPUT');
    expect(await server.sql(`SELECT count(*)::int AS n FROM workflow_execution WHERE input->>'organizationName' ILIKE '%beta corp%'`)).toEqual([{ n: 1 }]);

    await server.gql(`mutation($id: ID!) { cancelExecution(executionId: $id, reason: "Started twice") { status } }`, { id }, admin);
    const again = await start('new_partner', { organizationName: 'Beta Corp' });
    expect(again.errors).toBeUndefined();
  });

  it('stops before provisioning when an organisation of its name appeared since it started, and says so in words', async () => {
    const started = await start('new_partner', { organizationName: 'Clash Two' });
    const id = started.data.startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    // Made outside the product meanwhile (the product itself now refuses it: above).
    await server.sql(`INSERT INTO organization (id, name) VALUES (gen_random_uuid(), 'Clash Two')`);
    expect((await give(id, 'input_studio_companies', { companies: [{ name: 'C', environment: 'prod' }] })).errors).toBeUndefined();
    const failed = await until(id, 'FAILED');
    const step = failed.steps.find((s: any) => s.key === 'trigger_infrabot');
    expect(step.error).toBe('An organisation named "Clash Two" already exists: cancel this run, or rename that organisation and retry this step');
    // Nothing was provisioned: no Infrabot run, no Studio company.
    expect(step.output).toBeNull();
    expect(await server.sql(`SELECT count(*)::int AS n FROM organization WHERE lower(name) = 'clash two'`)).toEqual([{ n: 1 }]);
  });

  it('refuses a Studio company without a name, and stores the names trimmed', async () => {
    const started = await start('new_partner', { organizationName: 'Blank Co' });
    const id = started.data.startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    for (const name of ['   ', '\t']) {
      const res = await give(id, 'input_studio_companies', { companies: [{ name, environment: 'prod' }] });
      expect(errorCode(res), JSON.stringify(name)).toBe('BAD_USER_INPUT');
    }
    expect((await execution(id)).steps[0].status).toBe('AWAITING_INPUT');
    expect((await give(id, 'input_studio_companies', { companies: [{ name: '  Blank Prod  ', environment: 'prod' }] })).errors).toBeUndefined();
    const done = await until(id, 'COMPLETED');
    expect(await server.sql(`SELECT name FROM studio_company WHERE organization_id = $1`, [done.organization.id])).toEqual([{ name: 'Blank Prod' }]);
  });

  it('deletes a person who still has access in the partner tools, keeping the grants they had in the activity log', async () => {
    const [acme] = await server.sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
    const onboarding = (await start('new_partner_user', {})).data.startWorkflow.id;
    await until(onboarding, 'AWAITING_INPUT');
    await give(onboarding, 'select_organization', { organizationId: acme.id });
    await until(onboarding, 'AWAITING_INPUT');
    await give(onboarding, 'input_user_details', { email: 'road.runner@acme.example', displayName: 'Road Runner' });
    await until(onboarding, 'COMPLETED');
    const [person] = await server.sql(`SELECT id FROM app_user WHERE email = 'road.runner@acme.example'`);
    const had = await server.sql<{ system: string; name: string }>(`SELECT system, resource AS name FROM access_grant WHERE user_id = $1 ORDER BY system, resource`, [person.id]);
    expect(had.length).toBeGreaterThan(0);

    // Deleting is not refused (no cascade to write by hand, no offboarding forced first), and the record of what
    // they could reach outside Plansync does not go with them: it is in the deletion's activity entry.
    const deleted = await server.gql(`mutation($id: ID!) { deleteUser(userId: $id) }`, { id: person.id }, admin);
    expect(deleted.errors).toBeUndefined();
    expect(deleted.data.deleteUser).toBe(true);
    expect(await server.sql(`SELECT count(*)::int AS n FROM access_grant WHERE user_id = $1`, [person.id])).toEqual([{ n: 0 }]);
    const [entry] = await server.sql<{ details: { accessGrants: { system: string; name: string }[] } }>(
      `SELECT details FROM activity_entry WHERE action = 'USER_DELETED' AND subject = 'road.runner@acme.example'`,
    );
    expect(entry.details.accessGrants).toEqual(had.map((g) => ({ system: g.system, name: g.name })));
  });
});
