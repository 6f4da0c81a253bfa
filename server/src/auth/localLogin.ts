/**
 * Email and password sign-in, with limits (auth/signInLimits.ts, on rate-limiter-flexible).
 *
 * In order, for every attempt:
 * 1. The caller's address (an IPv6 /64 counts as one: addressKey.ts) takes a place in its window of
 *    LOGIN_FAILURES_PER_MINUTE, before anything is hashed: a full window answers RATE_LIMITED (429,
 *    Retry-After) at once, for any email. So does a full line of password checks (passwords.ts), which gives
 *    its place back.
 * 2. A real account counts the attempt for this address; locked there, the password is not judged.
 * 3. The password is checked, or a decoy for an unknown account, so timing says nothing.
 * 4. With two-factor sign-in on (totp.ts), a right password still needs a valid, unused code: without one the
 *    answer is UNAUTHENTICATED with `extensions.totpRequired` (the attempt gives its places back: it guessed
 *    nothing); a wrong or replayed code counts as a failed attempt, exactly as a wrong password does (the
 *    address's window and the account's lock), so codes cannot be guessed any faster than passwords.
 * Every other failure (unknown email, wrong password, Entra-only or deactivated account, account locked for this address)
 * answers alike with UNAUTHENTICATED after the same argon2 work, so neither the message nor the time taken
 * tells whether an account exists. A success gives the address's place back and clears the account's count
 * for that address.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../directory/User.js';
import { rateLimited, unauthenticated } from '../errors.js';
import type { Logger } from '../log.js';
import { addressKey } from './addressKey.js';
import { HashingBusy, hashingLineFull, verifyPassword } from './passwords.js';
import { SignInEvent } from './SignInEvent.js';
import { SignInLimits, type AccountTurn, type SignInLimitPolicy } from './signInLimits.js';
import type { TokenService } from './tokens.js';
import { totpRequired, type TotpService } from './totp.js';
import { viewerFromUser } from './viewers.js';
import type { Viewer } from '../policies/viewer.js';

export const LOGIN_FAILED_MESSAGE = 'Invalid email or password, or too many attempts: try again in a few minutes';
const RATE_LIMITED_MESSAGE = 'Too many failed sign-ins from your address';
export const TOTP_CODE_NEEDED_MESSAGE = 'Enter the 6-digit code from your authenticator app';
export const TOTP_CODE_WRONG_MESSAGE = 'That code is not right, or was used already: enter the current code from your authenticator app';
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;
/** Who signs in without a known address (none came with the request): they share one window. */
const UNKNOWN_ADDRESS = 'unknown';

export type LoginPolicy = SignInLimitPolicy;

/** Sign-in attempts by how they ended, since the process started (for /metrics). */
export interface SignInOutcomes {
  ok: number;
  /** Judged and refused: wrong password, unknown email, account locked for the address. */
  failed: number;
  /** Refused by the address's window, before any work. */
  rateLimited: number;
  /** Refused because too many password checks were waiting. */
  busy: number;
}

export class LocalLogin {
  private readonly limits: SignInLimits;
  private readonly outcomes: SignInOutcomes = { ok: 0, failed: 0, rateLimited: 0, busy: 0 };

  /** How sign-in attempts ended so far. */
  stats(): Readonly<SignInOutcomes> {
    return this.outcomes;
  }

  constructor(
    private readonly tokens: TokenService,
    policy: LoginPolicy,
    private readonly log?: Logger,
    private readonly totp?: TotpService,
  ) {
    this.limits = new SignInLimits(policy);
  }

