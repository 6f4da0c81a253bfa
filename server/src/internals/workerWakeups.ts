/**
 * Wakes pg-boss workers when there is work for them, so that they need not poll for it often.
 *
 * A pg-boss worker fetches a job, runs it, and otherwise sleeps out its polling interval. Polled every two
 * seconds, the workflow's and the webhooks' six workers asked PostgreSQL three times a second on an idle server:
 * most of what an idle Plansync spent, its own CPU and its database's (issue 16). But a job this instance
 * creates says when it is due: at once after the commit that created it, or after its delay (a retry); and a
 * job whose handler threw is due again after pg-boss's backoff. So each is announced to a worker at that moment,
 * and polling only finds what no wake-up here announces (a job another instance created and cannot run, a
 * dead process's job that pg-boss's maintenance put back in the queue): it can be slow, `IDLE_POLL_SECONDS`.
 */
import type PgBoss from 'pg-boss';

/** How often an idle worker looks for jobs no wake-up announced (see the header). */
export const IDLE_POLL_SECONDS = 10;

/** A timer's lateness allowance: pg-boss compares start_after with the database's clock, not ours. */
const DUE_MARGIN_MS = 100;

export class WorkerWakeups {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly boss: PgBoss,
    private readonly workerIds: readonly string[],
  ) {}

  /**
   * Jobs just committed, due now or in `afterSeconds`: the workers look for them then. Every worker, not one:
   * pg-boss does not say which are idle, and a busy one would leave the job waiting while the others sleep
   * (an idle worker that finds nothing goes back to sleep; one query each).
   */
  due(afterSeconds = 0): void {
    if (this.stopped) return;
    if (afterSeconds <= 0) return this.all();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.all();
    }, afterSeconds * 1000 + DUE_MARGIN_MS);
    timer.unref();
    this.timers.add(timer);
  }

  /**
   * The handler of `job` threw: pg-boss retries it (when it has retries left) after its backoff, at most
   * retryDelay x 2^(retryCount + 1) seconds with `retryBackoff` (pg-boss's plans.js), retryDelay without.
   */
  failed(job: { retryCount: number; retryLimit: number; retryDelay: number; retryBackoff: boolean }): void {
    if (job.retryCount >= job.retryLimit) return;
    this.due(job.retryBackoff ? job.retryDelay * 2 ** Math.min(16, job.retryCount + 1) : job.retryDelay);
  }

  /** Every worker looks for jobs now. */
  all(): void {
    if (this.stopped) return;
    for (const id of this.workerIds) this.boss.notifyWorker(id);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
