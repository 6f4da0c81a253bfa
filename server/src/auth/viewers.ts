/**
 * From a bearer token to a Viewer. Plansync's own tokens and, when Entra ID is configured, Entra access
 * tokens for this app are accepted (a person's delegated ones, and app-only ones of an application linked to a
 * service account: entraAppTokens.ts); the person's role and units are always read from their current row,
 * so a changed role or membership takes effect with the next request, not the next sign-in.
 *
 * Per request that is one query (the person's row with their unit ids, unless the token was ended by
 * `signOut`), and a signature check only for a token not seen lately: a token's signature cannot change, so a
 * verified Plansync token is remembered (its expiry still checked at every use); who it names, what they may
 * do and whether the token was ended are never remembered.
 *
 * The same lookup says whether the person must enrol in two-factor sign-in first (REQUIRE_TOTP_ROLES): such a
 * viewer is handed out only where enrolling happens (GraphQL over HTTP, `allowTotpEnrollment`, whose root
 * fields auth/totpGate.ts narrows to the enrolment ones); everywhere else (grid, GraphQL sockets, and any path
 * added later that asks `fromToken` plainly) the token is refused as if it were none.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeJwt } from 'jose';
import { User } from '../directory/User.js';
import { withSqlClient } from '../db/sql.js';
import { isUuid } from '../ids.js';
import type { Role } from '../config.js';
import type { TokenScope, Viewer } from '../policies/viewer.js';
import { ACCESS_TOKEN_PREFIX, hashAccessToken, isAccessTokenText } from './accessTokenSecrets.js';
import { entraAppViewer } from './entraAppTokens.js';
import { EntraAccountConflict, type EntraTokenVerifier } from './entraTokens.js';
import { TOKEN_ISSUER, tokenIdOf, type TokenService, type VerifiedToken } from './tokens.js';

/** Pulls the token out of an `Authorization: Bearer <token>` value; anything else gives null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

export function viewerFromUser(user: User, expiresAt: number, tokenId?: string, issuedAtMs?: number): Viewer {
  return {
    tokenId,
    issuedAtMs,
    userId: user.id,
    email: user.email,
    role: user.role,
    unitIds: new Set(user.businessUnits.getItems().map((u) => u.id)),
    organizationId: user.organization?.id ?? null,
    expiresAt,
  };
}

interface ViewerRow {
  id: string;
  email: string;
  role: Role;
  organization_id: string | null;
  unit_ids: string[];
  totp_enrollment_required: boolean;
}

/**
 * A person's current row and units in one query (what `findOne(User, ..., { populate: ['businessUnits'] })`
 * reads in two), nothing when the token was ended: by `signOut` (revoked_token), or with all the person's
 * tokens issued before `tokens_valid_after` (a password change or reset, a deactivation; the token a password
 * change was made with, `kept_token_id`, excepted), or when the person is deactivated. A prepared statement
 * on a connection of MikroORM's pool, outside any transaction of `em`.
 */
const VIEWER_STATEMENT = {
  name: 'plansync.viewer.v4',
  text: `SELECT u.id, u.email, u.role, u.organization_id,
       ARRAY(SELECT m.business_unit_id::text FROM user_business_unit m WHERE m.user_id = u.id) AS unit_ids,
       (u.role::text = ANY($4::text[]) AND u.password_hash IS NOT NULL AND u.totp_enabled_at IS NULL) AS totp_enrollment_required
  FROM app_user u
 WHERE u.id = $1::uuid
   AND u.active
   AND (u.tokens_valid_after IS NULL OR $3::float8 > extract(epoch FROM u.tokens_valid_after) * 1000 OR u.kept_token_id = $2::text)
   AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = $2::text)`,
};

/**
 * The viewer of the person with this id (a uuid) as they are now, or null when there is no such person, they
 * are deactivated, or the token (by its id and when it was issued) was ended. A token of unknown issue time
 * (`issuedAtMs` absent) counts as issued at the epoch: any ending of the person's tokens ends it.
 */
