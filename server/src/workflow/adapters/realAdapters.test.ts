/**
 * The real Microsoft Teams (Graph) and Power BI adapters, end to end: workflows driven through GraphQL on a
 * Plansync child process whose integrations talk HTTPS to local fakes of Graph, Power BI and the Entra
 * authority (app-only tokens by client credentials). Nothing leaves the machine.
 *
 * The server runs as its own process (testing/childServer.ts) so that NODE_EXTRA_CA_CERTS can make it trust
 * the fakes' self-signed certificates, as production trusts Microsoft's: the server has no test switch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { startChildServer, type ChildServer } from '../../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../../testing/fakeEntraAuthority.js';
import {
  GRAPH_PERMISSIONS,
  GRAPH_RESOURCE,
  POWER_BI_RESOURCE,
  startFakeMicrosoftApis,
  type FakeMicrosoftApis,
  type RecordedRequest,
} from '../../testing/fakeMicrosoftApis.js';
import { IntegrationHealth } from './health.js';
import { GraphTeamsAdapter } from './teams.js';
import { IntegrationError, TransientIntegrationError } from './types.js';

const EXECUTION = `id definitionKey status organization { id name } steps { key status attempts error output }`;
const TEAM_ID = randomUUID();
const GROUP_ID = randomUUID();
const DATASET_ID = randomUUID();
const REDIRECT = 'https://plansync.example/welcome';

describe('configuration of the real integrations', () => {
  const entraEnv = {
    ENTRA_TENANT_ID: randomUUID(),
    ENTRA_CLIENT_ID: randomUUID(),
    ENTRA_CLIENT_SECRET: 'secret',
    ENTRA_REDIRECT_URI: 'https://plansync.example/auth/microsoft/callback',
  };

  it('leaves both simulated when their settings are absent', () => {
    const config = loadConfig({});
    expect(config.teams).toBeUndefined();
    expect(config.powerBi).toBeUndefined();
  });

  it('turns them on with their defaults', () => {
    const config = loadConfig({ ...entraEnv, TEAMS_TEAM_ID: TEAM_ID, POWERBI_GROUP_ID: GROUP_ID, POWERBI_DATASET_ID: DATASET_ID });
    expect(config.teams).toEqual({ teamId: TEAM_ID, inviteRedirectUrl: 'https://teams.microsoft.com', graphBaseUrl: 'https://graph.microsoft.com/v1.0' });
    expect(config.powerBi).toEqual({ groupId: GROUP_ID, datasetId: DATASET_ID, table: 'BudgetLines', apiUrl: 'https://api.powerbi.com/v1.0/myorg' });
  });

  it('refuses to start with incomplete or wrong settings, naming the variable', () => {
    const fails = (env: Record<string, string>, message: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    fails({ TEAMS_TEAM_ID: TEAM_ID }, /TEAMS_TEAM_ID .*ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET/);
    fails({ POWERBI_GROUP_ID: GROUP_ID, POWERBI_DATASET_ID: DATASET_ID }, /POWERBI_GROUP_ID .*ENTRA_CLIENT_SECRET/);
    fails({ ...entraEnv, POWERBI_GROUP_ID: GROUP_ID }, /POWERBI_GROUP_ID and POWERBI_DATASET_ID/);
    fails({ ...entraEnv, TEAMS_TEAM_ID: 'general' }, /TEAMS_TEAM_ID must be/);
    fails({ GRAPH_BASE_URL: 'http://graph.example/v1.0' }, /GRAPH_BASE_URL must be an https URL/);
    fails({ TEAMS_INVITE_REDIRECT_URL: 'teams' }, /TEAMS_INVITE_REDIRECT_URL must be an https URL/);
    fails({ POWERBI_API_URL: 'ftp://x' }, /POWERBI_API_URL must be an https URL/);
    fails({ POWERBI_TABLE: 'a/b' }, /POWERBI_TABLE must be/);
  });
});

describe('real Teams and Power BI adapters against local fakes', () => {
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
  const execution = async (id: string) => (await gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, admin)).workflowExecution;
  const step = (e: any, key: string) => e.steps.find((s: any) => s.key === key);

  /** Polls until the execution has `status`; fails at once if it settles on another (FAILED, COMPLETED). */
  async function until(id: string, status: string): Promise<any> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const e = await execution(id);
      if (e.status === status) return e;
      if (['FAILED', 'COMPLETED', 'CANCELLED'].includes(e.status)) {
        throw new Error(`execution ${id} is ${e.status}, not ${status}: ${JSON.stringify(e.steps.filter((s: any) => s.error))}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for execution ${id} to be ${status}: ${JSON.stringify(e)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The requests the fakes received from now on. */
  const since = () => {
    const start = apis.requests.length;
    return (route?: RecordedRequest['route']) => apis.requests.slice(start).filter((r) => !route || r.route === route);
  };

  async function newPartner(name: string) {
    const id = (await gql(`mutation($n: String!) { startWorkflow(definitionKey: "new_partner", input: { organizationName: $n }) { id } }`, { n: name }, admin)).startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    await gql(
      `mutation($id: ID!, $n: String!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: { companies: [{ name: $n, environment: "prod" }] }) { id } }`,
      { id, n: name },
      admin,
    );
    return id as string;
  }

  let acmeId: string;
  async function newAcmeUser(email: string, displayName: string) {
    const id = (await gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, admin)).startWorkflow.id;
    await until(id, 'AWAITING_INPUT');
    await gql(`mutation($id: ID!, $o: ID!) { submitStepInput(executionId: $id, stepKey: "select_organization", input: { organizationId: $o }) { id } }`, { id, o: acmeId }, admin);
    await until(id, 'AWAITING_INPUT');
    await gql(
      `mutation($id: ID!, $e: String!, $d: String!) { submitStepInput(executionId: $id, stepKey: "input_user_details", input: { email: $e, displayName: $d }) { id } }`,
      { id, e: email, d: displayName },
      admin,
    );
    return id as string;
  }

  /** A unit's budget submitted by its lead and approved by the analyst; returns the execution id. */
  async function approvedBudget(unit: string, lead: string) {
    const leadToken = await login(lead);
    const planId = (await gql('{ budgetPlans { id } }', {}, leadToken)).budgetPlans[0].id;
    const submitted = await gql(`mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { execution { id } } }`, { p: planId, u: unit }, leadToken);
    const id = submitted.submitBudget.execution.id as string;
    await until(id, 'AWAITING_INPUT');
    await gql(`mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "APPROVE" }) { id } }`, { id }, analyst);
    return { id, planId };
  }

  const retry = (id: string, stepKey: string) =>
    gql(`mutation($id: ID!, $s: String!) { retryStep(executionId: $id, stepKey: $s) { id } }`, { id, s: stepKey }, admin);

  beforeAll(async () => {
    authority = await startFakeEntraAuthority({ appRoles: { [GRAPH_RESOURCE]: Object.values(GRAPH_PERMISSIONS) as string[] } });
    apis = await startFakeMicrosoftApis({ authority, teams: [TEAM_ID, 'team-acme'], powerBi: { groupId: GROUP_ID, datasetId: DATASET_ID, table: 'BudgetLines' } });
    server = await startChildServer({
      ...authority.env('https://plansync.example/auth/microsoft/callback'),
      NODE_EXTRA_CA_CERTS: apis.caFile,
      SIMULATED_STEP_MS: '5',
      TEAMS_TEAM_ID: TEAM_ID,
      TEAMS_INVITE_REDIRECT_URL: REDIRECT,
      GRAPH_BASE_URL: apis.graphUrl,
      POWERBI_GROUP_ID: GROUP_ID,
      POWERBI_DATASET_ID: DATASET_ID,
      POWERBI_API_URL: apis.powerBiUrl,
    });
    admin = await login('admin@example.com');
    analyst = await login('analyst@example.com');
    acmeId = (await gql('{ me { organization { id } } }', {}, await login('partner.admin@acme.example'))).me.organization.id;
  });

  afterAll(async () => {
    await server?.stop();
    await apis?.close();
    await authority?.close();
  });

  it('says at start which integrations are real', async () => {
    const line = await server.waitForLog((l) => l.msg === 'workflow integrations');
    expect(line.integrations).toMatchObject({ teams: 'real', powerBi: 'real', slack: 'simulated', metabase: 'simulated' });
  });

  it('new_partner creates the organisation channel in the team through Graph', async () => {
    const received = since();
    const done = await until(await newPartner('Globex Partners'), 'COMPLETED');

    const [create] = received('createChannel');
    expect(received('createChannel')).toHaveLength(1);
    expect(create).toMatchObject({ method: 'POST', path: `/teams/${TEAM_ID}/channels`, status: 201 });
    expect(create.body).toMatchObject({ displayName: 'Globex Partners', membershipType: 'standard' });
    expect(create.claims).toMatchObject({ aud: GRAPH_RESOURCE, appid: authority.clientId, idtyp: 'app' });

    const channel = apis.channels.find((c) => c.displayName === 'Globex Partners')!;
    expect(step(done, 'create_teams_channel').output).toEqual({ teamId: TEAM_ID, channelId: channel.id });
    const [group] = await server.sql(
      `SELECT g.external_id FROM system_group g JOIN organization o ON o.id = g.organization_id WHERE o.name = 'Globex Partners' AND g.tool = 'teams'`,
    );
    expect(group.external_id).toBe(`${TEAM_ID}/${channel.id}`);
  });

  it('new_partner_user invites the person as a guest, then adds that user to the team', async () => {
    const received = since();
    const done = await until(await newAcmeUser('road.runner@acme.example', 'Road Runner'), 'COMPLETED');

    const graph = received().filter((r) => r.route === 'invite' || r.route === 'addMember');
    expect(graph.map((r) => r.route)).toEqual(['invite', 'addMember']);
    const [invite, member] = graph;
    expect(invite.body).toEqual({
      invitedUserEmailAddress: 'road.runner@acme.example',
      invitedUserDisplayName: 'Road Runner',
      inviteRedirectUrl: REDIRECT,
      sendInvitationMessage: true,
    });
    const userId = apis.invitedUsers.get('road.runner@acme.example');
    expect(member.path).toBe('/teams/team-acme/members');
    expect(member.body).toEqual({
      '@odata.type': '#microsoft.graph.aadUserConversationMember',
      roles: [],
      'user@odata.bind': `${apis.graphUrl}/users('${userId}')`,
    });
    expect(member.status).toBe(201);
    expect(apis.members).toContainEqual({ teamId: 'team-acme', userId });
    expect(step(done, 'add_user_to_teams_channel').output).toEqual({ teamId: 'team-acme', userId });
    const grants = await server.sql(
      `SELECT g.resource FROM access_grant g JOIN app_user u ON u.id = g.user_id WHERE u.email = 'road.runner@acme.example' AND g.system = 'teams'`,
    );
    expect(grants).toEqual([{ resource: 'Acme Partners' }]);
  });

  it('an approved budget is pushed to the Power BI table: 120 rows with their columns and one publishedAt', async () => {
    const received = since();
    const { id, planId } = await approvedBudget('FINANCE', 'lead.finance@example.com');
    const done = await until(id, 'COMPLETED');
    // What was published: the submitted version, its rows and total, and what Power BI took.
    expect(step(done, 'publish_to_powerbi').output).toEqual({ publishedVersion: 1, rows: 120, totalBudgetAmount: expect.any(Number), rowsPushed: 120 });

    const [push] = received('pushRows');
    expect(received('pushRows')).toHaveLength(1);
    expect(push.path).toBe(`/groups/${GROUP_ID}/datasets/${DATASET_ID}/tables/BudgetLines/rows`);
    expect(push.claims).toMatchObject({ aud: POWER_BI_RESOURCE, appid: authority.clientId });
    const rows = push.body.rows as Record<string, unknown>[];
    expect(rows).toHaveLength(120);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        ['budgetAmount', 'businessUnit', 'comment', 'fiscalYear', 'forecastSales', 'planId', 'priorYearActual', 'productCategory', 'publishedAt', 'quarter', 'region'].sort(),
      );
      expect(row).toMatchObject({ planId, fiscalYear: 2027, businessUnit: 'FINANCE', publishedAt: rows[0].publishedAt });
    }
    expect(new Date(rows[0].publishedAt as string).toISOString()).toBe(rows[0].publishedAt);
    expect(new Set(rows.map((r) => `${r.productCategory}/${r.region}/${r.quarter}`)).size).toBe(120);
  });

  it('a 429 or a 500 makes the step try again, and it succeeds', async () => {
    apis.fail('invite', { status: 429, times: 2, retryAfter: '1' });
    const invited = await until(await newAcmeUser('wile.e@acme.example', 'Wile E.'), 'COMPLETED');
    expect(step(invited, 'add_user_to_teams_channel')).toMatchObject({ status: 'SUCCEEDED', attempts: 3, error: null });

    apis.fail('pushRows', { status: 500, times: 1 });
    const pushed = await until((await approvedBudget('SALES_NORTH', 'lead.sales-north@example.com')).id, 'COMPLETED');
    expect(step(pushed, 'publish_to_powerbi')).toMatchObject({ status: 'SUCCEEDED', attempts: 2, output: { rowsPushed: 120 } });
  });

  it('a channel created but whose answer was lost is found again on the retry, not created twice', async () => {
    const received = since();
    apis.fail('createChannel', { status: 500, times: 1, afterEffect: true });
    const done = await until(await newPartner('Initrode'), 'COMPLETED');
    expect(step(done, 'create_teams_channel').attempts).toBe(2);
    expect(received('createChannel').map((r) => r.status)).toEqual([500, 409]);
    expect(received('listChannels')).toHaveLength(1);
    const initrode = apis.channels.filter((c) => c.displayName === 'Initrode');
    expect(initrode).toHaveLength(1);
    expect(step(done, 'create_teams_channel').output.channelId).toBe(initrode[0].id);
  });

  it('a 403 fails the step at once with Graph’s code and message; retried once fixed, it completes', async () => {
    apis.fail('addMember', { status: 403 });
    const id = await newAcmeUser('coyote@acme.example', 'Coyote');
    const failed = await until(id, 'FAILED');
    const teams = step(failed, 'add_user_to_teams_channel');
    expect(teams).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(teams.error).toContain('403 Authorization_RequestDenied: Insufficient privileges to complete the operation.');
    expect(step(failed, 'add_user_to_slack_group').status).toBe('PENDING');

    apis.clearFailures();
    await retry(id, 'add_user_to_teams_channel');
    const done = await until(id, 'COMPLETED');
    expect(step(done, 'add_user_to_teams_channel')).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    expect(apis.members).toContainEqual({ teamId: 'team-acme', userId: apis.invitedUsers.get('coyote@acme.example') });
  });

  it('Power BI: throttled past the attempts, the step fails with Retry-After in its error; retried, it completes', async () => {
    apis.fail('pushRows', { status: 429, retryAfter: '7' });
    const { id } = await approvedBudget('SALES_SOUTH', 'lead.sales-south@example.com');
    const failed = await until(id, 'FAILED');
    const publish = step(failed, 'publish_to_powerbi');
    expect(publish).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(publish.error).toMatch(/Power BI POST .*\/rows answered 429 TooManyRequests.*Retry-After: 7 s/);

    apis.fail('pushRows', { status: 403 });
    await retry(id, 'publish_to_powerbi');
    const refused = await until(id, 'FAILED');
    expect(step(refused, 'publish_to_powerbi')).toMatchObject({ attempts: 4 });
    expect(step(refused, 'publish_to_powerbi').error).toMatch(/Power BI refused POST .*: 403 PowerBINotAuthorizedException/);

    apis.clearFailures();
    await retry(id, 'publish_to_powerbi');
    const done = await until(id, 'COMPLETED');
    expect(step(done, 'publish_to_powerbi')).toMatchObject({ status: 'SUCCEEDED', attempts: 5, output: { rowsPushed: 120 } });
  });

  it('every call carried a valid app token, no error shows one, and msal reused its cached tokens', async () => {
    expect(apis.requests.length).toBeGreaterThan(0);
    expect(apis.requests.every((r) => r.claims !== undefined)).toBe(true);
    const tokens = new Set(apis.requests.map((r) => r.token!));
    const errors = await server.sql<{ error: string }>(`SELECT error FROM step_execution WHERE error IS NOT NULL`);
    for (const { error } of errors) for (const token of tokens) expect(error).not.toContain(token);
    // One token per API for the whole run: msal's cache, not a token request per call.
    expect(authority.appTokenRequests.filter((s) => s === `${GRAPH_RESOURCE}/.default`)).toHaveLength(1);
    expect(authority.appTokenRequests.filter((s) => s === `${POWER_BI_RESOURCE}/.default`)).toHaveLength(1);
  });

  it('/readyz says both services are real and their last calls went well, the others simulated', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect((await res.json()).integrations).toEqual({
      microsoftGraph: { status: 'ok', lastCallAt: expect.any(String) },
      powerBi: { status: 'ok', lastCallAt: expect.any(String) },
      metabase: { status: 'simulated' },
      slack: { status: 'simulated' },
      studio: { status: 'simulated' },
      infrabot: { status: 'simulated' },
      lms: { status: 'simulated' },
    });
  });
});

describe('Teams offboarding: removing a guest and archiving a channel, against the Graph fake in process', () => {
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let teams: GraphTeamsAdapter;
  let health: IntegrationHealth;

  beforeAll(async () => {
    authority = await startFakeEntraAuthority();
    apis = await startFakeMicrosoftApis({ authority, teams: [TEAM_ID], powerBi: { groupId: GROUP_ID, datasetId: DATASET_ID, table: 'BudgetLines' }, plainHttp: true });
    const tokens = {
      token: () => authority.appToken(authority.clientId, { roles: Object.values(GRAPH_PERMISSIONS) as string[], claims: { aud: GRAPH_RESOURCE } }),
    };
    health = new IntegrationHealth({ 'Microsoft Graph': true, 'Power BI': false });
    teams = new GraphTeamsAdapter({ teamId: TEAM_ID, inviteRedirectUrl: REDIRECT, graphBaseUrl: apis.graphUrl }, tokens, health);
  });

  afterAll(async () => {
    await apis?.close();
    await authority?.close();
  });

  const since = () => {
    const start = apis.requests.length;
    return (route?: RecordedRequest['route']) => apis.requests.slice(start).filter((r) => !route || r.route === route);
  };

  it('removes the guest found by address (any case); again, or for a stranger, it is done without a removal', async () => {
    const { userId } = await teams.inviteUser('bugs@looney.example', 'Bugs');
    const other = await teams.inviteUser('daffy@looney.example', 'Daffy');
    await teams.addMember(TEAM_ID, userId);
    await teams.addMember(TEAM_ID, other.userId);

    const received = since();
    await teams.removeMember(TEAM_ID, 'Bugs@Looney.example');
    expect(apis.members).toEqual([{ teamId: TEAM_ID, userId: other.userId }]);
    const [list] = received('listMembers');
    expect(decodeURIComponent(list.path)).toBe(`/teams/${TEAM_ID}/members?$filter=(microsoft.graph.aadUserConversationMember/email eq 'bugs@looney.example')`);
    expect(received('removeMember')).toMatchObject([{ method: 'DELETE', status: 204 }]);

    await teams.removeMember(TEAM_ID, 'bugs@looney.example');
    await teams.removeMember(TEAM_ID, 'nobody@looney.example');
    expect(received('removeMember')).toHaveLength(1);
    expect(apis.members).toEqual([{ teamId: TEAM_ID, userId: other.userId }]);
  });

  it('a removal whose answer was lost (500 after the deletion) is retried to done: the 404 then counts as removed', async () => {
    const { userId } = await teams.inviteUser('porky@looney.example', 'Porky');
    await teams.addMember(TEAM_ID, userId);
    apis.fail('removeMember', { status: 500, times: 1, afterEffect: true });
    await expect(teams.removeMember(TEAM_ID, 'porky@looney.example')).rejects.toBeInstanceOf(TransientIntegrationError);
    expect(apis.members.some((m) => m.userId === userId)).toBe(false);
    await teams.removeMember(TEAM_ID, 'porky@looney.example');
    expect(health.details('Microsoft Graph').status).toBe('ok');
  });

  it('a membership deleted between the look-up and the deletion (404) is done', async () => {
    const { userId } = await teams.inviteUser('tweety@looney.example', 'Tweety');
    await teams.addMember(TEAM_ID, userId);
    apis.fail('removeMember', { status: 404, times: 1 });
    await teams.removeMember(TEAM_ID, 'tweety@looney.example');
  });

  it('archives the channel once; archiving it again, or a channel that is gone, is done', async () => {
    const { channelId } = await teams.createChannel('Looney Partners');
    const received = since();
    await teams.archiveChannel(TEAM_ID, channelId);
    expect(apis.channels.find((c) => c.id === channelId)?.isArchived).toBe(true);
    await teams.archiveChannel(TEAM_ID, channelId);
    await teams.archiveChannel(TEAM_ID, '19:gone@thread.tacv2');
    expect(received('archiveChannel').map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', `/teams/${TEAM_ID}/channels/${encodeURIComponent(channelId)}/archive`, 202],
      ['POST', `/teams/${TEAM_ID}/channels/${encodeURIComponent(channelId)}/archive`, 400],
      ['POST', `/teams/${TEAM_ID}/channels/${encodeURIComponent('19:gone@thread.tacv2')}/archive`, 404],
    ]);
  });

  it('a 429 on a removal is transient with its Retry-After; a 403 is not, and names Graph’s code', async () => {
    apis.fail('listMembers', { status: 429, times: 1, retryAfter: '2' });
    const throttled = await teams.removeMember(TEAM_ID, 'daffy@looney.example').catch((e) => e);
    expect(throttled).toBeInstanceOf(TransientIntegrationError);
    expect(throttled.message).toMatch(/429 TooManyRequests.*Retry-After: 2 s/);

    apis.fail('archiveChannel', { status: 403, times: 1 });
    const refused = await teams.archiveChannel(TEAM_ID, 'any').catch((e) => e);
    expect(refused).toBeInstanceOf(IntegrationError);
    expect(refused).not.toBeInstanceOf(TransientIntegrationError);
    expect(refused.message).toContain('403 Authorization_RequestDenied');
    expect(health.details('Microsoft Graph')).toMatchObject({ status: 'failing', lastError: expect.stringContaining('403') });
  });
});
