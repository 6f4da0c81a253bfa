/**
 * The real Metabase, Slack and generic HTTP (Studio, Infrabot, LMS) adapters, each against a local fake of its
 * service's HTTP API started here (testing/fakeMetabase.ts, fakeSlack.ts, fakeProvisioningService.ts), called in
 * this process: what each operation sends, that repeating it (the engine's retry, also after an answer lost once
 * the service acted) never makes a second thing, and how the services' refusals map onto the engine's transient
 * and permanent failures. Also the configuration: nothing set = every one simulated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ProvisioningServiceConfig } from '../../config.js';
import { startFakeMetabase, type FakeMetabase } from '../../testing/fakeMetabase.js';
import { startFakeProvisioningService, type FakeProvisioningService } from '../../testing/fakeProvisioningService.js';
import { startFakeSlack, type FakeSlack } from '../../testing/fakeSlack.js';
import { IntegrationHealth } from './health.js';
import { idempotencyKey, infrabotAdapter, lmsAdapter, studioAdapter } from './httpProvisioning.js';
import { integrationHealthFor, integrationProvider, realAdapters } from './index.js';
import { MetabaseApi, PARTNER_DATA_ACCESS } from './metabase.js';
import { handleFor, SlackUserGroups } from './slack.js';
import { IntegrationError, TransientIntegrationError } from './types.js';

/** Long enough for any local answer; the fakes' `delayMs` outlasts it to test the timeout. */
const TIMEOUT_MS = 1000;

const rejection = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a failure').toBeInstanceOf(Error);
  return err as Error;
};
const transient = async (promise: Promise<unknown>) => {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(TransientIntegrationError);
  return err;
};
const permanent = async (promise: Promise<unknown>) => {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(IntegrationError);
  expect(err).not.toBeInstanceOf(TransientIntegrationError);
  return err;
};