  async login(
    em: EntityManager,
    emailInput: string,
    password: string,
    ip: string | null,
    totpCode?: string | null,
  ): Promise<{ token: string; user: User; viewer: Viewer }> {
    const address = addressKey(ip || UNKNOWN_ADDRESS);
    this.limits.pruneNowAndThen(em, (err) => this.log?.warn({ err }, 'pruning old sign-in rows failed'));
    const place = await this.limits.reserve(em, address);
    if ('retryAfterSeconds' in place) {
      this.outcomes.rateLimited += 1;
      throw rateLimited(place.retryAfterSeconds, RATE_LIMITED_MESSAGE);
    }
    if (hashingLineFull()) {
      this.outcomes.busy += 1;
      // Too many password checks waiting (a flood from many addresses): refused before anything counts.
      await this.limits.release(em, place);
      throw rateLimited(1, new HashingBusy().message);
    }

    const email = emailInput.trim().toLowerCase();
    let user: User | null = null;
    let passwordOk = false;
    let locked = false;
    let turn: AccountTurn | undefined;
    try {
      const wellFormed = email && email.length <= MAX_EMAIL_LENGTH && password.length <= MAX_PASSWORD_LENGTH;
      // The row alone: what a failure costs must not depend on whether the account exists (its units and
      // organisation are read only after a success).
      if (wellFormed) user = await em.findOne(User, { email });
      if (user) turn = await this.limits.reserveAccount(em, user.id, address);
      else await this.limits.reserveNoAccount(em, address);
      locked = turn !== undefined && !turn.mayTry;
      // Checked even when locked or malformed (against a decoy), so every failure takes as long as any other;
      // a lock this attempt sets is written meanwhile.
      [passwordOk] = await Promise.all([
        // A deactivated person, and a service account (tokens only, even if someone gave it a password), are judged
        // against the decoy: refused like a wrong password, in the same time.
        verifyPassword(user && !locked && user.active && user.kind === 'PERSON' ? user.passwordHash : null, wellFormed ? password : ''),
        turn?.locking,
      ]);
    } catch (err) {
      if (!(err instanceof HashingBusy)) throw err;
      // The line filled up meanwhile. Never tried: it counts against nobody.
      this.outcomes.busy += 1;
      if (turn) await this.limits.releaseAccount(em, turn);
      await this.limits.release(em, place);
      throw rateLimited(1, err.message);
    }

    if (!user || locked || !passwordOk) {
      this.outcomes.failed += 1;
      await this.recordEvent(em, email.slice(0, MAX_EMAIL_LENGTH), locked ? null : user, false, ip);
      throw unauthenticated(LOGIN_FAILED_MESSAGE);
    }
    if (this.totp && user.totpEnabledAt) {
      if (!totpCode) {
        // The first step of a two-step sign-in: nothing was guessed wrong, so nothing counts against anyone.
        if (turn) await this.limits.releaseAccount(em, turn);
        await this.limits.release(em, place);
        throw totpRequired(TOTP_CODE_NEEDED_MESSAGE);
      }
      if (!(await this.totp.accept(em, user, totpCode))) {
        this.outcomes.failed += 1;
        await this.recordEvent(em, email, user, false, ip);
        throw totpRequired(TOTP_CODE_WRONG_MESSAGE);
      }
    }
    this.outcomes.ok += 1;
    await em.populate(user, ['businessUnits', 'organization']);
    await this.limits.clearFailures(em, user.id, address);
    await this.limits.release(em, place);
    user.lastSignInAt = new Date();
    await this.recordEvent(em, email, user, true, ip);
    const token = await this.tokens.sign(user.id);
    const verified = (await this.tokens.verify(token))!;
    return { token, user, viewer: viewerFromUser(user, verified.expiresAt, verified.tokenId, verified.issuedAtMs) };
  }

  /**
   * Checks a signed-in person's current password (`changePassword`) under the same limits as a sign-in: the
   * address's window (RATE_LIMITED when full) and the account's count for this address, so that a token does
   * not buy unlimited guesses; locked, it answers false without judging the password. A right password clears
   * the count, as a sign-in does.
   */
  async checkCurrentPassword(em: EntityManager, user: User, password: string, ip: string | null): Promise<boolean> {
    const address = addressKey(ip || UNKNOWN_ADDRESS);
    const place = await this.limits.reserve(em, address);
    if ('retryAfterSeconds' in place) throw rateLimited(place.retryAfterSeconds, RATE_LIMITED_MESSAGE);
    let turn: AccountTurn | undefined;
    try {
      turn = await this.limits.reserveAccount(em, user.id, address);
      const judged = turn.mayTry && password.length <= MAX_PASSWORD_LENGTH;
      const [ok] = await Promise.all([verifyPassword(judged ? user.passwordHash : null, judged ? password : ''), turn.locking]);
      if (!ok || !turn.mayTry) return false;
      await this.limits.clearFailures(em, user.id, address);
      await this.limits.release(em, place);
      return true;
    } catch (err) {
      if (!(err instanceof HashingBusy)) throw err;
      if (turn) await this.limits.releaseAccount(em, turn);
      await this.limits.release(em, place);
      throw rateLimited(1, err.message);
    }
  }

  /**
   * Judges a second-factor code of a signed-in person (confirming or turning off TOTP) under the same limits
   * as a sign-in, as checkCurrentPassword does for passwords: the address's window (RATE_LIMITED when full)
   * and the account's count for this address; locked, it answers false without judging. A right code clears
   * the count.
   */
  async checkCode(em: EntityManager, userId: string, ip: string | null, judge: () => Promise<boolean>): Promise<boolean> {
    const address = addressKey(ip || UNKNOWN_ADDRESS);
    const place = await this.limits.reserve(em, address);
    if ('retryAfterSeconds' in place) throw rateLimited(place.retryAfterSeconds, RATE_LIMITED_MESSAGE);
    const turn = await this.limits.reserveAccount(em, userId, address);
    await turn.locking;
    if (!turn.mayTry || !(await judge())) return false;
    await this.limits.clearFailures(em, userId, address);
    await this.limits.release(em, place);
    return true;
  }

  /** Until when the person's account is locked (from any address), or null. */
  lockedUntil(em: EntityManager, userId: string): Promise<Date | null> {
    return this.limits.lockedUntil(em, userId);
  }

  /** Every lock in force now: account, address and until when (the sign-in page's "locked now"). */
  locksInForce(em: EntityManager): Promise<{ userId: string; address: string; until: Date }[]> {
    return this.limits.locksInForce(em);
  }

  /** Lifts every lock of the person's account (an admin's `unlockUser`). */
  unlock(em: EntityManager, userId: string): Promise<void> {
    return this.limits.unlock(em, userId);
  }

  private async recordEvent(em: EntityManager, email: string, user: User | null, success: boolean, ip: string | null) {
    em.create(SignInEvent, { email, user, method: 'PASSWORD', success, ip });
    await em.flush();
  }
}
