/**
 * The limits on password sign-in, counted by rate-limiter-flexible in PostgreSQL (its `RateLimiterPostgres`,
 * on MikroORM's pool through db/sql.ts) so that every instance and every concurrent attempt shares them, and a
 * restart keeps them:
 * - per address: at most `failuresPerMinute` failed attempts in a one-minute window, whatever the emails. An
 *   attempt takes its place BEFORE any password is hashed (so a flood is refused without argon2 work, and
 *   concurrent guesses cannot exceed the limit); a success gives its place back, so an office signing in
 *   together from one address is not held back by its own successes.
 * - per account and address: `threshold` failures in a row lock that account for that address only. A
 *   stranger guessing a password locks out themselves, never the owner signing in from elsewhere.
 * Both live in one table, `sign_in_limit` (key, points, expire in ms since the epoch), which a migration makes
 * (the library is told it exists: it never creates tables at run time). Keys are `address:<address>` and
 * `account:<user id>@<address>`; neither is ever written for a made-up email. Rows whose window or lock ended
 * an hour ago are deleted now and then (`pruneNowAndThen`), along with old sign-in log entries and revoked
 * tokens past their expiry.
 *
 * How the library's counters map onto the lockout, which the library has no notion of "the attempt that
 * reaches the threshold is still tried" for: the account counter allows `threshold - 1` points, so the
 * threshold-th failure in a row is the first one it rejects (exactly one attempt is told it consumed exactly
 * `threshold`, however many race); that one is still judged, and sets the lock (`block`) while its password is
 * checked. Every later one is refused until the lock ends; then the count starts again at 1.
 *
 * Windows and locks are timed by each instance's clock (the library's choice), not the database's: instances
 * sharing the limits need synchronised clocks, as for tokens.
 *
 * The contract's general request limit (RATE_LIMIT_PER_MINUTE per token, person or address, every request
 * whatever its outcome) is http/rateLimits.ts's; a sign-in is counted there too, as one request of its address.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { withSqlClient } from '../db/sql.js';

/** The table both counters live in, made by migrations/Migration20261203114340_SignInLimitTable.ts. */
export const SIGN_IN_LIMIT_TABLE = 'sign_in_limit';

export interface SignInLimitPolicy {
  /** Failures in a row on one account from one address before it is locked there. */
  threshold: number;
  lockoutSeconds: number;
  /** Failed attempts one address may make per minute. */
  failuresPerMinute: number;
}

/** A place taken in a counter: given back when the attempt succeeds, or is never tried. */
export interface Reservation {
  counter: 'address' | 'account';
  key: string;
  /** When the window it was taken in ends (ms since the epoch): a place is never given back to a later window. */
  windowEndsAt: number;
}

/** What an attempt on a real account from one address may do. */
export interface AccountTurn {
  /** False while the account is locked for this address: the password is not judged. */
  mayTry: boolean;
  /** The place this attempt took, when it may be given back (not by the attempt that locks). */
  reservation?: Reservation;
  /**
   * The lock this attempt sets (it is the threshold-th failure in a row), being written meanwhile: await it
   * together with the password check, so that this attempt takes no longer than any other.
   */
  locking?: Promise<void>;
}

/** Sign-in log entries are kept this long. */
const SIGN_IN_LOG_RETENTION_DAYS = 90;
/** Old rows are looked for at most this often (on a sign-in attempt, never on a timer). */
const PRUNE_EVERY_MS = 10 * 60_000;
/** Rows are deleted this long after their window or lock ended. */
const EXPIRED_KEPT_MS = 60 * 60_000;
/** A run of failures on an account is forgotten this long after it began (unless it led to a lock). */
const FAILURE_RUN_SECONDS = 24 * 60 * 60;

interface Counters {
  address: RateLimiterPostgres;
  account: RateLimiterPostgres;
}

export class SignInLimits {
  private counters?: Counters;
  private lastPrune = 0;

