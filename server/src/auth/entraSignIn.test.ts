/**
 * Microsoft Entra ID, end to end against a local fake of the authority: the browser sign-in (authorization
 * code + PKCE through msal-node) and Entra access tokens as bearer tokens.
 *
 * The server under test runs as a child process (see testing/childServer.ts) so that it can trust the fake's
 * self-signed certificate through NODE_EXTRA_CA_CERTS, as a production server trusts a corporate CA: the
 * server code has no test switch. Its database is a real, fresh PostgreSQL database.
 */
import { randomUUID } from 'node:crypto';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority, type FakeEntraUser } from '../testing/fakeEntraAuthority.js';
import { errorCode, startTestServer } from '../testing/harness.js';
import { graphqlSocket } from '../testing/sessionSockets.js';
import { CloseCode } from '../../../schema/codes.js';

const ADMINS = randomUUID();
const ANALYSTS = randomUUID();
/** The public address, as behind a proxy: the tests call the callback on the server directly. */
const REDIRECT_URI = 'https://plansync.example/auth/microsoft/callback';
const ME = '{ me { id email displayName role } }';

let fake: FakeEntraAuthority;
let server: ChildServer;

beforeAll(async () => {
  fake = await startFakeEntraAuthority();
  server = await startChildServer({
    ...fake.env(REDIRECT_URI, { [ADMINS]: 'ADMIN', [ANALYSTS]: 'ANALYST' }),
    NODE_EXTRA_CA_CERTS: fake.caFile,
    SEED_DEMO: 'false',
  });
});

afterAll(async () => {
  await server?.stop();
  await fake?.close();
});

function person(overrides: Partial<FakeEntraUser> = {}): FakeEntraUser {
  const id = randomUUID();
  return { oid: id, email: `p-${id.slice(0, 8)}@contoso.example`, name: 'Pat Example', groups: [], ...overrides };
}

