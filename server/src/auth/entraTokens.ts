/**
 * Microsoft Entra ID: verifying its access tokens for this app (issuer, audience, expiry, signature from the
 * tenant's JWKS), and creating or updating the Plansync user an Entra identity maps to.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { recordActivity } from '../activity/activityLog.js';
import type { EntraConfig, Role } from '../config.js';
import { User } from '../directory/User.js';
import { appTokenClaims, isAppOnly, type EntraAppClaims } from './entraAppTokens.js';

export interface EntraClaims {
  /** The directory object id: stable across renames and email changes. */
  oid: string;
  email: string;
  name: string;
  /** Group object ids, when the app registration emits the groups claim. */
  groups?: string[];
}

/** A verified Entra bearer token: a person's delegated token, or an app's app-only token. */
export type EntraBearer =
  | { kind: 'person'; claims: EntraClaims; expiresAt: number; tokenId?: string; issuedAtMs: number }
  | { kind: 'app'; app: EntraAppClaims; expiresAt: number; tokenId?: string; issuedAtMs: number };

/** When a person is in several mapped groups, the most capable role wins. */
const ROLE_PRECEDENCE: Role[] = ['ADMIN', 'ANALYST', 'PARTNER_ADMIN', 'BU_LEADER', 'VIEWER', 'PARTNER_USER'];

/** The role for a set of Entra groups; VIEWER (least privilege, no units) when none is mapped. */
export function roleForGroups(groups: readonly string[], mapping: Record<string, Role>): Role {
  return mappedRole(groups, mapping) ?? 'VIEWER';
}

/** The role a set of Entra groups maps to, or null when none of them is mapped. */
export function mappedRole(groups: readonly string[], mapping: Record<string, Role>): Role | null {
  const roles = new Set(groups.map((g) => mapping[g]).filter(Boolean));
  return ROLE_PRECEDENCE.find((r) => roles.has(r)) ?? null;
}

/** Reads the claims Plansync needs from a verified Entra token (ID or access token). */
export function entraClaims(payload: JWTPayload): EntraClaims | null {
  const oid = typeof payload.oid === 'string' ? payload.oid : null;
  const email = [payload.email, payload.preferred_username, payload.upn, payload.unique_name].find(
    (v): v is string => typeof v === 'string' && v.includes('@'),
  );
  if (!oid || !email) return null;
  const name = typeof payload.name === 'string' && payload.name.trim() ? payload.name : email;
  const groups = Array.isArray(payload.groups) ? payload.groups.filter((g): g is string => typeof g === 'string') : undefined;
  return { oid, email: email.toLowerCase(), name, groups };
}

/**
 * Whether a token is a delegated access token with this API's scope: `scp` is a space-separated list of the
 * scopes the person consented to for this API. ID tokens carry no `scp`; app-only tokens carry `roles` and
 * `idtyp: "app"`, and speak for no person.
 */
export function grantsScope(payload: JWTPayload, scope: string): boolean {
  if (payload.idtyp === 'app') return false;
  return typeof payload.scp === 'string' && payload.scp.split(' ').includes(scope);
}

