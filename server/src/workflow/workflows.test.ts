import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

export const EXECUTION = `id definitionKey status organization { id name } createdAt updatedAt
  steps { key name kind status attempts error input output startedAt finishedAt }`;

describe('workflows run to completion through their manual steps', () => {
  let server: TestServer;
  let admin: string;
  let analyst: string;

  const execution = async (id: string, token = admin) =>
    (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, token)).data.workflowExecution;

  const until = (id: string, status: string, token = admin) =>
    eventually(async () => {
      const e = await execution(id, token);
      return e?.status === status && e;
    }, `execution ${id} to be ${status}`);

  beforeAll(async () => {
    // The retry settings are the defaults users run (a zero delay once hid that delayed retries never ran).
    server = await startTestServer({ SIMULATED_STEP_MS: '5', SIMULATE_FAILURE_STEPS: 'create_slack_group' });
    admin = await server.login('admin@example.com');
    analyst = await server.login('analyst@example.com');
  });
  afterAll(() => server?.stop());

  it('lists the three definitions with their steps', async () => {
    const res = await server.gql('{ workflowDefinitions { key name steps { key name kind } } }', {}, admin);
    const byKey = Object.fromEntries(res.data.workflowDefinitions.map((d: any) => [d.key, d.steps]));
    expect(byKey.new_partner.map((s: any) => s.key)).toEqual([
      'input_studio_companies', 'trigger_infrabot', 'clone_metabase_collection', 'create_metabase_group',
      'grant_metabase_db_access', 'create_teams_channel', 'create_slack_group', 'lms_setup',
    ]);
    expect(byKey.new_partner_user).toHaveLength(9);
    expect(byKey.budget_submission.map((s: any) => `${s.key}:${s.kind}`)).toEqual([
      'validate_budget:AUTO', 'lock_budget:AUTO', 'finance_review:MANUAL', 'publish_to_powerbi:AUTO', 'notify_business_unit:AUTO',
    ]);
  });

  it('runs new_partner: waits for the companies, fails the scripted step every attempt, succeeds when retried', async () => {
    const started = await server.gql(
      `mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Globex" }) { id status steps { key status } } }`,
      {},
      admin,
    );
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id;
    const waiting = await until(id, 'AWAITING_INPUT');
    expect(waiting.steps[0]).toMatchObject({ key: 'input_studio_companies', status: 'AWAITING_INPUT' });

    const bad = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: { companies: [{ name: "X", environment: "staging" }] }) { id } }`,
      { id },
      admin,
    );
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    const given = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies",
         input: { companies: [{ name: "Globex", environment: "prod" }, { name: "Globex Test", environment: "test" }] }) { id } }`,
      { id },
      admin,
    );
    expect(given.errors).toBeUndefined();

    const failed = await until(id, 'FAILED');
    const slack = failed.steps.find((s: any) => s.key === 'create_slack_group');
    expect(slack).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(slack.error).toMatch(/Simulated failure/);
    expect(failed.steps.find((s: any) => s.key === 'lms_setup').status).toBe('PENDING');

    const retried = await server.gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "create_slack_group") { id } }`, { id }, admin);
    expect(retried.errors).toBeUndefined();
    const done = await until(id, 'COMPLETED');
    expect(done.steps.every((s: any) => s.status === 'SUCCEEDED')).toBe(true);
    expect(done.steps.find((s: any) => s.key === 'create_slack_group').attempts).toBe(4);
    expect(done.organization.name).toBe('Globex');
    for (const step of done.steps) {
      expect(new Date(step.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(step.startedAt).getTime());
    }
    // The domain: the organisation with its companies and tool groups.
    const companies = await server.sql(
      `SELECT c.name, c.environment FROM studio_company c JOIN organization o ON o.id = c.organization_id WHERE o.name = 'Globex' ORDER BY c.name`,
    );
    expect(companies).toEqual([{ name: 'Globex', environment: 'prod' }, { name: 'Globex Test', environment: 'test' }]);
    const groups = await server.sql(
      `SELECT g.tool FROM system_group g JOIN organization o ON o.id = g.organization_id WHERE o.name = 'Globex' ORDER BY g.tool::text`,
    );
    expect(groups.map((g) => g.tool)).toEqual(['lms', 'metabase', 'slack', 'teams']);
    // A second partner of the same name is refused.
    const twice = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "globex" }) { id } }`, {}, admin);
    expect(errorCode(twice)).toBe('BAD_USER_INPUT');
  });

  it('runs new_partner_user for a partner admin, with the organisation filled in for them', async () => {
    const partner = await server.login('partner.admin@acme.example');
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id organization { name } } }`, {}, partner);
    expect(started.errors).toBeUndefined();
    expect(started.data.startWorkflow.organization.name).toBe('Acme Partners');
    const id = started.data.startWorkflow.id;
    const waiting = await until(id, 'AWAITING_INPUT', partner);
    expect(waiting.steps.slice(0, 2).map((s: any) => s.status)).toEqual(['SUCCEEDED', 'AWAITING_INPUT']);
    // An address of their own organisation is said to be taken (others' are not told: accountExistence.test.ts).
    const taken = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_user_details", input: { email: "partner.admin@acme.example", displayName: "Copy" }) { id } }`,
      { id },
      partner,
    );
    expect(errorCode(taken)).toBe('BAD_USER_INPUT');
    const given = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_user_details", input: { email: "Wile.E@acme.example", displayName: "Wile E." }) { id } }`,
      { id },
      partner,
    );
    expect(given.errors).toBeUndefined();
    const done = await until(id, 'COMPLETED', partner);
    expect(done.steps.map((s: any) => s.status)).toEqual(Array(9).fill('SUCCEEDED'));

    const [user] = await server.sql(
      `SELECT u.email, u.role, o.name AS organization FROM app_user u JOIN organization o ON o.id = u.organization_id WHERE u.email = 'wile.e@acme.example'`,
    );
    expect(user).toEqual({ email: 'wile.e@acme.example', role: 'PARTNER_USER', organization: 'Acme Partners' });
    const grants = await server.sql(
      `SELECT g.system FROM access_grant g JOIN app_user u ON u.id = g.user_id WHERE u.email = 'wile.e@acme.example' ORDER BY g.system`,
    );
    expect(grants.map((g) => g.system)).toEqual(['lms', 'metabase', 'slack', 'studio', 'studio', 'studio', 'teams']);
    const personal = await server.sql(
      `SELECT c.name FROM studio_company c JOIN app_user u ON u.id = c.owner_id WHERE u.email = 'wile.e@acme.example'`,
    );
    expect(personal).toEqual([{ name: 'Wile E. (wile.e@acme.example)' }]);
    // The partner admin sees the new person among their organisation's users.
    const users = await server.gql('{ users { email } }', {}, partner);
    expect(users.data.users.map((u: any) => u.email)).toContain('wile.e@acme.example');
  });

  it('runs budget_submission from submitBudget: review by an analyst, approval, publication; a rejection opens the unit again', async () => {
    const lead = await server.login('lead.marketing@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, lead)).data.budgetPlans[0].id;
    const submitted = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "MARKETING") { status execution { id } } }`,
      { p: planId },
      lead,
    );
    expect(submitted.data.submitBudget.status).toBe('SUBMITTED');
    const id = submitted.data.submitBudget.execution.id;
    const waiting = await until(id, 'AWAITING_INPUT', lead);
    expect(waiting.steps.map((s: any) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'AWAITING_INPUT', 'PENDING', 'PENDING']);
    expect(waiting.steps[0].output).toMatchObject({ lines: 120 });

    // Only an analyst or an admin reviews; the leader sees the execution but may not decide.
    const byLead = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "APPROVE" }) { id } }`,
      { id },
      lead,
    );
    expect(errorCode(byLead)).toBe('FORBIDDEN');
    const reject = await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "REJECT", comment: "Too high" }) { id } }`,
      { id },
      analyst,
    );
    expect(reject.errors).toBeUndefined();
    const rejected = await until(id, 'COMPLETED', lead);
    expect(rejected.steps.map((s: any) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SKIPPED', 'SUCCEEDED']);
    expect(rejected.steps[4].output.message).toMatch(/rejected/);
    const afterReject = await server.gql(`query($p: ID!) { budgetSubmissions(planId: $p) { status canEdit canSubmit } }`, { p: planId }, lead);
    expect(afterReject.data.budgetSubmissions[0]).toEqual({ status: 'REJECTED', canEdit: true, canSubmit: true });

    // Submitted again, and approved this time.
    const again = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "MARKETING") { execution { id } } }`, { p: planId }, lead);
    const second = again.data.submitBudget.execution.id;
    await until(second, 'AWAITING_INPUT', lead);
    await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "APPROVE" }) { id } }`,
      { id: second },
      admin,
    );
    const approved = await until(second, 'COMPLETED', lead);
    expect(approved.steps.map((s: any) => s.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect(approved.steps[3].output).toEqual({ publishedVersion: 2, rows: 120, totalBudgetAmount: expect.any(Number), rowsPushed: 120, datasetRefresh: 'requested' });
    const final = await server.gql(`query($p: ID!) { budgetSubmissions(planId: $p) { status canEdit } }`, { p: planId }, lead);
    expect(final.data.budgetSubmissions[0]).toEqual({ status: 'APPROVED', canEdit: false });
  });

  it('fails a step whose results clash with existing data, instead of leaving it running', async () => {
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Clash Corp" }) { id } }`, {}, admin);
    const id = started.data.startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    // Someone else creates the organisation meanwhile.
    await server.sql(`INSERT INTO organization (id, name) VALUES (gen_random_uuid(), 'Clash Corp')`);
    await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: { companies: [{ name: "C", environment: "prod" }] }) { id } }`,
      { id },
      admin,
    );
    const failed = await until(id, 'FAILED');
    const step = failed.steps.find((s: any) => s.key === 'trigger_infrabot');
    expect(step.status).toBe('FAILED');
    // Said in words, before Infrabot or Studio heard of it (partnerOnboardingChecks.test.ts), not as the SQL.
    expect(step.error).toMatch(/already exists/);
    const [{ n }] = await server.sql(`SELECT count(*)::int AS n FROM organization WHERE name = 'Clash Corp'`);
    expect(n).toBe(1);
  });

  it('answers a missing or hidden execution alike, and refuses what the caller may not do', async () => {
    const lead = await server.login('lead.sales-north@example.com');
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Initech" }) { id } }`, {}, admin);
    const id = started.data.startWorkflow.id;
    expect((await server.gql(`query($id: ID!) { workflowExecution(id: $id) { id } }`, { id }, lead)).data.workflowExecution).toBeNull();
    const hidden = await server.gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "trigger_infrabot") { id } }`, { id }, lead);
    const missing = await server.gql(
      `mutation($id: ID!) { retryStep(executionId: $id, stepKey: "trigger_infrabot") { id } }`,
      { id: '00000000-0000-4000-8000-000000000000' },
      lead,
    );
    expect(errorCode(hidden)).toBe('NOT_FOUND');
    expect(hidden.errors![0].message).toBe(missing.errors![0].message);
    expect(errorCode(await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Nope" }) { id } }`, {}, lead))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(`mutation { startWorkflow(definitionKey: "budget_submission", input: {}) { id } }`, {}, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: 12 }) { id } }`, {}, admin))).toBe('BAD_USER_INPUT');
    const notWaiting = await server.gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "input_studio_companies") { id } }`, { id }, admin);
    expect(errorCode(notWaiting)).toBe('CONFLICT');
  });

  it('refuses inputs PostgreSQL cannot store (U+0000, an unpaired surrogate) as BAD_USER_INPUT, storing nothing', async () => {
    const before = (await server.sql('SELECT count(*)::int AS n FROM workflow_execution'))[0].n;
    for (const organizationName of ['Nul\u0000Corp', 'Half \ud800 Corp']) {
      const res = await server.gql(`mutation($n: String!) { startWorkflow(definitionKey: "new_partner", input: { organizationName: $n }) { id } }`, { n: organizationName }, admin);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0].message).toMatch(/organizationName/);
    }
    // In a manual step's input too, at any depth.
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Deep Nul Corp" }) { id } }`, {}, admin);
    const id = started.data.startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    const deep = await server.gql(
      `mutation($id: ID!, $c: JSON!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: $c) { id } }`,
      { id, c: { companies: [{ name: 'A\u0000', environment: 'prod' }] } },
      admin,
    );
    expect(errorCode(deep)).toBe('BAD_USER_INPUT');
    expect((await execution(id)).steps[0].status).toBe('AWAITING_INPUT');
    expect((await server.sql('SELECT count(*)::int AS n FROM workflow_execution'))[0].n).toBe(before + 1);
  });

  it('pages and filters executions, scoped to what each person may see', async () => {
    const all = await server.gql(`{ workflowExecutions(first: 2) { edges { cursor node { id definitionKey } } pageInfo { hasNextPage endCursor } } }`, {}, admin);
    expect(all.data.workflowExecutions.edges).toHaveLength(2);
    expect(all.data.workflowExecutions.pageInfo.hasNextPage).toBe(true);
    const seen = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page: any = (
        await server.gql(`query($a: String) { workflowExecutions(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`, { a: after }, admin)
      ).data.workflowExecutions;
      page.edges.forEach((e: any) => seen.add(e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const [{ n }] = await server.sql('SELECT count(*)::int AS n FROM workflow_execution');
    expect(seen.size).toBe(n);

    const completed = await server.gql(`{ workflowExecutions(status: "COMPLETED", definitionKey: "budget_submission") { edges { node { status definitionKey } } } }`, {}, admin);
    expect(completed.data.workflowExecutions.edges.length).toBeGreaterThan(0);
    expect(completed.data.workflowExecutions.edges.every((e: any) => e.node.status === 'COMPLETED' && e.node.definitionKey === 'budget_submission')).toBe(true);
    expect(errorCode(await server.gql(`{ workflowExecutions(status: "DONE") { edges { cursor } } }`, {}, admin))).toBe('BAD_USER_INPUT');

    const keysFor = async (token: string) =>
      new Set((await server.gql(`{ workflowExecutions(first: 200) { edges { node { definitionKey } } } }`, {}, token)).data.workflowExecutions.edges.map((e: any) => e.node.definitionKey));
    expect(await keysFor(analyst)).toEqual(new Set(['budget_submission']));
    expect(await keysFor(await server.login('partner.admin@acme.example'))).toEqual(new Set(['new_partner_user']));
    expect(await keysFor(await server.login('lead.sales-north@example.com'))).toEqual(new Set());
    expect(await keysFor(await server.login('lead.marketing@example.com'))).toEqual(new Set(['budget_submission']));
    expect(await keysFor(await server.login('viewer.marketing@example.com'))).toEqual(new Set());
  });
});
