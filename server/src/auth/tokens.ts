/**
 * Plansync's own access tokens: ES256 JWTs signed and verified with jose. Verification pins the algorithm,
 * issuer and audience, so unsigned (`alg: none`), HS256-with-the-public-key and foreign tokens all fail.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { SigningKeys } from './keys.js';

export const TOKEN_ISSUER = 'plansync';
export const TOKEN_AUDIENCE = 'plansync';

export interface VerifiedToken {
  userId: string;
  /** Expiry, seconds since the epoch: websockets close when it passes. */
  expiresAt: number;
  /** What `signOut` ends this token by: its `jti` (see tokenIdOf). */
  tokenId: string;
  /**
   * When it was issued, in ms since the epoch (its `iat_ms` claim, else `iat`): a token issued before the
   * person's tokens were all ended (a password change or reset, a deactivation) is refused (viewers.ts).
   */
  issuedAtMs: number;
  /**
   * When the person signed in, in ms since the epoch: the `auth_time` claim (OpenID Connect's name, in
   * seconds) that renewed tokens carry over from the token they replace, else when this token was issued.
   * Renewals never reach past SESSION_MAX_HOURS after it (auth/sessionRenewal.ts).
   */
  sessionStartedAtMs: number;
}

/** The claim that says, to the millisecond, when a token was issued (`iat` is in whole seconds). */
const ISSUED_AT_MS_CLAIM = 'iat_ms';

/** The claim that says when the person signed in (seconds since the epoch): kept by renewals. */
export const AUTH_TIME_CLAIM = 'auth_time';

/**
 * The id a token is ended by: its `jti` when it has one (every token Plansync signs does), else a hash of the
 * whole token (tokens signed before `jti`, Entra ID tokens), which names it just as well.
 */
export function tokenIdOf(token: string, jti: unknown): string {
  return typeof jti === 'string' && jti.length > 0 && jti.length <= 200 ? jti : `sha256:${createHash('sha256').update(token).digest('base64url')}`;
}

export class TokenService {
  constructor(
    private readonly keys: SigningKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** A sign-in token for the person; `expiresAt` (seconds since the epoch) shortens it below the usual lifetime. */
  async sign(userId: string, claims: Record<string, unknown> = {}, expiresAt?: number): Promise<string> {
    const lifetimeEnd = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    return new SignJWT({ ...claims, [ISSUED_AT_MS_CLAIM]: Date.now() })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(expiresAt === undefined ? lifetimeEnd : Math.min(expiresAt, lifetimeEnd))
      .sign(this.keys.privateKey);
  }

  /** How long a token lasts when nothing shortens it, in seconds (JWT_TTL_SECONDS). */
  get lifetimeSeconds(): number {
    return this.ttlSeconds;
  }

  /**
   * A short-lived token for a purpose other than access (the state of an Entra sign-in, kept in a cookie):
   * it carries its own audience, so it is never accepted as an access token, nor an access token in its place.
   */
  async signForPurpose(audience: string, claims: Record<string, unknown>, ttlSeconds: number): Promise<string> {
    if (audience === TOKEN_AUDIENCE) throw new Error('A purpose token needs an audience of its own');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.keys.privateKey);
  }

  /** The claims of a valid, current purpose token for that audience, or null. */
  async verifyForPurpose(audience: string, token: string | undefined | null): Promise<JWTPayload | null> {
    if (!token || audience === TOKEN_AUDIENCE) return null;
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: ['ES256'],
        issuer: TOKEN_ISSUER,
        audience,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }

  /** Returns who the token speaks for, or null for anything that is not a valid, current Plansync token. */
  async verify(token: string): Promise<VerifiedToken | null> {
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: ['ES256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'exp'],
      });
      const issuedAtClaim = payload[ISSUED_AT_MS_CLAIM];
      const issuedAtMs = typeof issuedAtClaim === 'number' && Number.isFinite(issuedAtClaim) ? issuedAtClaim : (payload.iat ?? 0) * 1000;
      const authTime = payload[AUTH_TIME_CLAIM];
      return {
        userId: payload.sub!,
        expiresAt: payload.exp!,
        tokenId: tokenIdOf(token, payload.jti),
        issuedAtMs,
        // Never later than the token itself: a signed claim, but a session cannot start after its token.
        sessionStartedAtMs: typeof authTime === 'number' && Number.isFinite(authTime) ? Math.min(authTime * 1000, issuedAtMs) : issuedAtMs,
      };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }
}
