/**
 * Access tokens (`pst_…`) and service accounts against the real server: who may create, list and revoke them,
 * the token on every surface (GraphQL over HTTP and websockets, the grid), scopes, expiry, revocation closing
 * open sockets, a deactivated owner, what is stored.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';
import { CloseCode, ErrorCode } from '../../../schema/codes.js';
import { DEMO_PASSWORD } from '../seed.js';
import { connectGrid, editDropped, synced } from '../testing/gridClients.js';
import { hashAccessToken, newAccessTokenText } from './accessTokenSecrets.js';

const CREATE = `mutation($name: String!, $scopes: [TokenScope!]!, $days: Int, $sa: ID) {
  createAccessToken(name: $name, scopes: $scopes, expiresInDays: $days, serviceAccountId: $sa) {
    token accessToken { id name scopes createdAt expiresAt lastUsedAt owner { email } }
  }
}`;
const LIST = '{ accessTokens { id name scopes owner { email } } }';
const REVOKE = 'mutation($id: ID!) { revokeAccessToken(id: $id) }';
const CREATE_SA = `mutation($name: String!, $role: Role!, $units: [String!]) {
  createServiceAccount(name: $name, role: $role, businessUnitCodes: $units) { id email kind role businessUnits { code } }
}`;
const ME = '{ me { email } }';

/** One person of each role the demo data has. */
const PEOPLE = {
  ADMIN: 'admin@example.com',
  ANALYST: 'analyst@example.com',
  BU_LEADER: 'lead.sales-north@example.com',
  VIEWER: 'viewer.sales-north@example.com',
  PARTNER_ADMIN: 'partner.admin@acme.example',
  PARTNER_USER: 'partner.user@acme.example',
} as const;

