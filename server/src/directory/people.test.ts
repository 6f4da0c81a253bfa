/**
 * People administered in the product (contract v1.1 "People", without two-factor sign-in), through GraphQL
 * against a real server: creating a person and their one-time set-password link, the link used once, changing
 * and resetting passwords, deactivating, reactivating, deleting and unlocking, as every role (refusals
 * included), the effects on tokens and open sockets, and the activity entries each writes.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';
import { CloseCode } from '../../../schema/codes.js';

const CREATE_USER = `mutation($input: CreateUserInput!) {
  createUser(input: $input) { setPasswordUrl expiresAt user { id email displayName role active kind totpEnabled lastSignInAt lockedUntil businessUnits { code } } }
}`;
const SET_PASSWORD = `mutation($t: String!, $p: String!) { setPasswordWithToken(token: $t, password: $p) { token user { email role } } }`;
const CHANGE_PASSWORD = `mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }`;
const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }`;
const ME = '{ me { email } }';
const ADMIN_MUTATIONS = {
  resetPassword: 'mutation($id: ID!) { resetPassword(userId: $id) { setPasswordUrl } }',
  deactivateUser: 'mutation($id: ID!) { deactivateUser(userId: $id) { id active } }',
  reactivateUser: 'mutation($id: ID!) { reactivateUser(userId: $id) { id active } }',
  deleteUser: 'mutation($id: ID!) { deleteUser(userId: $id) }',
  unlockUser: 'mutation($id: ID!) { unlockUser(userId: $id) { id lockedUntil } }',
};
const PASSWORD = 'correct horse battery';

describe('people', () => {
  let server: TestServer;
  let admin: string;
  let docName: string;
  let seq = 0;

  beforeAll(async () => {
    // A lock after 3 failures; an address limit high enough for every failure this file makes.
    server = await startTestServer({ LOGIN_LOCKOUT_THRESHOLD: '3', LOGIN_FAILURES_PER_MINUTE: '1000' });
    admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, admin);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
  });
  afterAll(() => server?.stop());

  /** A new BU leader of SALES_NORTH with a password, and their token. */
  async function newPerson(role = 'BU_LEADER', units = ['SALES_NORTH']) {
    seq += 1;
    const email = `person${seq}@example.com`;
    const created = await server.gql(CREATE_USER, { input: { email, displayName: `Person ${seq}`, role, businessUnitCodes: units } }, admin);
    expect(created.errors).toBeUndefined();
    const { user, setPasswordUrl } = created.data.createUser;
    const set = await server.gql(SET_PASSWORD, { t: setPasswordUrl.split('#')[1], p: PASSWORD });
    expect(set.errors).toBeUndefined();
    return { id: user.id as string, email, token: set.data.setPasswordWithToken.token as string };
  }

  async function activity(action: string) {
    const res = await server.gql(
      'query($a: String) { activityLog(first: 50, action: $a) { edges { node { action actor { email } subject details } } } }',
      { a: action },
      admin,
    );
    expect(res.errors).toBeUndefined();
    return res.data.activityLog.edges.map((e: any) => e.node);
  }

  it('createUser: an admin creates a person and gets a one-time set-password link; the person sets a password and signs in', async () => {
    const res = await server.gql(
      CREATE_USER,
      { input: { email: ' New.Leader@Example.com ', displayName: 'New Leader', role: 'BU_LEADER', businessUnitCodes: ['SALES_SOUTH'] } },
      admin,
    );
    expect(res.errors).toBeUndefined();
    const { user, setPasswordUrl, expiresAt } = res.data.createUser;
    expect(user).toMatchObject({
      email: 'new.leader@example.com', role: 'BU_LEADER', active: true, kind: 'PERSON', totpEnabled: false, lastSignInAt: null, lockedUntil: null,
      businessUnits: [{ code: 'SALES_SOUTH' }],
    });
    // Without PUBLIC_URL, the link starts with where the server listens.
    expect(setPasswordUrl).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/set-password#[A-Za-z0-9_-]{43}$`));
    const hours = (Date.parse(expiresAt) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(71.9);
    expect(hours).toBeLessThanOrEqual(72);
    const token = setPasswordUrl.split('#')[1];

    // Only a hash of the token is stored.
    const stored = await server.sql(`SELECT token_hash FROM password_invitation WHERE user_id = $1`, [user.id]);
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).not.toContain(token);
    // No password yet: signing in fails like a wrong password.
    const before = await server.gql(LOGIN, { e: 'new.leader@example.com', p: PASSWORD });
    expect(errorCode(before)).toBe('UNAUTHENTICATED');

    // The password rules, BAD_USER_INPUT, and the link stays usable.
    for (const bad of ['short', 'x'.repeat(257), 'my new.leader password']) {
      expect(errorCode(await server.gql(SET_PASSWORD, { t: token, p: bad }))).toBe('BAD_USER_INPUT');
    }
    const set = await server.gql(SET_PASSWORD, { t: token, p: PASSWORD });
    expect(set.errors).toBeUndefined();
    expect(set.data.setPasswordWithToken.user).toEqual({ email: 'new.leader@example.com', role: 'BU_LEADER' });
    expect((await server.gql(ME, {}, set.data.setPasswordWithToken.token)).data.me.email).toBe('new.leader@example.com');
    const login = await server.gql(LOGIN, { e: 'new.leader@example.com', p: PASSWORD });
    expect(login.errors).toBeUndefined();

    // Used once.
    expect(errorCode(await server.gql(SET_PASSWORD, { t: token, p: 'another good password' }))).toBe('BAD_USER_INPUT');
    const row = await server.gql('query { users { email lastSignInAt } }', {}, admin);
    expect(row.data.users.find((u: any) => u.email === 'new.leader@example.com').lastSignInAt).not.toBeNull();

    const [entry] = await activity('USER_CREATED');
    expect(entry).toMatchObject({ action: 'USER_CREATED', actor: { email: 'admin@example.com' }, subject: 'new.leader@example.com' });
    expect(entry.details).toMatchObject({ role: 'BU_LEADER', businessUnitCodes: ['SALES_SOUTH'] });
  });

  it('a set-password link used signs the person in, and the sign-in log says so; a newer link ends the earlier one', async () => {
    const res = await server.gql(CREATE_USER, { input: { email: 'linked@example.com', displayName: 'Linked', role: 'VIEWER' } }, admin);
    const { user, setPasswordUrl } = res.data.createUser;
    const reset = await server.gql(ADMIN_MUTATIONS.resetPassword, { id: user.id }, admin);
    expect(reset.errors).toBeUndefined();
    // The invitation's link was replaced by the reset's.
    expect(errorCode(await server.gql(SET_PASSWORD, { t: setPasswordUrl.split('#')[1], p: PASSWORD }))).toBe('BAD_USER_INPUT');
    const set = await server.gql(SET_PASSWORD, { t: reset.data.resetPassword.setPasswordUrl.split('#')[1], p: PASSWORD });
    expect(set.errors).toBeUndefined();

    const log = await server.gql(
      'query($id: ID) { signInEvents(userId: $id) { email success method ip user { id } } }',
      { id: user.id },
      admin,
    );
    expect(log.errors).toBeUndefined();
    expect(log.data.signInEvents).toEqual([
      { email: 'linked@example.com', success: true, method: 'PASSWORD', ip: expect.any(String), user: { id: user.id } },
    ]);
  });

  it('a set-password link given out before a deactivation does not work after a reactivation', async () => {
    const person = await newPerson();
    const reset = await server.gql(ADMIN_MUTATIONS.resetPassword, { id: person.id }, admin);
    expect(reset.errors).toBeUndefined();
    const link = reset.data.resetPassword.setPasswordUrl.split('#')[1];
    expect((await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: person.id }, admin)).errors).toBeUndefined();
    expect((await server.gql(ADMIN_MUTATIONS.reactivateUser, { id: person.id }, admin)).errors).toBeUndefined();
    expect(errorCode(await server.gql(SET_PASSWORD, { t: link, p: 'chosen by whoever found the link' }))).toBe('BAD_USER_INPUT');
    // A new link from an admin works as ever.
    const again = await server.gql(ADMIN_MUTATIONS.resetPassword, { id: person.id }, admin);
    expect((await server.gql(SET_PASSWORD, { t: again.data.resetPassword.setPasswordUrl.split('#')[1], p: PASSWORD })).errors).toBeUndefined();
  });

  it('setPasswordWithToken: an unknown or expired link answers BAD_USER_INPUT', async () => {
    expect(errorCode(await server.gql(SET_PASSWORD, { t: 'not-a-token', p: PASSWORD }))).toBe('BAD_USER_INPUT');
    const res = await server.gql(CREATE_USER, { input: { email: 'late@example.com', displayName: 'Late', role: 'VIEWER' } }, admin);
    const { user, setPasswordUrl } = res.data.createUser;
    await server.sql(`UPDATE password_invitation SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    expect(errorCode(await server.gql(SET_PASSWORD, { t: setPasswordUrl.split('#')[1], p: PASSWORD }))).toBe('BAD_USER_INPUT');
  });

  it('createUser: an email already taken, an unknown unit, a partner role without organisation: BAD_USER_INPUT', async () => {
    const input = { email: 'ADMIN@example.com', displayName: 'Again', role: 'VIEWER' };
    expect(errorCode(await server.gql(CREATE_USER, { input }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE_USER, { input: { ...input, email: 'u1@example.com', businessUnitCodes: ['NOPE'] } }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE_USER, { input: { ...input, email: 'u2@example.com', role: 'PARTNER_USER' } }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CREATE_USER, { input: { ...input, email: 'not an email' } }, admin))).toBe('BAD_USER_INPUT');
  });

  it('createUser and every admin mutation: FORBIDDEN to every other role, or NOT_FOUND for someone they may not read; UNAUTHENTICATED without a token', async () => {
    const target = await newPerson('VIEWER', ['MARKETING']);
    const others = ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example'];
    const input = { email: 'nobody@example.com', displayName: 'Nobody', role: 'VIEWER' };
    for (const email of others) {
      const token = await server.login(email);
      const me = (await server.gql('{ me { id } }', {}, token)).data.me.id;
      expect(errorCode(await server.gql(CREATE_USER, { input }, token)), email).toBe('FORBIDDEN');
      for (const [name, mutation] of Object.entries(ADMIN_MUTATIONS)) {
        expect(errorCode(await server.gql(mutation, { id: target.id }, token)), `${email} ${name} someone else`).toBe('NOT_FOUND');
        expect(errorCode(await server.gql(mutation, { id: me }, token)), `${email} ${name} themselves`).toBe('FORBIDDEN');
      }
    }
    expect(errorCode(await server.gql(CREATE_USER, { input }))).toBe('UNAUTHENTICATED');
    for (const mutation of Object.values(ADMIN_MUTATIONS)) expect(errorCode(await server.gql(mutation, { id: target.id }))).toBe('UNAUTHENTICATED');
    // Nothing happened to the target, and nobody was created.
    expect((await server.gql(ME, {}, target.token)).data.me.email).toBe(target.email);
    expect(await server.sql(`SELECT 1 FROM app_user WHERE email = 'nobody@example.com'`)).toHaveLength(0);
    // An admin's answer for an id that names nobody.
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: '00000000-0000-4000-8000-000000000000' }, admin))).toBe('NOT_FOUND');
  });

  it("User's details (active, lastSignInAt, lockedUntil, accessGrants) are read by the person and admins, FORBIDDEN to others", async () => {
    const person = await newPerson();
    await server.sql(`INSERT INTO access_grant (id, user_id, system, resource) VALUES (gen_random_uuid(), $1, 'studio', 'Acme Studio')`, [person.id]);
    const query = '{ me { active kind totpEnabled lastSignInAt lockedUntil accessGrants { system name grantedAt } } }';
    const own = await server.gql(query, {}, person.token);
    expect(own.errors).toBeUndefined();
    expect(own.data.me).toMatchObject({ active: true, kind: 'PERSON', totpEnabled: false, lockedUntil: null, accessGrants: [{ system: 'studio', name: 'Acme Studio' }] });
    expect(own.data.me.lastSignInAt).not.toBeNull();
    const byAdmin = await server.gql('{ users { id accessGrants { name } active } }', {}, admin);
    expect(byAdmin.data.users.find((u: any) => u.id === person.id)).toEqual({ id: person.id, accessGrants: [{ name: 'Acme Studio' }], active: true });

    // Another BU leader meets the person as a line's last editor: who they are, not their details.
    const lines = await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id version } }`, { p: docName.split(':')[1] }, person.token);
    const line = lines.data.budgetLines[0];
    const edit = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "mine" }) { id } }', { id: line.id }, person.token);
    expect(edit.errors).toBeUndefined();
    const other = await server.login('lead.sales-north@example.com');
    for (const field of ['active', 'lastSignInAt', 'lockedUntil', 'accessGrants { name }']) {
      const seen = await server.gql(
        `query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id updatedBy { email ${field} } } }`,
        { p: docName.split(':')[1] },
        other,
      );
      expect(errorCode(seen), field).toBe('FORBIDDEN');
    }
  });

  it('changePassword: the current password is checked, the rules apply, the other tokens end (their sockets close), this one carries on', async () => {
    const person = await newPerson();
    const other = await server.login(person.email, PASSWORD);
    const otherGraphql = await graphqlSocket(server, other);
    const otherGrid = await gridSocket(server, docName, other);
    const mineGraphql = await graphqlSocket(server, person.token);
    expect([otherGraphql.first, otherGrid.first, mineGraphql.first]).toEqual(['connection_ack', 'message', 'connection_ack']);

    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: 'wrong password!', n: 'a brand new secret' }, person.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'short' }, person.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a brand new secret' }))).toBe('UNAUTHENTICATED');
    const res = await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a brand new secret' }, person.token);
    expect(res.errors).toBeUndefined();
    expect(res.data.changePassword).toBe(true);

    expect(await otherGraphql.closed).toBe(CloseCode.Unauthorized);
    expect(await otherGrid.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, other))).toBe('UNAUTHENTICATED');
    expect((await server.gql(ME, {}, person.token)).data.me.email).toBe(person.email);
    expect(mineGraphql.socket.readyState).toBe(WebSocket.OPEN);
    mineGraphql.socket.close();

    expect(errorCode(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    expect((await server.gql(LOGIN, { e: person.email, p: 'a brand new secret' })).errors).toBeUndefined();
    expect(await activity('PASSWORD_CHANGED')).toContainEqual(
      expect.objectContaining({ actor: { email: person.email }, subject: person.email }),
    );
  });

  it('resetPassword: the old password and every token end at once; the new link sets a new one', async () => {
    const person = await newPerson();
    const res = await server.gql(ADMIN_MUTATIONS.resetPassword, { id: person.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(errorCode(await server.gql(ME, {}, person.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    const set = await server.gql(SET_PASSWORD, { t: res.data.resetPassword.setPasswordUrl.split('#')[1], p: 'after the reset ok' });
    expect(set.errors).toBeUndefined();
    expect((await server.gql(ME, {}, set.data.setPasswordWithToken.token)).data.me.email).toBe(person.email);
    expect(await activity('PASSWORD_RESET')).toContainEqual(expect.objectContaining({ actor: { email: 'admin@example.com' }, subject: person.email }));
  });

  it('deactivateUser closes the person\'s GraphQL and grid sockets (Unauthorized), refuses their tokens, and their login fails like a wrong password; reactivateUser lets them sign in again', async () => {
    const person = await newPerson();
    const graphql = await graphqlSocket(server, person.token);
    const grid = await gridSocket(server, docName, person.token);
    expect([graphql.first, grid.first]).toEqual(['connection_ack', 'message']);

    const res = await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: person.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.deactivateUser).toEqual({ id: person.id, active: false });
    expect(await graphql.closed).toBe(CloseCode.Unauthorized);
    expect(await grid.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, person.token))).toBe('UNAUTHENTICATED');
    expect((await graphqlSocket(server, person.token)).first).toBe(`closed ${CloseCode.Unauthorized}`);

    const deactivated = await server.gql(LOGIN, { e: person.email, p: PASSWORD });
    const wrong = await server.gql(LOGIN, { e: person.email, p: 'not the password' });
    expect(errorCode(deactivated)).toBe('UNAUTHENTICATED');
    expect(deactivated.errors).toEqual(wrong.errors);

    const back = await server.gql(ADMIN_MUTATIONS.reactivateUser, { id: person.id }, admin);
    expect(back.data.reactivateUser).toEqual({ id: person.id, active: true });
    // The old token stays ended; signing in works again.
    expect(errorCode(await server.gql(ME, {}, person.token))).toBe('UNAUTHENTICATED');
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD })).errors).toBeUndefined();

    expect(await activity('USER_DEACTIVATED')).toContainEqual(expect.objectContaining({ actor: { email: 'admin@example.com' }, subject: person.email }));
    expect(await activity('USER_REACTIVATED')).toContainEqual(expect.objectContaining({ actor: { email: 'admin@example.com' }, subject: person.email }));
  });

  it('the last active admin can be neither deactivated, deleted nor demoted: CONFLICT', async () => {
    const me = (await server.gql('{ me { id } }', {}, admin)).data.me.id;
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: me }, admin))).toBe('CONFLICT');
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deleteUser, { id: me }, admin))).toBe('CONFLICT');
    expect(errorCode(await server.gql('mutation($id: ID!) { setUserAccess(userId: $id, role: VIEWER, businessUnitCodes: []) { id } }', { id: me }, admin))).toBe('CONFLICT');
    // With a second admin, the first may go.
    const second = await newPerson('ADMIN', []);
    const res = await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: second.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: me }, admin))).toBe('CONFLICT');
  });

  it('a service account with the ADMIN role does not count as the last admin: the last person who is one stays', async () => {
    const me = (await server.gql('{ me { id } }', {}, admin)).data.me.id;
    const bot = await server.gql('mutation { createServiceAccount(name: "admin bot", role: ADMIN) { id } }', {}, admin);
    expect(bot.errors).toBeUndefined();
    // Nobody could sign in as the bot: demoting, deactivating or deleting the one admin person is still refused.
    expect(errorCode(await server.gql('mutation($id: ID!) { setUserAccess(userId: $id, role: VIEWER, businessUnitCodes: []) { id } }', { id: me }, admin))).toBe('CONFLICT');
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: me }, admin))).toBe('CONFLICT');
    expect(errorCode(await server.gql(ADMIN_MUTATIONS.deleteUser, { id: me }, admin))).toBe('CONFLICT');
    expect((await server.gql('{ me { role } }', {}, admin)).data.me.role).toBe('ADMIN');
    // The bot itself may go: that takes no person away.
    const gone = await server.gql(ADMIN_MUTATIONS.deactivateUser, { id: bot.data.createServiceAccount.id }, admin);
    expect(gone.errors).toBeUndefined();
  });

  it('deleteUser: the person is gone from every list and cannot sign in; audit and activity entries keep their email', async () => {
    const person = await newPerson();
    const planId = docName.split(':')[1];
    const lines = await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, person.token);
    const lineId = lines.data.budgetLines[5].id;
    const edit = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "before I left" }) { id } }', { id: lineId }, person.token);
    expect(edit.errors).toBeUndefined();
    const grid = await gridSocket(server, docName, person.token);

    const res = await server.gql(ADMIN_MUTATIONS.deleteUser, { id: person.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.deleteUser).toBe(true);
    expect(await grid.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, person.token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    const users = await server.gql('{ users { email } }', {}, admin);
    expect(users.data.users.map((u: any) => u.email)).not.toContain(person.email);
    for (const mutation of Object.values(ADMIN_MUTATIONS)) {
      expect(errorCode(await server.gql(mutation, { id: person.id }, admin))).toBe('NOT_FOUND');
    }

    const audit = await server.gql('query($l: ID) { auditLog(lineId: $l) { edges { node { user { email } } } } }', { l: lineId }, admin);
    expect(audit.errors).toBeUndefined();
    expect(audit.data.auditLog.edges.map((e: any) => e.node.user?.email)).toContain(person.email);
    expect(await activity('USER_DELETED')).toContainEqual(expect.objectContaining({ actor: { email: 'admin@example.com' }, subject: person.email }));
    expect(await activity('USER_CREATED')).toContainEqual(expect.objectContaining({ subject: person.email }));
  });

  it("createUser with a deleted person's email brings them back as described, with nothing of their old access; their past entries stay theirs", async () => {
    const person = await newPerson('BU_LEADER', ['SALES_NORTH']);
    await server.sql(`UPDATE app_user SET entra_object_id = 'their-old-microsoft-account' WHERE id = $1`, [person.id]);
    expect((await server.gql(ADMIN_MUTATIONS.deleteUser, { id: person.id }, admin)).errors).toBeUndefined();

    const input = { email: person.email.toUpperCase(), displayName: 'Back Again', role: 'VIEWER', businessUnitCodes: ['MARKETING'] };
    const back = await server.gql(CREATE_USER, { input }, admin);
    expect(back.errors).toBeUndefined();
    const { user, setPasswordUrl } = back.data.createUser;
    expect(user).toMatchObject({ id: person.id, email: person.email, displayName: 'Back Again', role: 'VIEWER', active: true, kind: 'PERSON', businessUnits: [{ code: 'MARKETING' }] });
    // Listed again, and taken again.
    expect((await server.gql('{ users { email } }', {}, admin)).data.users.map((u: any) => u.email)).toContain(person.email);
    expect(errorCode(await server.gql(CREATE_USER, { input }, admin))).toBe('BAD_USER_INPUT');
    // Neither the old password nor the old token, nor the old Microsoft link: only the new set-password link.
    expect(errorCode(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(ME, {}, person.token))).toBe('UNAUTHENTICATED');
    expect(await server.sql('SELECT entra_object_id, password_hash, deleted_at FROM app_user WHERE id = $1', [person.id])).toEqual([
      { entra_object_id: null, password_hash: null, deleted_at: null },
    ]);
    const set = await server.gql(SET_PASSWORD, { t: setPasswordUrl.split('#')[1], p: 'a brand new password' });
    expect(set.errors).toBeUndefined();
    expect(set.data.setPasswordWithToken.user).toEqual({ email: person.email, role: 'VIEWER' });
    // Their sign-ins from before the deletion stay in their log, with the new one.
    const log = await server.gql('query($id: ID) { signInEvents(userId: $id) { success } }', { id: person.id }, admin);
    expect(log.data.signInEvents.filter((e: any) => e.success)).toHaveLength(2);
    const created = (await activity('USER_CREATED')).find((e: any) => e.subject === person.email && e.details.returningAfterDeletion);
    expect(created.details).toMatchObject({ role: 'VIEWER', businessUnitCodes: ['MARKETING'], returningAfterDeletion: expect.any(String) });

    // Deleted again and created twice at once: brought back once, the other creation finds the email taken.
    expect((await server.gql(ADMIN_MUTATIONS.deleteUser, { id: person.id }, admin)).errors).toBeUndefined();
    const both = await Promise.all([server.gql(CREATE_USER, { input }, admin), server.gql(CREATE_USER, { input }, admin)]);
    expect(both.map((r) => (r.errors ? errorCode(r) : 'created')).sort()).toEqual(['BAD_USER_INPUT', 'created']);
  });

  it('unlockUser lifts the lock failed sign-ins put on an account, which lockedUntil shows', async () => {
    const person = await newPerson();
    for (let i = 0; i < 3; i++) expect(errorCode(await server.gql(LOGIN, { e: person.email, p: 'wrong password' }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(LOGIN, { e: person.email, p: PASSWORD }))).toBe('UNAUTHENTICATED');
    const locked = await server.gql('{ users { id lockedUntil } }', {}, admin);
    const until = locked.data.users.find((u: any) => u.id === person.id).lockedUntil;
    expect(Date.parse(until)).toBeGreaterThan(Date.now());

    const res = await server.gql(ADMIN_MUTATIONS.unlockUser, { id: person.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(res.data.unlockUser).toEqual({ id: person.id, lockedUntil: null });
    expect((await server.gql(LOGIN, { e: person.email, p: PASSWORD })).errors).toBeUndefined();
    const [entry] = await activity('USER_UNLOCKED');
    expect(entry).toMatchObject({ actor: { email: 'admin@example.com' }, subject: person.email });
  });

  it('changePassword counts wrong current passwords like failed sign-ins: the account locks, and unlockUser lifts it', async () => {
    const person = await newPerson();
    for (let i = 0; i < 3; i++) {
      expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: 'a wrong guess', n: 'a brand new secret' }, person.token))).toBe('BAD_USER_INPUT');
    }
    // Locked: the right password is not judged either.
    expect(errorCode(await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a brand new secret' }, person.token))).toBe('BAD_USER_INPUT');
    expect((await server.gql('{ me { lockedUntil } }', {}, person.token)).data.me.lockedUntil).not.toBeNull();
    expect((await server.gql(ADMIN_MUTATIONS.unlockUser, { id: person.id }, admin)).errors).toBeUndefined();
    expect((await server.gql(CHANGE_PASSWORD, { c: PASSWORD, n: 'a brand new secret' }, person.token)).data.changePassword).toBe(true);
  });

  it('setUserAccess writes a USER_ACCESS_CHANGED entry with the access before and after', async () => {
    const person = await newPerson();
    const res = await server.gql(
      'mutation($id: ID!) { setUserAccess(userId: $id, role: VIEWER, businessUnitCodes: ["FINANCE"]) { id } }',
      { id: person.id },
      admin,
    );
    expect(res.errors).toBeUndefined();
    const [entry] = await activity('USER_ACCESS_CHANGED');
    expect(entry).toMatchObject({
      actor: { email: 'admin@example.com' },
      subject: person.email,
      details: { before: { role: 'BU_LEADER', businessUnitCodes: ['SALES_NORTH'] }, after: { role: 'VIEWER', businessUnitCodes: ['FINANCE'] } },
    });
  });
});

const reachable = await redisReachable(LOCAL_REDIS_URL);

describe.skipIf(!reachable)('deactivating someone with two instances behind one Redis', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL);
  });
  afterAll(() => destroyInstances([a, b].filter(Boolean)));

  it("closes the person's sockets on the other instance too (CloseCode.Unauthorized), and the other instance refuses their token", async () => {
    const admin = await a.login('admin@example.com');
    const token = await b.login('lead.sales-north@example.com');
    const plans = await b.gql('{ budgetPlans { id } me { id } }', {}, token);
    const docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
    const onB = await graphqlSocket(b, token);
    const gridOnB = await gridSocket(b, docName, token);
    expect([onB.first, gridOnB.first]).toEqual(['connection_ack', 'message']);

    const res = await a.gql(ADMIN_MUTATIONS.deactivateUser, { id: plans.data.me.id }, admin);
    expect(res.errors).toBeUndefined();
    expect(await onB.closed).toBe(CloseCode.Unauthorized);
    expect(await gridOnB.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await b.gql(ME, {}, token))).toBe('UNAUTHENTICATED');
  });
});
