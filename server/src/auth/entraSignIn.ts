/**
 * Sign-in with Microsoft Entra ID for the browser: msal-node's authorization-code flow with PKCE.
 *
 *   GET /auth/config               { microsoft: true|false }: whether the client shows the button
 *   GET /auth/microsoft/login      302 to the authority, with a PKCE challenge, a random state and a nonce
 *   GET /auth/microsoft/callback   checks the state, redeems the code, creates or updates the user, records
 *                                  the sign-in and sends the browser to `/#token=<jwt>&state=<client_state>`
 *                                  (the web client's own value given to /login, checked by the client)
 *
 * What the callback needs from the login (PKCE verifier, state, nonce) travels in a short-lived HttpOnly
 * cookie signed with Plansync's own key instead of server memory, so any instance behind a proxy can finish
 * a sign-in that another one started. The cookie is signed, not encrypted: the verifier only has to stay out
 * of reach of whoever intercepts the code, and HttpOnly keeps it away from page scripts.
 *
 * Failures never show a stack page: they are logged and the browser lands on `/#signInError=<code>`.
 */
import { randomBytes } from 'node:crypto';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { Express, Request, Response } from 'express';
import type { JWTPayload } from 'jose';
import type { EntraConfig } from '../config.js';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Services } from '../services.js';
import { entraAppClient, loadMsal } from './entraApp.js';
import { entraClaims, type EntraTokenVerifier, EntraAccountConflict } from './entraTokens.js';
import { SignInEvent } from './SignInEvent.js';

const COOKIE = 'plansync_entra_sign_in';
const COOKIE_PATH = '/auth/microsoft';
/** The audience of the cookie's token: never confused with an access token (see TokenService). */
const COOKIE_AUDIENCE = 'plansync:entra-sign-in';
const COOKIE_TTL_SECONDS = 10 * 60;
/** Sign-in only: the ID token is what we read. msal adds offline_access itself. */
const SCOPES = ['openid', 'profile', 'email'];

/** The codes the web client may find in `#signInError=`. */
export type SignInErrorCode = 'invalid_state' | 'access_denied' | 'authority_error' | 'token_exchange_failed' | 'missing_claims' | 'account_conflict' | 'sign_in_failed';

/** The routes option of `startHttpServer`: Entra sign-in when configured, 404s otherwise. */
export function entraSignInRoutes(services: Services, verifier: EntraTokenVerifier | undefined): (app: Express) => void {
  const entra = services.config.entra;
  return (app) => {
    app.get('/auth/config', (_req, res) => {
      res.json({ microsoft: Boolean(entra && verifier) });
    });
    if (!entra || !verifier) {
      app.get(['/auth/microsoft/login', '/auth/microsoft/callback'], (_req, res) => {
        res.status(404).json({
          errors: [{ message: 'Microsoft sign-in is not configured on this server', extensions: { code: ErrorCode.NOT_FOUND } }],
        });
      });
      return;
    }
    const flow = new EntraSignIn(services, entra, verifier);
    app.get('/auth/microsoft/login', (req, res) => flow.login(req, res));
    app.get('/auth/microsoft/callback', (req, res) => flow.callback(req, res));
  };
}

class EntraSignIn {
  /** Made with the first sign-in (msal-node is loaded then: auth/entraApp.ts). */
  private client: Promise<ConfidentialClientApplication> | undefined;
  private readonly log: Logger;
  /** The cookie is Secure whenever the public address is https (a plain-http dev setup would never send it back). */
  private readonly secureCookie: boolean;

  constructor(
    private readonly services: Services,
    private readonly entra: EntraConfig,
    private readonly verifier: EntraTokenVerifier,
  ) {
    this.log = services.log.child({ component: 'entra-sign-in' });
    this.secureCookie = new URL(entra.redirectUri).protocol === 'https:';
  }

  private msal(): Promise<ConfidentialClientApplication> {
    this.client ??= entraAppClient(this.entra, this.log);
    return this.client;
  }

  async login(req: Request, res: Response): Promise<void> {
    noStore(res);
    // The web client's own random value, handed back beside the token: the client takes a token only from
    // a sign-in it started, never from a planted `/#token=` link (login CSRF).
    const clientState = typeof req.query.client_state === 'string' && /^[\w-]{16,128}$/.test(req.query.client_state) ? req.query.client_state : undefined;
    try {
      const { verifier, challenge } = await new (await loadMsal()).CryptoProvider().generatePkceCodes();
      const state = randomBytes(24).toString('base64url');
      const nonce = randomBytes(24).toString('base64url');
      const url = await (await this.msal()).getAuthCodeUrl({
        scopes: SCOPES,
        redirectUri: this.entra.redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state,
        nonce,
        responseMode: 'query',
      });
      const cookie = await this.services.tokens.signForPurpose(COOKIE_AUDIENCE, { state, nonce, verifier, clientState }, COOKIE_TTL_SECONDS);
      res.cookie(COOKIE, cookie, { ...this.cookieOptions(), maxAge: COOKIE_TTL_SECONDS * 1000 });
      res.redirect(302, url);
    } catch (err) {
      this.fail(res, 'authority_error', { err });
    }
  }

