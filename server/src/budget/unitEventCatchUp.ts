/**
 * Catching up `budgetLineChanged` and `submissionStatusChanged` after Redis was away.
 *
 * These events carry snapshots, not cursors: a subscriber cannot ask for what it missed, as a workflow
 * monitor does. While Redis is away, changes committed through other instances do not reach this one's
 * subscribers. So on every resync (now and then while Redis is away, and once it is back) this instance
 * reads from PostgreSQL what changed and delivers to its own subscribers, and to no other instance (each
 * catches up for itself), what they have not had:
 * - lines updated since shortly before Redis was found away, whose version is newer than the last one
 *   delivered here (every line change delivered here is remembered by version, so nothing is repeated);
 * - submissions whose status differs from the last one delivered here (one per unit and plan: all are read).
 * Without Redis (one instance) there is nothing to catch up and this does not run.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../log.js';
import { onEvent, publishLocally, type EventBus } from '../realtime/eventBus.js';
import type { SessionTopics } from '../realtime/sessionEvents.js';
import type { BudgetTopics } from './events.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { snapshotLine } from './lineSnapshot.js';
import { snapshotSubmission, type SubmissionSnapshot } from './submissionSnapshot.js';

/**
 * How far before the first resync of an outage changes are read again: Redis is found away by a heartbeat
 * (every 5 s) and the first resync follows; changes published to a dying Redis are lost up to that long before.
 */
const LOOKBACK_MS = 60_000;
/** Line versions remembered; the oldest are forgotten first (a forgotten line is at worst delivered again). */
const MAX_REMEMBERED_LINES = 200_000;

export class UnitEventCatchUp {
  private readonly lineVersions = new Map<string, number>();
  private readonly submissionStates = new Map<string, string>();
  /** Lines updated after this are read on each resync; null while Redis is up and nothing was missed. */
  private since: Date | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** Redis is back: the next catch-up that succeeds ends the outage. */
  private outageOver = false;
  private readonly stops: (() => void)[] = [];

  constructor(
    private readonly em: EntityManager,
    private readonly bus: EventBus<BudgetTopics & SessionTopics>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stops.push(
      onEvent(this.bus, 'BUDGET_LINE_CHANGED', ({ line }) => this.rememberLine(line.id, line.version)),
      onEvent(this.bus, 'SUBMISSION_STATUS_CHANGED', ({ submission }) => this.submissionStates.set(submission.id, stateOf(submission))),
      onEvent(this.bus, 'CLUSTER_RESYNC', ({ reason }) => {
        this.since ??= new Date(Date.now() - LOOKBACK_MS);
        this.catchUp(reason === 'reconnected');
      }),
    );
    for (const row of await this.em.fork().find(BudgetSubmission, {}, { populate: ['businessUnit', 'submittedBy', 'reviewedBy'] })) {
      this.submissionStates.set(row.id, stateOf(snapshotSubmission(row)));
    }
  }

  stop(): void {
    this.stops.forEach((stop) => stop());
  }

  private rememberLine(id: string, version: number): void {
    if ((this.lineVersions.get(id) ?? -1) >= version) return;
    this.lineVersions.delete(id);
    this.lineVersions.set(id, version);
    if (this.lineVersions.size > MAX_REMEMBERED_LINES) this.lineVersions.delete(this.lineVersions.keys().next().value!);
  }

  /** One catch-up at a time; a resync during one runs another after it. Redis back: the outage is over. */
  private catchUp(outageOver: boolean): void {
    if (outageOver) this.outageOver = true;
    if (this.running) {
      this.again = true;
      return;
    }
    const since = this.since!;
    const endsOutage = this.outageOver;
    this.outageOver = false;
    this.running = this.readAndDeliver(since)
      .then(() => {
        if (endsOutage && this.since === since) this.since = null;
      })
      .catch((err) => {
        if (endsOutage) this.outageOver = true;
        this.log.error({ err }, 'catching up line and submission changes failed; will retry at the next resync');
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          if (this.since) this.catchUp(false);
        }
      });
  }

  private async readAndDeliver(since: Date): Promise<void> {
    const em = this.em.fork();
    const lines = await em.find(BudgetLine, { updatedAt: { $gt: since } }, { populate: ['businessUnit', 'updatedBy'], orderBy: { updatedAt: 'asc' } });
    let delivered = 0;
    for (const line of lines) {
      if ((this.lineVersions.get(line.id) ?? -1) >= line.version) continue;
      // Remembered by the listener above, like every other change.
      publishLocally(this.bus, 'BUDGET_LINE_CHANGED', { planId: line.plan.id, unitId: line.businessUnit.id, line: snapshotLine(line) });
      delivered += 1;
    }
    for (const row of await em.find(BudgetSubmission, {}, { populate: ['businessUnit', 'submittedBy', 'reviewedBy'] })) {
      const submission = snapshotSubmission(row);
      if (this.submissionStates.get(row.id) === stateOf(submission)) continue;
      publishLocally(this.bus, 'SUBMISSION_STATUS_CHANGED', { planId: submission.planId, unitId: submission.businessUnit.id, status: submission.status, submission });
      delivered += 1;
    }
    if (delivered > 0) this.log.info({ delivered }, 'delivered line and submission changes missed while Redis was away');
  }
}

function stateOf(submission: SubmissionSnapshot): string {
  return `${submission.status}|${submission.version}|${submission.executionId ?? ''}|${submission.submittedAt?.toISOString() ?? ''}|${submission.reviewedAt?.toISOString() ?? ''}`;
}