async function currentViewer(
  em: EntityManager,
  userId: string,
  expiresAt: number,
  tokenId: string | undefined,
  issuedAtMs: number | undefined,
  requireTotpRoles: readonly Role[],
): Promise<Viewer | null> {
  const values = [userId, tokenId ?? '', issuedAtMs ?? 0, requireTotpRoles];
  const { rows } = await withSqlClient(em, (client) => client.query<ViewerRow>({ ...VIEWER_STATEMENT, values }));
  const row = rows[0];
  if (!row) return null;
  const viewer: Viewer = {
    tokenId,
    issuedAtMs,
    userId: row.id,
    email: row.email,
    role: row.role,
    unitIds: new Set(row.unit_ids),
    organizationId: row.organization_id,
    expiresAt,
  };
  // Set after the literal rather than spread into it: a spread gave every viewer a hidden class of its own
  // (about 0.3 KB each, held by every open grid socket).
  if (row.totp_enrollment_required) viewer.totpEnrollmentRequired = true;
  return viewer;
}

interface AccessTokenRow extends Omit<ViewerRow, 'totp_enrollment_required'> {
  token_id: string;
  scopes: TokenScope[];
  expires_at: number;
  /** Seconds since the epoch; null before the first use. */
  last_used_at: number | null;
}

/**
 * An access token's owner as they are now, with the token's scopes and expiry: nothing when the token is
 * unknown, revoked or expired, or its owner deactivated or deleted (a deletion deactivates too). Looked up by
 * the token's hash (`$1`) or, for a socket's re-check, by its id (`$2`). Refused at once on every instance,
 * as nothing about the token is remembered between requests. A person's password change does not end their
 * access tokens (scripts would break for an unrelated reason); a deactivation does.
 */
const ACCESS_TOKEN_STATEMENT = {
  name: 'plansync.viewer.access-token.v1',
  text: `SELECT t.id::text AS token_id, t.scopes, extract(epoch FROM t.expires_at)::float8 AS expires_at,
       extract(epoch FROM t.last_used_at)::float8 AS last_used_at,
       u.id, u.email, u.role, u.organization_id,
       ARRAY(SELECT m.business_unit_id::text FROM user_business_unit m WHERE m.user_id = u.id) AS unit_ids
  FROM access_token t JOIN app_user u ON u.id = t.owner_id
 WHERE (t.token_hash = $1::text OR t.id = $2::uuid)
   AND t.revoked_at IS NULL
   AND t.expires_at > now()
   AND u.active
   AND u.deleted_at IS NULL`,
};

/** How stale `last_used_at` may get (ms): it is written at most about this often per token, not per request. */
const LAST_USED_PRECISION_MS = 60_000;

