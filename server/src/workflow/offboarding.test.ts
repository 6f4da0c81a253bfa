/**
 * Offboarding (offboarding.ts), against the real server, database, job queue and websockets, with the simulated
 * integrations and the default retry settings: a person onboarded with new_partner_user is offboarded
 * (confirmation first, every grant removed and recorded once, even through a scripted failure and its retry,
 * then deactivated: sign-in, token and socket all end), who may start it for whom, and a whole organisation's
 * offboarding.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { runNewPartner } from '../testing/workflowRuns.js';
import { CloseCode } from '../../../schema/codes.js';

const EXECUTION = `id definitionKey status input organization { id name } steps { key name kind status attempts error input output }`;
/** Steps whose simulated integration fails every attempt until someone retries them. */
const FAILING = ['remove_from_slack_group', 'close_lms_tenant'];
const PASSWORD = 'a long enough password 17';

describe('offboarding', () => {
  let server: TestServer;
  let admin: string;
  let partner: string;
  let acme: string;

  const execution = async (id: string, token = admin) =>
    (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, token)).data.workflowExecution;
  const until = (id: string, statuses: string[], token = admin) =>
    eventually(async () => {
      const e = await execution(id, token);
      return statuses.includes(e?.status) && e;
    }, `execution ${id} to be ${statuses.join(' or ')}`, 60_000);
  const start = (key: string, input: unknown, token = admin) =>
    server.gql(`mutation($k: String!, $i: JSON) { startWorkflow(definitionKey: $k, input: $i) { ${EXECUTION} } }`, { k: key, i: input }, token);
  const give = (id: string, step: string, input: unknown, token = admin) =>
    server.gql(`mutation($id: ID!, $s: String!, $i: JSON!) { submitStepInput(executionId: $id, stepKey: $s, input: $i) { id } }`, { id, s: step, i: input }, token);
  const retry = (id: string, step: string, token = admin) =>
    server.gql(`mutation($id: ID!, $s: String!) { retryStep(executionId: $id, stepKey: $s) { id } }`, { id, s: step }, token);

  /** Runs an execution to its end, retrying (as `token`) the scripted failures it meets; the finished execution. */
  async function finish(id: string, token = admin) {
    for (;;) {
      const e = await until(id, ['COMPLETED', 'FAILED'], token);
      if (e.status === 'COMPLETED') return e;
      const failed = e.steps.find((s: any) => s.status === 'FAILED');
      expect(FAILING).toContain(failed.key);
      expect(failed.error).toMatch(/Simulated failure/);
      expect((await retry(id, failed.key, token)).errors).toBeUndefined();
    }
  }

  const userIdOf = async (email: string) => (await server.sql('SELECT id FROM app_user WHERE email = $1', [email]))[0].id as string;
  const organizationIdOf = async (name: string) => (await server.sql('SELECT id FROM organization WHERE name = $1', [name]))[0].id as string;
  const grantsOf = async (email: string) =>
    (await server.sql(`SELECT g.system, g.resource FROM access_grant g JOIN app_user u ON u.id = g.user_id WHERE u.email = $1 ORDER BY 1, 2`, [email])).map(
      (g) => `${g.system}:${g.resource}`,
    );
  const activity = (action: string, subject: string) =>
    server.sql(`SELECT details FROM activity_entry WHERE action = $1 AND subject = $2 ORDER BY id`, [action, subject]);

  /** Onboards a person with new_partner_user (as the admin) into an organisation; their id. */
  async function onboard(organizationId: string, email: string, displayName: string): Promise<string> {
    const id = (await start('new_partner_user', {})).data.startWorkflow.id;
    await until(id, ['AWAITING_INPUT']);
    expect((await give(id, 'select_organization', { organizationId })).errors).toBeUndefined();
    await eventually(async () => (await execution(id)).steps[1].status === 'AWAITING_INPUT', 'the details step');
    expect((await give(id, 'input_user_details', { email, displayName })).errors).toBeUndefined();
    await finish(id);
    return userIdOf(email);
  }

  /** A sign-in token for a person onboarded without a password: the admin's reset link, used. */
  async function signIn(userId: string): Promise<string> {
    const reset = await server.gql(`mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl } }`, { id: userId }, admin);
    const token = reset.data.resetPassword.setPasswordUrl.split('#')[1];
    const set = await server.gql(`mutation($t: String!, $p: String!) { setPasswordWithToken(token: $t, password: $p) { token } }`, { t: token, p: PASSWORD });
    return set.data.setPasswordWithToken.token;
  }

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5', SIMULATE_FAILURE_STEPS: FAILING.join(',') });
    admin = await server.login('admin@example.com');
    partner = await server.login('partner.admin@acme.example');
    acme = await organizationIdOf('Acme Partners');
  }, 120_000);
  afterAll(() => server?.stop());

  it('lists both offboardings; only admins start offboard_partner, partner admins offboard_partner_user too', async () => {
    const query = '{ workflowDefinitions { key canStart steps { key name kind } } }';
    const of = async (token: string) => Object.fromEntries((await server.gql(query, {}, token)).data.workflowDefinitions.map((d: any) => [d.key, d]));
    const forAdmin = await of(admin);
    expect(forAdmin.offboard_partner_user.steps.map((s: any) => `${s.key}:${s.kind}`)).toEqual([
      'confirm_offboarding:MANUAL', 'remove_from_studio_companies:AUTO', 'remove_from_metabase_group:AUTO', 'remove_from_teams_channel:AUTO',
      'remove_from_slack_group:AUTO', 'revoke_documentation:AUTO', 'deactivate_in_plansync:AUTO',
    ]);
    expect(forAdmin.offboard_partner.steps[0]).toEqual({ key: 'confirm_partner_offboarding', name: 'Confirm the offboarding', kind: 'MANUAL' });
    expect([forAdmin.offboard_partner_user.canStart, forAdmin.offboard_partner.canStart]).toEqual([true, true]);
    const forPartner = await of(partner);
    expect([forPartner.offboard_partner_user.canStart, forPartner.offboard_partner.canStart]).toEqual([true, false]);
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com']) {
      const other = await of(await server.login(email));
      expect([other.offboard_partner_user.canStart, other.offboard_partner.canStart]).toEqual([false, false]);
    }
  });

  it('offboards a person onboarded by new_partner_user: confirmation first, each grant removed and recorded once, then deactivated', async () => {
    await finish(await runNewPartner(server, admin, 'Offco'));
    const offco = await organizationIdOf('Offco');
    const email = 'leaver@offco.example';
    const userId = await onboard(offco, email, 'Lee Leaver');
    const granted = await grantsOf(email);
    expect(granted).toEqual([
      'lms:Offco', 'metabase:Offco analysts', 'slack:Offco', 'studio:HQ', 'studio:Lee Leaver (leaver@offco.example)', 'teams:Offco',
    ]);
    const token = await signIn(userId);
    expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe(email);
    const socket = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined, // the close this test waits for
    });
    const closed = new Promise<number>((resolve) => socket.on('closed', (event) => resolve((event as { code: number }).code)));
    await new Promise((resolve) => socket.on('connected', resolve));

    const started = await start('offboard_partner_user', { userId });
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id;
    expect(started.data.startWorkflow.organization.name).toBe('Offco');
    const waiting = await until(id, ['AWAITING_INPUT']);
    // What will be removed is shown before anyone confirms; nothing is removed yet.
    const listed = granted.map((g) => ({ system: g.split(':')[0], name: g.slice(g.indexOf(':') + 1) }));
    expect(waiting.input).toMatchObject({ userId, email, displayName: 'Lee Leaver', organizationName: 'Offco', toRemove: listed });
    expect(waiting.steps[0]).toMatchObject({ key: 'confirm_offboarding', status: 'AWAITING_INPUT', output: { toRemove: listed, thenDeactivate: email } });
    expect(waiting.steps.slice(1).map((s: any) => s.status)).toEqual(Array(6).fill('PENDING'));
    expect(await grantsOf(email)).toEqual(granted);
    // Only one offboarding of a person at a time.
    expect(errorCode(await start('offboard_partner_user', { userId }))).toBe('CONFLICT');

    expect(errorCode(await give(id, 'confirm_offboarding', { confirm: false }))).toBe('BAD_USER_INPUT');
    expect((await give(id, 'confirm_offboarding', { confirm: true })).errors).toBeUndefined();

    // The scripted Slack failure stops it there, after its retries, with the earlier systems done.
    const failed = await until(id, ['FAILED']);
    const slack = failed.steps.find((s: any) => s.key === 'remove_from_slack_group');
    expect(slack).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(await grantsOf(email)).toEqual(['lms:Offco', 'slack:Offco']);
    expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe(email);

    expect((await retry(id, 'remove_from_slack_group')).errors).toBeUndefined();
    const done = await until(id, ['COMPLETED']);
    expect(done.steps.map((s: any) => s.status)).toEqual(Array(7).fill('SUCCEEDED'));
    expect(done.steps.find((s: any) => s.key === 'remove_from_slack_group').attempts).toBe(4);
    expect(done.steps.find((s: any) => s.key === 'remove_from_studio_companies').output).toEqual({
      removed: [{ email, name: 'HQ' }, { email, name: 'Lee Leaver (leaver@offco.example)' }],
      archivedCompanies: ['Lee Leaver (leaver@offco.example)'],
    });

    // Every grant gone, each removal recorded once, their own company archived, the person deactivated.
    expect(await grantsOf(email)).toEqual([]);
    const people = await server.gql('{ users { email active accessGrants { system } } }', {}, admin);
    expect(people.data.users.find((u: any) => u.email === email)).toEqual({ email, active: false, accessGrants: [] });
    const removals = await activity('ACCESS_REMOVED', email);
    expect(removals.map((r) => `${r.details.system}:${r.details.name}`).sort()).toEqual(granted);
    expect(removals.every((r) => r.details.executionId === id)).toBe(true);
    expect(await activity('USER_DEACTIVATED', email)).toHaveLength(1);
    const [own] = await server.sql(`SELECT closed_at FROM studio_company WHERE owner_id = $1`, [userId]);
    expect(own.closed_at).not.toBeNull();
    // Sign-in fails like a wrong password, the token is refused, the open socket is closed.
    expect(errorCode(await server.gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql('{ me { email } }', {}, token))).toBe('UNAUTHENTICATED');
    expect(await closed).toBe(CloseCode.Unauthorized);
    await socket.dispose();
  });

  it('lets a partner admin offboard people of their own organisation only; analysts and leaders neither', async () => {
    const email = 'moving.on@acme.example';
    const mine = await onboard(acme, email, 'Moving On');
    const offco = await organizationIdOf('Offco');
    const theirs = await onboard(offco, 'stays@offco.example', 'Stays');

    // Another organisation's person, and an id naming nobody, answer alike: FORBIDDEN.
    expect(errorCode(await start('offboard_partner_user', { userId: theirs }, partner))).toBe('FORBIDDEN');
    expect(errorCode(await start('offboard_partner_user', { userId: '00000000-0000-4000-8000-000000000000' }, partner))).toBe('FORBIDDEN');
    expect(errorCode(await start('offboard_partner_user', { userId: await userIdOf('partner.admin@acme.example') }, partner))).toBe('BAD_USER_INPUT');
    expect(errorCode(await start('offboard_partner', { organizationId: acme }, partner))).toBe('FORBIDDEN');
    for (const who of ['analyst@example.com', 'lead.sales-north@example.com']) {
      const token = await server.login(who);
      expect(errorCode(await start('offboard_partner_user', { userId: mine }, token)), who).toBe('FORBIDDEN');
      expect(errorCode(await start('offboard_partner', { organizationId: acme }, token)), who).toBe('FORBIDDEN');
    }
    // An admin naming nobody is told so.
    expect(errorCode(await start('offboard_partner_user', { userId: '00000000-0000-4000-8000-000000000000' }))).toBe('BAD_USER_INPUT');
    expect(await server.sql(`SELECT 1 FROM workflow_execution WHERE definition_key LIKE 'offboard%' AND input->>'userId' IN ($1, $2)`, [mine, theirs])).toEqual([]);

    const started = await start('offboard_partner_user', { userId: mine }, partner);
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id;
    await until(id, ['AWAITING_INPUT'], partner);
    // The partner admin sees it among their executions, and confirms and retries it themselves.
    const listed = await server.gql(`{ workflowExecutions(definitionKey: "offboard_partner_user") { edges { node { id } } } }`, {}, partner);
    expect(listed.data.workflowExecutions.edges.map((e: any) => e.node.id)).toContain(id);
    // Its confirmation is theirs to give: they are told it waits.
    await eventually(async () => {
      const told = await server.gql('{ notifications { kind execution { id } } }', {}, partner);
      return told.data.notifications.some((n: any) => n.kind === 'STEP_AWAITING_INPUT' && n.execution?.id === id);
    }, 'the partner admin to be told the confirmation waits');
    expect((await give(id, 'confirm_offboarding', { confirm: true }, partner)).errors).toBeUndefined();
    await finish(id, partner);
    expect(await grantsOf(email)).toEqual([]);
    expect((await server.sql('SELECT active FROM app_user WHERE id = $1', [mine]))[0].active).toBe(false);
    // Acme's two companies, their own, and the four groups.
    expect(await activity('ACCESS_REMOVED', email)).toHaveLength(7);
    // The other organisation's person keeps everything.
    expect(await grantsOf('stays@offco.example')).toHaveLength(6);
  });

  it('offboards a whole organisation: everyone removed and deactivated, its companies and groups closed, the organisation offboarded', async () => {
    const np = await runNewPartner(server, admin, 'Byeco');
    await finish(np);
    const collectionId = (await execution(np)).steps.find((s: any) => s.key === 'clone_metabase_collection').output.collectionId;
    const byeco = await organizationIdOf('Byeco');
    const emails = ['one@byeco.example', 'two@byeco.example'];
    for (const email of emails) await onboard(byeco, email, email.split('@')[0]);

    // Not while someone is being added to it.
    const adding = (await start('new_partner_user', {})).data.startWorkflow.id;
    await until(adding, ['AWAITING_INPUT']);
    expect((await give(adding, 'select_organization', { organizationId: byeco })).errors).toBeUndefined();
    expect(errorCode(await start('offboard_partner', { organizationId: byeco }))).toBe('CONFLICT');
    expect((await server.gql(`mutation($id: ID!) { cancelExecution(executionId: $id) { id } }`, { id: adding }, admin)).errors).toBeUndefined();

    const started = await start('offboard_partner', { organizationId: byeco });
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id;
    const waiting = await until(id, ['AWAITING_INPUT']);
    expect(waiting.organization.name).toBe('Byeco');
    // Nobody joins it once its offboarding started.
    const late = (await start('new_partner_user', {})).data.startWorkflow.id;
    await until(late, ['AWAITING_INPUT']);
    expect(errorCode(await give(late, 'select_organization', { organizationId: byeco }))).toBe('BAD_USER_INPUT');
    expect((await server.gql(`mutation($id: ID!) { cancelExecution(executionId: $id) { id } }`, { id: late }, admin)).errors).toBeUndefined();
    expect(waiting.steps[0].output.people.map((p: any) => [p.email, p.toRemove.length])).toEqual([[emails[0], 6], [emails[1], 6]]);
    expect(waiting.steps[0].output.toClose.map((c: any) => c.system)).toEqual(['studio', 'studio', 'studio', 'lms', 'metabase', 'slack', 'teams', 'infrabot']);
    expect(await grantsOf(emails[0])).toHaveLength(6);
    expect((await give(id, 'confirm_partner_offboarding', { confirm: true })).errors).toBeUndefined();
    const done = await finish(id);
    expect(done.steps.map((s: any) => s.status)).toEqual(Array(14).fill('SUCCEEDED'));
    expect(done.steps.find((s: any) => s.key === 'close_lms_tenant').attempts).toBe(4);
    expect(done.steps.find((s: any) => s.key === 'close_metabase').output).toMatchObject({ archivedCollectionId: collectionId });

    for (const email of emails) {
      expect(await grantsOf(email)).toEqual([]);
      expect(await activity('ACCESS_REMOVED', email)).toHaveLength(6);
      expect(await activity('USER_DEACTIVATED', email)).toHaveLength(1);
    }
    expect(await server.sql(`SELECT active FROM app_user WHERE organization_id = $1`, [byeco])).toEqual([{ active: false }, { active: false }]);
    expect(await server.sql(`SELECT 1 FROM system_group WHERE organization_id = $1 AND closed_at IS NULL`, [byeco])).toEqual([]);
    expect(await server.sql(`SELECT 1 FROM studio_company WHERE organization_id = $1 AND closed_at IS NULL`, [byeco])).toEqual([]);
    const closures = await activity('PARTNER_GROUP_CLOSED', 'Byeco');
    // The people's own companies were archived with them; the organisation's one here.
    expect(closures.map((c) => c.details.system).sort()).toEqual(['infrabot', 'lms', 'metabase', 'slack', 'studio', 'teams']);
    expect(await activity('ORGANIZATION_OFFBOARDED', 'Byeco')).toHaveLength(1);
    const organization = await server.gql(`query($id: ID!) { organization(id: $id) { offboardedAt } }`, { id: byeco }, admin);
    expect(organization.data.organization.offboardedAt).not.toBeNull();

    // Once offboarded: not again, and nobody is added to it.
    expect(errorCode(await start('offboard_partner', { organizationId: byeco }))).toBe('BAD_USER_INPUT');
    const after = (await start('new_partner_user', {})).data.startWorkflow.id;
    await until(after, ['AWAITING_INPUT']);
    expect(errorCode(await give(after, 'select_organization', { organizationId: byeco }))).toBe('BAD_USER_INPUT');
  });
});
