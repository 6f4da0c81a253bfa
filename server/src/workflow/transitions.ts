/**
 * Workflow state changes, each in one transaction with its event rows and the jobs it enqueues.
 *
 * `runTransition(em, work)` opens a transaction, takes the event lock first (before any row lock, so lock
 * order is always the same), lets `work` change executions and steps through the Transition (which writes
 * one `workflow_event` row per status change and enqueues pg-boss jobs on the same connection), commits,
 * and only then publishes the events live. A crash at any point leaves either all of it or none of it.
 *
 * The event lock makes event ids visible in the order they are assigned: a reader that has seen id N
 * can never later find an id below N committed, which is what makes resuming from a cursor exact. Each
 * event also names the event committed just before it (`previousCursor`), read under the same lock: the
 * events form one chain, so an instance receiving them out of order, or missing one, knows it
 * (eventSequencer.ts).
 */
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import type PgBoss from 'pg-boss';
import { transactionConnection } from '../internals/knexPool.js';
import type { EventBus } from '../realtime/eventBus.js';
import type { WorkflowEventRecord, WorkflowTopics } from './events.js';
import type { StepExecution } from './StepExecution.js';
import type { ExecutionStatus, StepStatus } from './statuses.js';
import type { WorkflowExecution } from './WorkflowExecution.js';

const WORKFLOW_EVENT_LOCK = 0x77666576; // "wfev"

export interface StepJob {
  stepId: string;
  executionId: string;
  /** The attempt this job is for (1-based); a job for an older attempt does nothing. */
  attempt: number;
}

export const STEP_QUEUE = 'workflow-step';

/** A job a transition enqueued, and how long after the commit it is due. */
export interface EnqueuedJob {
  job: StepJob;
  startAfterSeconds: number;
}

/**
 * pg-boss's own retries of a step job: only for a job whose handler threw (the database failed while the step
 * was claimed or its outcome recorded) or whose worker died (the job expired). Our retries of failing
 * integrations are explicit attempts (engine.ts). Three, after about 1-2, 2-4 and 4-8 s: a database blip of a
 * few seconds is ridden out; after the last, the step is failed with the error (engine.ts, `abandonStep`),
 * never left RUNNING or PENDING with nothing to run it. Set on every job, so queues created before apply them.
 */
export const STEP_JOB_RETRIES = { retryLimit: 3, retryDelay: 1, retryBackoff: true } as const;

/**
 * Lets pg-boss insert a job on our transaction's own connection, so the job exists exactly when the change
 * does. Its SQL goes to that `pg` connection as pg-boss wrote it. It must not be rewritten into knex's `?`
 * placeholders: a parameter used several times becomes several parameters, and PostgreSQL infers each one's
 * type from its own context. pg-boss's `start_after` is `CASE WHEN right($5, 1) = 'Z' THEN CAST($5 AS
 * timestamptz) ELSE now() + CAST(COALESCE($5, '0') AS interval) END`: split, the copy inside the first CAST is
 * a timestamptz parameter, so a delay of "1" (seconds) is refused ("invalid input syntax for type timestamp")
 * whichever branch runs. Every delayed retry failed that way; jobs without a delay pass null and worked.
 */
function bossDb(tx: EntityManager): PgBoss.Db {
  const trx = tx.getTransactionContext<Knex.Transaction>();
  if (!trx) throw new Error('bossDb: not in a transaction');
  return {
    async executeSql(text: string, values: unknown[]) {
      // The one connection the transaction runs on, which takes `$1`-style parameters, each bound once.
      const connection = await transactionConnection(trx);
      const { rows } = await connection.query(text, values);
      return { rows };
    },
  };
}

export class Transition {
  /** The events written, with their cursors, in order: published once the transaction commits. */
  readonly events: WorkflowEventRecord[] = [];
  private readonly pending: PendingEvent[] = [];
  /** The jobs enqueued, with their delays: workers are woken for them after the commit. */
  readonly jobs: EnqueuedJob[] = [];
  /** Work for after the commit (publishing other events); skipped when the transaction rolls back. */
  readonly afterCommitCallbacks: (() => void)[] = [];

  constructor(
    readonly tx: EntityManager,
    private readonly boss: PgBoss,
  ) {}

  /** Sets a step's status and records the event. */
  setStep(execution: WorkflowExecution, step: StepExecution, status: StepStatus): void {
    step.status = status;
    this.record(execution, step.key, status);
  }

  /** Sets an execution's status (recording the event only when it changes). */
  setExecution(execution: WorkflowExecution, status: ExecutionStatus): void {
    if (execution.status === status) return;
    execution.status = status;
    this.record(execution, null, status);
  }

