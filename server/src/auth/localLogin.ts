/**
 * Email and password sign-in, with lockout.
 *
 * Every failure answers alike: unknown address, wrong password, Entra-only account or locked-out address
 * all give the same UNAUTHENTICATED error after the same argon2 work, so neither the message nor the time
 * taken tells an attacker whether an account exists. Failures are counted per address (known or not);
 * after `threshold` in a row the address is locked for `lockoutSeconds`.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../directory/User.js';
import { unauthenticated } from '../errors.js';
import { verifyPassword } from './passwords.js';
import { SignInEvent } from './SignInEvent.js';
import type { TokenService } from './tokens.js';
import { viewerFromUser } from './viewers.js';
import type { Viewer } from '../policies/viewer.js';

export const LOGIN_FAILED_MESSAGE = 'Invalid email or password, or too many attempts: try again in a few minutes';
const MAX_EMAIL_LENGTH = 320;
const MAX_PASSWORD_LENGTH = 1024;

export interface LoginPolicy {
  threshold: number;
  lockoutSeconds: number;
}

export class LocalLogin {
  constructor(
    private readonly tokens: TokenService,
    private readonly policy: LoginPolicy,
  ) {}

  async login(em: EntityManager, emailInput: string, password: string, ip: string | null): Promise<{ token: string; user: User; viewer: Viewer }> {
    const email = emailInput.trim().toLowerCase();
    if (!email || email.length > MAX_EMAIL_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      await verifyPassword(null, '');
      throw unauthenticated(LOGIN_FAILED_MESSAGE);
    }
    const locked = await this.isLocked(em, email);
    const user = await em.findOne(User, { email }, { populate: ['businessUnits', 'organization'] });
    // Verify even when locked, so a locked address takes as long to answer as any other.
    const passwordOk = await verifyPassword(user?.passwordHash, password);
    if (locked || !user || !passwordOk) {
      if (!locked) await this.recordFailure(em, email);
      await this.recordEvent(em, email, locked ? null : user, false, ip);
      throw unauthenticated(LOGIN_FAILED_MESSAGE);
    }
    await em.getConnection().execute('DELETE FROM login_throttle WHERE email = ?', [email]);
    await this.recordEvent(em, email, user, true, ip);
    const token = await this.tokens.sign(user.id);
    const verified = (await this.tokens.verify(token))!;
    return { token, user, viewer: viewerFromUser(user, verified.expiresAt) };
  }

  private async isLocked(em: EntityManager, email: string): Promise<boolean> {
    const rows = await em
      .getConnection()
      .execute<{ locked: boolean }[]>('SELECT locked_until > now() AS locked FROM login_throttle WHERE email = ?', [email]);
    return rows[0]?.locked === true;
  }

  /** Counts a failure atomically (concurrent attempts each count) and locks the address at the threshold. */
  private async recordFailure(em: EntityManager, email: string): Promise<void> {
    const connection = em.getConnection();
    await connection.execute(
      `INSERT INTO login_throttle (email, failures, last_failure_at) VALUES (?, 1, now())
       ON CONFLICT (email) DO UPDATE SET failures = login_throttle.failures + 1, last_failure_at = now()`,
      [email],
    );
    await connection.execute(
      `UPDATE login_throttle SET failures = 0, locked_until = now() + make_interval(secs => ?)
       WHERE email = ? AND failures >= ?`,
      [this.policy.lockoutSeconds, email, this.policy.threshold],
    );
  }

  private async recordEvent(em: EntityManager, email: string, user: User | null, success: boolean, ip: string | null) {
    em.create(SignInEvent, { email, user, method: 'PASSWORD', success, ip });
    await em.flush();
  }
}