  async callback(req: Request, res: Response): Promise<void> {
    noStore(res);
    // One use only: whatever happens next, the browser forgets this sign-in's secrets.
    res.clearCookie(COOKIE, this.cookieOptions());
    const query = req.query as Record<string, unknown>;
    const saved = await this.services.tokens.verifyForPurpose(COOKIE_AUDIENCE, readCookie(req.headers.cookie, COOKIE));
    if (!isFlowState(saved) || typeof query.state !== 'string' || query.state !== saved.state) {
      return this.fail(res, 'invalid_state', { hasCookie: Boolean(saved) });
    }
    if (typeof query.error === 'string' || typeof query.code !== 'string') {
      const detail = { error: query.error, description: query.error_description };
      return this.fail(res, query.error === 'access_denied' ? 'access_denied' : 'authority_error', detail);
    }

    let idTokenClaims: JWTPayload;
    try {
      const msal = await this.msal();
      const result = await msal.acquireTokenByCode({
        code: query.code,
        scopes: SCOPES,
        redirectUri: this.entra.redirectUri,
        codeVerifier: saved.verifier,
        nonce: saved.nonce,
      });
      // msal keeps every token it gets in an in-memory cache; sign-in needs none of them later.
      if (result.account) await msal.getTokenCache().removeAccount(result.account);
      // msal does not check the ID token's signature: it came straight from the token endpoint over TLS,
      // which OpenID Connect Core 3.1.3.7 accepts in place of one.
      idTokenClaims = result.idTokenClaims as JWTPayload;
    } catch (err) {
      return this.fail(res, 'token_exchange_failed', { err });
    }

    const claims = entraClaims(idTokenClaims);
    if (!claims || (idTokenClaims.tid !== undefined && idTokenClaims.tid !== this.entra.tenantId)) {
      return this.fail(res, 'missing_claims', { tid: idTokenClaims.tid, hasOid: typeof idTokenClaims.oid === 'string' });
    }
    try {
      const em = this.services.orm.em.fork();
      const user = await this.verifier.upsertUser(em, claims);
      if (!user.active) {
        em.create(SignInEvent, { email: claims.email, user, method: 'ENTRA_ID', success: false, ip: req.ip ?? null });
        await em.flush();
        return this.fail(res, 'account_conflict', { email: claims.email, deactivated: true });
      }
      user.lastSignInAt = new Date();
      em.create(SignInEvent, { email: claims.email, user, method: 'ENTRA_ID', success: true, ip: req.ip ?? null });
      await em.flush();
      const token = await this.services.tokens.sign(user.id);
      this.log.info({ userId: user.id }, 'Entra sign-in');
      // In the fragment, so it never reaches a server log or a Referer header; the client takes it from there.
      res.redirect(302, `/#token=${encodeURIComponent(token)}${typeof saved.clientState === 'string' ? `&state=${saved.clientState}` : ''}`);
    } catch (err) {
      if (err instanceof EntraAccountConflict) return this.fail(res, 'account_conflict', { email: claims.email });
      this.fail(res, 'sign_in_failed', { err });
    }
  }

  private cookieOptions() {
    return { httpOnly: true, sameSite: 'lax' as const, secure: this.secureCookie, path: COOKIE_PATH };
  }

  private fail(res: Response, code: SignInErrorCode, detail: Record<string, unknown>): void {
    this.log.warn({ signInError: code, ...detail }, 'Entra sign-in failed');
    res.redirect(302, `/#signInError=${code}`);
  }
}

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
}

function isFlowState(payload: JWTPayload | null): payload is JWTPayload & FlowState {
  return !!payload && typeof payload.state === 'string' && typeof payload.nonce === 'string' && typeof payload.verifier === 'string';
}

/** One cookie's value from a Cookie header (express reads none without cookie-parser, which we do not need). */
function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined; // malformed escapes: treated as no cookie
    }
  }
  return undefined;
}

/** Sign-in responses carry one-time secrets: no cache may keep them, no Referer may leak the code. */
function noStore(res: Response): void {
  res.set('Cache-Control', 'no-store');
  res.set('Referrer-Policy', 'no-referrer');
}