async function accessTokenViewer(em: EntityManager, by: { hash: string } | { id: string }): Promise<Viewer | null> {
  const values = 'hash' in by ? [by.hash, null] : ['', by.id];
  const { rows } = await withSqlClient(em, (client) => client.query<AccessTokenRow>({ ...ACCESS_TOKEN_STATEMENT, values }));
  const row = rows[0];
  if (!row) return null;
  if (row.last_used_at === null || Date.now() - row.last_used_at * 1000 > LAST_USED_PRECISION_MS) {
    // The condition again in SQL: of several instances seeing the same stale time, one writes.
    await em.getConnection().execute(
      `UPDATE access_token SET last_used_at = now() WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [row.token_id],
    );
  }
  return {
    tokenId: row.token_id,
    userId: row.id,
    email: row.email,
    role: row.role,
    unitIds: new Set(row.unit_ids),
    organizationId: row.organization_id,
    // Rounded up: a socket closing at this second finds the token refused by this statement already.
    expiresAt: Math.ceil(row.expires_at),
    tokenScopes: row.scopes,
  };
}

/** A viewer proved by Plansync's own sign-in token knows when that sign-in was (what renewals keep). */
function withSessionStart(viewer: Viewer | null, token: VerifiedToken): Viewer | null {
  // Set on the viewer just made for this request rather than spread into a copy: the copy got a hidden class of
  // its own, a few hundred bytes held by every open grid socket.
  if (viewer) viewer.sessionStartedAtMs = token.sessionStartedAtMs;
  return viewer;
}

/** A viewer restricted to enrolling in TOTP is handed out only to who asked for one. */
function unlessEnrolling(viewer: Viewer | null, allowTotpEnrollment: boolean): Viewer | null {
  return viewer?.totpEnrollmentRequired && !allowTotpEnrollment ? null : viewer;
}

/** How many verified tokens are remembered (the oldest is forgotten first). */
const VERIFIED_TOKENS_KEPT = 2000;

export class ViewerResolver {
  /** Plansync tokens whose signature, issuer and audience were verified, by their text. */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly tokens: TokenService,
    private readonly entra: EntraTokenVerifier | undefined,
    /** REQUIRE_TOTP_ROLES: people of these roles with a password must enrol in TOTP before anything else. */
    private readonly requireTotpRoles: readonly Role[] = [],
  ) {}

  /**
   * The same person with their current role, units and organisation (after an admin changed them), keeping
   * the expiry of the token they connected with; null when the account is gone.
   */
  async refresh(em: EntityManager, viewer: Viewer): Promise<Viewer | null> {
    // An Entra app's socket: its service account may have been deactivated, or the app unlinked, meanwhile.
    if (viewer.entraAppId !== undefined) return this.refreshEntraApp(em, viewer);
    // An access token's socket: the token itself may have been revoked or have expired meanwhile.
    if (viewer.tokenScopes !== undefined) return viewer.tokenId && isUuid(viewer.tokenId) ? accessTokenViewer(em, { id: viewer.tokenId }) : null;
    // Sockets only: one of a person who must now enrol first (their role changed) is closed like an ended token.
    const current = await currentViewer(em, viewer.userId, viewer.expiresAt, viewer.tokenId, viewer.issuedAtMs, this.requireTotpRoles);
    return unlessEnrolling(current, false);
  }

  private refreshEntraApp(em: EntityManager, viewer: Viewer): Promise<Viewer | null> {
    const { entraAppId, tokenScopes, tokenId, issuedAtMs } = viewer;
    if (!entraAppId || !tokenScopes || !tokenId || issuedAtMs === undefined) return Promise.resolve(null);
    const token = { appId: entraAppId, scopes: tokenScopes, expiresAt: viewer.expiresAt, tokenId, issuedAtMs };
    return entraAppViewer(em, token, viewer.userId);
  }

  /**
   * Ends the viewer's token on the server, until it would have expired anyway (`signOut`): every later request
   * with it is refused. The caller tells open sockets (TOKENS_REVOKED).
   */
  async revoke(em: EntityManager, viewer: Viewer): Promise<boolean> {
    if (!viewer.tokenId) return false;
    // An Entra app's token is Entra's, not a row of ours: ended by its id, as a person's Entra token is (below).
    if (viewer.tokenScopes !== undefined && viewer.entraAppId === undefined) {
      // Signing out with an access token revokes it, as revokeAccessToken would, with its activity entry: one
      // statement, so that both happen or neither.
      await em.getConnection().execute(
        `WITH revoked AS (
           UPDATE access_token SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL RETURNING id, name
         )
         INSERT INTO activity_entry (action, actor_id, actor_email, subject, details)
         SELECT 'ACCESS_TOKEN_REVOKED', ?, ?, name, jsonb_build_object('tokenId', id::text, 'owner', ?::text, 'by', 'signOut') FROM revoked`,
        [viewer.tokenId, viewer.userId, viewer.email, viewer.email],
      );
      return true;
    }
    await em.getConnection().execute(
      `INSERT INTO revoked_token (token_id, user_id, expires_at) VALUES (?, ?, to_timestamp(?))
       ON CONFLICT (token_id) DO NOTHING`,
      [viewer.tokenId, viewer.userId, viewer.expiresAt],
    );
    return true;
  }

  /**
   * The viewer a token speaks for, or null when it is not a valid, current token of a known person. Of `em`
   * only the connection is used (the global EntityManager will do), except that an Entra ID sign-in creates
   * or updates the person's row through a fork of it.
   *
   * A person who must enrol in TOTP first (REQUIRE_TOTP_ROLES) gets a viewer only with `allowTotpEnrollment`
   * (GraphQL over HTTP, where auth/totpGate.ts lets them enrol and nothing else); null otherwise.
   */
  async fromToken(em: EntityManager, token: string | null, options: { allowTotpEnrollment?: boolean } = {}): Promise<Viewer | null> {
    const allow = options.allowTotpEnrollment === true;
    if (!token || token.length > 16 * 1024) return null;
    // Access tokens need no TOTP enrolment: they are made by someone already signed in, or by an admin.
    if (token.startsWith(ACCESS_TOKEN_PREFIX)) return isAccessTokenText(token) ? accessTokenViewer(em, { hash: hashAccessToken(token) }) : null;
    const remembered = this.verified.get(token);
    if (remembered) {
      // As jose judges `exp` (no clock tolerance): valid while exp > now, in whole seconds.
      if (remembered.expiresAt > Math.floor(Date.now() / 1000)) {
        const viewer = await currentViewer(em, remembered.userId, remembered.expiresAt, remembered.tokenId, remembered.issuedAtMs, this.requireTotpRoles);
        return unlessEnrolling(withSessionStart(viewer, remembered), allow);
      }
      this.verified.delete(token);
      return null;
    }
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return null;
    }
    if (issuer === TOKEN_ISSUER) {
      const verified = await this.tokens.verify(token);
      // A subject that is not a user id names nobody (and must not reach PostgreSQL as a uuid).
      if (!verified || !isUuid(verified.userId)) return null;
      if (this.verified.size >= VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, verified);
      const viewer = await currentViewer(em, verified.userId, verified.expiresAt, verified.tokenId, verified.issuedAtMs, this.requireTotpRoles);
      return unlessEnrolling(withSessionStart(viewer, verified), allow);
    }
    if (this.entra && this.entra.accepts(issuer)) {
      const verified = await this.entra.verifyBearer(token);
      if (!verified) return null;
      const tokenId = tokenIdOf(token, verified.tokenId);
      // An app signing in as itself (client credentials): the service account linked to it, if any. No TOTP
      // enrolment either: nobody signs in with a password there.
      if (verified.kind === 'app') {
        const { app, expiresAt, issuedAtMs } = verified;
        return entraAppViewer(em, { appId: app.appId, scopes: app.scopes, expiresAt, tokenId, issuedAtMs });
      }
      const ended = await em.getConnection().execute('SELECT 1 FROM revoked_token WHERE token_id = ?', [tokenId]);
      if (ended.length > 0) return null;
      try {
        const user = await this.entra.upsertUser(em.fork(), verified.claims);
        // A deactivated person's Entra tokens are refused like any other of theirs, and so are those issued
        // before their tokens were ended (as VIEWER_STATEMENT decides for Plansync's own).
        const ended = user.tokensValidAfter !== null && verified.issuedAtMs <= user.tokensValidAfter.getTime() && user.keptTokenId !== tokenId;
        if (!user.active || ended) return null;
        return viewerFromUser(user, verified.expiresAt, tokenId, verified.issuedAtMs);
      } catch (err) {
        if (err instanceof EntraAccountConflict) return null;
        throw err;
      }
    }
    return null;
  }
}
