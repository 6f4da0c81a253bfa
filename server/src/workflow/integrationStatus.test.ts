/**
 * The admins' `integrations` query against the real server: only ADMIN reads it (every other role FORBIDDEN,
 * no token UNAUTHENTICATED); what an untouched server says; webhooks going from not configured to ok to
 * failing with the receiver's answer as the error. Then, on a child server whose Power BI refresh calls a
 * local fake of Power BI (as powerBiRefresh.test does): configured, ok, failing with Power BI's own error
 * (without the token), and ok again with that error kept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../testing/fakeEntraAuthority.js';
import { startFakeMicrosoftApis, type FakeMicrosoftApis } from '../testing/fakeMicrosoftApis.js';
import { MAX_ERROR_LENGTH, shownError } from './adapters/health.js';

const INTEGRATIONS = `{ integrations { key name state purpose detail howToConfigure lastCallAt lastError lastErrorAt } }`;
type Row = { key: string; name: string; state: string; purpose: string; detail: string | null; howToConfigure: string; lastCallAt: string | null; lastError: string | null; lastErrorAt: string | null };
const byKey = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.key, r])) as Record<string, Row>;

const PEOPLE = {
  ANALYST: 'analyst@example.com',
  BU_LEADER: 'lead.sales-north@example.com',
  VIEWER: 'viewer.sales-north@example.com',
  PARTNER_ADMIN: 'partner.admin@acme.example',
  PARTNER_USER: 'partner.user@acme.example',
};

/** A webhook receiver on 127.0.0.1: `/ok` answers 204, anything else 500. */
async function startReceiver() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (req.url === '/ok' ? res.writeHead(204).end() : res.writeHead(500).end('no')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('an error as admins see it', () => {
  it('blanks bearer tokens and JWTs, keeps one line, and is cut to its bound', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJhcHBpZCI6IngifQ.c2lnbmF0dXJl';
    expect(shownError(`token request failed:\n  Authorization: Bearer abc.def-123 and ${jwt} (AADSTS7000215)`)).toBe(
      'token request failed: Authorization: Bearer [redacted] and [redacted] (AADSTS7000215)',
    );
    const long = shownError('x'.repeat(MAX_ERROR_LENGTH * 2));
    expect(long).toHaveLength(MAX_ERROR_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('integrations, on a server without Microsoft settings', () => {
  let server: TestServer;
  let admin: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const integrations = async () => {
    const res = await server.gql(INTEGRATIONS, {}, admin);
    expect(res.errors).toBeUndefined();
    return byKey(res.data.integrations);
  };

  /** The webhooks' row once it is in `state` (deliveries are attempted by a worker, a moment later). */
  const webhooksOnce = async (state: string): Promise<Row> =>
    (await eventually(async () => {
      const row = (await integrations()).webhooks;
      return row.state === state ? row : null;
    }, `webhooks ${state}`))!;

  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer({
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_MAX_ATTEMPTS: '1',
      SMTP_URL: 'smtp://mailer:secret-password@127.0.0.1:1',
      SMTP_FROM: 'Plansync <plansync@example.com>',
    });
    admin = await server.login('admin@example.com');
    // The demo data has no partner user: one of Acme's, with the demo password (as if they had set it).
    const [acme] = await server.sql("SELECT organization_id AS id FROM app_user WHERE email = 'partner.admin@acme.example'");
    const made = await server.gql(
      'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }',
      { input: { email: PEOPLE.PARTNER_USER, displayName: 'Acme User', role: 'PARTNER_USER', organizationId: acme.id } },
      admin,
    );
    expect(made.errors).toBeUndefined();
    await server.sql("UPDATE app_user SET password_hash = (SELECT password_hash FROM app_user WHERE email = 'admin@example.com') WHERE email = $1", [PEOPLE.PARTNER_USER]);
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
  });

  it('is for admins only', async () => {
    for (const [role, email] of Object.entries(PEOPLE)) {
      const res = await server.gql(INTEGRATIONS, {}, await server.login(email));
      expect(errorCode(res), role).toBe(ErrorCode.FORBIDDEN);
      expect(res.data?.integrations ?? null, role).toBeNull();
    }
    expect(errorCode(await server.gql(INTEGRATIONS, {}, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect(Object.keys(await integrations())).toEqual(['microsoftGraph', 'powerBi', 'metabase', 'slack', 'studio', 'infrabot', 'lms', 'entraSignIn', 'mail', 'redis', 'webhooks']);
  });

  it('says what is simulated, configured or off, with how to turn each on, and never the SMTP password', async () => {
    const rows = await integrations();
    expect(rows.microsoftGraph).toMatchObject({ name: 'Microsoft Graph', state: 'SIMULATED', lastCallAt: null, lastError: null });
    expect(rows.powerBi).toMatchObject({ name: 'Power BI', state: 'SIMULATED', lastCallAt: null, lastError: null });
    for (const key of ['metabase', 'slack', 'studio', 'infrabot', 'lms']) expect(rows[key], key).toMatchObject({ state: 'SIMULATED', lastCallAt: null, lastError: null });
    expect(rows.metabase.howToConfigure).toContain('METABASE_URL');
    expect(rows.slack.howToConfigure).toContain('SLACK_BOT_TOKEN');
    expect(rows.entraSignIn.state).toBe('NOT_CONFIGURED');
    expect(rows.mail.state).toBe('CONFIGURED');
    expect(rows.redis.state).toBe('NOT_CONFIGURED');
    expect(rows.webhooks).toMatchObject({ state: 'NOT_CONFIGURED', lastCallAt: null, lastError: null });
    expect(rows.microsoftGraph.howToConfigure).toContain('TEAMS_TEAM_ID');
    expect(rows.powerBi.howToConfigure).toContain('POWERBI_REFRESH_GROUP_ID');
    expect(rows.mail.howToConfigure).toContain('SMTP_URL');
    expect(rows.redis.howToConfigure).toContain('REDIS_URL');
    expect(rows.powerBi.purpose).toContain('publish_to_powerbi');
    expect(JSON.stringify(rows)).not.toContain('secret-password');
  });

  it('webhooks: configured, ok once a delivery succeeded, failing once one failed, with the answer as the error', async () => {
    const create = (path: string) =>
      server.gql(`mutation($url: String!) { createWebhook(url: $url, events: ["plan.created"]) { webhook { id } } }`, { url: receiver.base + path }, admin);
    const deleteHook = (id: string) => server.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, admin);
    const ok = (await create('/ok')).data.createWebhook.webhook.id;
    expect((await integrations()).webhooks).toMatchObject({ state: 'CONFIGURED', lastCallAt: null, detail: expect.stringContaining('1 active webhook;') });

    await server.gql(`mutation { createBudgetPlan(input: { name: "Status FY", fiscalYear: 2041 }) { id } }`, {}, admin);
    const delivered = await webhooksOnce('OK');
    expect(delivered).toMatchObject({ lastError: null, detail: expect.stringContaining('0 deliveries failed') });
    expect(delivered.lastCallAt).not.toBeNull();

    await deleteHook(ok);
    const failing = (await create('/fail')).data.createWebhook.webhook.id;
    await server.gql(`mutation { createBudgetPlan(input: { name: "Failing status FY", fiscalYear: 2042 }) { id } }`, {}, admin);
    const failed = await webhooksOnce('FAILING');
    expect(failed).toMatchObject({ lastError: 'The receiver answered 500', detail: expect.stringContaining('1 delivery failed in the last 24 hours') });
    expect(failed.lastErrorAt).not.toBeNull();
    await deleteHook(failing);
    // Deleted with its deliveries: nothing is left to fail.
    expect((await integrations()).webhooks.state).toBe('NOT_CONFIGURED');
  });
});

describe('integrations: Power BI calls, against a local fake', () => {
  const GROUP_ID = randomUUID();
  const DATASET_ID = randomUUID();
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let server: ChildServer;
  let admin: string;
  let analyst: string;

  const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const res = await server.gql(query, variables, token);
    if (res.errors) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
    return res.data;
  };
  const login = async (email: string) =>
    (await gql('mutation($e: String!) { login(email: $e, password: "plansync-demo") { token } }', { e: email }, '')).login.token as string;
  const powerBi = async () => byKey((await gql(INTEGRATIONS, {}, admin)).integrations).powerBi;

  async function until(id: string, status: string): Promise<void> {
    for (;;) {
      const e = (await gql(`query($id: ID!) { workflowExecution(id: $id) { status steps { key status error } } }`, { id }, admin)).workflowExecution;
      if (e.status === status) return;
      if (['FAILED', 'COMPLETED', 'CANCELLED'].includes(e.status)) throw new Error(`execution ${id} is ${e.status}, not ${status}: ${JSON.stringify(e.steps)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function approvedBudget(unit: string, lead: string): Promise<string> {
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

  it('goes configured, ok, failing with Power BI\'s error (no token), and ok again, keeping that error', async () => {
    expect(errorCode(await server.gql(INTEGRATIONS, {}, analyst))).toBe(ErrorCode.FORBIDDEN);
    const first = byKey((await gql(INTEGRATIONS, {}, admin)).integrations);
    expect(first.powerBi).toMatchObject({ state: 'CONFIGURED', lastCallAt: null, lastError: null });
    expect(first.microsoftGraph.state).toBe('SIMULATED');
    expect(first.entraSignIn.state).toBe('CONFIGURED');

    await until(await approvedBudget('FINANCE', 'lead.finance@example.com'), 'COMPLETED');
    const ok = await powerBi();
    expect(ok).toMatchObject({ state: 'OK', lastError: null, lastErrorAt: null });
    expect(ok.lastCallAt).not.toBeNull();

    // A 403 is no passing trouble: the step fails at once, and the admins see Power BI's own words.
    const requestsBefore = apis.requests.length;
    apis.fail('refreshDataset', { status: 403 });
    const id = await approvedBudget('SALES_NORTH', 'lead.sales-north@example.com');
    await until(id, 'FAILED');
    const failing = await powerBi();
    expect(failing.state).toBe('FAILING');
    expect(failing.lastError).toMatch(/^Power BI refused POST .*\/refreshes: 403 PowerBINotAuthorizedException/);
    expect(failing.lastErrorAt).toBe(failing.lastCallAt);
    for (const token of new Set(apis.requests.slice(requestsBefore).map((r) => r.token).filter(Boolean))) expect(failing.lastError).not.toContain(token);
    // The public endpoint still says only that it fails.
    const readyz = await (await fetch(`${server.url}/readyz`)).json();
    expect(readyz.integrations.powerBi).toEqual({ status: 'failing', lastCallAt: failing.lastCallAt });

    apis.clearFailures();
    await gql(`mutation($id: ID!) { retryStep(executionId: $id, stepKey: "publish_to_powerbi") { id } }`, { id }, admin);
    await until(id, 'COMPLETED');
    const again = await powerBi();
    expect(again).toMatchObject({ state: 'OK', lastError: failing.lastError, lastErrorAt: failing.lastErrorAt });
    expect(new Date(again.lastCallAt!).getTime()).toBeGreaterThan(new Date(failing.lastCallAt!).getTime());
  });
});