/** GET without following redirects, as a test of where the server sends the browser. */
async function get(pathAndQuery: string, cookie?: string) {
  const res = await fetch(`${server.url}${pathAndQuery}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, location: res.headers.get('location') ?? '', setCookie: res.headers.getSetCookie() };
}

/** Starts a sign-in: the authorize URL and the cookie the browser would keep. */
async function startSignIn() {
  const res = await get('/auth/microsoft/login');
  expect(res.status).toBe(302);
  const cookie = res.setCookie.find((c) => c.startsWith('plansync_entra_sign_in='));
  expect(cookie).toBeDefined();
  return { authorizeUrl: new URL(res.location), cookie: cookie!.split(';')[0], setCookie: cookie! };
}

/** The whole browser round trip for one person; returns where the callback sends the browser. */
async function signIn(who: FakeEntraUser) {
  const { authorizeUrl, cookie } = await startSignIn();
  fake.signInAs(who);
  const back = await fake.authorize(authorizeUrl.toString());
  return get(`${back.pathname}${back.search}`, cookie);
}

function tokenFrom(location: string): string {
  const match = /^\/#token=(.+)$/.exec(location);
  if (!match) throw new Error(`expected a token redirect, got ${location}`);
  return decodeURIComponent(match[1]);
}

describe('Entra sign-in in the browser', () => {
  it('tells the client the Microsoft button is available', async () => {
    const res = await fetch(`${server.url}/auth/config`);
    expect(await res.json()).toEqual({ microsoft: true });
  });

  it('signs a person in through authorization code + PKCE and maps their group to a role', async () => {
    const { authorizeUrl, setCookie } = await startSignIn();
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${fake.host}/${fake.tenantId}/oauth2/v2.0/authorize`);
    const q = authorizeUrl.searchParams;
    expect(q.get('client_id')).toBe(fake.clientId);
    expect(q.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toBeTruthy();
    expect(q.get('nonce')).toBeTruthy();
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Max-Age=600/i);
    expect(setCookie).toMatch(/Secure/i); // the redirect URI is https
    // The cookie's token is signed by Plansync but for another audience: never an access token.
    const cookieToken = setCookie.split(';')[0].split('=')[1];
    expect(errorCode(await server.gql(ME, {}, cookieToken))).toBe('UNAUTHENTICATED');

    const ada = person({ name: 'Ada Admin', groups: [ADMINS, randomUUID()] });
    const res = await signIn(ada);
    expect(res.status).toBe(302);
    // The one-time cookie is cleared on the way back.
    expect(res.setCookie.some((c) => /^plansync_entra_sign_in=;/.test(c))).toBe(true);
    const token = tokenFrom(res.location);

    const me = await server.gql(ME, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ email: ada.email, displayName: 'Ada Admin', role: 'ADMIN' });
    const [row] = await server.sql('SELECT entra_object_id FROM app_user WHERE id = $1', [me.data.me.id]);
    expect(row.entra_object_id).toBe(ada.oid);

    const events = await server.sql('SELECT method, success, email, user_id FROM sign_in_event WHERE user_id = $1', [me.data.me.id]);
    expect(events).toEqual([{ method: 'ENTRA_ID', success: true, email: ada.email, user_id: me.data.me.id }]);
  });

  it('gives VIEWER to a person whose groups are not mapped', async () => {
    const res = await signIn(person({ groups: [randomUUID(), randomUUID()] }));
    const me = await server.gql(ME, {}, tokenFrom(res.location));
    expect(me.data.me.role).toBe('VIEWER');
  });

  it('updates the same user on a second sign-in, found by object id', async () => {
    const bea = person({ name: 'Bea Before', groups: [ANALYSTS] });
    const first = await server.gql(ME, {}, tokenFrom((await signIn(bea)).location));
    expect(first.data.me.role).toBe('ANALYST');
    const [{ count: usersBefore }] = await server.sql('SELECT count(*)::int AS count FROM app_user');

    const second = await server.gql(ME, {}, tokenFrom((await signIn({ ...bea, name: 'Bea After', groups: [ADMINS] })).location));
    expect(second.data.me).toMatchObject({ id: first.data.me.id, displayName: 'Bea After', role: 'ADMIN' });
    const [{ count: usersAfter }] = await server.sql('SELECT count(*)::int AS count FROM app_user');
    expect(usersAfter).toBe(usersBefore);
    expect(await server.sql('SELECT id FROM app_user WHERE entra_object_id = $1', [bea.oid])).toHaveLength(1);
  });

  it('refuses a callback whose state does not match the cookie, and logs why', async () => {
    const { authorizeUrl, cookie } = await startSignIn();
    const who = person();
    fake.signInAs(who);
    const back = await fake.authorize(authorizeUrl.toString());
    back.searchParams.set('state', 'forged');
    const res = await get(`${back.pathname}${back.search}`, cookie);
    expect(res.status).toBe(302);
    expect(res.location).toBe('/#signInError=invalid_state');
    expect(await server.sql('SELECT id FROM app_user WHERE entra_object_id = $1', [who.oid])).toHaveLength(0);
    const logged = await server.waitForLog((l) => l.msg === 'Entra sign-in failed' && l.signInError === 'invalid_state');
    expect(logged.level).toBe(40); // warn, and no stack page for the browser
  });

  it('refuses a callback without the cookie, or with a tampered one', async () => {
    const { authorizeUrl, cookie } = await startSignIn();
    fake.signInAs(person());
    const back = await fake.authorize(authorizeUrl.toString());
    const callback = `${back.pathname}${back.search}`;
    expect((await get(callback)).location).toBe('/#signInError=invalid_state');
    const [name, jwt] = cookie.split('=');
    const [header, payload, signature] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, state: 'mine' })).toString('base64url');
    expect((await get(`${back.pathname}?code=x&state=mine`, `${name}=${header}.${forged}.${signature}`)).location).toBe(
      '/#signInError=invalid_state',
    );
  });

  it('refuses a code issued to another sign-in (PKCE binds the code to its own browser)', async () => {
    const mine = await startSignIn();
    const theirs = await startSignIn();
    fake.signInAs(person());
    const stolen = await fake.authorize(theirs.authorizeUrl.toString());
    const res = await get(
      `/auth/microsoft/callback?code=${encodeURIComponent(stolen.searchParams.get('code')!)}&state=${encodeURIComponent(mine.authorizeUrl.searchParams.get('state')!)}`,
      mine.cookie,
    );
    expect(res.location).toBe('/#signInError=token_exchange_failed');
    // ...and for that reason: the authority found that this browser's verifier does not fit the code.
    await server.waitForLog((l) => l.signInError === 'token_exchange_failed' && /AADSTS50148/.test(l.err?.message));
  });

  it('reports a person who declines at Microsoft', async () => {
    const { authorizeUrl, cookie } = await startSignIn();
    const state = encodeURIComponent(authorizeUrl.searchParams.get('state')!);
    const res = await get(`/auth/microsoft/callback?error=access_denied&error_description=AADSTS65004&state=${state}`, cookie);
    expect(res.location).toBe('/#signInError=access_denied');
  });

  it('answers 404 with JSON when Entra is not configured', async () => {
    const plain = await startTestServer();
    try {
      expect(await (await fetch(`${plain.url}/auth/config`)).json()).toEqual({ microsoft: false });
      for (const route of ['/auth/microsoft/login', '/auth/microsoft/callback']) {
        const res = await fetch(`${plain.url}${route}`, { redirect: 'manual' });
        expect(res.status).toBe(404);
        const body = (await res.json()) as { errors: { message: string }[] };
        expect(body.errors[0].message).toMatch(/not configured/);
      }
    } finally {
      await plain.stop();
    }
  });
});