  constructor(private readonly policy: SignInLimitPolicy) {}

  /**
   * Takes one place in the address's window, atomically: a place, or the seconds until the window ends when
   * it is full. An address refused lately is answered from memory until its window ends (the library's
   * in-memory block), so a flood does not reach PostgreSQL at all.
   */
  async reserve(em: EntityManager, address: string): Promise<Reservation | { retryAfterSeconds: number }> {
    try {
      const taken = await this.countersFor(em).address.consume(address);
      return { counter: 'address', key: address, windowEndsAt: Date.now() + taken.msBeforeNext };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      return { retryAfterSeconds: Math.max(1, refusal.msBeforeNext / 1000) };
    }
  }

  /**
   * Gives a place back (the attempt succeeded, or was never tried), in the window it was taken from: once that
   * window is over there is nothing to give back (the library would carry it into the next one).
   */
  async release(em: EntityManager, reservation: Reservation): Promise<void> {
    if (Date.now() >= reservation.windowEndsAt) return;
    await this.countersFor(em)[reservation.counter].reward(reservation.key);
  }

  /**
   * Counts an attempt on this account from this address before its password is checked, atomically, and
   * says whether it may be tried: not while the account is locked for this address. The attempt that
   * reaches the threshold is still tried, and locks it for the next ones; a success clears the count
   * (`clearFailures`). Concurrent attempts each count, so no burst gets more tries than the threshold.
   */
  async reserveAccount(em: EntityManager, userId: string, address: string): Promise<AccountTurn> {
    const counter = this.countersFor(em).account;
    const key = accountKey(userId, address);
    try {
      const taken = await counter.consume(key);
      return { mayTry: true, reservation: { counter: 'account', key, windowEndsAt: Date.now() + taken.msBeforeNext } };
    } catch (refusal) {
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      if (refusal.consumedPoints !== this.policy.threshold) return { mayTry: false };
      // The threshold-th failure in a row. The lock is written while the password is checked, not before:
      // a made-up email writes once (reserveNoAccount), and so must every attempt on a real one, as timed.
      const locking = counter.block(key, this.policy.lockoutSeconds).then(() => undefined);
      locking.catch(() => undefined); // awaited by the caller; until then, not an unhandled rejection
      return { mayTry: true, locking };
    }
  }

  /**
   * For an email with no account: a write of the same kind and cost as reserveAccount's (the same upsert, on
   * the address's own window row, adding nothing), so that the time an answer takes does not tell a real
   * account from a made-up one. Writes no row of its own.
   */
  async reserveNoAccount(em: EntityManager, address: string): Promise<void> {
    await this.countersFor(em).address.penalty(address, 0);
  }

  /** Takes back an attempt counted by reserveAccount that was never judged (no lock it may have set is lifted). */
  async releaseAccount(em: EntityManager, turn: AccountTurn): Promise<void> {
    if (turn.reservation) await this.release(em, turn.reservation);
  }

  /** A success from this address starts its count on this account again. */
  async clearFailures(em: EntityManager, userId: string, address: string): Promise<void> {
    await this.countersFor(em).account.delete(accountKey(userId, address));
  }

  /**
   * Until when the account is locked, from any address (the latest of its locks), or null: a lock is a row of
   * the account counter that `block` raised to the threshold, not yet expired.
   */
  async lockedUntil(em: EntityManager, userId: string): Promise<Date | null> {
    const [row] = await em.getConnection().execute<{ until: string | null }[]>(
      `SELECT max(expire)::text AS until FROM ${SIGN_IN_LIMIT_TABLE} WHERE key LIKE ? AND points >= ? AND expire > ?`,
      [`${ACCOUNT_PREFIX}${userId}@%`, this.policy.threshold, Date.now()],
    );
    return row?.until ? new Date(Number(row.until)) : null;
  }