describe('configuration of the provisioning targets', () => {
  const all = {
    METABASE_URL: 'https://metabase.example.com/',
    METABASE_API_KEY: 'mb_key',
    METABASE_TEMPLATE_COLLECTION_ID: '12',
    METABASE_DATABASE_ID: '3',
    SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
    STUDIO_URL: 'https://studio.internal/plansync',
    STUDIO_SECRET: 's1',
    INFRABOT_URL: 'http://infrabot.internal:8080',
    INFRABOT_SECRET: 's2',
    LMS_URL: 'https://lms.example.com/api/',
    LMS_SECRET: 's3',
    PROVISIONING_TIMEOUT_SECONDS: '20',
  };

  it('with nothing set, every integration is simulated, and says so', () => {
    const config = loadConfig({});
    for (const key of ['metabase', 'slack', 'studio', 'infrabot', 'lms'] as const) expect(config[key], key).toBeUndefined();
    expect(config.provisioningTimeoutSeconds).toBe(15);
    const health = integrationHealthFor(config);
    expect(realAdapters(config, health)).toEqual({});
    const provider = integrationProvider(config, realAdapters(config, health));
    expect(Object.values(provider.describe()).every((kind) => kind === 'simulated')).toBe(true);
    expect(health.snapshot()).toEqual({
      microsoftGraph: { status: 'simulated' },
      powerBi: { status: 'simulated' },
      metabase: { status: 'simulated' },
      slack: { status: 'simulated' },
      studio: { status: 'simulated' },
      infrabot: { status: 'simulated' },
      lms: { status: 'simulated' },
    });
  });

  it('turns each on with its settings; the provider then uses the real adapters, /readyz says configured', () => {
    const config = loadConfig(all);
    expect(config.metabase).toEqual({ url: 'https://metabase.example.com', apiKey: 'mb_key', templateCollectionId: 12, databaseId: 3, parentCollectionId: undefined, timeoutMs: 20_000 });
    expect(config.slack).toEqual({ botToken: 'xoxb-1-2-abc', apiUrl: 'https://slack.com/api/', timeoutMs: 20_000 });
    expect(config.studio).toEqual({ url: 'https://studio.internal/plansync', secret: 's1', timeoutMs: 20_000 });
    expect(config.infrabot).toEqual({ url: 'http://infrabot.internal:8080', secret: 's2', timeoutMs: 20_000 });
    expect(config.lms).toEqual({ url: 'https://lms.example.com/api', secret: 's3', timeoutMs: 20_000 });
    expect(loadConfig({ ...all, PROVISIONING_TIMEOUT_SECONDS: '' }).studio?.timeoutMs).toBe(15_000);

    const health = integrationHealthFor(config);
    const real = realAdapters(config, health);
    expect(Object.keys(real).sort()).toEqual(['infrabot', 'lms', 'metabase', 'slack', 'studio']);
    const provider = integrationProvider(config, real);
    expect(provider.describe()).toEqual({ studio: 'real', infrabot: 'real', metabase: 'real', teams: 'simulated', slack: 'real', lms: 'real', powerBi: 'simulated', notifications: 'simulated' });
    const step = provider.forStep({ stepKey: 'lms_setup', retriedByAdmin: false });
    expect(step.metabase).toBe(real.metabase);
    expect(step.lms).toBe(real.lms);
    expect(health.snapshot()).toMatchObject({ metabase: { status: 'configured' }, slack: { status: 'configured' }, lms: { status: 'configured' }, microsoftGraph: { status: 'simulated' } });

    // One on, the others simulated.
    const onlySlack = integrationProvider(config, realAdapters(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' }), health));
    expect(onlySlack.describe()).toMatchObject({ slack: 'real', metabase: 'simulated', studio: 'simulated' });
  });

  it('refuses to start with incomplete or wrong settings, naming the variable', () => {
    const fails = (env: Record<string, string>, message: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    fails({ METABASE_URL: 'https://mb.example' }, /METABASE_URL .*METABASE_API_KEY, METABASE_TEMPLATE_COLLECTION_ID, METABASE_DATABASE_ID/);
    fails({ ...all, METABASE_DATABASE_ID: 'sales' }, /METABASE_DATABASE_ID must be a Metabase id/);
    fails({ METABASE_API_KEY: 'k' }, /METABASE_API_KEY is set without METABASE_URL/);
    fails({ ...all, METABASE_URL: 'ftp://mb' }, /METABASE_URL must be an http or https URL/);
    fails({ ...all, METABASE_URL: 'https://user:pw@mb.example' }, /METABASE_URL must be a plain base URL/);
    fails({ SLACK_BOT_TOKEN: 'xoxp-user-token' }, /SLACK_BOT_TOKEN must be a Slack bot token/);
    fails({ SLACK_API_URL: 'http://127.0.0.1:1/api' }, /SLACK_API_URL is set without SLACK_BOT_TOKEN/);
    fails({ STUDIO_URL: 'https://studio.internal' }, /STUDIO_URL and STUDIO_SECRET go together/);
    fails({ LMS_SECRET: 'x' }, /LMS_URL and LMS_SECRET go together/);
    fails({ ...all, PROVISIONING_TIMEOUT_SECONDS: '0' }, /PROVISIONING_TIMEOUT_SECONDS must be/);
    fails({ PROVISIONING_TIMEOUT_SECONDS: 'soon' }, /PROVISIONING_TIMEOUT_SECONDS must be/);
    // The secrets never appear in a message.
    try {
      loadConfig({ SLACK_BOT_TOKEN: 'xoxp-very-secret' });
    } catch (err) {
      expect((err as Error).message).not.toContain('very-secret');
    }
  });
});

describe('Metabase adapter against a local fake of its REST API', () => {
  let mb: FakeMetabase;
  let metabase: MetabaseApi;
  let health: IntegrationHealth;

  beforeAll(async () => {
    mb = await startFakeMetabase();
    health = new IntegrationHealth({ Metabase: true });
    metabase = new MetabaseApi({ url: mb.url, apiKey: mb.apiKey, templateCollectionId: mb.template.collectionId, databaseId: mb.template.databaseId, timeoutMs: TIMEOUT_MS }, health);
  });
  afterAll(async () => {
    await mb?.close();
  });

  const contents = (collectionId: string) => ({
    cards: mb.cards.filter((c) => c.collection_id === Number(collectionId)).map((c) => c.name).sort(),
    dashboards: mb.dashboards.filter((d) => d.collection_id === Number(collectionId)).map((d) => d.name),
  });

  it('copies the template collection into a new collection named after the organisation, once', async () => {
    expect(health.details('Metabase').status).toBe('configured');
    const { collectionId } = await metabase.cloneCollection('Globex Partners');
    const collection = mb.collections.find((c) => String(c.id) === collectionId)!;
    expect(collection).toMatchObject({ name: 'Globex Partners', parent_id: null, archived: false });
    // The dashboard deep-copied with its question, then the question it does not show.
    expect(contents(collectionId)).toEqual({ cards: ['Open orders', 'Revenue by quarter'], dashboards: ['Partner overview'] });
    const dashboard = mb.dashboards.find((d) => d.collection_id === Number(collectionId))!;
    expect(mb.cards.find((c) => c.id === dashboard.cardIds[0])?.collection_id).toBe(Number(collectionId));
    const [create] = mb.received('createCollection');
    expect(create.headers['x-api-key']).toBe(mb.apiKey);
    expect(create.body).toMatchObject({ name: 'Globex Partners', parent_id: null });
    expect(mb.received('copyDashboard')[0].body).toEqual({ name: 'Partner overview', collection_id: Number(collectionId), is_deep_copy: true });
    expect(mb.received('createCard')[0].body).toMatchObject({ name: 'Open orders', collection_id: Number(collectionId), display: 'table', dataset_query: { database: 7 } });

    // Again (a retried step): the same collection, nothing copied twice.
    const calls = mb.requests.length;
    expect(await metabase.cloneCollection('Globex Partners')).toEqual({ collectionId });
    expect(mb.requests.slice(calls).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(mb.collections.filter((c) => c.name === 'Globex Partners')).toHaveLength(1);
    expect(health.details('Metabase').status).toBe('ok');
  });

  it('a copy interrupted after the collection was made (answer lost) is completed on the retry, not made twice', async () => {
    mb.fail('createCollection', { status: 502, times: 1, afterEffect: true });
    expect((await transient(metabase.cloneCollection('Initech'))).message).toMatch(/Metabase POST \/api\/collection answered 502/);
    mb.fail('createCard', { status: 500, times: 1, afterEffect: true });
    await transient(metabase.cloneCollection('Initech'));
    const { collectionId } = await metabase.cloneCollection('Initech');
    expect(mb.collections.filter((c) => c.name === 'Initech')).toHaveLength(1);
    expect(contents(collectionId)).toEqual({ cards: ['Open orders', 'Revenue by quarter'], dashboards: ['Partner overview'] });
  });

  it('creates the group once: found by name on a retry, also when the first answer was lost', async () => {
    const { groupId } = await metabase.createGroup('Globex Partners');
    expect(mb.groups.find((g) => String(g.id) === groupId)?.name).toBe('Globex Partners');
    expect(await metabase.createGroup('globex partners')).toEqual({ groupId });

    mb.fail('createGroup', { status: 500, times: 1, afterEffect: true });
    await transient(metabase.createGroup('Initech'));
    const again = await metabase.createGroup('Initech');
    expect(mb.groups.filter((g) => g.name === 'Initech')).toEqual([{ id: Number(again.groupId), name: 'Initech' }]);
  });

  it('grants the group the database and write access to its collection, with the graphs’ revisions; a second time writes nothing', async () => {
    const { groupId } = await metabase.createGroup('Globex Partners');
    const { collectionId } = await metabase.cloneCollection('Globex Partners');
    const revisions = { data: mb.dataGraph.revision, collection: mb.collectionGraph.revision };
    await metabase.grantDatabaseAccess(groupId, collectionId);
    expect(mb.dataGraph.groups[groupId]).toEqual({ '7': PARTNER_DATA_ACCESS });
    expect(mb.collectionGraph.groups[groupId]).toEqual({ [collectionId]: 'write' });
    expect(mb.received('putDataGraph').at(-1)!.body).toEqual({ revision: revisions.data, groups: { [groupId]: { '7': PARTNER_DATA_ACCESS } } });
    expect(mb.received('putCollectionGraph').at(-1)!.body).toEqual({ revision: revisions.collection, groups: { [groupId]: { [collectionId]: 'write' } } });
    expect(mb.received('getDataGraphOfDb').at(-1)!.path).toBe('/api/permissions/graph/db/7');
    // Other groups untouched.
    expect(mb.dataGraph.groups['1']).toEqual({ '7': { 'view-data': 'blocked', 'create-queries': 'no' } });

    const puts = mb.received('putDataGraph').length + mb.received('putCollectionGraph').length;
    await metabase.grantDatabaseAccess(groupId, collectionId);
    expect(mb.received('putDataGraph').length + mb.received('putCollectionGraph').length).toBe(puts);
  });

  it('a permissions change in between (409, stale revision) is read again and written; twice in a row is transient', async () => {
    const { groupId } = await metabase.createGroup('Initech');
    const { collectionId } = await metabase.cloneCollection('Initech');
    mb.fail('putDataGraph', { status: 409, times: 1 });
    await metabase.grantDatabaseAccess(groupId, collectionId);
    expect(mb.dataGraph.groups[groupId]).toEqual({ '7': PARTNER_DATA_ACCESS });

    const other = await metabase.createGroup('Umbrella');
    mb.fail('putCollectionGraph', { status: 409, times: 2 });
    expect((await transient(metabase.grantDatabaseAccess(other.groupId, collectionId))).message).toMatch(/revision conflict/);
    await metabase.grantDatabaseAccess(other.groupId, collectionId);
    expect(mb.collectionGraph.groups[other.groupId]).toEqual({ [collectionId]: 'write' });
  });

  it('adds a person to the group: invited as a Metabase user when new, found when known; a second add changes nothing', async () => {
    const { groupId } = await metabase.createGroup('Globex Partners');
    await metabase.addUserToGroup('Hank.Scorpio@globex.example', groupId);
    const hank = mb.users.find((u) => u.email === 'hank.scorpio@globex.example')!;
    expect(mb.received('createUser').at(-1)!.body).toEqual({ email: 'hank.scorpio@globex.example' });
    expect(mb.memberships.filter((m) => m.group_id === Number(groupId))).toEqual([{ id: expect.any(Number), group_id: Number(groupId), user_id: hank.id }]);

    const writes = mb.requests.filter((r) => r.method !== 'GET').length;
    await metabase.addUserToGroup('hank.scorpio@globex.example', groupId);
    expect(mb.requests.filter((r) => r.method !== 'GET').length).toBe(writes);

    // Someone Metabase knows already: no new user.
    const users = mb.users.length;
    await metabase.addUserToGroup('admin@metabase.example', groupId);
    expect(mb.users.length).toBe(users);
    expect(mb.memberships.filter((m) => m.group_id === Number(groupId))).toHaveLength(2);
  });

  it('a membership whose answer was lost is not added twice; a deactivated user is reactivated', async () => {
    const { groupId } = await metabase.createGroup('Initech');
    mb.fail('addMembership', { status: 503, times: 1, afterEffect: true });
    await transient(metabase.addUserToGroup('peter@initech.example', groupId));
    await metabase.addUserToGroup('peter@initech.example', groupId);
    const peter = mb.users.find((u) => u.email === 'peter@initech.example')!;
    expect(mb.memberships.filter((m) => m.group_id === Number(groupId) && m.user_id === peter.id)).toHaveLength(1);
    expect(mb.users.filter((u) => u.email === 'peter@initech.example')).toHaveLength(1);

    peter.is_active = false;
    await metabase.addUserToGroup('samir@initech.example', groupId);
    const { groupId: other } = await metabase.createGroup('Umbrella');
    await metabase.addUserToGroup('peter@initech.example', other);
    expect(peter.is_active).toBe(true);
    expect(mb.users.filter((u) => u.email === 'peter@initech.example')).toHaveLength(1);
    expect(mb.received('reactivateUser')).toHaveLength(1);
  });

  it('offboarding: removes the person from the group, deletes the group, archives the collection; each again is done', async () => {
    const { groupId } = await metabase.createGroup('Globex Partners');
    const { collectionId } = await metabase.cloneCollection('Globex Partners');
    await metabase.removeUserFromGroup('HANK.SCORPIO@globex.example', groupId);
    const hank = mb.users.find((u) => u.email === 'hank.scorpio@globex.example')!;
    expect(mb.memberships.some((m) => m.group_id === Number(groupId) && m.user_id === hank.id)).toBe(false);
    expect(mb.memberships.some((m) => m.group_id === Number(groupId))).toBe(true); // the admin stays
    await metabase.removeUserFromGroup('hank.scorpio@globex.example', groupId);
    expect(mb.received('deleteMembership')).toHaveLength(1);

    mb.fail('deleteGroup', { status: 500, times: 1, afterEffect: true });
    await transient(metabase.deleteGroup(groupId));
    await metabase.deleteGroup(groupId);
    expect(mb.groups.some((g) => String(g.id) === groupId)).toBe(false);
    expect(mb.dataGraph.groups[groupId]).toBeUndefined();
    await metabase.removeUserFromGroup('admin@metabase.example', groupId); // the group is gone: nothing to do

    await metabase.archiveCollection(collectionId);
    expect(mb.collections.find((c) => String(c.id) === collectionId)?.archived).toBe(true);
    await metabase.archiveCollection(collectionId);
    await metabase.archiveCollection('999999');
  });

  it('429 is transient with its Retry-After; a refusal is permanent with Metabase’s words; so is a wrong key; no answer in time is transient', async () => {
    mb.fail('listGroups', { status: 429, times: 1, retryAfter: '1' });
    expect((await transient(metabase.createGroup('Hooli'))).message).toMatch(/Metabase GET \/api\/permissions\/group answered 429 Too many requests \(Retry-After: 1 s\)/);

    mb.fail('createGroup', { status: 403, times: 1 });
    expect((await permanent(metabase.createGroup('Hooli'))).message).toBe('Metabase refused POST /api/permissions/group: 403 You don’t have permissions to do that.');
    expect(health.details('Metabase')).toMatchObject({ status: 'failing', lastError: expect.stringContaining('403') });

    const wrongKey = new MetabaseApi({ url: mb.url, apiKey: 'wrong', templateCollectionId: 1, databaseId: 7, timeoutMs: TIMEOUT_MS });
    expect((await permanent(wrongKey.createGroup('Hooli'))).message).toBe('Metabase refused GET /api/permissions/group: 401 Unauthenticated');

    mb.fail('createUser', { status: 400, times: 1, body: { errors: { email: 'value must be a valid email address.' } } });
    const { groupId } = await metabase.createGroup('Hooli');
    expect((await permanent(metabase.addUserToGroup('gavin@hooli.example', groupId))).message).toContain('email: value must be a valid email address.');

    const slow = new MetabaseApi({ url: mb.url, apiKey: mb.apiKey, templateCollectionId: 1, databaseId: 7, timeoutMs: 50 });
    mb.fail('deleteMembership', { status: 200, times: 1, delayMs: 300 });
    const member = mb.memberships.find((m) => m.group_id === 1)!;
    const email = mb.users.find((u) => u.id === member.user_id)!.email;
    expect((await transient(slow.removeUserFromGroup(email, '1'))).message).toMatch(/no answer within 0.05 s/);
    expect(mb.groups.some((g) => g.name === 'Hooli')).toBe(true);
    await metabase.createGroup('Hooli');
    expect(health.details('Metabase').status).toBe('ok');
  });
});

describe('Slack adapter (@slack/web-api) against a local fake of the Web API', () => {
  let fake: FakeSlack;
  let slack: SlackUserGroups;
  let health: IntegrationHealth;

  beforeAll(async () => {
    fake = await startFakeSlack('xoxb-test-token', { 'road.runner@acme.example': 'U0RR', 'wile.e@acme.example': 'U0WE', 'bugs@looney.example': 'U0BB' });
    health = new IntegrationHealth({ Slack: true });
    slack = new SlackUserGroups({ botToken: fake.token, apiUrl: `${fake.apiUrl}/`, timeoutMs: TIMEOUT_MS }, health);
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('creates the user group with its handle, once: a taken name is the group made before', async () => {
    const { groupId } = await slack.createUserGroup('Acme Partners');
    expect(fake.usergroups).toEqual([expect.objectContaining({ id: groupId, name: 'Acme Partners', handle: 'acme-partners', date_delete: 0 })]);
    const [create] = fake.received('usergroups.create');
    expect(create.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(create.body).toMatchObject({ name: 'Acme Partners', handle: 'acme-partners' });
    expect(await slack.createUserGroup('Acme Partners')).toEqual({ groupId });
    expect(fake.usergroups).toHaveLength(1);
    expect(handleFor('Société Générale & Co.')).toBe('societe-generale-co');
  });

  it('a handle taken by another group gets a suffix from the name; a retry finds that group by its name', async () => {
    const first = await slack.createUserGroup('Acme, Inc.');
    expect(fake.usergroups.find((g) => g.id === first.groupId)?.handle).toBe('acme-inc');
    const second = await slack.createUserGroup('Acme Inc');
    expect(second.groupId).not.toBe(first.groupId);
    const made = fake.usergroups.filter((g) => g.name === 'Acme Inc');
    expect(made).toEqual([expect.objectContaining({ id: second.groupId, handle: expect.stringMatching(/^acme-inc-[0-9a-f]{6}$/) })]);
    expect(await slack.createUserGroup('Acme Inc')).toEqual(second);
  });

  it('an answer lost after Slack created the group: the retry finds it', async () => {
    fake.fail('usergroups.create', { status: 500, times: 1, afterEffect: true });
    expect((await transient(slack.createUserGroup('Looney Partners'))).message).toMatch(/Slack usergroups.create answered 500/);
    const { groupId } = await slack.createUserGroup('Looney Partners');
    expect(fake.usergroups.filter((g) => g.name === 'Looney Partners')).toEqual([expect.objectContaining({ id: groupId })]);
  });

  it('adds people by address, keeping the others; a second add changes nothing; no Slack account is a clear failure', async () => {
    const { groupId } = await slack.createUserGroup('Acme Partners');
    await slack.addUserToGroup('road.runner@acme.example', groupId);
    await slack.addUserToGroup('Wile.E@acme.example', groupId);
    expect(fake.usergroups.find((g) => g.id === groupId)?.users).toEqual(['U0RR', 'U0WE']);
    expect(fake.received('usergroups.users.update').at(-1)!.body).toMatchObject({ usergroup: groupId, users: 'U0RR,U0WE' });

    const updates = fake.received('usergroups.users.update').length;
    await slack.addUserToGroup('road.runner@acme.example', groupId);
    expect(fake.received('usergroups.users.update')).toHaveLength(updates);

    const err = await permanent(slack.addUserToGroup('nobody@acme.example', groupId));
    expect(err.message).toBe('nobody@acme.example has no Slack account in this workspace (users.lookupByEmail: users_not_found): invite them to Slack first');
  });

  it('removes a person (again: done); removing the last one disables the group; adding again enables it', async () => {
    const { groupId } = await slack.createUserGroup('Acme Partners');
    await slack.removeUserFromGroup('road.runner@acme.example', groupId);
    expect(fake.usergroups.find((g) => g.id === groupId)?.users).toEqual(['U0WE']);
    await slack.removeUserFromGroup('road.runner@acme.example', groupId);
    await slack.removeUserFromGroup('nobody@acme.example', groupId);
    expect(fake.received('usergroups.users.update').filter((r) => r.body.usergroup === groupId).at(-1)!.body.users).toBe('U0WE');

    await slack.removeUserFromGroup('wile.e@acme.example', groupId);
    const group = fake.usergroups.find((g) => g.id === groupId)!;
    expect(group.date_delete).toBeGreaterThan(0);
    await slack.addUserToGroup('bugs@looney.example', groupId);
    expect(group).toMatchObject({ date_delete: 0, users: ['U0WE', 'U0BB'] });
  });

  it('disables the group; disabling it again, or an unknown one, is done; creating it again re-enables it', async () => {
    const { groupId } = await slack.createUserGroup('Looney Partners');
    await slack.disableUserGroup(groupId);
    expect(fake.usergroups.find((g) => g.id === groupId)!.date_delete).toBeGreaterThan(0);
    await slack.disableUserGroup(groupId);
    await slack.disableUserGroup('S_GONE');
    expect(await slack.createUserGroup('Looney Partners')).toEqual({ groupId });
    expect(fake.usergroups.find((g) => g.id === groupId)!.date_delete).toBe(0);
    expect(fake.usergroups.filter((g) => g.name === 'Looney Partners')).toHaveLength(1);
  });

  it('rate limited: transient with Retry-After, the client waited for nothing and tried once; 5xx likewise; a bad token is permanent', async () => {
    const before = fake.received('usergroups.list').length;
    fake.fail('usergroups.list', { status: 429, times: 1, retryAfter: '30' });
    const limited = await transient(slack.createUserGroup('Acme Partners'));
    expect(limited.message).toBe('Slack usergroups.list answered 429 rate limited (Retry-After: 30 s)');
    expect(fake.received('usergroups.list')).toHaveLength(before + 1);

    fake.fail('users.lookupByEmail', { status: 503, times: 1 });
    expect((await transient(slack.addUserToGroup('road.runner@acme.example', 'S1'))).message).toMatch(/Slack users.lookupByEmail answered 503/);
    expect(health.details('Slack')).toMatchObject({ status: 'failing', lastError: expect.stringContaining('503') });

    const wrong = new SlackUserGroups({ botToken: 'xoxb-wrong', apiUrl: `${fake.apiUrl}/`, timeoutMs: TIMEOUT_MS });
    expect((await permanent(wrong.createUserGroup('Acme Partners'))).message).toBe('Slack refused usergroups.create: invalid_auth');
    const err = await permanent(wrong.disableUserGroup('S1'));
    expect(err.message).not.toContain('xoxb-wrong');

    const slow = new SlackUserGroups({ botToken: fake.token, apiUrl: `${fake.apiUrl}/`, timeoutMs: 50 });
    fake.fail('usergroups.disable', { status: 200, times: 1, delayMs: 300 });
    expect((await transient(slow.disableUserGroup('S_GONE'))).message).toMatch(/Slack usergroups.disable failed/);
    await slack.createUserGroup('Acme Partners');
    expect(health.details('Slack').status).toBe('ok');
  });
});

describe('generic HTTP adapter (Studio, Infrabot, LMS) against a reference service', () => {
  let service: FakeProvisioningService;
  let health: IntegrationHealth;
  const config = (): ProvisioningServiceConfig => ({ url: `${service.url}/`.replace(/\/$/, ''), secret: service.secret, timeoutMs: TIMEOUT_MS });

  beforeAll(async () => {
    service = await startFakeProvisioningService();
    health = new IntegrationHealth({ Studio: true, Infrabot: true, LMS: true });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('posts each operation with its arguments, the bearer secret and a deterministic Idempotency-Key, and reads the ids', async () => {
    const studio = studioAdapter({ studio: config() }, health)!;
    const infrabot = infrabotAdapter({ infrabot: config() }, health)!;
    const lms = lmsAdapter({ lms: config() }, health)!;

    const { companyId } = await studio.createCompany('Acme Partners', { name: 'Acme Prod', environment: 'prod' });
    const [create] = service.received('createCompany');
    expect(create).toMatchObject({ method: 'POST', path: '/createCompany', status: 201, body: { organizationName: 'Acme Partners', company: { name: 'Acme Prod', environment: 'prod' } } });
    expect(create.headers.authorization).toBe(`Bearer ${service.secret}`);
    expect(create.headers['content-type']).toBe('application/json');
    const key = create.headers['idempotency-key'];
    expect(key).toBe(idempotencyKey('Studio', 'createCompany', { organizationName: 'Acme Partners', company: { environment: 'prod', name: 'Acme Prod' } }));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toBe(idempotencyKey('Studio', 'createCompany', { organizationName: 'Acme Partners', company: { environment: 'test', name: 'Acme Prod' } }));
    expect(key).not.toBe(idempotencyKey('LMS', 'createCompany', { organizationName: 'Acme Partners', company: { environment: 'prod', name: 'Acme Prod' } }));

    await studio.addUserToCompany('road.runner@acme.example', companyId);
    const own = await studio.createUserCompany('road.runner@acme.example', 'Road Runner');
    const { inviteId } = await studio.sendInvite('road.runner@acme.example');
    const { runId } = await infrabot.provisionOrganization('Acme Partners');
    const { tenantId } = await lms.setupTenant('Acme Partners');
    await lms.shareDocumentation('road.runner@acme.example', tenantId);

    expect(service.companyMembers).toEqual([{ companyId, email: 'road.runner@acme.example' }]);
    expect(service.companies.map((c) => c.companyId)).toEqual([companyId, own.companyId]);
    expect(service.invites).toEqual([{ inviteId, email: 'road.runner@acme.example' }]);
    expect(service.runs).toEqual([{ runId, kind: 'provision', organizationName: 'Acme Partners' }]);
    expect(service.shares).toEqual([{ tenantId, email: 'road.runner@acme.example' }]);
    expect(service.received().map((r) => [r.path, r.body])).toEqual([
      ['/createCompany', { organizationName: 'Acme Partners', company: { name: 'Acme Prod', environment: 'prod' } }],
      ['/addUserToCompany', { email: 'road.runner@acme.example', companyId }],
      ['/createUserCompany', { email: 'road.runner@acme.example', name: 'Road Runner' }],
      ['/sendInvite', { email: 'road.runner@acme.example' }],
      ['/provisionOrganization', { organizationName: 'Acme Partners' }],
      ['/setupTenant', { organizationName: 'Acme Partners' }],
      ['/shareDocumentation', { email: 'road.runner@acme.example', tenantId }],
    ]);
    expect(health.snapshot()).toMatchObject({ studio: { status: 'ok' }, infrabot: { status: 'ok' }, lms: { status: 'ok' } });
  });

  it('a call repeated after a lost answer carries the same key: the service answers as the first time, nothing is made twice', async () => {
    const studio = studioAdapter({ studio: config() }, health)!;
    const infrabot = infrabotAdapter({ infrabot: config() }, health)!;
    service.fail('sendInvite', { status: 502, times: 1, afterEffect: true });
    await transient(studio.sendInvite('wile.e@acme.example'));
    const { inviteId } = await studio.sendInvite('wile.e@acme.example');
    expect(service.invites.filter((i) => i.email === 'wile.e@acme.example')).toEqual([{ inviteId, email: 'wile.e@acme.example' }]);

    // No answer in time, the service acting later: the retry is recognised too.
    const slow = infrabotAdapter({ infrabot: { ...config(), timeoutMs: 50 } }, health)!;
    service.fail('provisionOrganization', { status: 200, times: 1, delayMs: 300 });
    expect((await transient(slow.provisionOrganization('Looney Partners'))).message).toMatch(/Infrabot POST \/provisionOrganization failed: no answer within 0.05 s/);
    await expect.poll(() => service.runs.filter((r) => r.organizationName === 'Looney Partners').length).toBe(1);
    const { runId } = await infrabot.provisionOrganization('Looney Partners');
    expect(service.runs.filter((r) => r.organizationName === 'Looney Partners')).toEqual([{ runId, kind: 'provision', organizationName: 'Looney Partners' }]);
    expect(service.replays.length).toBeGreaterThanOrEqual(2);
  });

  it('409 "exists already" gives the existing id; a removal of what is gone (404) is done', async () => {
    const studio = studioAdapter({ studio: config() }, health)!;
    const lms = lmsAdapter({ lms: config() }, health)!;
    // Made earlier by other means (or the service forgot the key): 409 with its id.
    service.companies.push({ companyId: 'company-existing', organizationName: 'Initech', name: 'Initech Test', environment: 'test', owner: null, archived: false });
    expect(await studio.createCompany('Initech', { name: 'Initech Test', environment: 'test' })).toEqual({ companyId: 'company-existing' });
    expect(service.received('createCompany').at(-1)!.status).toBe(409);
    await studio.addUserToCompany('peter@initech.example', 'company-existing');
    service.fail('addUserToCompany', { status: 409, times: 1 });
    await studio.addUserToCompany('peter@initech.example', 'company-existing');

    await studio.removeUserFromCompany('peter@initech.example', 'company-existing');
    await studio.removeUserFromCompany('peter@initech.example', 'company-existing');
    expect(service.received('removeUserFromCompany').map((r) => r.status)).toEqual([200, 200]); // the second: replayed
    await studio.removeUserFromCompany('samir@initech.example', 'company-existing');
    expect(service.received('removeUserFromCompany').at(-1)!.status).toBe(404);
    await studio.archiveCompany('company-existing');
    await studio.archiveCompany('company-gone');
    expect(service.companies.find((c) => c.companyId === 'company-existing')?.archived).toBe(true);

    const { tenantId } = await lms.setupTenant('Initech');
    await lms.revokeDocumentation('peter@initech.example', tenantId);
    await lms.closeTenant(tenantId);
    await lms.closeTenant('tenant-gone');
    expect(service.tenants.find((t) => t.tenantId === tenantId)?.closed).toBe(true);
  });

  it('429 and 5xx are transient (with Retry-After); other refusals, a wrong secret and an answer without its id are permanent', async () => {
    const studio = studioAdapter({ studio: config() }, health)!;
    service.fail('createUserCompany', { status: 429, times: 1, retryAfter: '2' });
    expect((await transient(studio.createUserCompany('a@b.example', 'A'))).message).toBe('Studio POST /createUserCompany answered 429 Slow down (Retry-After: 2 s)');
    service.fail('createUserCompany', { status: 500, times: 1 });
    await transient(studio.createUserCompany('a@b.example', 'A'));

    expect((await permanent(studio.createCompany('Hooli', { name: '', environment: 'prod' }))).message).toBe(
      'Studio refused POST /createCompany: 400 organizationName, company.name and company.environment (test or prod) are required',
    );
    expect(health.details('Studio')).toMatchObject({ status: 'failing', lastError: expect.stringContaining('400') });

    const wrong = studioAdapter({ studio: { ...config(), secret: 'wrong' } })!;
    expect((await permanent(wrong.sendInvite('a@b.example'))).message).toBe('Studio refused POST /sendInvite: 401 Unauthorised');

    service.fail('sendInvite', { status: 200, times: 1, body: { ok: true } });
    expect((await permanent(studio.sendInvite('c@b.example'))).message).toBe('Studio answered sendInvite without "inviteId" (a non-empty string) in its JSON');
  });
});