describe('Entra identities and existing accounts', () => {
  // Entra's username claims do not prove that someone owns an address: a look-alike identity must never
  // take over a password account by its email.
  it('refuses to link an Entra identity to a password account with the same email, in the browser and as a bearer', async () => {
    const email = `owner-${randomUUID().slice(0, 8)}@contoso.example`;
    await server.sql(
      `INSERT INTO app_user (id, email, display_name, role, password_hash) VALUES ($1, $2, 'Owner', 'ADMIN', '$argon2id$placeholder')`,
      [randomUUID(), email],
    );
    const impostor = person({ email, groups: [] });
    expect((await signIn(impostor)).location).toBe('/#signInError=account_conflict');
    const me = await server.gql(ME, {}, await fake.accessToken(impostor));
    expect(errorCode(me)).toBe('UNAUTHENTICATED');
    const rows = await server.sql('SELECT entra_object_id, role FROM app_user WHERE email = $1', [email]);
    expect(rows).toEqual([{ entra_object_id: null, role: 'ADMIN' }]);
  });

  it('links a pre-provisioned account (no password, no Entra id) on first sign-in, and follows email changes', async () => {
    const email = `pre-${randomUUID().slice(0, 8)}@contoso.example`;
    const id = randomUUID();
    await server.sql(`INSERT INTO app_user (id, email, display_name, role) VALUES ($1, $2, 'Pre', 'VIEWER')`, [id, email]);
    const who = person({ email, groups: [ANALYSTS] });
    const me = await server.gql(ME, {}, tokenFrom((await signIn(who)).location));
    expect(me.data.me).toMatchObject({ id, email, role: 'ANALYST' });
    const renamed = { ...who, email: `renamed-${randomUUID().slice(0, 8)}@contoso.example` };
    const again = await server.gql(ME, {}, tokenFrom((await signIn(renamed)).location));
    expect(again.data.me).toMatchObject({ id, email: renamed.email });
  });
});

