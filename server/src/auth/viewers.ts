/**
 * From a bearer token to a Viewer. Plansync's own tokens and, when Entra ID is configured, Entra access
 * tokens for this app are accepted; the person's role and units are always read from their current row,
 * so a changed role or membership takes effect with the next request, not the next sign-in.
 *
 * Per request that is one query (the person's row with their unit ids), and a signature check only for a
 * token not seen lately: a token's signature cannot change, so a verified Plansync token is remembered (its
 * expiry still checked at every use); who it names and what they may do are never remembered.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeJwt } from 'jose';
import { User } from '../directory/User.js';
import { withSqlClient } from '../db/sql.js';
import { isUuid } from '../ids.js';
import type { Role } from '../config.js';
import type { Viewer } from '../policies/viewer.js';
import { EntraAccountConflict, type EntraTokenVerifier } from './entraTokens.js';
import { TOKEN_ISSUER, type TokenService, type VerifiedToken } from './tokens.js';

/** Pulls the token out of an `Authorization: Bearer <token>` value; anything else gives null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

export function viewerFromUser(user: User, expiresAt: number): Viewer {
  return {
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
}

/**
 * A person's current row and units in one query (what `findOne(User, ..., { populate: ['businessUnits'] })`
 * reads in two): a prepared statement on a connection of MikroORM's pool, outside any transaction of `em`.
 */
const VIEWER_STATEMENT = {
  name: 'plansync.viewer',
  text: `SELECT u.id, u.email, u.role, u.organization_id,
       ARRAY(SELECT m.business_unit_id::text FROM user_business_unit m WHERE m.user_id = u.id) AS unit_ids
  FROM app_user u
 WHERE u.id = $1::uuid`,
};

/** The viewer of the person with this id (a uuid) as they are now, or null when there is no such person. */
async function currentViewer(em: EntityManager, userId: string, expiresAt: number): Promise<Viewer | null> {
  const { rows } = await withSqlClient(em, (client) => client.query<ViewerRow>({ ...VIEWER_STATEMENT, values: [userId] }));
  const row = rows[0];
  if (!row) return null;
  return {
    userId: row.id,
    email: row.email,
    role: row.role,
    unitIds: new Set(row.unit_ids),
    organizationId: row.organization_id,
    expiresAt,
  };
}

/** How many verified tokens are remembered (the oldest is forgotten first). */
const VERIFIED_TOKENS_KEPT = 2000;

export class ViewerResolver {
  /** Plansync tokens whose signature, issuer and audience were verified, by their text. */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly tokens: TokenService,
    private readonly entra: EntraTokenVerifier | undefined,
  ) {}

  /**
   * The same person with their current role, units and organisation (after an admin changed them), keeping
   * the expiry of the token they connected with; null when the account is gone.
   */
  async refresh(em: EntityManager, viewer: Viewer): Promise<Viewer | null> {
    return currentViewer(em, viewer.userId, viewer.expiresAt);
  }

  /**
   * The viewer a token speaks for, or null when it is not a valid, current token of a known person. Of `em`
   * only the connection is used (the global EntityManager will do), except that an Entra ID sign-in creates
   * or updates the person's row through a fork of it.
   */
  async fromToken(em: EntityManager, token: string | null): Promise<Viewer | null> {
    if (!token || token.length > 16 * 1024) return null;
    const remembered = this.verified.get(token);
    if (remembered) {
      // As jose judges `exp` (no clock tolerance): valid while exp > now, in whole seconds.
      if (remembered.expiresAt > Math.floor(Date.now() / 1000)) return currentViewer(em, remembered.userId, remembered.expiresAt);
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
      return currentViewer(em, verified.userId, verified.expiresAt);
    }
    if (this.entra && this.entra.accepts(issuer)) {
      const verified = await this.entra.verify(token);
      if (!verified) return null;
      try {
        const user = await this.entra.upsertUser(em.fork(), verified.claims);
        return viewerFromUser(user, verified.expiresAt);
      } catch (err) {
        if (err instanceof EntraAccountConflict) return null;
        throw err;
      }
    }
    return null;
  }
}
