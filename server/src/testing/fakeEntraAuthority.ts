/**
 * A local stand-in for the Microsoft Entra ID authority (login.microsoftonline.com), for tests: HTTPS on
 * 127.0.0.1 with a self-signed certificate, because msal-node only talks to https authorities.
 *
 *   /<tenant>/v2.0/.well-known/openid-configuration   the endpoints below, as Entra publishes them
 *   /<tenant>/discovery/v2.0/keys                      JWKS of the RSA key that signs every token
 *   /<tenant>/oauth2/v2.0/authorize                    "signs in" the person named by `signInAs` and
 *                                                      redirects to redirect_uri with a code and the state
 *   /<tenant>/oauth2/v2.0/token                        redeems a code once: checks the client secret, the
 *                                                      redirect URI and the PKCE verifier against the
 *                                                      challenge, then returns RS256 ID and access tokens;
 *                                                      or, for the client_credentials grant, an app-only
 *                                                      token for `<resource>/.default` with the app roles
 *                                                      `appRoles` grants on that resource
 *
 * It checks what the real one checks on these paths, so a client that skips PKCE or sends the wrong secret
 * fails here as it would against Microsoft. `accessToken()` mints tokens directly for bearer-token tests,
 * with the knobs to make them wrong in each way a verifier must catch.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startSelfSignedHttps } from './selfSignedHttps.js';

export interface FakeEntraUser {
  oid: string;
  email: string;
  name: string;
  groups?: string[];
}

export interface FakeEntraAuthority {
  /** https://127.0.0.1:<port>: ENTRA_AUTHORITY_HOST. */
  host: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The `iss` of every token: https://127.0.0.1:<port>/<tenant>/v2.0 */
  issuer: string;
  /** PEM file of the self-signed certificate: NODE_EXTRA_CA_CERTS for whoever must trust this authority. */
  caFile: string;
  /** The ENTRA_* variables of a Plansync that uses this authority. */
  env(redirectUri: string, groupRoles?: Record<string, string>): Record<string, string>;
  /** The scope of every client_credentials request so far, in order (to see a client's token cache at work). */
  appTokenRequests: string[];
  /** The person who "types their password" at the authorize endpoint from now on. */
  signInAs(user: FakeEntraUser): void;
  /** Follows an authorize URL as a browser would and returns where the authority redirects it. */
  authorize(url: string): Promise<URL>;
  /**
   * An access token for this app, as Entra would issue it; `claims` override or add claims, `signWith` signs
   * with another key (still naming this authority's key id), `unsigned` makes an `alg: none` token.
   */
  accessToken(user: FakeEntraUser, options?: { claims?: Record<string, unknown>; signWith?: CryptoKey; unsigned?: boolean }): Promise<string>;
  /**
   * An app-only access token for this app's API (client credentials) held by the application `appId`, as Entra
   * issues it with the `idtyp` optional claim: `azp`/`appid` the app, `oid`/`sub` its service principal,
   * `roles` the app roles granted to it. `claims` override or add claims (undefined removes one), `signWith`
   * signs with another key.
   */
  appToken(appId: string, options?: { roles?: string[]; claims?: Record<string, unknown>; signWith?: CryptoKey }): Promise<string>;
  close(): Promise<void>;
}

