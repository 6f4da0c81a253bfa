/**
 * One error that repeats through an outage, logged as an outage rather than line by line. While the database is
 * down, pg-boss reports its failed polls and connections several times a second, each with a stack: an operator
 * read about three lines a second, none saying when it ended (found in an operator's QA pass). Here the first
 * error is logged whole; the ones after it are counted and said once a minute in one line; and once none has
 * come for a while, one line says the errors stopped and how many there were.
 */
import type { Logger } from '../log.js';

export interface OutageLogOptions {
  /** How often the repeats are summed up in one line while they go on. */
  summaryEveryMs?: number;
  /** How long without an error before the outage counts as over. */
  quietAfterMs?: number;
  now?: () => number;
}

export class OutageLog {
  private outageStartedAt: number | null = null;
  private repeats = 0;
  private total = 0;
  private lastSummaryAt = 0;
  private lastErrorAt = 0;
  private quietTimer: NodeJS.Timeout | undefined;
  private readonly summaryEveryMs: number;
  private readonly quietAfterMs: number;
  private readonly now: () => number;

  constructor(
    private readonly log: Logger,
    /** What failed, as each line says it ("pg-boss error"). */
    private readonly what: string,
    options: OutageLogOptions = {},
  ) {
    this.summaryEveryMs = options.summaryEveryMs ?? 60_000;
    this.quietAfterMs = options.quietAfterMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** An error: logged whole when it starts an outage, counted otherwise. */
  readonly error = (err: unknown): void => {
    const at = this.now();
    this.lastErrorAt = at;
    this.total += 1;
    if (this.outageStartedAt === null) {
      this.outageStartedAt = at;
      this.lastSummaryAt = at;
      this.log.error({ err }, this.what);
    } else {
      this.repeats += 1;
      if (at - this.lastSummaryAt >= this.summaryEveryMs) {
        const message = err instanceof Error ? err.message : String(err);
        this.log.error({ repeats: this.repeats, since: new Date(this.outageStartedAt).toISOString(), last: message }, `${this.what}: ${this.repeats} more since the last line`);
        this.repeats = 0;
        this.lastSummaryAt = at;
      }
    }
    this.armQuietCheck();
  };

  /** Stops the check for the end of an outage (at shutdown). */
  stop(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }

  /** Says the outage is over once no error has come for `quietAfterMs` (checked then, not on every error). */
  private armQuietCheck(): void {
    if (this.quietTimer) return;
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined;
      this.checkQuiet();
    }, this.quietAfterMs);
    this.quietTimer.unref();
  }

  /** Exposed for tests with their own clock: ends the outage if it has been quiet long enough. */
  checkQuiet(): void {
    if (this.outageStartedAt === null) return;
    const quietFor = this.now() - this.lastErrorAt;
    if (quietFor < this.quietAfterMs) {
      this.armQuietCheck();
      return;
    }
    this.log.info(
      { errors: this.total, lastAt: new Date(this.lastErrorAt).toISOString(), lastedSeconds: Math.round((this.lastErrorAt - this.outageStartedAt) / 1000) },
      `${this.what}: no more since ${Math.round(quietFor / 1000)} s (${this.total} in all)`,
    );
    this.outageStartedAt = null;
    this.repeats = 0;
    this.total = 0;
  }
}
