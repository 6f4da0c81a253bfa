/**
 * Who is asking. Built once per request (HTTP) or per connection (websockets) from the verified token and
 * the user's current row, and handed to every policy. Policies run no code outside policies/ but the error
 * factories (errors.ts): they take plain rows and types like this one, and import capabilities' types only.
 */
import type { Role } from '../config.js';

export interface Viewer {
  userId: string;
  email: string;
  role: Role;
  /** Business units the person belongs to (by id). */
  unitIds: ReadonlySet<string>;
  organizationId: string | null;
  /** When the token that proved this identity expires (seconds since the epoch). */
  expiresAt: number;
  /** The id of that token (what `signOut` ends it by); absent for viewers made without a token. */
  tokenId?: string;
  /**
   * When that token was issued (ms since the epoch): re-checks refuse it once the person's tokens were ended
   * after that (auth/viewers.ts). Absent for viewers made without a token.
   */
  issuedAtMs?: number;
  /**
   * True while the person must enrol in two-factor sign-in before anything else (their role is in
   * REQUIRE_TOTP_ROLES, they sign in with a password, TOTP is not on): only the GraphQL operations that enrol
   * them answer (auth/totpGate.ts); every other path refuses such a viewer as it refuses no token.
   */
  totpEnrollmentRequired?: boolean;
}
