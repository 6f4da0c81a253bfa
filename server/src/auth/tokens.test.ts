/**
 * Bearer tokens from the attacker's side, against the real server: everything that is not a valid, current
 * Plansync token of an existing person is UNAUTHENTICATED on /graphql, and none of it is an internal error.
 * The server runs with a key pair generated here (JWT_PRIVATE_KEY / JWT_PUBLIC_KEY), so the tests can sign
 * tokens exactly as the server would, and then break one thing at a time.
 */
import { randomUUID } from 'node:crypto';
import { exportPKCS8, exportSPKI, generateKeyPair, SignJWT, decodeJwt, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

const ME = '{ me { id email role } }';
const ISSUER = 'plansync';
const AUDIENCE = 'plansync';

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

describe('bearer tokens on /graphql', () => {
  let server: TestServer;
  let privateKey: CryptoKey;
  let publicPem: string;
  let realToken: string;
  let viewerId: string;
  let adminId: string;

  /** POSTs `me` with exactly this Authorization header (or none). */
  async function meWith(authorization: string | undefined): Promise<GraphQLResponse> {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
      body: JSON.stringify({ query: ME }),
    });
    return { ...((await res.json()) as GraphQLResponse), status: res.status };
  }

  /** A token as the server signs them, with the server's own key, with `change` applied. */
  function sign(claims: JWTPayload, change: (jwt: SignJWT) => SignJWT = (jwt) => jwt, key: CryptoKey | Uint8Array = privateKey, alg = 'ES256') {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h');
    return change(jwt).sign(key);
  }

  function expectUnauthenticated(res: GraphQLResponse) {
    expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res.errors)).toBe('UNAUTHENTICATED');
    expect(res.data ?? null).toBeNull();
  }

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    server = await startTestServer({ JWT_PRIVATE_KEY: await exportPKCS8(pair.privateKey), JWT_PUBLIC_KEY: publicPem });
    realToken = await server.login('viewer.sales-north@example.com');
    viewerId = decodeJwt(realToken).sub!;
    [{ id: adminId }] = await server.sql('SELECT id FROM app_user WHERE email = $1', ['admin@example.com']);
  });
  afterAll(() => server?.stop());

  it('accepts a valid token, both the one login gave and one signed the same way here', async () => {
    const res = await meWith(`Bearer ${realToken}`);
    expect(res.errors).toBeUndefined();
    expect(res.data.me).toEqual({ id: viewerId, email: 'viewer.sales-north@example.com', role: 'VIEWER' });
    const ours = await meWith(`Bearer ${await sign({ sub: viewerId })}`);
    expect(ours.data.me.email).toBe('viewer.sales-north@example.com');
    // The scheme is case-insensitive (RFC 7235).
    expect((await meWith(`bearer ${realToken}`)).data.me.email).toBe('viewer.sales-north@example.com');
  });

  it('the login token is what the contract says: ES256, issuer and audience plansync, sub the user, an expiry', () => {
    const header = JSON.parse(Buffer.from(realToken.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe('ES256');
    const claims = decodeJwt(realToken);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: viewerId });
    expect(claims.exp).toBeGreaterThan(claims.iat!);
  });

  const headerCases: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['an empty header', () => ''],
    ['"Bearer" with no token', () => 'Bearer'],
    ['"Bearer " and spaces', () => 'Bearer    '],
    ['garbage', () => 'Bearer garbage'],
    ['three dots', () => 'Bearer ...'],
    ['base64 that is not JSON', () => `Bearer ${b64url('hello')}.${b64url('world')}.${b64url('sig')}`],
    ['another scheme with a valid token', () => `Basic ${realToken}`],
    ['the token without a scheme', () => realToken],
    ['two tokens', () => `Bearer ${realToken} ${realToken}`],
    ['a long token of garbage', () => `Bearer ${'a'.repeat(8_000)}`],
    ['a long token of JWT segments', () => `Bearer ${b64url({ alg: 'ES256' })}.${'a'.repeat(8_000)}.${'b'.repeat(100)}`],
  ];
  it.each(headerCases)('UNAUTHENTICATED for %s', async (_label, header) => {
    expectUnauthenticated(await meWith(header()));
  });

  it('a header over the HTTP limit is refused before GraphQL (431), never a server error', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${'a'.repeat(20_000)}` },
      body: JSON.stringify({ query: ME }),
    });
    expect(res.status).toBe(431);
    const text = await res.text();
    expect(text).not.toContain('viewer.sales-north');
    // Said in the body every refusal has, not Node's bare status line.
    expect(JSON.parse(text).errors[0]).toEqual({ message: expect.stringMatching(/headers are over \d+ bytes/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('UNAUTHENTICATED for an unsigned token (alg: none) with the claims of a real one', async () => {
    const claims = decodeJwt(realToken);
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}.`;
      expectUnauthenticated(await meWith(`Bearer ${unsigned}`));
      // With the real signature left on, too.
      const withSignature = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}.${realToken.split('.')[2]}`;
      expectUnauthenticated(await meWith(`Bearer ${withSignature}`));
    }
  });

  it('UNAUTHENTICATED for a token signed by another ES256 key', async () => {
    const other = await generateKeyPair('ES256');
    expectUnauthenticated(await meWith(`Bearer ${await sign({ sub: viewerId }, undefined, other.privateKey)}`));
  });

  it('UNAUTHENTICATED for HS256 signed with the public key PEM as the secret (algorithm confusion)', async () => {
    for (const secret of [publicPem, publicPem.trim()]) {
      const forged = await sign({ sub: adminId }, undefined, new TextEncoder().encode(secret), 'HS256');
      expectUnauthenticated(await meWith(`Bearer ${forged}`));
    }
  });

  it('UNAUTHENTICATED for a real token whose claims were changed (another user) under the original signature', async () => {
    const [header, , signature] = realToken.split('.');
    const tampered = `${header}.${b64url({ ...decodeJwt(realToken), sub: adminId })}.${signature}`;
    expectUnauthenticated(await meWith(`Bearer ${tampered}`));
  });

  it('UNAUTHENTICATED for an expired token signed with the right key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ sub: viewerId }, (jwt) => jwt.setIssuedAt(now - 7200).setExpirationTime(now - 60));
    expectUnauthenticated(await meWith(`Bearer ${expired}`));
  });

  it('UNAUTHENTICATED for a token not valid yet (nbf in the future)', async () => {
    const early = await sign({ sub: viewerId }, (jwt) => jwt.setNotBefore(Math.floor(Date.now() / 1000) + 3600));
    expectUnauthenticated(await meWith(`Bearer ${early}`));
  });

  it('UNAUTHENTICATED for a wrong audience or a wrong issuer', async () => {
    for (const change of [
      (jwt: SignJWT) => jwt.setAudience('someone-else'),
      (jwt: SignJWT) => jwt.setAudience('entra-sign-in-state'),
      (jwt: SignJWT) => jwt.setIssuer('someone-else'),
      (jwt: SignJWT) => jwt.setIssuer('https://login.microsoftonline.com/common/v2.0'),
    ]) {
      expectUnauthenticated(await meWith(`Bearer ${await sign({ sub: viewerId }, change)}`));
    }
  });

  it('UNAUTHENTICATED for a token without a subject or without an expiry', async () => {
    const noSub = await sign({});
    expectUnauthenticated(await meWith(`Bearer ${noSub}`));
    const noExp = await new SignJWT({ sub: viewerId })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(privateKey);
    expectUnauthenticated(await meWith(`Bearer ${noExp}`));
  });

  it('UNAUTHENTICATED, not an internal error, for a well-signed token whose sub is not a user id', async () => {
    for (const sub of ['admin', 'admin@example.com', "' OR 1=1 --", `${viewerId}x`, ' ', randomUUID(), 'x'.repeat(2000)]) {
      const res = await meWith(`Bearer ${await sign({ sub })}`);
      expect(res.status, sub).toBeLessThan(500);
      expectUnauthenticated(res);
    }
    // Claims of the wrong type, signed all the same.
    for (const claims of [{ sub: 123 }, { sub: { id: viewerId } }, { sub: [viewerId] }, { sub: null }, { sub: true }] as unknown as JWTPayload[]) {
      const res = await meWith(`Bearer ${await sign(claims)}`);
      expect(res.status, JSON.stringify(claims)).toBeLessThan(500);
      expectUnauthenticated(res);
    }
    const stringExpiry = await new SignJWT({ sub: viewerId, exp: 'tomorrow' } as unknown as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(privateKey);
    expect(decodeJwt(stringExpiry).exp).toBe('tomorrow');
    expectUnauthenticated(await meWith(`Bearer ${stringExpiry}`));
    // And the server is still fine.
    expect((await meWith(`Bearer ${realToken}`)).data.me.email).toBe('viewer.sales-north@example.com');
  });

  it('UNAUTHENTICATED for a valid token of a user who was deleted since', async () => {
    const token = await server.login('viewer.finance@example.com');
    expect((await meWith(`Bearer ${token}`)).data.me.email).toBe('viewer.finance@example.com');
    await server.sql('DELETE FROM app_user WHERE email = $1', ['viewer.finance@example.com']);
    expectUnauthenticated(await meWith(`Bearer ${token}`));
  });

  it('a refused token gets no data from any other operation either', async () => {
    const forged = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...decodeJwt(realToken), sub: adminId })}.`;
    for (const query of ['{ businessUnits { code } }', '{ budgetPlans { id } }', '{ users { email } }', '{ signInEvents { email } }']) {
      const res = await server.gql(query, {}, forged);
      expectUnauthenticated(res);
    }
  });
});
