/**
 * The activity log as admins read it, against the real server and database: entries written with a change's
 * EntityManager commit and roll back with it; the query pages, filters and refuses everyone but admins.
 * (The operations that write entries test their own, beside them.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { recordActivity } from './activityLog.js';

const LOG = `query($first: Int, $after: String, $action: String, $actor: String, $since: DateTimeISO, $subject: String) {
  activityLog(first: $first, after: $after, action: $action, actorEmail: $actor, since: $since, subject: $subject) {
    edges { cursor node { id at action actor { email } subject details } }
    pageInfo { hasNextPage endCursor }
  }
}`;

let server: TestServer;
let admin: string;
const alice = { userId: '00000000-0000-4000-8000-00000000a11c', email: 'alice@example.com' };
const bob = { userId: '00000000-0000-4000-8000-000000000b0b', email: 'bob@example.com' };

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.login('admin@example.com');
  const em = server.app.services.orm.em.fork();
  await em.transactional(async (tx) => {
    recordActivity(tx, alice, 'PLAN_CREATED', 'FY2028 Budget', { fiscalYear: 2028 });
    recordActivity(tx, bob, 'USER_DEACTIVATED', 'viewer.sales-north@example.com');
    recordActivity(tx, null, 'USER_CREATED', 'first.admin@example.com');
  });
});

afterAll(async () => {
  await server?.stop();
});

describe('activityLog', () => {
  it('lists entries newest first with their actor, subject and details', async () => {
    const res = await server.gql(LOG, {}, admin);
    expect(res.errors).toBeUndefined();
    const nodes = res.data.activityLog.edges.map((e: { node: unknown }) => e.node);
    expect(nodes.map((n: { action: string }) => n.action)).toEqual(['USER_CREATED', 'USER_DEACTIVATED', 'PLAN_CREATED']);
    expect(nodes[0].actor).toBeNull();
    expect(nodes[2]).toMatchObject({ actor: { email: 'alice@example.com' }, subject: 'FY2028 Budget', details: { fiscalYear: 2028 } });
  });

  it('pages with cursors and filters by action, actor and time', async () => {
    const first = await server.gql(LOG, { first: 2 }, admin);
    expect(first.data.activityLog.pageInfo.hasNextPage).toBe(true);
    const rest = await server.gql(LOG, { first: 2, after: first.data.activityLog.pageInfo.endCursor }, admin);
    expect(rest.data.activityLog.edges.map((e: { node: { action: string } }) => e.node.action)).toEqual(['PLAN_CREATED']);
    expect(rest.data.activityLog.pageInfo.hasNextPage).toBe(false);

    const byAction = await server.gql(LOG, { action: 'USER_DEACTIVATED' }, admin);
    expect(byAction.data.activityLog.edges.map((e: { node: { subject: string } }) => e.node.subject)).toEqual(['viewer.sales-north@example.com']);
    const byActor = await server.gql(LOG, { actor: 'ALICE@example.com' }, admin);
    expect(byActor.data.activityLog.edges).toHaveLength(1);
    const future = await server.gql(LOG, { since: new Date(Date.now() + 60_000).toISOString() }, admin);
    expect(future.data.activityLog.edges).toEqual([]);
  });

  it('filters by subject: the entries about one person (any case of their email), or one plan by its name', async () => {
    const subjects = async (subject: string) =>
      (await server.gql(LOG, { subject }, admin)).data.activityLog.edges.map((e: { node: { action: string } }) => e.node.action);
    expect(await subjects('Viewer.Sales-North@example.com')).toEqual(['USER_DEACTIVATED']);
    expect(await subjects('FY2028 Budget')).toEqual(['PLAN_CREATED']);
    expect(await subjects('nobody@example.com')).toEqual([]);
    // With the other filters, all of them apply.
    expect((await server.gql(LOG, { subject: 'FY2028 Budget', action: 'USER_DEACTIVATED' }, admin)).data.activityLog.edges).toEqual([]);
  });

  it('refuses an unknown action, a bad page size and a forged cursor with BAD_USER_INPUT', async () => {
    expect(errorCode(await server.gql(LOG, { action: 'DROP_TABLES' }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(LOG, { first: 501 }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(LOG, { after: 'bm90LWEtY3Vyc29y' }, admin))).toBe('BAD_USER_INPUT');
  });

  it('is for admins only', async () => {
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example']) {
      const res = await server.gql(LOG, {}, await server.login(email));
      expect(errorCode(res), email).toBe('FORBIDDEN');
      expect(res.data ?? null).toBeNull();
    }
    expect(errorCode(await server.gql(LOG, {}, null))).toBe('UNAUTHENTICATED');
  });

  it('keeps no entry of a change that rolled back', async () => {
    const em = server.app.services.orm.em.fork();
    await expect(
      em.transactional(async (tx) => {
        recordActivity(tx, alice, 'ORGANIZATION_DELETED', 'Rolled Back Ltd');
        await tx.flush();
        throw new Error('the change failed after its entry was written');
      }),
    ).rejects.toThrow('the change failed');
    expect(await server.sql(`SELECT 1 FROM activity_entry WHERE subject = 'Rolled Back Ltd'`)).toEqual([]);
  });
});
