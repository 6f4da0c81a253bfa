/**
 * Refresh of an import semantic model on approval (POWERBI_REFRESH_GROUP_ID, POWERBI_REFRESH_DATASET_ID), end to
 * end: a budget approved through GraphQL on a Plansync child process whose publish_to_powerbi step calls a local
 * fake of the Power BI REST API ("Refresh Dataset In Group") with an app-only token from a fake Entra authority.
 * Only the refresh is configured, as a deployment from 2026 on has it: no push dataset, so no push is made.
 * A 5xx is retried by the engine; a 429 past the attempts fails the step (retryable by an admin, and then it
 * completes), as for every Microsoft call. /readyz follows it all (configured, ok, failing, ok again) and stays
 * 200 while Power BI fails; on a server without the settings it says simulated.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { startTestServer } from '../../testing/harness.js';
import { startChildServer, type ChildServer } from '../../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../../testing/fakeEntraAuthority.js';
import { POWER_BI_RESOURCE, startFakeMicrosoftApis, type FakeMicrosoftApis, type RecordedRequest } from '../../testing/fakeMicrosoftApis.js';

const EXECUTION = `id status steps { key status attempts error output }`;
/** The provisioning targets of the partner workflows, none configured here (provisioningAdapters.test.ts). */
const PROVISIONING_SIMULATED = { metabase: { status: 'simulated' }, slack: { status: 'simulated' }, studio: { status: 'simulated' }, infrabot: { status: 'simulated' }, lms: { status: 'simulated' } };
const GROUP_ID = randomUUID();
const DATASET_ID = randomUUID();

