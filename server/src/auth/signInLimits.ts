/**
 * The limits on password sign-in, all kept in PostgreSQL so that every instance and every concurrent attempt
 * shares them:
 * - per address: at most `failuresPerMinute` failed attempts in a one-minute window, whatever the emails. An
 *   attempt reserves its place BEFORE any password is hashed (so a flood is refused without argon2 work, and
 *   concurrent guesses cannot exceed the limit); a success gives its place back, so an office signing in
 *   together from one address is not held back by its own successes.
 * - per account and address: `threshold` failures in a row lock that account for that address only. A
 *   stranger guessing a password locks out themselves, never the owner signing in from elsewhere.
 * Neither writes a row per made-up email: the window is one row per address, the lock one row per real
 * account and address; old rows are deleted now and then (`prune`), along with old sign-in log entries.
 *
 * Out of scope: the general per-token request limit of the contract (RATE_LIMIT_PER_MINUTE).
 */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface SignInLimitPolicy {
  /** Failures in a row on one account from one address before it is locked there. */
  threshold: number;
  lockoutSeconds: number;
  /** Failed attempts one address may make per minute. */
  failuresPerMinute: number;
}

/** A place taken in an address's window: given back when the attempt succeeds. */
export interface Reservation {
  address: string;
  /** The window's start in microseconds since the epoch (exact, as PostgreSQL keeps it), as text. */
  window: string;
}

/** Sign-in log entries are kept this long. */
const SIGN_IN_LOG_RETENTION_DAYS = 90;
/** Old rows are looked for at most this often (on a sign-in attempt, never on a timer). */
const PRUNE_EVERY_MS = 10 * 60_000;
/** Addresses remembered as refused in this process, so a flood does not reach PostgreSQL at all. */
const REFUSED_KEPT = 10_000;

export class SignInLimits {
  /** Address -> when its window ends (ms), for addresses refused lately: answered without a query. */
  private readonly refusedUntil = new Map<string, number>();
  private lastPrune = 0;

  constructor(private readonly policy: SignInLimitPolicy) {}

  /**
   * Takes one place in the address's window, atomically: a place, or the seconds until the window ends when
   * it is full. The count saturates at limit + 1, which marks a window that refused someone.
   */
  async reserve(em: EntityManager, address: string): Promise<Reservation | { retryAfterSeconds: number }> {
    const until = this.refusedUntil.get(address);
    if (until !== undefined) {
      if (until > Date.now()) return { retryAfterSeconds: (until - Date.now()) / 1000 };
      this.refusedUntil.delete(address);
    }
    const limit = this.policy.failuresPerMinute;
    const [row] = await em.getConnection().execute<{ failures: number; window: string; retry_after: number }[]>(
      `INSERT INTO sign_in_rate AS r (address, window_started_at, failures) VALUES (?, now(), 1)
       ON CONFLICT (address) DO UPDATE SET
         failures = CASE WHEN r.window_started_at <= now() - interval '1 minute' THEN 1
                         ELSE least(r.failures + 1, ? + 1) END,
         window_started_at = CASE WHEN r.window_started_at <= now() - interval '1 minute' THEN now()
                                  ELSE r.window_started_at END
       RETURNING failures, (extract(epoch FROM window_started_at) * 1000000)::bigint::text AS window,
                 extract(epoch FROM window_started_at + interval '1 minute' - now())::float8 AS retry_after`,
      [address, limit],
    );
    if (row.failures <= limit) return { address, window: row.window };
    const retryAfterSeconds = Math.max(1, row.retry_after);
    if (this.refusedUntil.size >= REFUSED_KEPT) this.forgetExpired();
    if (this.refusedUntil.size < REFUSED_KEPT) this.refusedUntil.set(address, Date.now() + retryAfterSeconds * 1000);
    return { retryAfterSeconds };
  }

