/**
 * App-only Entra tokens (client credentials) speaking for a linked service account, end to end: the real
 * server as a child process trusting a local fake of the Entra authority (see entraSignIn.test.ts for why),
 * a fresh database with the demo data, tokens minted by the fake with the claims Entra puts in them, and one
 * fetched from the fake's token endpoint as a script would (the README's curl example).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../testing/fakeEntraAuthority.js';
import { errorCode } from '../testing/harness.js';
import { connectGrid, editDropped, synced } from '../testing/gridClients.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { CloseCode, ErrorCode } from '../../../schema/codes.js';

/** Plansync's own app registration (the API the tokens are for). */
const CLIENT_ID = randomUUID();
const REDIRECT_URI = 'https://plansync.example/auth/microsoft/callback';
const GROUPS = {
  ADMIN: randomUUID(),
  ANALYST: randomUUID(),
  BU_LEADER: randomUUID(),
  VIEWER: randomUUID(),
  PARTNER_ADMIN: randomUUID(),
  PARTNER_USER: randomUUID(),
} as const;

const ME = '{ me { id email role } }';
const CREATE_SA = `mutation($name: String!, $role: Role!, $units: [String!], $app: String) {
  createServiceAccount(name: $name, role: $role, businessUnitCodes: $units, entraAppId: $app) { id email kind entraAppId }
}`;
const LINK = 'mutation($id: ID!, $app: String) { setServiceAccountEntraApp(userId: $id, entraAppId: $app) { id entraAppId } }';
const LINES = 'query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id comment } }';
const UPDATE = 'mutation($id: ID!, $c: String) { updateBudgetLine(id: $id, input: { comment: $c }) { id comment updatedBy { email } } }';

let fake: FakeEntraAuthority;
let server: ChildServer;
let admin: string;
let planId: string;
let lineId: string;

const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  // The fake hands Plansync's own app, through the client credentials grant, the role a script's app would get.
  fake = await startFakeEntraAuthority({ clientId: CLIENT_ID, appRoles: { [`api://${CLIENT_ID}`]: ['Plansync.ReadWrite'] } });
  const groupRoles = Object.fromEntries(Object.entries(GROUPS).map(([role, group]) => [group, role]));
  server = await startChildServer({ ...fake.env(REDIRECT_URI, groupRoles), NODE_EXTRA_CA_CERTS: fake.caFile });
  admin = await personToken('ADMIN');
  planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  lineId = (await server.gql(LINES, { p: planId }, admin)).data.budgetLines[0].id;
});

afterAll(async () => {
  await server?.stop();
  await fake?.close();
});

/** A person's delegated Entra token, their role given by their group. */
function personToken(role: keyof typeof GROUPS): Promise<string> {
  const id = randomUUID();
  return fake.accessToken({ oid: id, email: `p-${id.slice(0, 8)}@contoso.example`, name: `A ${role}`, groups: [GROUPS[role]] });
}

/** A new service account linked to a new app id (a SALES_NORTH leader unless told otherwise). */
async function linkedAccount(role = 'BU_LEADER', units = ['SALES_NORTH']): Promise<{ id: string; email: string; app: string }> {
  const app = randomUUID();
  const made = await server.gql(CREATE_SA, { name: `Tool ${app.slice(0, 6)}`, role, units, app }, admin);
  expect(made.errors).toBeUndefined();
  expect(made.data.createServiceAccount).toMatchObject({ kind: 'SERVICE', entraAppId: app });
  return { id: made.data.createServiceAccount.id, email: made.data.createServiceAccount.email, app };
}

