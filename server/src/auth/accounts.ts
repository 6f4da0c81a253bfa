/**
 * Password accounts as admins run them: one-time set-password links (invitations), the password rules, and
 * ending every token of a person at once.
 *
 * - An invitation is a random token shown once, as `<PUBLIC_URL>/set-password#<token>` (in the fragment, so it
 *   reaches no server log nor Referer header); only its SHA-256 is stored (PasswordInvitation). It works once,
 *   before INVITATION_TTL_HOURS, and a newer one for the same person replaces it.
 * - A new password ends the person's other tokens (`User.endTokens`: the viewer lookup refuses every token
 *   issued before it, auth/viewers.ts, on every instance at once). The caller publishes TOKENS_REVOKED so that
 *   open sockets re-check and close.
 *
 * - The first admin of an empty database: from ADMIN_EMAIL and ADMIN_PASSWORD at start (`ensureFirstAdmin`), or
 *   with a set-password link printed by `npm run create-admin -- <email>` (`inviteAdmin`). Both act as the
 *   system (an activity entry without an actor).
 *
 * Out of scope: who may do this (the resolvers ask policies/; their activity entries are theirs), signing in
 * (localLogin.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { User } from '../directory/User.js';
import { badUserInput } from '../errors.js';
import { PasswordInvitation } from './PasswordInvitation.js';
import { hashPassword, passwordProblem } from './passwords.js';

export interface AccountOptions {
  /** INVITATION_TTL_HOURS: how long a set-password link works. */
  invitationTtlHours: number;
  /** PASSWORD_MIN_LENGTH. */
  passwordMinLength: number;
  /** The server's public URL (PUBLIC_URL, else where it listens), without a trailing slash. */
  publicUrl: () => string;
}

/** A set-password link, shown once. */
export interface Invitation {
  setPasswordUrl: string;
  expiresAt: Date;
}

/** What an unknown, used or expired link answers, alike. */
const INVALID_LINK = 'This set-password link is not valid any more: ask an admin for a new one';

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export class Accounts {
  constructor(private readonly options: AccountOptions) {}

  /** Throws BAD_USER_INPUT (field `field`) when the password breaks the rules for this person's email. */
  checkPassword(password: string, email: string, field = 'password'): void {
    const problem = passwordProblem(password, email, this.options.passwordMinLength);
    if (problem) throw badUserInput(problem, field);
  }

  /**
   * A new set-password link for the person, replacing any earlier unused one. Persisted with `em` (flushed by
   * the caller, in its transaction).
   */
  async invite(em: EntityManager, user: User): Promise<Invitation> {
    await em.nativeDelete(PasswordInvitation, { user: user.id, usedAt: null });
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.options.invitationTtlHours * 3600_000);
    em.persist(em.create(PasswordInvitation, { user, tokenHash: hashOf(token), expiresAt }));
    return { setPasswordUrl: `${this.options.publicUrl()}/set-password#${token}`, expiresAt };
  }

  /**
   * Sets the password a link was made for, and uses the link up, in `em`'s transaction: the person it was for,
   * or BAD_USER_INPUT for a link that is unknown, used, expired, or for a deactivated or deleted person (alike),
   * and for a password that breaks the rules (the link stays usable then). Two uses at once: one wins.
   */
  async setPasswordWithToken(em: EntityManager, token: string, password: string): Promise<User> {
    if (!token || token.length > 200) throw badUserInput(INVALID_LINK, 'token');
    const tokenHash = hashOf(token);
    const invitation = await em.findOne(PasswordInvitation, { tokenHash, usedAt: null, expiresAt: { $gt: new Date() } }, { populate: ['user'] });
    const user = invitation?.user;
    if (!invitation || !user || !user.active || user.deletedAt) throw badUserInput(INVALID_LINK, 'token');
    this.checkPassword(password, user.email);
    const passwordHash = await hashPassword(password);
    // Used up atomically: of two uses at once, the second finds it used.
    const taken = await em.nativeUpdate(PasswordInvitation, { id: invitation.id, usedAt: null }, { usedAt: new Date() });
    if (taken !== 1) throw badUserInput(INVALID_LINK, 'token');
    user.passwordHash = passwordHash;
    return user;
  }

  /** Sets a new password (already checked against the rules) and ends every other token of the person. */
  async setPassword(user: User, password: string, keptTokenId: string | null): Promise<void> {
    user.passwordHash = await hashPassword(password);
    user.endTokens(keptTokenId);
  }

  /**
   * Creates the admin ADMIN_EMAIL with ADMIN_PASSWORD when no active admin exists (an empty production
   * database), under a lock so that instances starting together create one. An existing person with that
   * email becomes that admin. True when it did something.
   */
  async ensureFirstAdmin(em: EntityManager, admin: { email: string; password: string }): Promise<boolean> {
    this.checkPassword(admin.password, admin.email, 'ADMIN_PASSWORD');
    const passwordHash = await hashPassword(admin.password);
    return em.fork().transactional(async (tx) => {
      await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('plansync.first-admin'))`);
      if (await tx.count(User, { role: 'ADMIN', active: true, deletedAt: null })) return false;
      const user = await this.adminRow(tx, admin.email, 'ADMIN_EMAIL');
      user.passwordHash = passwordHash;
      return true;
    });
  }

  /**
   * Makes `email` an admin (creating them if need be, reactivating them if deactivated) and answers a
   * set-password link for them: `npm run create-admin -- <email>`. Their earlier password and tokens end.
   */
  async inviteAdmin(em: EntityManager, email: string): Promise<Invitation> {
    return em.fork().transactional(async (tx) => {
      const user = await this.adminRow(tx, email.trim().toLowerCase(), 'create-admin');
      user.passwordHash = null;
      user.endTokens();
      return this.invite(tx, user);
    });
  }

  /**
   * The person with this email made an active admin, or a new admin (their display name: the email's local
   * part), with its activity entry: USER_CREATED for a new person, USER_ACCESS_CHANGED (before and after, as
   * setUserAccess writes it) for one who existed, since nobody was created then.
   */
  private async adminRow(tx: EntityManager, email: string, from: 'ADMIN_EMAIL' | 'create-admin'): Promise<User> {
    const found = await tx.findOne(User, { email }, { populate: ['businessUnits'] });
    if (found && found.deletedAt) throw badUserInput(`${email} belonged to a deleted person: choose another email`, 'email');
    if (!found) {
      const user = tx.create(User, { email, displayName: email.split('@')[0] || email, role: 'ADMIN' });
      recordActivity(tx, null, 'USER_CREATED', user.email, { role: 'ADMIN', from });
      return user;
    }
    const businessUnitCodes = found.businessUnits.getItems().map((u) => u.code).sort();
    recordActivity(tx, null, 'USER_ACCESS_CHANGED', found.email, {
      before: { role: found.role, businessUnitCodes, active: found.active },
      after: { role: 'ADMIN', businessUnitCodes, active: true },
      from,
    });
    found.role = 'ADMIN';
    found.active = true;
    // An admin is given access; nobody waits for it any more (a Microsoft sign-in may have created them).
    found.awaitingAccess = false;
    // Given by whoever runs the server, not by Entra groups: a Microsoft sign-in leaves it.
    found.roleFromGroups = false;
    return found;
  }
}