  /**
   * Every lock in force now, of every account, one per account and address: the rows of the account counter
   * that `block` raised to the threshold and that have not expired (as `lockedUntil` reads them for one).
   */
  async locksInForce(em: EntityManager): Promise<{ userId: string; address: string; until: Date }[]> {
    const rows = await em.getConnection().execute<{ key: string; expire: string }[]>(
      `SELECT key, expire::text AS expire FROM ${SIGN_IN_LIMIT_TABLE} WHERE key LIKE ? AND points >= ? AND expire > ? ORDER BY expire DESC`,
      [`${ACCOUNT_PREFIX}%`, this.policy.threshold, Date.now()],
    );
    return rows.map(({ key, expire }) => {
      // `account:<user id>@<address>`: the id is a uuid (no '@'), the address may hold ':' and '/' but no '@'.
      const rest = key.slice(ACCOUNT_PREFIX.length);
      const at = rest.indexOf('@');
      return { userId: rest.slice(0, at), address: rest.slice(at + 1), until: new Date(Number(expire)) };
    });
  }

  /** Lifts every lock of the account, from every address, and forgets its runs of failures (an admin's unlock). */
  async unlock(em: EntityManager, userId: string): Promise<void> {
    await em.getConnection().execute(`DELETE FROM ${SIGN_IN_LIMIT_TABLE} WHERE key LIKE ?`, [`${ACCOUNT_PREFIX}${userId}@%`]);
  }

  /**
   * Deletes what no longer counts: windows and locks over for an hour, sign-in log entries past their
   * retention, revoked tokens past their expiry. At most every ten minutes; in the background (a failure is
   * logged by the caller and tried again next time).
   */
  pruneNowAndThen(em: EntityManager, onError: (err: unknown) => void): void {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    const connection = em.getConnection();
    void (async () => {
      await connection.execute(`DELETE FROM ${SIGN_IN_LIMIT_TABLE} WHERE expire < ?`, [Date.now() - EXPIRED_KEPT_MS]);
      await connection.execute(`DELETE FROM sign_in_event WHERE at < now() - make_interval(days => ?)`, [SIGN_IN_LOG_RETENTION_DAYS]);
      await connection.execute(`DELETE FROM revoked_token WHERE expires_at < now()`);
    })().catch(onError);
  }

  /**
   * The two counters, made on first use with the first entity manager seen: every fork shares MikroORM's one
   * pool, which the library borrows a connection of for each statement (as a `pg` pool would lend one).
   */
  private countersFor(em: EntityManager): Counters {
    if (this.counters) return this.counters;
    const store = {
      storeClient: { query: (query: { name?: string; text: string; values?: unknown[] }) => withSqlClient(em, (client) => client.query(query)) },
      storeType: 'pool',
      tableName: SIGN_IN_LIMIT_TABLE,
      tableCreated: true, // by the migration
      clearExpiredByTimeout: false, // pruneNowAndThen does it, on sign-in attempts rather than on a timer
    };
    const { threshold, failuresPerMinute } = this.policy;
    this.counters = {
      address: new RateLimiterPostgres({
        ...store,
        keyPrefix: 'address',
        points: failuresPerMinute,
        duration: 60,
        // The first refusal in a window keeps the address refused in this process until the window ends. The
        // library's map of such addresses has no cap, but an entry lasts a minute at most and costs an address
        // more than the limit's worth of writes to get in.
        inMemoryBlockOnConsumed: failuresPerMinute + 1,
      }),
      // Rejects the threshold-th failure in a row, which reserveAccount turns into "tried, and locks".
      account: new RateLimiterPostgres({ ...store, keyPrefix: 'account', points: threshold - 1, duration: FAILURE_RUN_SECONDS }),
    };
    return this.counters;
  }
}

/** How the library prefixes the account counter's keys in the table (`<keyPrefix>:<key>`). */
const ACCOUNT_PREFIX = 'account:';

/** The account counter's key for one account and one address (an address key may contain ':' and '/'). */
function accountKey(userId: string, address: string): string {
  return `${userId}@${address}`;
}
