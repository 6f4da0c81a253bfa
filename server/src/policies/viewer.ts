/**
 * Who is asking. Built once per request (HTTP) or per connection (websockets) from the verified token and
 * the user's current row, and handed to every policy. Policies run no code outside policies/ but the error
 * factories (errors.ts): they take plain rows and types like this one, and import capabilities' types only.
 */
import type { Role } from '../config.js';

/** What an access token may do (auth/accessTokens.ts): READ, or READ and WRITE; always within its owner's rights. */
export const TOKEN_SCOPES = ['READ', 'WRITE'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

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
  /**
   * Set when the identity was proved by an access token (`pst_…`, auth/accessTokens.ts), to that token's scopes;
   * `tokenId` is then the token's row id. Absent for a sign-in token, which may do all its owner may.
   */
  tokenScopes?: readonly TokenScope[];
  /**
   * Set when the identity was proved by an app-only Entra token (auth/entraAppTokens.ts), to the calling
   * application's id: the viewer is the service account linked to it, `tokenScopes` are what its app roles
   * grant, and `tokenId` is the Entra token's id (what `signOut` ends it by).
   */
  entraAppId?: string;
  /**
   * Set only when the identity was proved by a token Plansync signed at a sign-in (or renewed from one): when
   * that sign-in happened, in ms since the epoch. Only such a session can be renewed (`renewSession`).
   */
  sessionStartedAtMs?: number;
}

/**
 * Whether the viewer's credentials allow changes at all: a READ-only access token does not (every mutation,
 * import and grid edit is refused for it, whatever its owner may do). The owner's rights still decide the rest.
 */
export function credentialsMayWrite(viewer: Viewer): boolean {
  return viewer.tokenScopes === undefined || viewer.tokenScopes.includes('WRITE');
}

/**
 * Whether the viewer came with an access token or an app's Entra token rather than a person's sign-in (such a
 * viewer cannot mint tokens).
 */
export function viaAccessToken(viewer: Viewer): boolean {
  return viewer.tokenScopes !== undefined;
}
