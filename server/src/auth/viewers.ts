/**
 * From a bearer token to a Viewer. Plansync's own tokens and, when Entra ID is configured, Entra access
 * tokens for this app are accepted; the person's role and units are always read from their current row,
 * so a changed role or membership takes effect with the next request, not the next sign-in.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeJwt } from 'jose';
import { User } from '../directory/User.js';
import { isUuid } from '../ids.js';
import type { Viewer } from '../policies/viewer.js';
import { EntraAccountConflict, type EntraTokenVerifier } from './entraTokens.js';
import { TOKEN_ISSUER, type TokenService } from './tokens.js';

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

export class ViewerResolver {
  constructor(
    private readonly tokens: TokenService,
    private readonly entra: EntraTokenVerifier | undefined,
  ) {}

  /**
   * The same person with their current role, units and organisation (after an admin changed them), keeping
   * the expiry of the token they connected with; null when the account is gone.
   */
  async refresh(em: EntityManager, viewer: Viewer): Promise<Viewer | null> {
    const user = await em.findOne(User, { id: viewer.userId }, { populate: ['businessUnits'] });
    return user ? viewerFromUser(user, viewer.expiresAt) : null;
  }

  /** The viewer a token speaks for, or null when it is not a valid, current token of a known person. */
  async fromToken(em: EntityManager, token: string | null): Promise<Viewer | null> {
    if (!token || token.length > 16 * 1024) return null;
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
      const user = await em.findOne(User, { id: verified.userId }, { populate: ['businessUnits'] });
      return user ? viewerFromUser(user, verified.expiresAt) : null;
    }
    if (this.entra && this.entra.accepts(issuer)) {
      const verified = await this.entra.verify(token);
      if (!verified) return null;
      try {
        const user = await this.entra.upsertUser(em, verified.claims);
        return viewerFromUser(user, verified.expiresAt);
      } catch (err) {
        if (err instanceof EntraAccountConflict) return null;
        throw err;
      }
    }
    return null;
  }
}
