/**
 * Password hashing with argon2id, at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong
 * enough for stored hashes, cheap enough that a sign-in costs ~25 ms of one core.
 *
 * argon2 work is bounded: at most HASHING_AT_ONCE hashes run at a time (the rest wait in line), so a flood of
 * sign-ins from many addresses cannot take every core and libuv thread, and at most HASHING_QUEUE wait: a
 * sign-in that would wait behind more is refused at once (`HashingBusy`) rather than queued without end.
 */
import argon2 from 'argon2';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/** Hashes running at once: half of a 4-thread libuv pool, the rest stays free for files and DNS. */
const HASHING_AT_ONCE = 2;
/** Verifications that may wait for a turn (about a second of work at ~25 ms each on two threads). */
const HASHING_QUEUE = 64;

/** Too many sign-ins are waiting for their password to be checked: try again in a moment. */
export class HashingBusy extends Error {
  constructor() {
    super('Too many sign-ins at once');
  }
}

let running = 0;
const waiting: (() => void)[] = [];
/** argon2 operations started since the process began, and the most ever running and waiting at once. */
let started = 0;
let peakRunning = 0;
let peakWaiting = 0;

/** How much argon2 work there is and was (for metrics and tests). */
export function hashingStats(): { started: number; running: number; waiting: number; peakRunning: number; peakWaiting: number } {
  return { started, running, waiting: waiting.length, peakRunning, peakWaiting };
}

/** Whether a password check started now would be refused (HashingBusy): checked before anything is counted. */
export function hashingLineFull(): boolean {
  return running >= HASHING_AT_ONCE && waiting.length >= HASHING_QUEUE;
}

/** Runs `work` when a hashing slot is free. `mayRefuse`: throw HashingBusy instead of queueing behind a full line. */
async function withHashingSlot<T>(work: () => Promise<T>, mayRefuse: boolean): Promise<T> {
  if (running >= HASHING_AT_ONCE) {
    if (mayRefuse && waiting.length >= HASHING_QUEUE) throw new HashingBusy();
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      peakWaiting = Math.max(peakWaiting, waiting.length);
    });
  } else {
    running += 1;
  }
  try {
    started += 1;
    peakRunning = Math.max(peakRunning, running);
    return await work();
  } finally {
    // The slot passes straight to the next in line (running stays the same), or is freed.
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

/** Hashes a new password (waits for a slot; never refused). */
export function hashPassword(password: string): Promise<string> {
  return withHashingSlot(() => argon2.hash(password, OPTIONS), false);
}

/** A hash of nothing anyone knows, verified against when an account does not exist, to even out timing. */
let decoyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no hash (unknown account, Entra-only account, refused
 * attempt) it still spends the same work on a decoy, so response time does not tell whether an account
 * exists. Throws HashingBusy when too many checks are already waiting.
 */
export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
  if (!hash) {
    decoyHash ??= hashPassword('decoy: no account has this password');
    const decoy = await decoyHash;
    await withHashingSlot(() => argon2.verify(decoy, password).catch(() => false), true);
    return false;
  }
  return withHashingSlot(async () => {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }, true);
}

/** The longest password accepted (the contract's limit): argon2 hashes any length, but nobody types more. */
export const MAX_NEW_PASSWORD_LENGTH = 256;

/**
 * What is wrong with a new password, or null: the contract's rules (at least `minLength` characters, at most
 * 256, not containing the local part of the person's email, whatever the case).
 */
export function passwordProblem(password: string, email: string, minLength: number): string | null {
  const length = [...password].length;
  if (length < minLength) return `A password needs at least ${minLength} characters`;
  if (length > MAX_NEW_PASSWORD_LENGTH) return `A password has at most ${MAX_NEW_PASSWORD_LENGTH} characters`;
  const localPart = email.split('@')[0]?.toLowerCase() ?? '';
  if (localPart && password.toLowerCase().includes(localPart)) return 'A password may not contain the name of your email address';
  return null;
}