export class EntraTokenVerifier {
  readonly issuer: string;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly config: EntraConfig,
    /**
     * Told, once committed, that a person's role changed through their groups: the caller publishes
     * USER_ACCESS_CHANGED, so that their open grid and GraphQL sockets follow at once, as after setUserAccess.
     */
    private readonly onAccessChanged: (userId: string) => void = () => {},
  ) {
    this.issuer = `${config.authorityHost}/${config.tenantId}/v2.0`;
    this.jwks = createRemoteJWKSet(new URL(`${config.authorityHost}/${config.tenantId}/discovery/v2.0/keys`), {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
    });
  }

  accepts(issuer: string | undefined): boolean {
    return issuer === this.issuer;
  }

  /**
   * The claims of a valid, current access token issued for this API by this tenant, on behalf of a person,
   * or null. Besides issuer, audience, expiry and signature, the token must be an access token granting this
   * API's delegated scope (`scp` holds ENTRA_API_SCOPE): an ID token (same issuer and audience, no `scp`), an
   * app-only token (`roles`, no person behind it) or a token for another of the app's scopes is refused.
   * `tokenId`: its `uti` (Entra's unique token id), what signOut ends it by.
   */
  async verify(token: string): Promise<{ claims: EntraClaims; expiresAt: number; tokenId?: string; issuedAtMs: number } | null> {
    const verified = await this.verifyBearer(token);
    return verified?.kind === 'person' ? verified : null;
  }

  /**
   * A bearer token for this API, as one of the two kinds Plansync accepts (the checks are `verify`'s for both:
   * issuer, audience, expiry, signature, tenant):
   * - `person`: a delegated access token granting this API's scope (see `verify`);
   * - `app`: an app-only token (client credentials) of another Entra application, which must name this tenant
   *   (`tid`) and hold one of Plansync's app roles (entraAppTokens.ts). Whether that app speaks for anyone is
   *   the caller's to decide (a linked service account).
   * Anything else (an ID token, another scope, an app-only token without a known role) is null.
   */
  async verifyBearer(token: string): Promise<EntraBearer | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        algorithms: ['RS256'],
        issuer: this.issuer,
        audience: [this.config.clientId, `api://${this.config.clientId}`],
        requiredClaims: ['exp', 'oid'],
      }));
    } catch {
      return null;
    }
    if (payload.tid !== undefined && payload.tid !== this.config.tenantId) return null;
    const tokenId = typeof payload.uti === 'string' ? payload.uti : undefined;
    // When it was issued (`iat`, whole seconds): ending a person's tokens ends their Entra tokens too (viewers.ts).
    const issuedAtMs = typeof payload.iat === 'number' ? payload.iat * 1000 : 0;
    const expiresAt = payload.exp!;
    if (isAppOnly(payload)) {
      const app = appTokenClaims(payload, this.config.tenantId);
      return app ? { kind: 'app', app, expiresAt, tokenId, issuedAtMs } : null;
    }
    if (!grantsScope(payload, this.config.apiScope)) return null;
    const claims = entraClaims(payload);
    return claims ? { kind: 'person', claims, expiresAt, tokenId, issuedAtMs } : null;
  }

  /**
   * The Plansync user for an Entra identity. Found by directory object id (stable across renames); a
   * first sign-in links to an existing account with the same email only when that account was made for
   * Entra (no password, no other Entra identity): Entra's username claims are not proof of owning an
   * address, so linking a password account by email would let a look-alike identity take it over. Such a
   * clash refuses the sign-in (EntraAccountConflict). The role follows the person's groups whenever they map
   * to one; when none does, a role the groups gave before is taken back (VIEWER), and one an admin gave stays.
   * The email follows Entra's when it changes and is free.
   *
   * A person created here whose groups map to no role gets VIEWER with no units, which reads nothing: they
   * are marked `awaitingAccess` so that admins see who waits (the sign-in page), until an admin gives them
   * access (setUserAccess) or a later sign-in brings a mapped group.
   *
   * What the groups give or take is an access change like an admin's, made by the system: a person created
   * here writes USER_CREATED, a role the groups change writes USER_ACCESS_CHANGED (`from: 'ENTRA_GROUPS'`),
   * each committed with the change; and the person's open sockets are told (onAccessChanged).
   */
  async upsertUser(em: EntityManager, claims: EntraClaims): Promise<User> {
    try {
      return await this.findOrCreate(em, claims);
    } catch (err) {
      // Two first sign-ins of one person at the same moment: the loser of the insert finds the winner's row.
      if ((err as { code?: string }).code !== '23505') throw err;
      em.clear();
      return this.findOrCreate(em, claims);
    }
  }

  private async findOrCreate(em: EntityManager, claims: EntraClaims): Promise<User> {
    const populate = ['businessUnits', 'organization'] as const;
    const mapped = claims.groups ? mappedRole(claims.groups, this.config.groupRoles) : null;
    let user: User | null = await em.findOne(User, { entraObjectId: claims.oid }, { populate });
    // A deleted person stays as deleted (the callers refuse them as inactive): their groups change nothing.
    if (user?.deletedAt) return user;
    let created = false;
    if (user) {
      if (user.email !== claims.email && !(await em.count(User, { email: claims.email }))) user.email = claims.email;
    } else {
      user = await em.findOne(User, { email: claims.email }, { populate });
      if (user?.deletedAt) return user;
      if (user && (user.entraObjectId !== null || user.passwordHash !== null)) throw new EntraAccountConflict(claims.email);
      if (!user) {
        user = em.create(User, { email: claims.email, displayName: claims.name, role: 'VIEWER', awaitingAccess: mapped === null });
        created = true;
      }
      user.entraObjectId = claims.oid;
    }
    const roleBefore = user.role;
    user.displayName = claims.name;
    if (mapped) {
      user.role = mapped;
      user.roleFromGroups = true;
      user.awaitingAccess = false;
    } else if (claims.groups && user.roleFromGroups) {
      // Out of every mapped group: what the groups gave goes (least privilege, no units).
      user.role = 'VIEWER';
      user.roleFromGroups = false;
    }
    // Otherwise the role stays as it is: groups that map to no role say nothing about the one an admin gave
    // (setUserAccess), which a sign-in must not take back.
    const roleChanged = !created && user.role !== roleBefore;
    if (created) {
      recordActivity(em, null, 'USER_CREATED', user.email, { role: user.role, businessUnitCodes: [], organization: null, from: 'ENTRA_SIGN_IN' });
    } else if (roleChanged) {
      const businessUnitCodes = user.businessUnits.getItems().map((u) => u.code).sort();
      recordActivity(em, null, 'USER_ACCESS_CHANGED', user.email, {
        before: { role: roleBefore, businessUnitCodes },
        after: { role: user.role, businessUnitCodes },
        from: 'ENTRA_GROUPS',
      });
    }
    await em.flush();
    if (roleChanged) this.onAccessChanged(user.id);
    return user;
  }
}

/** An Entra identity whose email belongs to an account it may not take over. */
export class EntraAccountConflict extends Error {
  constructor(email: string) {
    super(`An account with ${email} exists and is not linked to this Entra identity`);
  }
}