interface IssuedCode {
  user: FakeEntraUser;
  redirectUri: string;
  challenge: string;
  nonce?: string;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export async function startFakeEntraAuthority(
  app: { tenantId?: string; clientId?: string; clientSecret?: string; appRoles?: Record<string, string[]> } = {},
): Promise<FakeEntraAuthority> {
  const tenantId = app.tenantId ?? randomUUID();
  const clientId = app.clientId ?? randomUUID();
  const clientSecret = app.clientSecret ?? randomBytes(16).toString('hex');

  const signingKey = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwk: JWK = { ...(await exportJWK(signingKey.publicKey)), kid, use: 'sig', alg: 'RS256' };

  const codes = new Map<string, IssuedCode>();
  const appTokenRequests: string[] = [];
  const appObjectId = randomUUID(); // the app's service principal, the `oid` of its app-only tokens
  let currentUser: FakeEntraUser | undefined;

  const server = await startSelfSignedHttps({ commonName: '127.0.0.1', dnsNames: ['localhost'], dirPrefix: 'fake-entra-' }, (req, res) => {
    handle(req, res).catch((err) => send(res, 500, { error: 'server_error', error_description: String(err) }));
  });
  const { host, caFile } = server;
  const base = `${host}/${tenantId}`;
  const issuer = `${base}/v2.0`;

  function send(res: import('node:http').ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  async function sign(claims: Record<string, unknown>, key: CryptoKey = signingKey.privateKey) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: issuer, aud: clientId, tid: tenantId, iat: now, nbf: now, exp: now + 3600, ver: '2.0', ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .sign(key);
  }

  function identity(user: FakeEntraUser) {
    return { oid: user.oid, sub: user.oid, preferred_username: user.email, name: user.name, ...(user.groups ? { groups: user.groups } : {}) };
  }

  async function handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
    const url = new URL(req.url ?? '/', host);
    switch (url.pathname) {
      case `/${tenantId}/v2.0/.well-known/openid-configuration`:
        return send(res, 200, {
          issuer,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          end_session_endpoint: `${base}/oauth2/v2.0/logout`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          response_types_supported: ['code', 'id_token', 'code id_token'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          tenant_region_scope: 'EU',
        });
      case `/${tenantId}/discovery/v2.0/keys`:
        return send(res, 200, { keys: [jwk] });
      case `/${tenantId}/oauth2/v2.0/authorize`: {
        const q = url.searchParams;
        const redirectUri = q.get('redirect_uri');
        if (q.get('client_id') !== clientId || !redirectUri) return send(res, 400, { error: 'invalid_request' });
        if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
          return send(res, 400, { error: 'invalid_request', error_description: 'PKCE with S256 is required' });
        }
        if (!currentUser) return send(res, 400, { error: 'test_setup', error_description: 'call signInAs() first' });
        const code = randomBytes(24).toString('base64url');
        codes.set(code, { user: currentUser, redirectUri, challenge: q.get('code_challenge')!, nonce: q.get('nonce') ?? undefined });
        const target = new URL(redirectUri);
        target.searchParams.set('code', code);
        if (q.get('state') !== null) target.searchParams.set('state', q.get('state')!);
        res.writeHead(302, { location: target.toString() });
        return res.end();
      }
      case `/${tenantId}/oauth2/v2.0/token`: {
        if (req.method !== 'POST') return send(res, 405, { error: 'invalid_request' });
        let body = '';
        for await (const chunk of req) body += chunk;
        const form = new URLSearchParams(body);
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
          return send(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        }
        if (form.get('grant_type') === 'client_credentials') {
          // App-only: exactly one `<resource>/.default` scope, as Entra insists; the token is for that resource.
          const scope = form.get('scope') ?? '';
          appTokenRequests.push(scope);
          const resource = /^(\S+)\/\.default$/.exec(scope)?.[1];
          if (!resource) {
            return send(res, 400, { error: 'invalid_scope', error_description: 'AADSTS1002012: Client credential flows must have a scope value with /.default suffixed to the resource identifier.' });
          }
          const claims = { aud: resource, appid: clientId, azp: clientId, idtyp: 'app', oid: appObjectId, sub: appObjectId, roles: app.appRoles?.[resource] ?? [] };
          return send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: await sign(claims) });
        }
        if (form.get('grant_type') !== 'authorization_code') return send(res, 400, { error: 'unsupported_grant_type' });
        const issued = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? ''); // a code is redeemed once, even when the attempt fails
        if (!issued || form.get('redirect_uri') !== issued.redirectUri) {
          return send(res, 400, { error: 'invalid_grant', error_description: 'AADSTS70008: The provided authorization code is invalid or has expired.' });
        }
        const verifier = form.get('code_verifier') ?? '';
        if (b64url(createHash('sha256').update(verifier).digest()) !== issued.challenge) {
          return send(res, 400, { error: 'invalid_grant', error_description: 'AADSTS50148: The code_verifier does not match the code_challenge.' });
        }
        const who = identity(issued.user);
        return send(res, 200, {
          token_type: 'Bearer',
          scope: form.get('scope') ?? 'openid profile email',
          expires_in: 3600,
          ext_expires_in: 3600,
          id_token: await sign({ ...who, ...(issued.nonce ? { nonce: issued.nonce } : {}) }),
          access_token: await sign({ ...who, scp: 'access_as_user' }),
          client_info: b64url(JSON.stringify({ uid: issued.user.oid, utid: tenantId })),
        });
      }
      default:
        return send(res, 404, { error: 'not_found' });
    }
  }

  return {
    host,
    tenantId,
    clientId,
    clientSecret,
    issuer,
    caFile,
    appTokenRequests,
    env: (redirectUri, groupRoles = {}) => ({
      ENTRA_AUTHORITY_HOST: host,
      ENTRA_TENANT_ID: tenantId,
      ENTRA_CLIENT_ID: clientId,
      ENTRA_CLIENT_SECRET: clientSecret,
      ENTRA_REDIRECT_URI: redirectUri,
      ENTRA_GROUP_ROLES: JSON.stringify(groupRoles),
    }),
    signInAs(user) {
      currentUser = user;
    },
    authorize(url) {
      // The test process trusts the certificate per request (`ca`), not process-wide.
      return new Promise((resolve, reject) => {
        https
          .get(url, { ca: server.cert }, (res) => {
            res.resume();
            if (res.statusCode !== 302 || !res.headers.location) reject(new Error(`authorize answered ${res.statusCode}`));
            else resolve(new URL(res.headers.location));
          })
          .on('error', reject);
      });
    },
    async accessToken(user, options = {}) {
      const claims = { ...identity(user), scp: 'access_as_user', ...options.claims };
      if (options.unsigned) {
        const now = Math.floor(Date.now() / 1000);
        const payload = { iss: issuer, aud: clientId, tid: tenantId, iat: now, nbf: now, exp: now + 3600, ...claims };
        return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
      }
      return sign(claims, options.signWith);
    },
    appToken(appId, options = {}) {
      const principal = randomUUID();
      const claims = {
        aud: clientId,
        azp: appId,
        appid: appId,
        azpacr: '1',
        idtyp: 'app',
        oid: principal,
        sub: principal,
        roles: options.roles ?? [],
        uti: randomBytes(16).toString('base64url'),
        ...options.claims,
      };
      return sign(claims, options.signWith);
    },
    close: () => server.close(),
  };
}