describe('an app-only token of a linked application', () => {
  it('with Plansync.ReadWrite is the service account: its change is attributed to it, in the audit log too', async () => {
    const account = await linkedAccount();
    const token = await fake.appToken(account.app, { roles: ['Plansync.ReadWrite'] });
    const me = await server.gql(ME, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toEqual({ id: account.id, email: account.email, role: 'BU_LEADER' });

    const comment = `from the tool ${randomUUID()}`;
    const updated = await server.gql(UPDATE, { id: lineId, c: comment }, token);
    expect(updated.errors).toBeUndefined();
    expect(updated.data.updateBudgetLine).toMatchObject({ comment, updatedBy: { email: account.email } });
    const audit = await server.gql('query($l: ID!) { auditLog(first: 1, lineId: $l) { edges { node { newValue user { email } source } } } }', { l: lineId }, admin);
    expect(audit.data.auditLog.edges[0].node).toMatchObject({ newValue: comment, user: { email: account.email }, source: 'API' });

    // Its credentials mint none: no access token, no service account, no link.
    const minted = await server.gql('mutation { createAccessToken(name: "more", scopes: [READ]) { token } }', {}, token);
    expect(errorCode(minted)).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(LINK, { id: account.id, app: randomUUID() }, token))).toBe(ErrorCode.FORBIDDEN);
  });

  it('with Plansync.Read reads (HTTP, OData, export, grid) and changes nothing: mutations and imports FORBIDDEN, the grid read-only', async () => {
    const account = await linkedAccount();
    const read = await fake.appToken(account.app, { roles: ['Plansync.Read'] });
    const lines = await server.gql(LINES, { p: planId }, read);
    expect(lines.errors).toBeUndefined();
    expect(lines.data.budgetLines.length).toBeGreaterThan(0);
    expect(errorCode(await server.gql(UPDATE, { id: lineId, c: 'never' }, read))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql('mutation { signOut }', {}, read))).toBe(ErrorCode.FORBIDDEN);
    const odata = await fetch(`${server.url}/odata/`, { headers: { authorization: `Bearer ${read}` } });
    expect(odata.status).toBe(200);
    expect((await fetch(`${server.url}/odata/`)).status).toBe(401);
    // Spreadsheets: it exports, and may not import (not even a dry run); a ReadWrite app's token imports.
    const exported = await fetch(`${server.url}/export/budget-lines.csv?planId=${planId}&businessUnitCode=SALES_NORTH`, { headers: { authorization: `Bearer ${read}` } });
    expect(exported.status).toBe(200);
    const csv = await exported.text();
    const importAs = (token: string, dryRun = false) =>
      fetch(`${server.url}/import/budget-lines?planId=${planId}${dryRun ? '&dryRun=true' : ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
        body: csv,
      });
    expect((await importAs(read)).status).toBe(403);
    expect((await importAs(read, true)).status).toBe(403);

    const writer = await linkedAccount();
    const write = await fake.appToken(writer.app, { roles: ['Plansync.Read', 'Plansync.ReadWrite'] });
    expect((await importAs(write, true)).status).toBe(200);
    const docName = `budget:${planId}:SALES_NORTH`;
    const witness = connectGrid(server.url, docName, admin);
    const reader = connectGrid(server.url, docName, read);
    const editor = connectGrid(server.url, docName, write);
    try {
      await Promise.all([synced(witness), synced(reader), synced(editor)]);
      expect(await editDropped(reader, witness, `${lineId}/budgetAmount`, 4141)).toBe(true);
      expect(await editDropped(editor, witness, `${lineId}/budgetAmount`, 4242)).toBe(false);
    } finally {
      witness.destroy();
      reader.destroy();
      editor.destroy();
    }
  });

  it('is taken on graphql-ws too, and without the optional idtyp claim (no scp, roles present)', async () => {
    const account = await linkedAccount();
    const ws = await graphqlSocket(server, await fake.appToken(account.app, { roles: ['Plansync.Read'] }));
    expect(ws.first).toBe('connection_ack');
    ws.socket.close();
    const plain = await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { idtyp: undefined } });
    expect((await server.gql(ME, {}, plain)).data.me.id).toBe(account.id);
    // A v1 token names the app in `appid` only.
    const v1 = await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { azp: undefined, ver: '1.0' } });
    expect((await server.gql(ME, {}, v1)).data.me.id).toBe(account.id);
  });

  it('fetched with the client credentials grant, as a script does, works once its app is linked', async () => {
    const token = await clientCredentialsToken(`api://${CLIENT_ID}/.default`);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    const made = await server.gql(CREATE_SA, { name: 'Nightly sync', role: 'ANALYST', app: CLIENT_ID }, admin);
    expect(made.errors).toBeUndefined();
    const me = await server.gql(ME, {}, token);
    expect(me.data.me).toMatchObject({ id: made.data.createServiceAccount.id, role: 'ANALYST' });
  });
});