describe('configuration of the Power BI refresh', () => {
  const entraEnv = {
    ENTRA_TENANT_ID: randomUUID(),
    ENTRA_CLIENT_ID: randomUUID(),
    ENTRA_CLIENT_SECRET: 'secret',
    ENTRA_REDIRECT_URI: 'https://plansync.example/auth/microsoft/callback',
  };

  it('is off without its settings, on with both, independent of the push dataset', () => {
    expect(loadConfig({}).powerBiRefresh).toBeUndefined();
    const config = loadConfig({ ...entraEnv, POWERBI_REFRESH_GROUP_ID: GROUP_ID, POWERBI_REFRESH_DATASET_ID: DATASET_ID });
    expect(config.powerBiRefresh).toEqual({ groupId: GROUP_ID, datasetId: DATASET_ID, apiUrl: 'https://api.powerbi.com/v1.0/myorg' });
    expect(config.powerBi).toBeUndefined();
  });

  it('refuses to start with incomplete or wrong settings, naming the variable', () => {
    const fails = (env: Record<string, string>, message: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    fails({ POWERBI_REFRESH_GROUP_ID: GROUP_ID, POWERBI_REFRESH_DATASET_ID: DATASET_ID }, /POWERBI_REFRESH_GROUP_ID .*ENTRA_CLIENT_SECRET/);
    fails({ ...entraEnv, POWERBI_REFRESH_GROUP_ID: GROUP_ID }, /POWERBI_REFRESH_GROUP_ID and POWERBI_REFRESH_DATASET_ID/);
    fails({ ...entraEnv, POWERBI_REFRESH_DATASET_ID: DATASET_ID }, /POWERBI_REFRESH_GROUP_ID and POWERBI_REFRESH_DATASET_ID/);
    fails({ ...entraEnv, POWERBI_REFRESH_GROUP_ID: 'sales', POWERBI_REFRESH_DATASET_ID: DATASET_ID }, /POWERBI_REFRESH_GROUP_ID must be/);
  });
});

describe('Power BI semantic model refreshed on approval, against a local fake', () => {
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let server: ChildServer;
  let analyst: string;
  let admin: string;

  const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const res = await server.gql(query, variables, token);
    if (res.errors) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
    return res.data;
  };
  const login = async (email: string) =>
    (await gql('mutation($e: String!) { login(email: $e, password: "plansync-demo") { token } }', { e: email }, '')).login.token as string;
  const step = (e: any, key: string) => e.steps.find((s: any) => s.key === key);

  /** Polls until the execution has `status`; fails at once if it settles on another. */
  async function until(id: string, status: string): Promise<any> {
    for (;;) {
      const e = (await gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, admin)).workflowExecution;
      if (e.status === status) return e;
      if (['FAILED', 'COMPLETED', 'CANCELLED'].includes(e.status)) throw new Error(`execution ${id} is ${e.status}, not ${status}: ${JSON.stringify(e.steps)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const readiness = async () => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, body: await res.json() };
  };

  const since = () => {
    const start = apis.requests.length;
    return (route?: RecordedRequest['route']) => apis.requests.slice(start).filter((r) => !route || r.route === route);
  };

  async function approvedBudget(unit: string, lead: string) {
    const leadToken = await login(lead);
    const planId = (await gql('{ budgetPlans { id } }', {}, leadToken)).budgetPlans[0].id;
    const submitted = await gql(`mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { execution { id } } }`, { p: planId, u: unit }, leadToken);
    const id = submitted.submitBudget.execution.id as string;
    await until(id, 'AWAITING_INPUT');
    await gql(`mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "APPROVE" }) { id } }`, { id }, analyst);
    return id;
  }

  beforeAll(async () => {
    authority = await startFakeEntraAuthority({});
    apis = await startFakeMicrosoftApis({
      authority,
      teams: [],
      powerBi: { groupId: randomUUID(), datasetId: randomUUID(), table: 'BudgetLines' },
      semanticModels: [{ groupId: GROUP_ID, datasetId: DATASET_ID }],
    });
    server = await startChildServer({
      ...authority.env('https://plansync.example/auth/microsoft/callback'),
      NODE_EXTRA_CA_CERTS: apis.caFile,
      SIMULATED_STEP_MS: '5',
      POWERBI_REFRESH_GROUP_ID: GROUP_ID,
      POWERBI_REFRESH_DATASET_ID: DATASET_ID,
      POWERBI_API_URL: apis.powerBiUrl,
    });
    admin = await login('admin@example.com');
    analyst = await login('analyst@example.com');
  });

  afterAll(async () => {
    await server?.stop();
    await apis?.close();
    await authority?.close();
  });

  it('an approved budget asks Power BI to refresh the semantic model, app-only, and pushes nothing', async () => {
    // Before any call: configured; Graph (no TEAMS_TEAM_ID) simulated.
    expect(await readiness()).toEqual({
      status: 200,
      body: { status: 'ready', database: 'up', integrations: { powerBi: { status: 'configured' }, microsoftGraph: { status: 'simulated' }, ...PROVISIONING_SIMULATED } },
    });
    const received = since();
    const done = await until(await approvedBudget('FINANCE', 'lead.finance@example.com'), 'COMPLETED');
    expect(step(done, 'publish_to_powerbi')).toMatchObject({ status: 'SUCCEEDED', attempts: 1, output: { datasetRefresh: 'requested' } });
    // Nothing pushed (no rowsPushed): the version, its rows and total, and the refresh asked for.
    expect(step(done, 'publish_to_powerbi').output).toEqual({ publishedVersion: 1, rows: 120, totalBudgetAmount: expect.any(Number), datasetRefresh: 'requested' });
    const [refresh, ...more] = received('refreshDataset');
    expect(more).toEqual([]);
    expect(refresh).toMatchObject({ method: 'POST', path: `/groups/${GROUP_ID}/datasets/${DATASET_ID}/refreshes`, status: 202 });
    expect(refresh.body).toEqual({ notifyOption: 'NoNotification' });
    expect(refresh.claims).toMatchObject({ aud: POWER_BI_RESOURCE, appid: authority.clientId, idtyp: 'app' });
    expect(received('pushRows')).toEqual([]);
    expect(apis.refreshes).toHaveLength(1);
    const { body } = await readiness();
    expect(body.integrations.powerBi).toEqual({ status: 'ok', lastCallAt: expect.any(String) });
    expect(new Date(body.integrations.powerBi.lastCallAt).toISOString()).toBe(body.integrations.powerBi.lastCallAt);
  });

  it('a 5xx makes the step try again, and it succeeds', async () => {
    apis.fail('refreshDataset', { status: 503, times: 1 });
    const done = await until(await approvedBudget('SALES_NORTH', 'lead.sales-north@example.com'), 'COMPLETED');
    expect(step(done, 'publish_to_powerbi')).toMatchObject({ status: 'SUCCEEDED', attempts: 2, output: { datasetRefresh: 'requested' } });
  });

  it('throttled (429) past the attempts, the step fails with Retry-After in its error; retried by an admin, it completes', async () => {
    const received = since();
    apis.fail('refreshDataset', { status: 429, retryAfter: '30' });
    const id = await approvedBudget('SALES_SOUTH', 'lead.sales-south@example.com');
    const failed = await until(id, 'FAILED');
    const publish = step(failed, 'publish_to_powerbi');
    expect(publish).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(publish.error).toMatch(/Power BI POST .*\/refreshes answered 429 TooManyRequests.*Retry-After: 30 s/);
    expect(step(failed, 'notify_business_unit').status).toBe('PENDING');
    for (const token of new Set(received().map((r) => r.token!))) expect(publish.error).not.toContain(token);
    // Power BI failing: said so, and this instance stays ready (it serves everything else without Power BI).
    const down = await readiness();
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ status: 'ready', database: 'up', integrations: { powerBi: { status: 'failing' }, microsoftGraph: { status: 'simulated' } } });
    // No error text on the unauthenticated endpoint (it would name the workspace and dataset).
    expect(JSON.stringify(down.body)).not.toContain(GROUP_ID);
    expect(JSON.stringify(down.body)).not.toContain('TooManyRequests');

    apis.clearFailures();
    await gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "publish_to_powerbi") { id } }`, { id }, admin);
    const done = await until(id, 'COMPLETED');
    expect(step(done, 'publish_to_powerbi')).toMatchObject({ status: 'SUCCEEDED', attempts: 4, output: { datasetRefresh: 'requested' } });
    expect(received('refreshDataset').map((r) => r.status)).toEqual([429, 429, 429, 202]);
    expect((await readiness()).body.integrations.powerBi.status).toBe('ok');
  });
});

describe('/readyz without Microsoft settings', () => {
  it('says Power BI, Microsoft Graph and the provisioning targets are simulated', async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
      expect((await res.json()).integrations).toEqual({ powerBi: { status: 'simulated' }, microsoftGraph: { status: 'simulated' }, ...PROVISIONING_SIMULATED });
    } finally {
      await server.stop();
    }
  });
});
