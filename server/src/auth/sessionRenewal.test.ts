/**
 * renewSession: someone at work gets a fresh token before theirs expires, so the web client never sends them
 * to sign in mid-edit; but a session still ends SESSION_MAX_HOURS after its sign-in, only sign-in sessions
 * renew (not access tokens), and a renewal is refused to whoever the server would refuse anyway.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { graphqlSocket, gridSocket } from '../testing/sessionSockets.js';
import { AUTH_TIME_CLAIM } from './tokens.js';
import { ErrorCode } from '../../../schema/codes.js';

const RENEW = 'mutation { renewSession { token user { email } } }';
const LEAD = 'lead.sales-north@example.com';

describe('renewSession', () => {
  let server: TestServer;
  let docName: string;
  beforeAll(async () => {
    // Tokens of 50 minutes in sessions of at most an hour: a renewal right after sign-in reaches the session's end.
    server = await startTestServer({ JWT_TTL_SECONDS: '3000', SESSION_MAX_HOURS: '1' });
    const admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, admin);
    docName = `budget:${plans.data.budgetPlans[0].id}:SALES_NORTH`;
  });
  afterAll(() => server?.stop());

  it('gives a new token for the same person that lasts longer, up to the session limit, and works on every path', async () => {
    const first = await server.login(LEAD);
    const before = decodeJwt(first);
    await new Promise((r) => setTimeout(r, 1100)); // whole seconds: the renewed token must expire later
    const res = await server.gql(RENEW, {}, first);
    expect(res.errors).toBeUndefined();
    expect(res.data.renewSession.user.email).toBe(LEAD);
    const renewed = res.data.renewSession.token as string;
    const after = decodeJwt(renewed);
    expect(after.sub).toBe(before.sub);
    expect(after.jti).not.toBe(before.jti);
    // It carries the sign-in's time, and lasts a token's lifetime from now.
    expect(after[AUTH_TIME_CLAIM]).toBe(before.iat);
    expect(after.exp! - after.iat!).toBe(3000);
    expect(after.exp!).toBeGreaterThan(before.exp!);

    // A renewal of the renewed token keeps the same sign-in time.
    const again = await server.gql(RENEW, {}, renewed);
    expect(decodeJwt(again.data.renewSession.token)[AUTH_TIME_CLAIM]).toBe(before.iat);

    // Forty minutes into a session of at most an hour, a renewal lasts until the session's end, not 50 minutes.
    const [{ id }] = await server.sql<{ id: string }>('SELECT id FROM app_user WHERE email = $1', [LEAD]);
    const signedInAt = Math.floor(Date.now() / 1000) - 40 * 60;
    const late = await server.app.services.tokens.sign(id, { [AUTH_TIME_CLAIM]: signedInAt });
    const capped = decodeJwt((await server.gql(RENEW, {}, late)).data.renewSession.token);
    expect(capped[AUTH_TIME_CLAIM]).toBe(signedInAt);
    expect(capped.exp).toBe(signedInAt + 3600);

    // The new token opens the grid and GraphQL sockets; the old one keeps working until it expires.
    expect((await server.gql('{ me { email } }', {}, renewed)).data.me.email).toBe(LEAD);
    expect((await server.gql('{ me { email } }', {}, first)).data.me.email).toBe(LEAD);
    const grid = await gridSocket(server, docName, renewed);
    const socket = await graphqlSocket(server, renewed);
    expect([grid.first, socket.first]).toEqual(['message', 'connection_ack']);
    grid.socket.close();
    socket.socket.close();
  });

  it('refuses a session that reached SESSION_MAX_HOURS, whatever its token says', async () => {
    const [{ id }] = await server.sql<{ id: string }>('SELECT id FROM app_user WHERE email = $1', [LEAD]);
    // A token the server itself signed, of a sign-in two hours ago (still valid: it was renewed meanwhile).
    const old = await server.app.services.tokens.sign(id, { [AUTH_TIME_CLAIM]: Math.floor(Date.now() / 1000) - 2 * 3600 });
    expect((await server.gql('{ me { email } }', {}, old)).data.me.email).toBe(LEAD);
    const res = await server.gql(RENEW, {}, old);
    expect(errorCode(res)).toBe(ErrorCode.FORBIDDEN);
    expect(res.errors![0].message).toMatch(/more than 1 hours ago.*sign in again/);
  });

  it('renews sign-in sessions only: not for an access token, not without a token, not for an ended token or a deactivated person', async () => {
    const lead = await server.login(LEAD);
    const created = await server.gql(
      'mutation { createAccessToken(name: "script", scopes: [READ, WRITE]) { token } }',
      {},
      lead,
    );
    const accessToken = created.data.createAccessToken.token as string;
    const viaAccessToken = await server.gql(RENEW, {}, accessToken);
    expect(errorCode(viaAccessToken)).toBe(ErrorCode.FORBIDDEN);
    expect(viaAccessToken.data).toBeNull();

    expect(errorCode(await server.gql(RENEW, {}, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect(errorCode(await server.gql(RENEW, {}, `${lead}x`))).toBe(ErrorCode.UNAUTHENTICATED);

    const ended = await server.login(LEAD);
    await server.gql('mutation { signOut }', {}, ended);
    expect(errorCode(await server.gql(RENEW, {}, ended))).toBe(ErrorCode.UNAUTHENTICATED);

    const viewerToken = await server.login('viewer.sales-north@example.com');
    await server.sql(`UPDATE app_user SET active = false WHERE email = 'viewer.sales-north@example.com'`);
    expect(errorCode(await server.gql(RENEW, {}, viewerToken))).toBe(ErrorCode.UNAUTHENTICATED);
  });
});