describe('Entra access tokens as bearer tokens', () => {
  it('accepts a valid one, creating the user with the mapped role', async () => {
    const cy = person({ name: 'Cy Bearer', groups: [ANALYSTS] });
    const me = await server.gql(ME, {}, await fake.accessToken(cy));
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ email: cy.email, displayName: 'Cy Bearer', role: 'ANALYST' });
  });

  it("refuses a deactivated person's tokens, and those issued before an admin ended their tokens (resetPassword)", async () => {
    const boss = await fake.accessToken(person({ groups: [ADMINS] }));
    const pat = person();
    const before = await fake.accessToken(pat, { claims: { iat: now() - 60 } });
    const me = await server.gql(ME, {}, before);
    expect(me.errors).toBeUndefined();
    const id = me.data.me.id;
    expect((await server.gql('mutation($id: ID!) { resetPassword(userId: $id) { expiresAt } }', { id }, boss)).errors).toBeUndefined();
    expect(errorCode(await server.gql(ME, {}, before))).toBe('UNAUTHENTICATED');
    const after = await fake.accessToken(pat, { claims: { iat: now() + 1 } });
    expect((await server.gql(ME, {}, after)).data.me.id).toBe(id);
    expect((await server.gql('mutation($id: ID!) { deactivateUser(userId: $id) { active } }', { id }, boss)).errors).toBeUndefined();
    expect(errorCode(await server.gql(ME, {}, after))).toBe('UNAUTHENTICATED');
    expect(errorCode(await server.gql(ME, {}, await fake.accessToken(pat, { claims: { iat: now() + 2 } })))).toBe('UNAUTHENTICATED');
  });

  it('accepts the api:// form of the audience', async () => {
    const me = await server.gql(ME, {}, await fake.accessToken(person(), { claims: { aud: `api://${fake.clientId}` } }));
    expect(me.errors).toBeUndefined();
  });

  it("accepts this API's scope among others", async () => {
    const me = await server.gql(ME, {}, await fake.accessToken(person(), { claims: { scp: 'User.Read access_as_user offline_access' } }));
    expect(me.errors).toBeUndefined();
  });

  // Each token differs from a valid one (the tests above) in one way only.
  const now = () => Math.floor(Date.now() / 1000);
  const rejected: [string, (who: FakeEntraUser) => Promise<string>][] = [
    ['for another audience', (who) => fake.accessToken(who, { claims: { aud: randomUUID() } })],
    ['from another issuer', (who) => fake.accessToken(who, { claims: { iss: `${fake.host}/${randomUUID()}/v2.0` } })],
    ['from another tenant on the right issuer', (who) => fake.accessToken(who, { claims: { tid: randomUUID() } })],
    ['that has expired', (who) => fake.accessToken(who, { claims: { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 } })],
    [
      'signed by a key not in the JWKS (under the JWKS key id)',
      async (who) => fake.accessToken(who, { signWith: (await generateKeyPair('RS256')).privateKey }),
    ],
    ['with alg none', (who) => fake.accessToken(who, { unsigned: true })],
    // Same issuer, audience and signature, but not an access token for this API on behalf of a person.
    ['that is an ID token (no scp: what the browser sign-in gets, never a bearer)', (who) =>
      fake.accessToken(who, { claims: { scp: undefined, nonce: 'n-0S6_WzA2Mj' } })],
    ['granting another scope of the app only', (who) => fake.accessToken(who, { claims: { scp: 'User.Read' } })],
    ['whose scope only looks like this API\'s', (who) => fake.accessToken(who, { claims: { scp: 'access_as_user_admin' } })],
    // App-only tokens speak for a service account linked to their app (entraAppTokens.test.ts), never for a
    // person: one of an app linked to no account, with a role that would grant everything, is refused.
    ['that is app-only (roles, idtyp app, no scp) of an app linked to no service account', (who) =>
      fake.accessToken(who, { claims: { scp: undefined, roles: ['Plansync.ReadWrite'], idtyp: 'app', azp: randomUUID(), appid: randomUUID() } })],
    ['that is app-only even with a scope claim', (who) =>
      fake.accessToken(who, { claims: { idtyp: 'app', roles: ['Plansync.ReadWrite'], azp: randomUUID() } })],
  ];
  it.each(rejected)('rejects a token %s', async (_what, mint) => {
    const who = person({ groups: [ADMINS] });
    const me = await server.gql(ME, {}, await mint(who));
    expect(me.data).toBeFalsy();
    expect(errorCode(me)).toBe('UNAUTHENTICATED');
    expect(await server.sql('SELECT id FROM app_user WHERE entra_object_id = $1', [who.oid])).toHaveLength(0);
  });
});

