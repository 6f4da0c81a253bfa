/**
 * Two-factor sign-in with time-based one-time codes (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps, what
 * every authenticator app reads from an `otpauth://` URI), on otplib 13.
 *
 * - Enrolment: `begin` makes a new secret and keeps it as the person's *pending* secret (replacing an earlier
 *   one); it turns nothing on. `confirm` with a valid code of that secret turns TOTP on. A pending secret
 *   expires after ENROLMENT_TTL_MS.
 * - A code is valid for the current step, one step before or one after (30 s of clock drift either way), and
 *   only once: the step of every accepted code is stored (`totp_last_step`) and a code of that step or an
 *   earlier one is refused, by one conditional UPDATE, so that two sign-ins racing with one code cannot both
 *   pass.
 * - Secrets at rest: AES-256-GCM with a key derived from the token signing key (keys.ts `deriveKey`), the
 *   person's id as associated data (a secret copied onto another row does not decrypt). A dump of the
 *   database alone gives no secret away; a new signing key makes the stored ones unreadable, and the people
 *   concerned then need an admin's `resetTotp` to enrol again.
 *
 * Out of scope: counting wrong codes toward the sign-in limits (the callers go through LocalLogin, so that
 * codes cannot be guessed more often than passwords), who may call what (TotpResolver.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { GraphQLError } from 'graphql';
import { generateSecret, generateURI, verify } from 'otplib';
import type { User } from '../directory/User.js';
import { ErrorCode } from '../errors.js';

/** What the authenticator app shows above the code. */
const ISSUER = 'Plansync';
/** One 30-second step either way. */
const DRIFT_SECONDS = 30;
/** An enrolment begun and not confirmed within this long must be begun again. */
export const ENROLMENT_TTL_MS = 30 * 60_000;
/** The key derivation's purpose: a new purpose (v2) would give a new key. */
const KEY_PURPOSE = 'plansync totp secret v1';
const FORMAT = 'v1';
const CODE = /^\d{6}$/;

/** A new enrolment, shown once to the person: the base32 secret and the URI a QR code carries. */
export interface NewEnrollment {
  secret: string;
  otpauthUri: string;
}

/** UNAUTHENTICATED for a correct password without a valid code: the client asks for the code. */
export function totpRequired(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, totpRequired: true } });
}

/**
 * Whether the person must enrol before anything else (REQUIRE_TOTP_ROLES): a password account of one of those
 * roles without TOTP on. The viewer lookup decides the same in SQL (viewers.ts VIEWER_STATEMENT).
 */
export function mustEnrolTotp(user: Pick<User, 'role' | 'passwordHash' | 'totpEnabledAt'>, requiredRoles: readonly string[]): boolean {
  return requiredRoles.includes(user.role) && user.passwordHash !== null && user.totpEnabledAt === null;
}

/** A code as people type it ("123 456", "123-456"), or null when it cannot be one. */
function normalizedCode(input: string): string | null {
  if (input.length > 20) return null;
  const code = input.replace(/[\s-]/g, '');
  return CODE.test(code) ? code : null;
}

export class TotpService {
  private readonly key: Buffer;

  constructor(deriveKey: (purpose: string) => Buffer) {
    this.key = deriveKey(KEY_PURPOSE);
  }

  /** A new secret for the person, stored as pending (encrypted); TOTP stays as it was until `confirm`. */
  begin(user: User): NewEnrollment {
    const secret = generateSecret();
    user.totpPendingSecret = this.encrypt(user.id, secret);
    user.totpPendingAt = new Date();
    return { secret, otpauthUri: generateURI({ issuer: ISSUER, label: user.email, secret }) };
  }

  /** The pending secret (decrypted) while it has not expired, else null. */
  pendingSecret(user: User): string | null {
    if (!user.totpPendingSecret || !user.totpPendingAt) return null;
    if (Date.now() - user.totpPendingAt.getTime() > ENROLMENT_TTL_MS) return null;
    return this.decrypt(user.id, user.totpPendingSecret);
  }

  /**
   * The step of `code` when it is valid now for this secret (within the drift) and later than `afterStep`,
   * else null. Checks only: `accept` or `confirm` records the step.
   */
  async matchingStep(secret: string, input: string, afterStep: number | null): Promise<number | null> {
    const token = normalizedCode(input);
    if (!token) return null;
    const result = await verify({
      secret,
      token,
      epochTolerance: DRIFT_SECONDS,
      ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
    });
    // otplib's functional verify answers for HOTP too; a TOTP result carries the step that matched.
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  }

  /**
   * Whether `code` is a valid, unused code of the person's confirmed secret; a valid one is used up (its step
   * stored, atomically: of two uses of one code at once, one wins). `em` may be a transaction's.
   */
  async accept(em: EntityManager, user: User, code: string): Promise<boolean> {
    if (!user.totpEnabledAt || !user.totpSecret) return false;
    const secret = this.decrypt(user.id, user.totpSecret);
    if (!secret) return false;
    const step = await this.matchingStep(secret, code, lastStepOf(user));
    if (step === null) return false;
    const used = await em.getConnection().execute<{ id: string }[]>(
      `UPDATE app_user SET totp_last_step = ? WHERE id = ? AND totp_enabled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?) RETURNING id`,
      [step, user.id, step],
      'all',
      em.getTransactionContext(),
    );
    if (used.length !== 1) return false;
    user.totpLastStep = String(step);
    return true;
  }

  /** Turns TOTP on with the pending secret, the step of the code that confirmed it used up. */
  enable(user: User, step: number): void {
    user.totpSecret = user.totpPendingSecret;
    user.totpEnabledAt = new Date();
    user.totpLastStep = String(step);
    user.totpPendingSecret = null;
    user.totpPendingAt = null;
  }

  /** Turns TOTP off and forgets every secret of the person, pending ones included. */
  disable(user: User): void {
    user.totpSecret = null;
    user.totpEnabledAt = null;
    user.totpLastStep = null;
    user.totpPendingSecret = null;
    user.totpPendingAt = null;
  }

  private encrypt(userId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(userId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The secret, or null when it cannot be read (another signing key, another row, tampered with). */
  private decrypt(userId: string, stored: string): string | null {
    const [format, iv, tag, body] = stored.split('.');
    if (format !== FORMAT || !iv || !tag || !body) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(userId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

function lastStepOf(user: User): number | null {
  return user.totpLastStep === null ? null : Number(user.totpLastStep);
}