  /** Gives a place back (the attempt succeeded, or was never tried), in the window it was taken from. */
  async release(em: EntityManager, reservation: Reservation): Promise<void> {
    const limit = this.policy.failuresPerMinute;
    await em.getConnection().execute(
      `UPDATE sign_in_rate SET failures = CASE WHEN failures > ? THEN ? - 1 ELSE greatest(failures - 1, 0) END
       WHERE address = ? AND (extract(epoch FROM window_started_at) * 1000000)::bigint = ?::bigint`,
      [limit, limit, reservation.address, reservation.window],
    );
    this.refusedUntil.delete(reservation.address);
  }

  /**
   * Counts an attempt on this account from this address before its password is checked, atomically, and
   * says whether it may be tried: false while the account is locked for this address. The attempt that
   * reaches the threshold is still tried, and locks it for the next ones; a success clears the count
   * (`clearFailures`). Concurrent attempts each count, so no burst gets more tries than the threshold. The
   * count saturates at threshold + 1, which marks a refused attempt.
   */
  async reserveAccount(em: EntityManager, userId: string, address: string): Promise<boolean> {
    const { threshold, lockoutSeconds } = this.policy;
    const [row] = await em.getConnection().execute<{ failures: number }[]>(
      `INSERT INTO login_throttle AS t (user_id, address, failures, last_failure_at, locked_until)
       VALUES (?, ?, 1, now(), CASE WHEN 1 >= ? THEN now() + make_interval(secs => ?) END)
       ON CONFLICT (user_id, address) DO UPDATE SET
         failures = CASE WHEN t.locked_until > now() THEN ? + 1
                         WHEN t.locked_until IS NOT NULL THEN 1
                         ELSE t.failures + 1 END,
         locked_until = CASE WHEN t.locked_until > now() THEN t.locked_until
                             WHEN (CASE WHEN t.locked_until IS NOT NULL THEN 1 ELSE t.failures + 1 END) >= ?
                               THEN now() + make_interval(secs => ?) END,
         last_failure_at = now()
       RETURNING failures`,
      [userId, address, threshold, lockoutSeconds, threshold, threshold, lockoutSeconds],
    );
    return row.failures <= threshold;
  }

  /**
   * For an email with no account: a write of the same kind and cost as reserveAccount's (one row updated and
   * committed, here the address's own window row, unchanged), so that the time an answer takes does not tell
   * a real account from a made-up one. Writes no row of its own.
   */
  async reserveNoAccount(em: EntityManager, address: string): Promise<void> {
    await em.getConnection().execute('UPDATE sign_in_rate SET failures = failures WHERE address = ?', [address]);
  }

  /** Takes back an attempt counted by reserveAccount that was never judged (no lock it may have set is lifted). */
  async releaseAccount(em: EntityManager, userId: string, address: string): Promise<void> {
    await em.getConnection().execute(
      `UPDATE login_throttle SET failures = greatest(failures - 1, 0)
       WHERE user_id = ? AND address = ? AND (locked_until IS NULL OR locked_until <= now())`,
      [userId, address],
    );
  }

  /** A success from this address starts its count on this account again. */
  async clearFailures(em: EntityManager, userId: string, address: string): Promise<void> {
    await em.getConnection().execute('DELETE FROM login_throttle WHERE user_id = ? AND address = ?', [userId, address]);
  }

  /**
   * Deletes what no longer counts: windows over for an hour, locks and failure runs a day old, sign-in log
   * entries past their retention, revoked tokens past their expiry. At most every ten minutes; in the
   * background (a failure is logged by the caller and tried again next time).
   */
  pruneNowAndThen(em: EntityManager, onError: (err: unknown) => void): void {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const connection = em.getConnection();
    void (async () => {
      await connection.execute(`DELETE FROM sign_in_rate WHERE window_started_at < now() - interval '1 hour'`);
      await connection.execute(
        `DELETE FROM login_throttle WHERE last_failure_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`,
      );
      await connection.execute(`DELETE FROM sign_in_event WHERE at < now() - make_interval(days => ?)`, [SIGN_IN_LOG_RETENTION_DAYS]);
      await connection.execute(`DELETE FROM revoked_token WHERE expires_at < now()`);
    })().catch(onError);
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [address, until] of this.refusedUntil) if (until <= now) this.refusedUntil.delete(address);
  }
}