describe('Entra people waiting for access', () => {
  const WAITING = '{ usersAwaitingAccess { id email role awaitingAccess businessUnits { code } } }';
  const ME_WAITING = '{ me { id role awaitingAccess businessUnits { code } } }';
  let admin: string;

  beforeAll(async () => {
    admin = tokenFrom((await signIn(person({ name: 'Wes Admin', groups: [ADMINS] }))).location);
  });

  it('marks a new person whose groups map to no role, lists them for admins, and clears it when an admin gives them access', async () => {
    const newcomer = person({ name: 'Nia Newcomer', groups: [randomUUID()] });
    const token = tokenFrom((await signIn(newcomer)).location);
    const me = await server.gql(ME_WAITING, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ role: 'VIEWER', awaitingAccess: true, businessUnits: [] });

    const waiting = await server.gql(WAITING, {}, admin);
    expect(waiting.errors).toBeUndefined();
    expect(waiting.data.usersAwaitingAccess).toContainEqual({ id: me.data.me.id, email: newcomer.email, role: 'VIEWER', awaitingAccess: true, businessUnits: [] });
    // Those who got a role from their groups never wait.
    const emails = waiting.data.usersAwaitingAccess.map((u: { email: string }) => u.email);
    expect(emails).not.toContain((await server.gql('{ me { email } }', {}, admin)).data.me.email);
    expect(waiting.data.usersAwaitingAccess.every((u: { awaitingAccess: boolean }) => u.awaitingAccess)).toBe(true);

    // Their Microsoft sign-in is in the log, under its method.
    const log = await server.gql('query($e: String) { signInEvents(email: $e, method: ENTRA_ID) { email method success } }', { e: newcomer.email }, admin);
    expect(log.data.signInEvents).toEqual([{ email: newcomer.email, method: 'ENTRA_ID', success: true }]);
    expect((await server.gql('query($e: String) { signInEvents(email: $e, method: PASSWORD) { id } }', { e: newcomer.email }, admin)).data.signInEvents).toEqual([]);

    await server.gql('mutation { createBusinessUnit(code: "WAITING_ROOM", name: "Waiting room") { code } }', {}, admin);
    const given = await server.gql(
      'mutation($id: ID!) { setUserAccess(userId: $id, role: BU_LEADER, businessUnitCodes: ["WAITING_ROOM"]) { role awaitingAccess } }',
      { id: me.data.me.id },
      admin,
    );
    expect(given.errors).toBeUndefined();
    expect(given.data.setUserAccess).toEqual({ role: 'BU_LEADER', awaitingAccess: false });
    const after = await server.gql(WAITING, {}, admin);
    expect(after.data.usersAwaitingAccess.map((u: { id: string }) => u.id)).not.toContain(me.data.me.id);

    // Their next Microsoft sign-in, with the same unmapped groups, leaves the access the admin gave.
    const again = await server.gql(ME_WAITING, {}, tokenFrom((await signIn(newcomer)).location));
    expect(again.data.me).toEqual({ id: me.data.me.id, role: 'BU_LEADER', awaitingAccess: false, businessUnits: [{ code: 'WAITING_ROOM' }] });
  });

  it('takes back a role the groups gave once the person is in no mapped group any more', async () => {
    const leaving = person({ name: 'Lee Leaving', groups: [ANALYSTS] });
    const first = await server.gql(ME_WAITING, {}, tokenFrom((await signIn(leaving)).location));
    expect(first.data.me).toMatchObject({ role: 'ANALYST', awaitingAccess: false });
    const second = await server.gql(ME_WAITING, {}, tokenFrom((await signIn({ ...leaving, groups: [randomUUID()] })).location));
    expect(second.data.me).toMatchObject({ id: first.data.me.id, role: 'VIEWER' });
    const promoted = await server.gql(ME_WAITING, {}, tokenFrom((await signIn({ ...leaving, groups: [ADMINS] })).location));
    expect(promoted.data.me.role).toBe('ADMIN');
    // A token without the groups claim says nothing about them: the role stays.
    const ungrouped = await server.gql(ME_WAITING, {}, tokenFrom((await signIn({ ...leaving, groups: undefined })).location));
    expect(ungrouped.data.me.role).toBe('ADMIN');
  });

  it('a role the groups change is in the activity log, and the person\'s open GraphQL socket follows at once', async () => {
    const ACTIVITY = 'query($s: String) { activityLog(subject: $s) { edges { node { action actor { email } details } } } }';
    const moving = person({ name: 'Mo Moving', groups: [ADMINS] });
    const token = tokenFrom((await signIn(moving)).location);
    const socket = await graphqlSocket(server, token);
    expect(socket.first).toBe('connection_ack');
    // Out of the admins' group, into the analysts': signing in elsewhere demotes them, and the socket opened as
    // an admin must not stay one.
    const again = await server.gql(ME, {}, tokenFrom((await signIn({ ...moving, groups: [ANALYSTS] })).location));
    expect(again.data.me.role).toBe('ANALYST');
    expect(await socket.closed).toBe(CloseCode.Forbidden);

    const log = await server.gql(ACTIVITY, { s: moving.email }, admin);
    expect(log.errors).toBeUndefined();
    expect(log.data.activityLog.edges.map((e: any) => e.node)).toEqual([
      {
        action: 'USER_ACCESS_CHANGED',
        actor: null,
        details: { before: { role: 'ADMIN', businessUnitCodes: [] }, after: { role: 'ANALYST', businessUnitCodes: [] }, from: 'ENTRA_GROUPS' },
      },
      { action: 'USER_CREATED', actor: null, details: { role: 'ADMIN', businessUnitCodes: [], organization: null, from: 'ENTRA_SIGN_IN' } },
    ]);
    // A sign-in that changes nothing writes nothing.
    await signIn({ ...moving, groups: [ANALYSTS] });
    expect((await server.gql(ACTIVITY, { s: moving.email }, admin)).data.activityLog.edges).toHaveLength(2);

    // Deleted, they are refused, and their groups give their row nothing any more.
    expect((await server.gql('mutation($id: ID!) { deleteUser(userId: $id) }', { id: again.data.me.id }, admin)).errors).toBeUndefined();
    expect((await signIn({ ...moving, groups: [ADMINS] })).location).not.toMatch(/^\/#token=/);
    expect(await server.sql('SELECT role FROM app_user WHERE id = $1', [again.data.me.id])).toEqual([{ role: 'ANALYST' }]);
    const after = await server.gql(ACTIVITY, { s: moving.email }, admin);
    expect(after.data.activityLog.edges.map((e: any) => e.node.action)).toEqual(['USER_DELETED', 'USER_ACCESS_CHANGED', 'USER_CREATED']);
  });

  it('clears it when a later sign-in brings a mapped group; a person with no groups claim at all waits too', async () => {
    const late = person({ name: 'Lou Later', groups: [] });
    const first = await server.gql(ME_WAITING, {}, tokenFrom((await signIn(late)).location));
    expect(first.data.me).toMatchObject({ role: 'VIEWER', awaitingAccess: true });
    const second = await server.gql(ME_WAITING, {}, tokenFrom((await signIn({ ...late, groups: [ANALYSTS] })).location));
    expect(second.data.me).toMatchObject({ id: first.data.me.id, role: 'ANALYST', awaitingAccess: false });
    expect((await server.gql(WAITING, {}, admin)).data.usersAwaitingAccess.map((u: { id: string }) => u.id)).not.toContain(first.data.me.id);

    const ungrouped = person({ name: 'Una Ungrouped', groups: undefined });
    const third = await server.gql(ME_WAITING, {}, tokenFrom((await signIn(ungrouped)).location));
    expect(third.data.me).toMatchObject({ role: 'VIEWER', awaitingAccess: true });
  });

  it('is for admins only', async () => {
    const waiter = tokenFrom((await signIn(person({ groups: [randomUUID()] }))).location);
    const analyst = tokenFrom((await signIn(person({ groups: [ANALYSTS] }))).location);
    for (const token of [waiter, analyst]) {
      const denied = await server.gql(WAITING, {}, token);
      expect(errorCode(denied)).toBe('FORBIDDEN');
      expect(denied.data ?? null).toBeNull();
    }
    expect(errorCode(await server.gql(WAITING, {}))).toBe('UNAUTHENTICATED');
    // Every other role's refusal: auth/signInAdmin.test.ts, on the demo people.
  });
});
