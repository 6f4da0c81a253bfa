/**
 * Plansync's own access tokens: ES256 JWTs signed and verified with jose. Verification pins the algorithm,
 * issuer and audience, so unsigned (`alg: none`), HS256-with-the-public-key and foreign tokens all fail.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { SigningKeys } from './keys.js';

export const TOKEN_ISSUER = 'plansync';
export const TOKEN_AUDIENCE = 'plansync';

export interface VerifiedToken {
  userId: string;
  /** Expiry, seconds since the epoch: websockets close when it passes. */
  expiresAt: number;
}

export class TokenService {
  constructor(
    private readonly keys: SigningKeys,
    private readonly ttlSeconds: number,
  ) {}

  async sign(userId: string, claims: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.keys.privateKey);
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
      return { userId: payload.sub!, expiresAt: payload.exp! };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }
}