describe('app-only tokens refused', () => {
  let account: { id: string; email: string; app: string };
  beforeAll(async () => {
    account = await linkedAccount();
  });

  // Each differs from an accepted token (above) in one way.
  const refused: [string, () => Promise<string>][] = [
    ['of an application linked to no account', () => fake.appToken(randomUUID(), { roles: ['Plansync.ReadWrite'] })],
    ['from another tenant', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { tid: randomUUID() } })],
    ['naming no tenant', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { tid: undefined } })],
    ['without a roles claim', () => fake.appToken(account.app, { claims: { roles: undefined } })],
    ['with no role granted', () => fake.appToken(account.app, { roles: [] })],
    ['with only roles Plansync does not know', () => fake.appToken(account.app, { roles: ['Plansync.Admin', 'plansync.readwrite'] })],
    ['for another audience', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { aud: randomUUID() } })],
    ['that has expired', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { iat: now() - 7200, nbf: now() - 7200, exp: now() - 60 } })],
    ['signed by a key not in the JWKS', async () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], signWith: (await generateKeyPair('RS256')).privateKey })],
    ['carrying a delegated scope', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { scp: 'access_as_user' } })],
    ['naming a person (idtyp user)', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { idtyp: 'user' } })],
    ['naming no application', () => fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { azp: undefined, appid: undefined } })],
  ];
  it.each(refused)('a token %s', async (_what, mint) => {
    const token = await mint();
    const me = await server.gql(ME, {}, token);
    expect(me.data).toBeFalsy();
    expect(errorCode(me)).toBe(ErrorCode.UNAUTHENTICATED);
    expect((await graphqlSocket(server, token)).first).toBe(`closed ${CloseCode.Unauthorized}`);
    expect((await fetch(`${server.url}/odata/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});

describe('ending an app link', () => {
  it('unlinking refuses the token at once and closes its graphql-ws and grid sockets; relinking does not revive it', async () => {
    const account = await linkedAccount();
    const token = await fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { iat: now() - 5 } });
    const ws = await graphqlSocket(server, token);
    const grid = await gridSocket(server, `budget:${planId}:SALES_NORTH`, token);
    expect([ws.first, grid.first]).toEqual(['connection_ack', 'message']);

    const unlinked = await server.gql(LINK, { id: account.id, app: null }, admin);
    expect(unlinked.data.setServiceAccountEntraApp).toEqual({ id: account.id, entraAppId: null });
    expect(await ws.closed).toBe(CloseCode.Unauthorized);
    expect(await grid.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);

    expect((await server.gql(LINK, { id: account.id, app: account.app.toUpperCase() }, admin)).data.setServiceAccountEntraApp.entraAppId).toBe(account.app);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    const fresh = await fake.appToken(account.app, { roles: ['Plansync.ReadWrite'], claims: { iat: now() + 1 } });
    expect((await server.gql(ME, {}, fresh)).data.me.id).toBe(account.id);

    const entries = await server.sql("SELECT action, actor_email, details->>'entraAppId' AS app FROM activity_entry WHERE subject = $1 ORDER BY id", [account.email]);
    const adminEmail = (await server.gql(ME, {}, admin)).data.me.email;
    expect(entries).toEqual([
      { action: 'SERVICE_ACCOUNT_CREATED', actor_email: adminEmail, app: null },
      { action: 'SERVICE_ACCOUNT_ENTRA_APP_LINKED', actor_email: adminEmail, app: account.app },
      { action: 'SERVICE_ACCOUNT_ENTRA_APP_UNLINKED', actor_email: adminEmail, app: account.app },
      { action: 'SERVICE_ACCOUNT_ENTRA_APP_LINKED', actor_email: adminEmail, app: account.app },
    ]);
  });

  it("deactivating the account closes its sockets and refuses its tokens, which stay ended after a reactivation", async () => {
    const account = await linkedAccount();
    const token = await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { iat: now() - 5 } });
    const ws = await graphqlSocket(server, token);
    expect(ws.first).toBe('connection_ack');
    expect((await server.gql('mutation($u: ID!) { deactivateUser(userId: $u) { active } }', { u: account.id }, admin)).errors).toBeUndefined();
    expect(await ws.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    // Deactivated, even a token issued later is refused.
    expect(errorCode(await server.gql(ME, {}, await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { iat: now() + 1 } })))).toBe(ErrorCode.UNAUTHENTICATED);
    await server.gql('mutation($u: ID!) { reactivateUser(userId: $u) { active } }', { u: account.id }, admin);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    const fresh = await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { iat: now() + 2 } });
    expect((await server.gql(ME, {}, fresh)).data.me.id).toBe(account.id);
  });

  it('signOut with an app token ends that token only (its socket closes); the app signs in anew', async () => {
    const account = await linkedAccount();
    const token = await fake.appToken(account.app, { roles: ['Plansync.ReadWrite'] });
    const other = await fake.appToken(account.app, { roles: ['Plansync.ReadWrite'] });
    const ws = await graphqlSocket(server, token);
    expect(ws.first).toBe('connection_ack');
    const out = await server.gql('mutation { signOut }', {}, token);
    expect(out.data).toEqual({ signOut: true });
    expect(await ws.closed).toBe(CloseCode.Unauthorized);
    expect(errorCode(await server.gql(ME, {}, token))).toBe(ErrorCode.UNAUTHENTICATED);
    expect((await server.gql(ME, {}, other)).data.me.id).toBe(account.id);
  });

  it('deleting the account closes its sockets, refuses its tokens and frees the app for another account', async () => {
    const account = await linkedAccount();
    const ws = await graphqlSocket(server, await fake.appToken(account.app, { roles: ['Plansync.Read'] }));
    expect(ws.first).toBe('connection_ack');
    expect((await server.gql('mutation($u: ID!) { deleteUser(userId: $u) }', { u: account.id }, admin)).errors).toBeUndefined();
    expect(await ws.closed).toBe(CloseCode.Unauthorized);
    const later = await fake.appToken(account.app, { roles: ['Plansync.Read'], claims: { iat: now() + 1 } });
    expect(errorCode(await server.gql(ME, {}, later))).toBe(ErrorCode.UNAUTHENTICATED);
    const again = await server.gql(CREATE_SA, { name: 'Successor', role: 'VIEWER', app: account.app }, admin);
    expect(again.errors).toBeUndefined();
    expect((await server.gql(ME, {}, later)).data.me.id).toBe(again.data.createServiceAccount.id);
  });
});

describe('linking an application', () => {
  it('is for admins signed in: every other role, and an admin with an access token, FORBIDDEN', async () => {
    const account = await linkedAccount();
    const others = ['ANALYST', 'BU_LEADER', 'VIEWER', 'PARTNER_ADMIN', 'PARTNER_USER'] as const;
    for (const role of others) {
      const token = await personToken(role);
      expect((await server.gql(ME, {}, token)).data.me.role).toBe(role);
      expect(errorCode(await server.gql(LINK, { id: account.id, app: randomUUID() }, token))).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'Nope', role: 'VIEWER', app: randomUUID() }, token))).toBe(ErrorCode.FORBIDDEN);
    }
    const pst = (await server.gql('mutation { createAccessToken(name: "admin script", scopes: [WRITE]) { token } }', {}, admin)).data.createAccessToken.token;
    expect(errorCode(await server.gql(LINK, { id: account.id, app: randomUUID() }, pst))).toBe(ErrorCode.FORBIDDEN);
    expect(errorCode(await server.gql(LINK, { id: account.id, app: randomUUID() }))).toBe(ErrorCode.UNAUTHENTICATED);
    const [row] = await server.sql('SELECT entra_app_id FROM app_user WHERE id = $1', [account.id]);
    expect(row.entra_app_id).toBe(account.app);
  });

  it('takes a GUID, one app per account and one account per app, service accounts only', async () => {
    const first = await linkedAccount();
    const second = await linkedAccount();
    for (const app of ['not-a-guid', '', `${randomUUID()}x`]) {
      expect(errorCode(await server.gql(LINK, { id: second.id, app }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
      expect(errorCode(await server.gql(CREATE_SA, { name: 'Bad id', role: 'VIEWER', app }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
    }
    expect(errorCode(await server.gql(LINK, { id: second.id, app: first.app }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(errorCode(await server.gql(CREATE_SA, { name: 'Twin', role: 'VIEWER', app: first.app.toUpperCase() }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
    // Relinking an account to another app replaces its link (one app per account).
    const other = randomUUID();
    expect((await server.gql(LINK, { id: second.id, app: other }, admin)).data.setServiceAccountEntraApp.entraAppId).toBe(other);
    expect(await server.sql('SELECT id FROM app_user WHERE entra_app_id = $1', [second.app])).toEqual([]);
    // A person is no service account.
    const personId = (await server.gql(ME, {}, admin)).data.me.id;
    expect(errorCode(await server.gql(LINK, { id: personId, app: randomUUID() }, admin))).toBe(ErrorCode.NOT_FOUND);
    // The existing contract call, without the new argument, still makes an unlinked account.
    const plain = await server.gql('mutation { createServiceAccount(name: "Plain", role: VIEWER) { id entraAppId } }', {}, admin);
    expect(plain.data.createServiceAccount.entraAppId).toBeNull();
  });

  it('shows the linked app to admins only', async () => {
    const account = await linkedAccount('VIEWER', []);
    const token = await fake.appToken(account.app, { roles: ['Plansync.Read'] });
    expect((await server.gql('{ me { entraAppId } }', {}, token)).data.me.entraAppId).toBeNull();
    const listed = await server.gql('{ users { id entraAppId } }', {}, admin);
    expect(listed.data.users.find((u: { id: string }) => u.id === account.id).entraAppId).toBe(account.app);
  });
});

/** A token from the fake's token endpoint for Plansync's own app, as `curl -d grant_type=client_credentials` gets it. */
async function clientCredentialsToken(scope: string): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: fake.clientId, client_secret: fake.clientSecret, scope }).toString();
  const ca = fs.readFileSync(fake.caFile);
  const answer = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      `${fake.host}/${fake.tenantId}/oauth2/v2.0/token`,
      { method: 'POST', ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  return JSON.parse(answer).access_token;
}