  /** Enqueues the run of an automatic step, in this transaction, optionally after a delay. */
  async enqueue(step: StepExecution, startAfterSeconds = 0): Promise<void> {
    const job: StepJob = { stepId: step.id, executionId: step.execution.id, attempt: step.attempts + 1 };
    await this.boss.send(STEP_QUEUE, job as unknown as object, {
      db: bossDb(this.tx),
      singletonKey: `${step.id}:${job.attempt}`,
      ...STEP_JOB_RETRIES,
      ...(startAfterSeconds > 0 ? { startAfter: startAfterSeconds } : {}),
    });
    this.jobs.push({ job, startAfterSeconds });
  }

  afterCommit(callback: () => void): void {
    this.afterCommitCallbacks.push(callback);
  }

  /**
   * Records the event of a status change (already applied to the entities) of the execution or one step, as of
   * now: its time, and the execution as it stands. Its row is written with the transition's others when the work
   * is done (`writeEvents`), so that a transition of several changes (a start: the execution and its first steps)
   * flushes its entities once and writes its events in one statement, instead of a flush and a round trip per
   * change while the transaction, and with it every monitor waiting for the events, waits.
   */
  record(execution: WorkflowExecution, stepKey: string | null, status: string): void {
    const at = new Date();
    execution.updatedAt = at;
    this.pending.push({
      executionId: execution.id,
      stepKey,
      status,
      executionStatus: execution.status,
      at,
      definitionKey: execution.definitionKey,
      organizationId: execution.organization?.id ?? null,
      businessUnitId: execution.businessUnit?.id ?? null,
      execution: {
        id: execution.id,
        definitionKey: execution.definitionKey,
        status: execution.status,
        createdAt: execution.createdAt,
        updatedAt: at,
      },
    });
  }

  /**
   * Writes the rows of the events recorded, in order, after flushing the entities (an event must describe state
   * written in this same transaction), and gives each its cursor and its predecessor's. Under the event lock the
   * sub-select sees the newest committed event (one snapshot per statement: not this statement's rows); the rows
   * are numbered in the order given (`ORDER BY n` feeds the sequence in that order), so each of them after the
   * first follows the one before it.
   */
  async writeEvents(): Promise<void> {
    const pending = this.pending.splice(0);
    if (pending.length === 0) return;
    await this.tx.flush();
    const column = <K extends keyof PendingEvent>(key: K) => pending.map((e) => e[key]);
    // On the transaction's own pg connection, with `$n` parameters: knex would spread each array into a list.
    const connection = await transactionConnection(this.tx.getTransactionContext<Knex.Transaction>()!);
    const { rows } = await connection.query<{ id: string; previous: string }>(
      `INSERT INTO workflow_event (execution_id, step_key, status, execution_status, at, definition_key, organization_id, business_unit_id)
       SELECT execution_id, step_key, status, execution_status, at, definition_key, organization_id, business_unit_id
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::uuid[], $8::uuid[])
              WITH ORDINALITY AS e(execution_id, step_key, status, execution_status, at, definition_key, organization_id, business_unit_id, n)
        ORDER BY n
       RETURNING id, (SELECT coalesce(max(id), 0) FROM workflow_event) AS previous`,
      [
        column('executionId'),
        column('stepKey'),
        column('status'),
        column('executionStatus'),
        column('at'),
        column('definitionKey'),
        column('organizationId'),
        column('businessUnitId'),
      ],
    );
    const ids = rows.map((row) => BigInt(row.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let previous = rows.length > 0 ? String(rows[0].previous) : '0';
    pending.forEach((event, i) => {
      const cursor = String(ids[i]);
      this.events.push({ cursor, previousCursor: previous, ...event });
      previous = cursor;
    });
  }
}

/** An event recorded, waiting for its row (and so its cursor). */
type PendingEvent = Omit<WorkflowEventRecord, 'cursor' | 'previousCursor'>;

/**
 * Runs `work` as one workflow transition (see the header). Returns what `work` returned, after the
 * events have been published and the workers woken for the jobs it enqueued.
 */
export async function runTransition<T>(
  em: EntityManager,
  boss: PgBoss,
  events: EventBus<WorkflowTopics>,
  work: (t: Transition) => Promise<T>,
  onJobs?: (jobs: EnqueuedJob[]) => void,
): Promise<T> {
  let transition!: Transition;
  const result = await em.fork().transactional(async (tx) => {
    await tx.getConnection().execute('SELECT pg_advisory_xact_lock(?)', [WORKFLOW_EVENT_LOCK], 'all', tx.getTransactionContext());
    transition = new Transition(tx, boss);
    const done = await work(transition);
    await transition.writeEvents();
    return done;
  });
  for (const event of transition.events) events.publish('WORKFLOW_EVENT', event);
  for (const callback of transition.afterCommitCallbacks) callback();
  if (transition.jobs.length > 0) onJobs?.(transition.jobs);
  return result;
}
