/**
 * How the grid's two writers (the projection into rows, gridProjection.ts, and the update log, gridStore.ts)
 * cope with a write that fails, so that no single change storage refuses can block the changes behind it or
 * a shutdown:
 *
 * - The database is unreachable or busy (no connection could be had; an error with no SQLSTATE, as a lost
 *   connection, while a `SELECT 1` gets no answer either; a class that says "try again": 08 connection,
 *   40 rollback, 53 resources, 57 operator intervention, 58 system; a read-only database, as a replica is
 *   just after a failover): the batch waits and is tried again, with a growing pause, for as long as it
 *   takes; nothing is dropped for an outage. Only a shutdown whose time is up gives it up (`giveUpAt`),
 *   reported as lost.
 * - The database refuses the batch (any other SQLSTATE: a constraint, a value it cannot take; or an error of
 *   ours, with no SQLSTATE, while the database answers): it is tried `attempts` times in all, then item by
 *   item, in order. An item refused on its own is dropped (`drop`: the caller logs it with what it held and
 *   counts it); every other item lands.
 *
 * Out of scope: what the dropped change leaves behind (the document still holds it; the caller decides).
 */

import { SqlConnectionError } from '../db/sql.js';

export interface WriteRetryOptions {
  /**
   * Attempts of a batch the database refuses before its items are written one by one.
   * @default 3
   */
  attempts: number;
  /**
   * Pause before the second attempt, doubled before each further one.
   * @default 100 // ms
   */
  backoffMs: number;
  /**
   * Longest pause between attempts while the database is unreachable.
   * @default 2_000 // ms
   */
  maxBackoffMs: number;
  /**
   * How long a shutdown waits for an unreachable database to take what is queued; what is left then is
   * given up (logged and counted), so that the process can stop. A write still running at twice this time
   * (a database that accepts connections but never answers) is not waited for either.
   * @default 5_000 // ms
   */
  shutdownMs: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetryOptions = { attempts: 3, backoffMs: 100, maxBackoffMs: 2_000, shutdownMs: 5_000 };

/** A write that committed part of its items before failing: `remaining` were not written. */
export class PartialWriteError<T> extends Error {
  constructor(
    readonly cause: unknown,
    readonly remaining: T[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The SQLSTATE of a database error (pg's own, or MikroORM's wrapping), if the server answered with one. */
export function sqlStateOf(err: unknown): string | undefined {
  const e = err as { sqlState?: unknown; code?: unknown; severity?: unknown } | null;
  if (typeof e?.sqlState === 'string') return e.sqlState;
  // pg's DatabaseError: the server's answer carries a severity; Node's socket errors (ECONNRESET) do not.
  if (typeof e?.severity === 'string' && typeof e.code === 'string') return e.code;
  return undefined;
}

const TRY_AGAIN_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** Lock not available; read-only transaction (a replica just after a failover, or a database set read-only). */
const TRY_AGAIN_STATES = new Set(['55P03', '25006']);

/**
 * Whether a failed write may work later unchanged (the database is away or busy), rather than being refused.
 * An error that is no answer of the database (no SQLSTATE) is either a lost connection or a failure of ours
 * before anything was sent (a change that cannot even be encoded): whether the database answers `probe` now
 * tells them apart, so that no such error is waited on for ever.
 */
export async function isUnavailable(err: unknown, probe: () => Promise<unknown>): Promise<boolean> {
  // Refused before anything was sent, whatever the SQLSTATE ("not currently accepting connections" is 55000).
  if (err instanceof SqlConnectionError) return true;
  const state = sqlStateOf(err);
  if (state !== undefined) return TRY_AGAIN_CLASSES.has(state.slice(0, 2)) || TRY_AGAIN_STATES.has(state);
  return probe().then(
    () => false,
    () => true,
  );
}

export interface RetryingWrite<T> {
  /** Writes the items, in order; may throw a PartialWriteError when some were committed. */
  write(items: T[]): Promise<void>;
  /** An item the database refused on its own, now dropped. Must not throw. */
  drop(item: T, err: unknown): void;
  /** When waiting for an unreachable database must stop (a shutdown's time is up); undefined: never. */
  giveUpAt(): number | undefined;
  /** Items given up because the database stayed unreachable until `givingUp`. Must not throw. */
  lost(items: T[], err: unknown): void;
  /** A failed attempt, before the pause that follows it. Must not throw. */
  failed(err: unknown, items: number, unavailable: boolean): void;
  /** A trivial statement (`SELECT 1`): resolves when the database answers. */
  probe(): Promise<unknown>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Writes `items` as described in the header; never rejects. */
export async function writeWithRetries<T>(items: T[], target: RetryingWrite<T>, options: WriteRetryOptions): Promise<void> {
  let pending = items;
  let refusals = 0;
  let waits = 0;
  for (;;) {
    if (pending.length === 0) return;
    let err: unknown;
    try {
      await target.write(pending);
      return;
    } catch (failure) {
      err = failure;
      if (failure instanceof PartialWriteError) {
        pending = failure.remaining as T[];
        err = failure.cause;
      }
    }
    const unavailable = await isUnavailable(err, () => target.probe());
    target.failed(err, pending.length, unavailable);
    if (unavailable) {
      const giveUpAt = target.giveUpAt();
      if (giveUpAt !== undefined && Date.now() >= giveUpAt) return target.lost(pending, err);
      waits += 1;
      const wait = Math.min(options.backoffMs * 2 ** (waits - 1), options.maxBackoffMs);
      await pause(giveUpAt === undefined ? wait : Math.min(wait, Math.max(0, giveUpAt - Date.now())));
      continue;
    }
    refusals += 1;
    if (refusals >= options.attempts) break;
    await pause(options.backoffMs * 2 ** (refusals - 1));
  }
  // Refused every time: item by item, so that only what the database refuses on its own is dropped.
  for (let i = 0; i < pending.length; i++) {
    try {
      await target.write([pending[i]]);
    } catch (failure) {
      const err = failure instanceof PartialWriteError ? failure.cause : failure;
      if (failure instanceof PartialWriteError && failure.remaining.length === 0) continue;
      // The database went away meanwhile: the rest waits for it, in order, as a batch again.
      if (await isUnavailable(err, () => target.probe())) return writeWithRetries(pending.slice(i), target, options);
      target.drop(pending[i], err);
    }
  }
}
