/**
 * App-only Entra tokens (the client credentials flow) for unattended tools: another Entra application signs
 * in as itself, and its token speaks for the Plansync service account an admin linked to that application
 * (`User.entraAppId`, auth/ServiceAccountEntraAppResolver.ts). What it may do is that account's role and units,
 * narrowed by the app roles the token holds, exactly as an access token's scopes narrow its owner's rights
 * (`Viewer.tokenScopes`: a READ token's mutations, imports and grid edits are refused):
 *
 *   Plansync.Read       READ
 *   Plansync.ReadWrite  READ and WRITE
 *
 * These are app roles the tenant's admin defines on Plansync's app registration and grants (admin consent)
 * to the calling application; Entra puts the granted ones in the token's `roles` claim.
 *
 * Accepted only when all hold: the token passed EntraTokenVerifier's checks (issuer, audience, expiry,
 * signature), it is app-only (`idtyp: "app"`, or, where that optional claim is not configured, no `scp` and a
 * `roles` claim, as Microsoft advises), `tid` is the configured tenant, `azp` (v2) or `appid` (v1) is an
 * application linked to an active service account, the token was issued after that account's tokens were last
 * ended (a deactivation, an unlink), it was not ended by `signOut`, and a role above is granted. Anything else is
 * refused like no token.
 *
 * Out of scope: verifying the token (entraTokens.ts), who may link an app (policies/accessToken.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { JWTPayload } from 'jose';
import type { Role } from '../config.js';
import { withSqlClient } from '../db/sql.js';
import { isUuid } from '../ids.js';
import type { TokenScope, Viewer } from '../policies/viewer.js';

/** Plansync's app roles and the access-token scopes each grants. */
export const ENTRA_APP_ROLE_SCOPES: Readonly<Record<string, readonly TokenScope[]>> = {
  'Plansync.Read': ['READ'],
  'Plansync.ReadWrite': ['READ', 'WRITE'],
};

/** What Plansync reads from a verified app-only token. */
export interface EntraAppClaims {
  /** The calling application's (client) id, lower-case: `azp` (v2 tokens) or `appid` (v1). */
  appId: string;
  /** The scopes its roles grant (never empty). */
  scopes: readonly TokenScope[];
}

/**
 * Whether a token speaks for an application rather than a person: `idtyp: "app"` when the app registration
 * emits that optional claim; otherwise Microsoft's rule for telling them apart, no `scp` and a `roles` claim.
 * A token with `idtyp: "user"` is a person's, whatever else it holds.
 */
export function isAppOnly(payload: JWTPayload): boolean {
  if (payload.idtyp === 'app') return true;
  if (payload.idtyp !== undefined) return false;
  return payload.scp === undefined && Array.isArray(payload.roles);
}

/** The scopes a `roles` claim grants (the union of its Plansync roles); empty when it holds none of them. */
export function scopesForAppRoles(roles: unknown): TokenScope[] {
  if (!Array.isArray(roles)) return [];
  const granted = new Set(roles.flatMap((r) => (typeof r === 'string' ? (ENTRA_APP_ROLE_SCOPES[r] ?? []) : [])));
  return granted.has('WRITE') ? ['READ', 'WRITE'] : granted.has('READ') ? ['READ'] : [];
}

/**
 * The calling app and its scopes from an app-only token already verified, or null: the tenant must be named and
 * be ours (a multi-tenant app's token from elsewhere names another), the app id must be a GUID, a `scp` claim
 * (a person's consent) must be absent, and at least one Plansync app role must be granted.
 */
export function appTokenClaims(payload: JWTPayload, tenantId: string): EntraAppClaims | null {
  if (payload.tid !== tenantId || payload.scp !== undefined) return null;
  const appId = typeof payload.azp === 'string' ? payload.azp : payload.appid;
  if (!isUuid(appId)) return null;
  const scopes = scopesForAppRoles(payload.roles);
  return scopes.length > 0 ? { appId: appId.toLowerCase(), scopes } : null;
}

/** An application (client) id as stored: a GUID, lower-case; null for anything else. */
export function normalEntraAppId(value: string): string | null {
  const trimmed = value.trim();
  return isUuid(trimmed) ? trimmed.toLowerCase() : null;
}

interface AppViewerRow {
  id: string;
  email: string;
  role: Role;
  organization_id: string | null;
  unit_ids: string[];
}

/**
 * The active service account an app is linked to, as it is now, unless the token (by its id and when it was
 * issued) was ended: by `signOut` (revoked_token), or by the account's tokens being ended after it was issued
 * (a deactivation, an unlink or relink: `tokens_valid_after`), so that a token issued before stays refused even
 * once the account is reactivated or the app linked again. Nothing about it is remembered between requests:
 * an unlink or a deactivation refuses the next request on every instance.
 */
const APP_VIEWER_STATEMENT = {
  name: 'plansync.viewer.entra-app.v1',
  text: `SELECT u.id, u.email, u.role, u.organization_id,
       ARRAY(SELECT m.business_unit_id::text FROM user_business_unit m WHERE m.user_id = u.id) AS unit_ids
  FROM app_user u
 WHERE u.entra_app_id = $1::text
   AND u.kind = 'SERVICE'
   AND u.active
   AND u.deleted_at IS NULL
   AND (u.tokens_valid_after IS NULL OR $3::float8 > extract(epoch FROM u.tokens_valid_after) * 1000)
   AND NOT EXISTS (SELECT 1 FROM revoked_token r WHERE r.token_id = $2::text)`,
};

/** What a socket's re-check needs to judge an app's token again (all on the viewer it was given). */
export interface EntraAppToken {
  appId: string;
  scopes: readonly TokenScope[];
  expiresAt: number;
  tokenId: string;
  issuedAtMs: number;
}

/**
 * The viewer an app-only token speaks for: the linked service account with the token's scopes, or null. Of
 * `em` only the connection is used. A re-check (`refresh`) passes the account it spoke for: a token whose app
 * was since linked to another account speaks for nobody.
 */
export async function entraAppViewer(em: EntityManager, token: EntraAppToken, spokeFor?: string): Promise<Viewer | null> {
  const values = [token.appId, token.tokenId, token.issuedAtMs];
  const { rows } = await withSqlClient(em, (client) => client.query<AppViewerRow>({ ...APP_VIEWER_STATEMENT, values }));
  const row = rows[0];
  if (!row || (spokeFor !== undefined && row.id !== spokeFor)) return null;
  return {
    tokenId: token.tokenId,
    issuedAtMs: token.issuedAtMs,
    userId: row.id,
    email: row.email,
    role: row.role,
    unitIds: new Set(row.unit_ids),
    organizationId: row.organization_id,
    expiresAt: token.expiresAt,
    tokenScopes: token.scopes,
    entraAppId: token.appId,
  };
}
