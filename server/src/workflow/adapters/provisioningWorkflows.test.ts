/**
 * Issue 17's end to end: a Plansync process (the built server, restartable) with every provisioning target
 * configured against a local fake of its API (Microsoft Graph for Teams over https with the fake Entra
 * authority; Metabase, Slack, Studio, Infrabot and the LMS over http), driven through GraphQL: new_partner,
 * new_partner_user, offboard_partner_user and offboard_partner complete, and the fakes hold exactly what the
 * runs created or removed, once each, also after forced retries (answers lost after the service acted, rate
 * limits) and a server killed in the middle of a step. The people's accessGrants agree with the fakes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../../testing/fakeEntraAuthority.js';
import { startFakeMetabase, type FakeMetabase } from '../../testing/fakeMetabase.js';
import { GRAPH_PERMISSIONS, GRAPH_RESOURCE, startFakeMicrosoftApis, type FakeMicrosoftApis } from '../../testing/fakeMicrosoftApis.js';
import { startFakeProvisioningService, type FakeProvisioningService } from '../../testing/fakeProvisioningService.js';
import { startFakeSlack, type FakeSlack } from '../../testing/fakeSlack.js';
import { restartableServer, type RestartableServer } from '../../testing/restartableServer.js';

const EXECUTION = `id definitionKey status organization { id name } steps { key status attempts error output }`;
const TEAM_ID = randomUUID();
const PEOPLE = { 'hank@globex.example': 'U0HANK', 'marge@globex.example': 'U0MARGE', 'peter@initech.example': 'U0PETER' };

describe('onboarding and offboarding with every provisioning target real, against local fakes', () => {
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let mb: FakeMetabase;
  let slack: FakeSlack;
  let studio: FakeProvisioningService;
  let infrabot: FakeProvisioningService;
  let lms: FakeProvisioningService;
  let server: RestartableServer;
  let admin: string;

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await server.gql(query, variables, admin);
    if (res.errors) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
    return res.data;
  };
  const execution = async (id: string) => (await gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id })).workflowExecution;
  const step = (e: any, key: string) => e.steps.find((s: any) => s.key === key);
  const give = (id: string, stepKey: string, input: unknown) =>
    gql(`mutation($id: ID!, $s: String!, $i: JSON!) { submitStepInput(executionId: $id, stepKey: $s, input: $i) { id } }`, { id, s: stepKey, i: input });
  const start = async (key: string, input: unknown) =>
    (await gql(`mutation($k: String!, $i: JSON) { startWorkflow(definitionKey: $k, input: $i) { id } }`, { k: key, i: input })).startWorkflow.id as string;

  /** Polls until the execution has `status`; fails at once if it settles on another. */
  async function until(id: string, status: string): Promise<any> {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const e = await execution(id).catch(() => undefined); // the server may be restarting
      if (e?.status === status) return e;
      if (e && ['FAILED', 'COMPLETED', 'CANCELLED'].includes(e.status)) {
        throw new Error(`execution ${id} is ${e.status}, not ${status}: ${JSON.stringify(e.steps.filter((s: any) => s.error))}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for execution ${id} to be ${status}: ${JSON.stringify(e)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function newPartner(name: string, companies: { name: string; environment: 'test' | 'prod' }[]) {
    const id = await start('new_partner', { organizationName: name });
    await until(id, 'AWAITING_INPUT');
    await give(id, 'input_studio_companies', { companies });
    return id;
  }

  async function newPartnerUser(organizationId: string, email: string, displayName: string) {
    const id = await start('new_partner_user', {});
    await until(id, 'AWAITING_INPUT');
    await give(id, 'select_organization', { organizationId });
    await until(id, 'AWAITING_INPUT');
    await give(id, 'input_user_details', { email, displayName });
    return id;
  }

  const grantsOf = async (email: string) =>
    (await gql('{ users { email accessGrants { system } } }')).users.find((u: any) => u.email === email)?.accessGrants.map((g: any) => g.system).sort() ?? [];
  const userIdOf = async (email: string) => (await gql('{ users { id email } }')).users.find((u: any) => u.email === email).id as string;

  beforeAll(async () => {
    authority = await startFakeEntraAuthority({ appRoles: { [GRAPH_RESOURCE]: Object.values(GRAPH_PERMISSIONS) as string[] } });
    apis = await startFakeMicrosoftApis({ authority, teams: [TEAM_ID], powerBi: { groupId: randomUUID(), datasetId: randomUUID(), table: 'BudgetLines' } });
    mb = await startFakeMetabase();
    slack = await startFakeSlack('xoxb-e2e-token', PEOPLE);
    [studio, infrabot, lms] = await Promise.all([startFakeProvisioningService('studio-secret'), startFakeProvisioningService('infrabot-secret'), startFakeProvisioningService('lms-secret')]);
    server = await restartableServer({
      ...authority.env('https://plansync.example/auth/microsoft/callback'),
      NODE_EXTRA_CA_CERTS: apis.caFile,
      LOG_LEVEL: 'info',
      SIMULATED_STEP_MS: '5',
      WORKFLOW_RETRY_DELAY_SECONDS: '0',
      WORKFLOW_STEP_TIMEOUT_SECONDS: '2',
      WORKFLOW_MAINTENANCE_SECONDS: '1',
      TEAMS_TEAM_ID: TEAM_ID,
      GRAPH_BASE_URL: apis.graphUrl,
      METABASE_URL: mb.url,
      METABASE_API_KEY: mb.apiKey,
      METABASE_TEMPLATE_COLLECTION_ID: String(mb.template.collectionId),
      METABASE_DATABASE_ID: String(mb.template.databaseId),
      SLACK_BOT_TOKEN: slack.token,
      SLACK_API_URL: slack.apiUrl,
      STUDIO_URL: studio.url,
      STUDIO_SECRET: studio.secret,
      INFRABOT_URL: infrabot.url,
      INFRABOT_SECRET: infrabot.secret,
      LMS_URL: lms.url,
      LMS_SECRET: lms.secret,
      PROVISIONING_TIMEOUT_SECONDS: '5',
    });
    await server.start();
    admin = await server.login('admin@example.com');
  });

  afterAll(async () => {
    await server?.destroy();
    await Promise.all([apis?.close(), mb?.close(), slack?.close(), studio?.close(), infrabot?.close(), lms?.close()]);
    await authority?.close();
  });

  let globex: string;
  let globexCollection: string;
  let globexGroup: string;
  let globexSlackGroup: string;

  it('says at start that every provisioning target is real; /readyz: configured', async () => {
    const line = server.logs.find((l) => l.msg === 'workflow integrations');
    expect(line?.integrations).toEqual({ studio: 'real', infrabot: 'real', metabase: 'real', teams: 'real', slack: 'real', lms: 'real', powerBi: 'simulated', notifications: 'simulated' });
    const readyz = await (await fetch(`${server.url}/readyz`)).json();
    expect(readyz.integrations).toMatchObject({ metabase: { status: 'configured' }, slack: { status: 'configured' }, studio: { status: 'configured' }, microsoftGraph: { status: 'configured' } });
  });

  it('new_partner creates everything once, through answers lost after the services acted and a rate limit', async () => {
    studio.fail('createCompany', { status: 502, times: 1, afterEffect: true });
    mb.fail('copyDashboard', { status: 500, times: 1, afterEffect: true });
    slack.fail('usergroups.create', { status: 500, times: 1, afterEffect: true });
    lms.fail('setupTenant', { status: 429, times: 1, retryAfter: '1' });
    const id = await newPartner('Globex Partners', [
      { name: 'Globex Prod', environment: 'prod' },
      { name: 'Globex Test', environment: 'test' },
    ]);
    const done = await until(id, 'COMPLETED');
    globex = done.organization.id;
    for (const key of ['trigger_infrabot', 'clone_metabase_collection', 'create_slack_group', 'lms_setup']) expect(step(done, key), key).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });

    // Infrabot and Studio: one run, two companies (the retried step sent the same keys again).
    expect(infrabot.runs).toEqual([{ runId: step(done, 'trigger_infrabot').output.infrabotRunId, kind: 'provision', organizationName: 'Globex Partners' }]);
    expect(studio.companies.map((c) => [c.name, c.environment])).toEqual([
      ['Globex Prod', 'prod'],
      ['Globex Test', 'test'],
    ]);
    expect(step(done, 'trigger_infrabot').output.studioCompanies.map((c: any) => c.companyId)).toEqual(studio.companies.map((c) => c.companyId));

    // Metabase: one collection with the template's three items, one group with its grants.
    globexCollection = step(done, 'clone_metabase_collection').output.collectionId;
    expect(mb.collections.filter((c) => c.name === 'Globex Partners').map((c) => String(c.id))).toEqual([globexCollection]);
    expect(mb.dashboards.filter((d) => String(d.collection_id) === globexCollection)).toHaveLength(1);
    expect(mb.cards.filter((c) => String(c.collection_id) === globexCollection).map((c) => c.name).sort()).toEqual(['Open orders', 'Revenue by quarter']);
    globexGroup = step(done, 'create_metabase_group').output.groupId;
    expect(mb.groups.filter((g) => g.name === 'Globex Partners').map((g) => String(g.id))).toEqual([globexGroup]);
    expect(mb.dataGraph.groups[globexGroup]).toEqual({ [String(mb.template.databaseId)]: { 'view-data': 'unrestricted', 'create-queries': 'query-builder' } });
    expect(mb.collectionGraph.groups[globexGroup]).toEqual({ [globexCollection]: 'write' });

    // Teams, Slack, LMS: one each.
    expect(apis.channels.filter((c) => c.displayName === 'Globex Partners')).toHaveLength(1);
    globexSlackGroup = step(done, 'create_slack_group').output.groupId;
    expect(slack.usergroups.map((g) => [g.id, g.name, g.handle])).toEqual([[globexSlackGroup, 'Globex Partners', 'globex-partners']]);
    expect(lms.tenants).toEqual([{ tenantId: step(done, 'lms_setup').output.tenantId, organizationName: 'Globex Partners', closed: false }]);
    expect(step(done, 'lms_setup').attempts).toBe(2);
  });

  it('new_partner_user gives two people access everywhere, once each; accessGrants agree with the fakes', async () => {
    mb.fail('addMembership', { status: 503, times: 1, afterEffect: true });
    slack.fail('usergroups.users.update', { status: 500, times: 1, afterEffect: true });
    studio.fail('sendInvite', { status: 502, times: 1, afterEffect: true });
    const hank = await until(await newPartnerUser(globex, 'hank@globex.example', 'Hank Scorpio'), 'COMPLETED');
    for (const key of ['add_user_to_metabase_group', 'add_user_to_slack_group', 'send_studio_invite']) expect(step(hank, key).attempts, key).toBe(2);
    await until(await newPartnerUser(globex, 'marge@globex.example', 'Marge'), 'COMPLETED');

    const companies = studio.companies.filter((c) => c.organizationName === 'Globex Partners').map((c) => c.companyId);
    for (const email of Object.keys(PEOPLE).slice(0, 2)) {
      expect(studio.companyMembers.filter((m) => m.email === email).map((m) => m.companyId)).toEqual(companies);
      expect(studio.companies.filter((c) => c.owner === email)).toHaveLength(1);
      expect(studio.invites.filter((i) => i.email === email)).toHaveLength(1);
      const mbUser = mb.users.find((u) => u.email === email)!;
      expect(mb.memberships.filter((m) => m.user_id === mbUser.id && String(m.group_id) === globexGroup)).toHaveLength(1);
      expect(lms.shares.filter((s) => s.email === email)).toHaveLength(1);
      expect(await grantsOf(email)).toEqual(['lms', 'metabase', 'slack', 'studio', 'studio', 'studio', 'teams']);
    }
    expect(slack.usergroups.find((g) => g.id === globexSlackGroup)?.users).toEqual(['U0HANK', 'U0MARGE']);
    expect(apis.members.filter((m) => m.teamId === TEAM_ID)).toHaveLength(2);
  });

  it('a server killed while a step waits on Metabase: after the restart the step runs again and finds what was made', async () => {
    // Metabase makes the collection a moment after the request, by when this server is gone.
    mb.fail('createCollection', { status: 200, times: 1, delayMs: 300 });
    const requests = mb.received('createCollection').length;
    const rootLookups = () => mb.received('collectionItems').filter((r) => r.path.startsWith('/api/collection/root/items')).length;
    const lookups = rootLookups();
    const id = await newPartner('Initech', [{ name: 'Initech Prod', environment: 'prod' }]);
    const deadline = Date.now() + 30_000;
    while (mb.received('createCollection').length === requests) {
      if (Date.now() > deadline) throw new Error('the collection was never asked for');
      await new Promise((r) => setTimeout(r, 10));
    }
    await server.stop('SIGKILL');
    await server.start();
    admin = await server.login('admin@example.com');
    const done = await until(id, 'COMPLETED');
    expect(mb.collections.filter((c) => c.name === 'Initech')).toHaveLength(1);
    // Run again after the restart (a second look-up), it found the collection and asked for none.
    expect(rootLookups() - lookups).toBeGreaterThanOrEqual(2);
    expect(mb.received('createCollection').filter((r) => r.body?.name === 'Initech')).toHaveLength(1);
    expect(step(done, 'clone_metabase_collection').output.collectionId).toBe(String(mb.collections.find((c) => c.name === 'Initech')!.id));
    expect(mb.dashboards.filter((d) => d.collection_id === mb.collections.find((c) => c.name === 'Initech')!.id)).toHaveLength(1);
    expect(infrabot.runs.filter((r) => r.organizationName === 'Initech')).toHaveLength(1);
    expect(slack.usergroups.filter((g) => g.name === 'Initech')).toHaveLength(1);
  });

  it('offboard_partner_user removes one person everywhere, once, and leaves the other', async () => {
    mb.fail('deleteMembership', { status: 500, times: 1, afterEffect: true });
    const id = await start('offboard_partner_user', { userId: await userIdOf('hank@globex.example') });
    await until(id, 'AWAITING_INPUT');
    expect(mb.received('deleteMembership')).toHaveLength(0);
    await give(id, 'confirm_offboarding', { confirm: true });
    const done = await until(id, 'COMPLETED');
    expect(step(done, 'remove_from_metabase_group').attempts).toBe(2);

    expect(studio.companyMembers.filter((m) => m.email === 'hank@globex.example')).toEqual([]);
    expect(studio.companies.find((c) => c.owner === 'hank@globex.example')?.archived).toBe(true);
    const hank = mb.users.find((u) => u.email === 'hank@globex.example')!;
    expect(mb.memberships.filter((m) => m.user_id === hank.id && String(m.group_id) === globexGroup)).toEqual([]);
    expect(apis.members.some((m) => m.userId === apis.invitedUsers.get('hank@globex.example'))).toBe(false);
    expect(slack.usergroups.find((g) => g.id === globexSlackGroup)).toMatchObject({ users: ['U0MARGE'], date_delete: 0 });
    expect(lms.shares.map((s) => s.email)).toEqual(['marge@globex.example']);
    expect(await grantsOf('hank@globex.example')).toEqual([]);
    expect(await grantsOf('marge@globex.example')).toHaveLength(7);
    expect(apis.members.filter((m) => m.teamId === TEAM_ID)).toHaveLength(1);
  });

  it('offboard_partner closes the organisation in every system, once', async () => {
    infrabot.fail('deprovisionOrganization', { status: 500, times: 1, afterEffect: true });
    slack.fail('usergroups.disable', { status: 429, times: 1, retryAfter: '1' });
    const id = await start('offboard_partner', { organizationId: globex });
    await until(id, 'AWAITING_INPUT');
    await give(id, 'confirm_partner_offboarding', { confirm: true });
    const done = await until(id, 'COMPLETED');
    expect(step(done, 'deprovision_infrabot').attempts).toBe(2);

    expect(studio.companies.filter((c) => c.organizationName === 'Globex Partners' || c.owner?.endsWith('@globex.example')).every((c) => c.archived)).toBe(true);
    expect(studio.companyMembers.filter((m) => m.email.endsWith('@globex.example'))).toEqual([]);
    expect(infrabot.runs.filter((r) => r.organizationName === 'Globex Partners').map((r) => r.kind)).toEqual(['provision', 'deprovision']);
    expect(mb.groups.some((g) => String(g.id) === globexGroup)).toBe(false);
    expect(mb.collections.find((c) => String(c.id) === globexCollection)?.archived).toBe(true);
    expect(apis.channels.find((c) => c.displayName === 'Globex Partners')?.isArchived).toBe(true);
    expect(apis.members.filter((m) => m.teamId === TEAM_ID)).toEqual([]);
    expect(slack.usergroups.find((g) => g.id === globexSlackGroup)!.date_delete).toBeGreaterThan(0);
    expect(lms.tenants.find((t) => t.organizationName === 'Globex Partners')?.closed).toBe(true);
    expect(lms.shares).toEqual([]);
    expect(await grantsOf('marge@globex.example')).toEqual([]);
    // Initech, onboarded meanwhile, is untouched.
    expect(mb.collections.find((c) => c.name === 'Initech')?.archived).toBe(false);
    expect(slack.usergroups.find((g) => g.name === 'Initech')?.date_delete).toBe(0);

    const readyz = await (await fetch(`${server.url}/readyz`)).json();
    for (const key of ['microsoftGraph', 'metabase', 'slack', 'studio', 'infrabot', 'lms']) expect(readyz.integrations[key].status, key).toBe('ok');
  });
});