describe('access tokens', () => {
  let server: TestServer;
  let docName: string;
  beforeAll(async () => {
    server = await startTestServer();
    const admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, admin);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
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
  afterAll(() => server?.stop());

  /** A token inserted as a row, as the join point must take it before any mutation makes one. */
  async function insertedToken(email: string, scopes: string[], expires = "now() + interval '1 day'"): Promise<{ token: string; id: string }> {
    const token = newAccessTokenText();
    const [row] = await server.sql(
      `INSERT INTO access_token (id, owner_id, name, scopes, token_hash, expires_at)
       SELECT gen_random_uuid(), id, 'inserted', $2::text[], $3, ${expires} FROM app_user WHERE email = $1 RETURNING id`,
      [email, scopes, hashAccessToken(token)],
    );
    return { token, id: row.id };
  }

  describe('the join point (fromToken)', () => {
    it('takes an inserted token on POST /graphql, graphql-ws and the grid; an expired or malformed one is refused', async () => {
      const { token } = await insertedToken('lead.sales-north@example.com', ['READ', 'WRITE']);
      expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe('lead.sales-north@example.com');
      const ws = await graphqlSocket(server, token);
      const grid = await gridSocket(server, docName, token);
      expect([ws.first, grid.first]).toEqual(['connection_ack', 'message']);
      ws.socket.close();
      grid.socket.close();

      const expired = await insertedToken('lead.sales-north@example.com', ['READ', 'WRITE'], "now() - interval '1 second'");
      expect(errorCode(await server.gql('{ me { email } }', {}, expired.token))).toBe(ErrorCode.UNAUTHENTICATED);
      expect((await graphqlSocket(server, expired.token)).first).toBe(`closed ${CloseCode.Unauthorized}`);
      expect(errorCode(await server.gql('{ me { email } }', {}, token.slice(0, -1)))).toBe(ErrorCode.UNAUTHENTICATED);
      expect(errorCode(await server.gql('{ me { email } }', {}, 'pst_' + 'A'.repeat(43)))).toBe(ErrorCode.UNAUTHENTICATED);
    });

    it('open sockets close with CloseCode.Unauthorized when the token expires, and it is refused from then on', async () => {
      const { token } = await insertedToken('lead.sales-north@example.com', ['READ'], "now() + interval '2 seconds'");
      const ws = await graphqlSocket(server, token);
      const grid = await gridSocket(server, docName, token);
      expect([ws.first, grid.first]).toEqual(['connection_ack', 'message']);
      expect(await ws.closed).toBe(CloseCode.Unauthorized);
      expect(await grid.closed).toBe(CloseCode.Unauthorized);
      // Sockets close at the expiry rounded up to the second: by then the database refuses the token too.
      expect(errorCode(await server.gql('{ me { email } }', {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    });

    it('a READ token is refused every mutation (FORBIDDEN), over HTTP and graphql-ws', async () => {
      const { token } = await insertedToken('admin@example.com', ['READ']);
      expect(errorCode(await server.gql('mutation { signOut }', {}, token))).toBe(ErrorCode.FORBIDDEN);
      const res = await server.gql('mutation($n: String!) { createBusinessUnit(code: "RO_UNIT", name: $n) { code } }', { n: 'x' }, token);
      expect(errorCode(res)).toBe(ErrorCode.FORBIDDEN);
      // Reads still answer.
      expect((await server.gql('{ me { email } }', {}, token)).data.me.email).toBe('admin@example.com');
    });
  });

  describe('createAccessToken, accessTokens, revokeAccessToken, for every role', () => {
    for (const [role, email] of Object.entries(PEOPLE)) {
      it(`${role}: makes a token for themselves, lists it, uses it, revokes it`, async () => {
        const session = await server.login(email);
        const made = await server.gql(CREATE, { name: `${role} script`, scopes: ['READ'], days: 7 }, session);
        expect(made.errors).toBeUndefined();
        const { token, accessToken } = made.data.createAccessToken;
        expect(token).toMatch(/^pst_[A-Za-z0-9_-]{43}$/);
        expect(accessToken).toMatchObject({ name: `${role} script`, scopes: ['READ'], lastUsedAt: null, owner: { email } });
        expect(new Date(accessToken.expiresAt).getTime() - new Date(accessToken.createdAt).getTime()).toBe(7 * 24 * 3600 * 1000);
        const listed = (await server.gql(LIST, {}, session)).data.accessTokens;
        expect(listed.map((t: { id: string }) => t.id)).toContain(accessToken.id);
        if (role !== 'ADMIN') expect(listed.every((t: { owner: { email: string } }) => t.owner.email === email)).toBe(true);
        expect((await server.gql(ME, {}, token)).data.me.email).toBe(email);
        expect((await server.gql(REVOKE, { id: accessToken.id }, session)).data.revokeAccessToken).toBe(true);
        expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
        expect((await server.gql(LIST, {}, session)).data.accessTokens.map((t: { id: string }) => t.id)).not.toContain(accessToken.id);
        // Revoking again: it is gone.
        expect(errorCode(await server.gql(REVOKE, { id: accessToken.id }, session))).toBe(ErrorCode.NOT_FOUND);
      });
    }

    it("someone else's token: not listed, and revoking it answers NOT_FOUND like a missing one; admins list and revoke it", async () => {
      const lead = await server.login(PEOPLE.BU_LEADER);
      const viewer = await server.login(PEOPLE.VIEWER);
      const admin = await server.login(PEOPLE.ADMIN);
      const { accessToken } = (await server.gql(CREATE, { name: 'lead only', scopes: ['WRITE'] }, lead)).data.createAccessToken;
      expect(accessToken.scopes).toEqual(['READ', 'WRITE']);
      expect((await server.gql(LIST, {}, viewer)).data.accessTokens.map((t: { id: string }) => t.id)).not.toContain(accessToken.id);
      expect(errorCode(await server.gql(REVOKE, { id: accessToken.id }, viewer))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(REVOKE, { id: '00000000-0000-4000-8000-000000000000' }, viewer))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(REVOKE, { id: 'not-an-id' }, viewer))).toBe(ErrorCode.NOT_FOUND);
      const all = (await server.gql(LIST, {}, admin)).data.accessTokens;
      expect(all.find((t: { id: string }) => t.id === accessToken.id)?.owner.email).toBe(PEOPLE.BU_LEADER);
      expect((await server.gql(REVOKE, { id: accessToken.id }, admin)).data.revokeAccessToken).toBe(true);
      const [row] = await server.sql('SELECT revoked_at IS NOT NULL AS revoked FROM access_token WHERE id = $1', [accessToken.id]);
      expect(row.revoked).toBe(true);
    });

    it('bad input: BAD_USER_INPUT, nothing stored', async () => {
      const session = await server.login(PEOPLE.ANALYST);
      const before = await server.sql('SELECT count(*)::int AS n FROM access_token');
      for (const vars of [
        { name: '  ', scopes: ['READ'] },
        { name: 'x'.repeat(101), scopes: ['READ'] },
        { name: 'ok', scopes: [] },
        { name: 'ok', scopes: ['READ'], days: 0 },
        { name: 'ok', scopes: ['READ'], days: 366 },
      ]) {
        expect(errorCode(await server.gql(CREATE, vars, session))).toBe(ErrorCode.BAD_USER_INPUT);
      }
      expect(await server.sql('SELECT count(*)::int AS n FROM access_token')).toEqual(before);
      // Left out, the expiry is 90 days.
      const made = (await server.gql(CREATE, { name: 'default expiry', scopes: ['READ'] }, session)).data.createAccessToken.accessToken;
      expect(new Date(made.expiresAt).getTime() - new Date(made.createdAt).getTime()).toBe(90 * 24 * 3600 * 1000);
    });

    it('a token cannot make tokens or service accounts (FORBIDDEN), even a WRITE token of an admin', async () => {
      const admin = await server.login(PEOPLE.ADMIN);
      const { token } = (await server.gql(CREATE, { name: 'admin write', scopes: ['WRITE'] }, admin)).data.createAccessToken;
      expect(errorCode(await server.gql(CREATE, { name: 'minted', scopes: ['READ'] }, token))).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'minted', role: 'VIEWER' }, token))).toBe(ErrorCode.FORBIDDEN);
      expect(await server.sql("SELECT count(*)::int AS n FROM access_token WHERE name = 'minted'")).toEqual([{ n: 0 }]);
    });

    it('a token cannot turn two-factor sign-in on or off (FORBIDDEN), even a WRITE token: the person, signed in, can', async () => {
      const email = 'planner.finance@example.com';
      const session = await server.login(email);
      const { token } = (await server.gql(CREATE, { name: 'planner write', scopes: ['WRITE'] }, session)).data.createAccessToken;
      const BEGIN = 'mutation { beginTotpEnrollment { secret } }';
      const CONFIRM = 'mutation($c: String!) { confirmTotpEnrollment(code: $c) }';
      const DISABLE = 'mutation($c: String!) { disableTotp(code: $c) }';
      expect(errorCode(await server.gql(BEGIN, {}, token))).toBe(ErrorCode.FORBIDDEN);
      // Even with an enrolment waiting and the right code of its secret: the token cannot confirm it.
      const { secret } = (await server.gql(BEGIN, {}, session)).data.beginTotpEnrollment;
      const nowSeconds = () => Math.floor(Date.now() / 1000);
      const code = () => generate({ secret, epoch: nowSeconds() });
      expect(errorCode(await server.gql(CONFIRM, { c: await code() }, token))).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(DISABLE, { c: await code() }, token))).toBe(ErrorCode.FORBIDDEN);
      expect(await server.sql('SELECT totp_enabled_at FROM app_user WHERE email = $1', [email])).toEqual([{ totp_enabled_at: null }]);
      // Signing in with the password alone still works, and the session itself enrols.
      expect(await server.login(email)).toBeTruthy();
      expect((await server.gql(CONFIRM, { c: await code() }, session)).data.confirmTotpEnrollment).toBe(true);
    });

    it('a token cannot change its owner\'s password (FORBIDDEN), even with the right current password: the sessions and the password stay', async () => {
      const email = 'planner.marketing@example.com';
      const session = await server.login(email);
      const { token } = (await server.gql(CREATE, { name: 'planner write', scopes: ['WRITE'] }, session)).data.createAccessToken;
      const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }';
      expect(errorCode(await server.gql(CHANGE, { c: DEMO_PASSWORD, n: 'a-new-password-42' }, token))).toBe(ErrorCode.FORBIDDEN);
      // Nothing changed: the old password signs in, and the session still answers.
      expect(await server.login(email)).toBeTruthy();
      expect((await server.gql('{ me { email } }', {}, session)).data.me.email).toBe(email);
    });

    it('needs a sign-in: UNAUTHENTICATED without one', async () => {
      expect(errorCode(await server.gql(CREATE, { name: 'x', scopes: ['READ'] }))).toBe(ErrorCode.UNAUTHENTICATED);
      expect(errorCode(await server.gql(LIST))).toBe(ErrorCode.UNAUTHENTICATED);
      expect(errorCode(await server.gql(REVOKE, { id: 'x' }))).toBe(ErrorCode.UNAUTHENTICATED);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'x', role: 'VIEWER' }))).toBe(ErrorCode.UNAUTHENTICATED);
    });
  });

  describe('service accounts', () => {
    it('admins make one (kind SERVICE, no sign-in) and a token for it, which works with its role and units', async () => {
      const admin = await server.login(PEOPLE.ADMIN);
      const made = await server.gql(CREATE_SA, { name: 'Nightly export', role: 'VIEWER', units: ['SALES_NORTH'] }, admin);
      expect(made.errors).toBeUndefined();
      const account = made.data.createServiceAccount;
      expect(account).toMatchObject({ kind: 'SERVICE', role: 'VIEWER', businessUnits: [{ code: 'SALES_NORTH' }] });
      // No sign-in, even with a password set behind our back: refused like a wrong one.
      const [{ hash }] = await server.sql("SELECT password_hash AS hash FROM app_user WHERE email = 'admin@example.com'");
      await server.sql('UPDATE app_user SET password_hash = $2 WHERE id = $1', [account.id, hash]);
      expect(errorCode(await server.gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: account.email, p: DEMO_PASSWORD })))
        .toBe(ErrorCode.UNAUTHENTICATED);
      await server.sql('UPDATE app_user SET password_hash = NULL WHERE id = $1', [account.id]);

      const created = await server.gql(CREATE, { name: 'nightly', scopes: ['READ'], sa: account.id }, admin);
      expect(created.errors).toBeUndefined();
      const { token, accessToken } = created.data.createAccessToken;
      expect(accessToken.owner.email).toBe(account.email);
      expect((await server.gql(ME, {}, token)).data.me.email).toBe(account.email);
      // Its role and units apply: a VIEWER of SALES_NORTH reads that unit's lines only.
      const plans = await server.gql('{ budgetPlans { id } }', {}, token);
      const planId = plans.data.budgetPlans[0].id;
      expect((await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data.budgetLines.length).toBeGreaterThan(0);
      expect(errorCode(await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_SOUTH") { id } }', { p: planId }, token))).toBe(ErrorCode.FORBIDDEN);

      const activity = await server.sql(
        "SELECT action, subject FROM activity_entry WHERE action IN ('SERVICE_ACCOUNT_CREATED', 'ACCESS_TOKEN_CREATED') AND (subject = $1 OR subject = 'nightly') ORDER BY id",
        [account.email],
      );
      expect(activity).toEqual([{ action: 'SERVICE_ACCOUNT_CREATED', subject: account.email }, { action: 'ACCESS_TOKEN_CREATED', subject: 'nightly' }]);
    });

    it('everyone else: FORBIDDEN to make one, or a token for one; an unknown or a person\'s id: NOT_FOUND for admins', async () => {
      const admin = await server.login(PEOPLE.ADMIN);
      const account = (await server.gql(CREATE_SA, { name: 'Other', role: 'ANALYST' }, admin)).data.createServiceAccount;
      for (const [role, email] of Object.entries(PEOPLE)) {
        if (role === 'ADMIN') continue;
        const session = await server.login(email);
        expect(errorCode(await server.gql(CREATE_SA, { name: 'mine', role: 'VIEWER' }, session))).toBe(ErrorCode.FORBIDDEN);
        expect(errorCode(await server.gql(CREATE, { name: 'for sa', scopes: ['READ'], sa: account.id }, session))).toBe(ErrorCode.FORBIDDEN);
      }
      const [person] = await server.sql("SELECT id FROM app_user WHERE email = 'analyst@example.com'");
      expect(errorCode(await server.gql(CREATE, { name: 'for a person', scopes: ['READ'], sa: person.id }, admin))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(CREATE, { name: 'for nobody', scopes: ['READ'], sa: 'nope' }, admin))).toBe(ErrorCode.NOT_FOUND);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'p', role: 'PARTNER_USER' }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'u', role: 'VIEWER', units: ['NO_SUCH_UNIT'] }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
      expect(await server.sql("SELECT count(*)::int AS n FROM app_user WHERE display_name IN ('mine', 'p', 'u')")).toEqual([{ n: 0 }]);
    });
  });

  describe('on every surface', () => {
    it('is never stored in clear; its last use is recorded; creation and revocation are in the activity log', async () => {
      const session = await server.login(PEOPLE.ANALYST);
      const { token, accessToken } = (await server.gql(CREATE, { name: 'stored', scopes: ['READ'] }, session)).data.createAccessToken;
      const [row] = await server.sql('SELECT * FROM access_token WHERE id = $1', [accessToken.id]);
      expect(JSON.stringify(row)).not.toContain(token);
      expect(JSON.stringify(row)).not.toContain(token.slice(4));
      expect(row.token_hash).toBe(hashAccessToken(token));
      expect(row.last_used_at).toBeNull();
      await server.gql(ME, {}, token);
      const [used] = await server.sql('SELECT last_used_at FROM access_token WHERE id = $1', [accessToken.id]);
      expect(used.last_used_at).not.toBeNull();
      expect((await server.gql(LIST, {}, session)).data.accessTokens.length).toBeGreaterThan(0);
      // A second use within the minute writes nothing.
      await server.gql(ME, {}, token);
      const [again] = await server.sql('SELECT last_used_at FROM access_token WHERE id = $1', [accessToken.id]);
      expect(again.last_used_at).toEqual(used.last_used_at);
      await server.gql(REVOKE, { id: accessToken.id }, session);
      const entries = await server.sql(
        "SELECT action, subject, actor_email, details->>'tokenId' AS token_id FROM activity_entry WHERE details->>'tokenId' = $1 ORDER BY id",
        [accessToken.id],
      );
      expect(entries).toEqual([
        { action: 'ACCESS_TOKEN_CREATED', subject: 'stored', actor_email: PEOPLE.ANALYST, token_id: accessToken.id },
        { action: 'ACCESS_TOKEN_REVOKED', subject: 'stored', actor_email: PEOPLE.ANALYST, token_id: accessToken.id },
      ]);
    });

    it('grid ?token= with the stock client: a READ token is read-only, a leader\'s WRITE token edits', async () => {
      const lead = await server.login(PEOPLE.BU_LEADER);
      const read = (await server.gql(CREATE, { name: 'grid read', scopes: ['READ'] }, lead)).data.createAccessToken.token;
      const write = (await server.gql(CREATE, { name: 'grid write', scopes: ['WRITE'] }, lead)).data.createAccessToken.token;
      const planId = docName.split(':')[1];
      const lines = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, lead)).data.budgetLines;
      const witness = connectGrid(server.url, docName, lead);
      const reader = connectGrid(server.url, docName, read);
      const writer = connectGrid(server.url, docName, write);
      try {
        await Promise.all([synced(witness), synced(reader), synced(writer)]);
        expect(await editDropped(reader, witness, `${lines[0].id}/budgetAmount`, 4242)).toBe(true);
        expect(await editDropped(writer, witness, `${lines[0].id}/budgetAmount`, 4343)).toBe(false);
      } finally {
        witness.destroy();
        reader.destroy();
        writer.destroy();
      }
    });

    it('revocation closes open graphql-ws and grid sockets with CloseCode.Unauthorized; other tokens carry on', async () => {
      const lead = await server.login(PEOPLE.BU_LEADER);
      const doomed = (await server.gql(CREATE, { name: 'doomed', scopes: ['WRITE'] }, lead)).data.createAccessToken;
      const kept = (await server.gql(CREATE, { name: 'kept', scopes: ['READ'] }, lead)).data.createAccessToken;
      const ws = await graphqlSocket(server, doomed.token);
      const grid = await gridSocket(server, docName, doomed.token);
      const keptWs = await graphqlSocket(server, kept.token);
      expect([ws.first, grid.first, keptWs.first]).toEqual(['connection_ack', 'message', 'connection_ack']);
      await server.gql(REVOKE, { id: doomed.accessToken.id }, lead);
      expect(await ws.closed).toBe(CloseCode.Unauthorized);
      expect(await grid.closed).toBe(CloseCode.Unauthorized);
      expect(errorCode(await server.gql(ME, {}, doomed.token))).toBe(ErrorCode.UNAUTHENTICATED);
      expect((await graphqlSocket(server, doomed.token)).first).toBe(`closed ${CloseCode.Unauthorized}`);
      expect(keptWs.socket.readyState).toBe(keptWs.socket.OPEN);
      keptWs.socket.close();
    });

    it('signOut with a WRITE token revokes it (activity entry), and closes its sockets', async () => {
      const session = await server.login(PEOPLE.ANALYST);
      const { token, accessToken } = (await server.gql(CREATE, { name: 'signs out', scopes: ['WRITE'] }, session)).data.createAccessToken;
      const ws = await graphqlSocket(server, token);
      expect(ws.first).toBe('connection_ack');
      expect((await server.gql('mutation { signOut }', {}, token)).data.signOut).toBe(true);
      expect(await ws.closed).toBe(CloseCode.Unauthorized);
      expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
      const entries = await server.sql("SELECT action, subject, actor_email FROM activity_entry WHERE details->>'tokenId' = $1 ORDER BY id", [accessToken.id]);
      expect(entries.map((e: { action: string }) => e.action)).toEqual(['ACCESS_TOKEN_CREATED', 'ACCESS_TOKEN_REVOKED']);
      expect(entries[1]).toMatchObject({ subject: 'signs out', actor_email: PEOPLE.ANALYST });
    });

    it('a READ token over graphql-ws: mutations FORBIDDEN there too', async () => {
      const session = await server.login(PEOPLE.ADMIN);
      const { token } = (await server.gql(CREATE, { name: 'ws read', scopes: ['READ'] }, session)).data.createAccessToken;
      const { socket } = await graphqlSocket(server, token);
      const answer = new Promise<any>((resolve) =>
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.type === 'next') resolve(message.payload);
        }),
      );
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'mutation { signOut }' } }));
      expect((await answer).errors[0].extensions.code).toBe(ErrorCode.FORBIDDEN);
      socket.close();
    });

    it("a deactivated owner's tokens are refused at once, their sockets closed, and stay ended after a reactivation", async () => {
      const admin = await server.login(PEOPLE.ADMIN);
      const email = 'planner.sales-north@example.com';
      const session = await server.login(email);
      const { token } = (await server.gql(CREATE, { name: 'planner', scopes: ['WRITE'] }, session)).data.createAccessToken;
      const ws = await graphqlSocket(server, token);
      expect(ws.first).toBe('connection_ack');
      const [{ id }] = await server.sql('SELECT id FROM app_user WHERE email = $1', [email]);
      expect((await server.gql('mutation($u: ID!) { deactivateUser(userId: $u) { active } }', { u: id }, admin)).errors).toBeUndefined();
      expect(await ws.closed).toBe(CloseCode.Unauthorized);
      expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
      await server.gql('mutation($u: ID!) { reactivateUser(userId: $u) { active } }', { u: id }, admin);
      expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    });
  });

  it('holds at most 25 tokens in use per person (each has a rate limit of its own): the 26th is refused, at once or made together; a revoked or expired one frees its place', async () => {
    const person = PEOPLE.VIEWER;
    const session = await server.login(person);
    const revokeAll = () =>
      server.sql('UPDATE access_token SET revoked_at = now() WHERE owner_id = (SELECT id FROM app_user WHERE email = $1) AND revoked_at IS NULL', [person]);
    await revokeAll(); // what the tests above made for this person
    const made: string[] = [];
    // Two at a time, so that a creation racing another cannot slip past the bound.
    while (made.length < 24) {
      const pair = await Promise.all([0, 1].map((i) => server.gql(CREATE, { name: `many ${made.length + i}`, scopes: ['READ'] }, session)));
      for (const r of pair) {
        expect(r.errors).toBeUndefined();
        made.push(r.data.createAccessToken.accessToken.id);
      }
    }
    const race = await Promise.all([0, 1].map((i) => server.gql(CREATE, { name: `race ${i}`, scopes: ['READ'] }, session)));
    expect(race.filter((r) => !r.errors)).toHaveLength(1);
    const refused = race.find((r) => r.errors)!;
    expect(errorCode(refused)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(refused.errors![0].message).toBe('You have 25 access tokens in use, the most one may hold: revoke one no longer needed first');
    made.push(race.find((r) => !r.errors)!.data.createAccessToken.accessToken.id);
    // Revoked: its place is free again.
    expect((await server.gql(REVOKE, { id: made[0] }, session)).data.revokeAccessToken).toBe(true);
    const again = await server.gql(CREATE, { name: 'after revoking', scopes: ['READ'] }, session);
    expect(again.errors).toBeUndefined();
    expect(errorCode(await server.gql(CREATE, { name: 'one too many', scopes: ['READ'] }, session))).toBe(ErrorCode.BAD_USER_INPUT);
    // Expired: not in use.
    await server.sql("UPDATE access_token SET expires_at = now() - interval '1 minute' WHERE id = $1", [made[1]]);
    expect((await server.gql(CREATE, { name: 'after one expired', scopes: ['READ'] }, session)).errors).toBeUndefined();
    // Another person is not held back by this one's tokens.
    expect((await server.gql(CREATE, { name: 'someone else', scopes: ['READ'] }, await server.login(PEOPLE.ANALYST))).errors).toBeUndefined();
    await revokeAll();
  });
});

const reachable = await redisReachable(LOCAL_REDIS_URL);

describe.skipIf(!reachable)('access tokens with two instances behind one proxy', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL);
  });
  afterAll(() => destroyInstances([a, b].filter(Boolean)));

  it('revoking on one instance closes the sockets on the other (CloseCode.Unauthorized), which refuses it at once', async () => {
    const session = await a.login('lead.sales-north@example.com');
    const { token, accessToken } = (await a.gql(CREATE, { name: 'two instances', scopes: ['WRITE'] }, session)).data.createAccessToken;
    const plans = await b.gql('{ budgetPlans { id } }', {}, token);
    const docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
    const onB = await graphqlSocket(b, token);
    const gridOnB = await gridSocket(b, docName, token);
    expect([onB.first, gridOnB.first]).toEqual(['connection_ack', 'message']);
    expect((await a.gql(REVOKE, { id: accessToken.id }, session)).data.revokeAccessToken).toBe(true);
    expect(await onB.closed).toBe(CloseCode.Unauthorized);
    expect(await gridOnB.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await b.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
  });
});
