/**
 * The text of access tokens: `pst_` and 32 random bytes in base64url (43 characters). The prefix lets
 * `fromToken` tell them from sign-in tokens without parsing, and lets secret scanners (and people) recognise a
 * leaked one. Only `hashAccessToken` of it is stored: SHA-256, not argon2, because the token is random and
 * 256 bits long (no dictionary to try, unlike a password), and because a plain hash can be looked up by a
 * unique index at every request where a salted slow hash could not.
 */
import { createHash, randomBytes } from 'node:crypto';

export const ACCESS_TOKEN_PREFIX = 'pst_';

/** base64url of 32 bytes, no padding. */
const ACCESS_TOKEN_SHAPE = /^pst_[A-Za-z0-9_-]{43}$/;

export function newAccessTokenText(): string {
  return ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function isAccessTokenText(token: string): boolean {
  return ACCESS_TOKEN_SHAPE.test(token);
}

export function hashAccessToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
