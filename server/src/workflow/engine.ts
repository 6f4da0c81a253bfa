/**
 * The workflow engine: durable executions whose automatic steps run as pg-boss jobs.
 *
 * - Every change of status is a row and an event, written in one transaction (transitions.ts), together
 *   with the job that runs the next automatic step: nothing is ever enqueued without its state, nor the
 *   other way round.
 * - A step job claims its step (PENDING -> RUNNING, under a row lock), calls the integrations outside any
 *   transaction, then records SUCCEEDED with the step's domain rows, or schedules a retry (transient errors,
 *   up to `maxAttempts`), or FAILED with the error. Jobs for a stale attempt do nothing, so a step never
 *   runs twice at once, whichever instance fetched the job.
 * - A process that dies mid-step leaves its job active; pg-boss hands it out again once it expires
 *   (`stepTimeoutSeconds`), and the step is claimed again. Steps enqueued but not started simply wait.
 */
import { OutageLog } from '../internals/outageLog.js';
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import PgBoss from 'pg-boss';
import { BudgetSubmission, type SubmissionStatus } from '../budget/BudgetSubmission.js';
import { snapshotSubmission } from '../budget/submissionSnapshot.js';
import { freezeVersion, missingBudgets } from '../budget/submissionVersions.js';
import { withSchemaLock } from '../db/orm.js';
import { PgBossDb } from '../db/pgBossDb.js';
import { IDLE_POLL_SECONDS, WorkerWakeups } from '../internals/workerWakeups.js';
import { storableText, unstorableJsonProblem } from '../db/storableText.js';
import { Organization } from '../directory/Organization.js';
import { organizationNameTaken } from '../directory/organizationNames.js';
import { User } from '../directory/User.js';
import { badUserInput, conflict, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import type { Logger } from '../log.js';
import { isSubmittable } from '../policies/budgetSubmission.js';
import { authorize } from '../policies/authorize.js';
import { executionScope } from '../policies/workflowExecution.js';
import type { Viewer } from '../policies/viewer.js';
import type { BudgetTopics } from '../budget/events.js';
import type { EventBus } from '../realtime/eventBus.js';
import type { SessionTopics } from '../realtime/sessionEvents.js';
import type { WorkflowTopics } from './events.js';
import { isTransient, type IntegrationProvider } from './adapters/types.js';
import { stepDefinition, workflowDefinition, WORKFLOWS, type WorkflowDefinition } from './definitions.js';
import { cancelExecution } from './cancellation.js';
import { CONFIRMATION_STEPS, OFFBOARDING_WORKFLOWS, prepareOffboarding } from './offboarding.js';
import { reopenSubmission, withdrawSubmission, type ReviewDeps } from './reviewActions.js';
import { StepExecution } from './StepExecution.js';
import { INPUT_HANDLERS, STEP_RUNNERS, type InputEffect, type StepRunResult } from './steps.js';
import { runTransition, STEP_JOB_RETRIES, STEP_QUEUE, type EnqueuedJob, type StepJob, type Transition } from './transitions.js';
import { WorkflowExecution } from './WorkflowExecution.js';

export interface WorkflowEngineOptions {
  em: EntityManager;
  databaseUrl: string;
  events: EventBus<WorkflowTopics & BudgetTopics & SessionTopics>;
  integrations: IntegrationProvider;
  log: Logger;
  /** Attempts of a step before a transient error fails it. Default 3. */
  maxAttempts?: number;
  /** Seconds before the first automatic retry; doubles each time. Default 1. */
  retryDelaySeconds?: number;
  /** A step running longer is presumed dead with its process and run again. Default 60. */
  stepTimeoutSeconds?: number;
  /** How often pg-boss looks for expired jobs. Default 10. */
  maintenanceIntervalSeconds?: number;
  /** Step jobs one instance runs at the same time. Default 4. */
  concurrency?: number;
}

const ajv = new Ajv({ allErrors: false, strict: false });
addFormats.default(ajv);
const validators = new Map<object, ValidateFunction>();

/** Checks `input` against a schema; BAD_USER_INPUT naming the first problem. */
function checkInput(schema: object, input: unknown, what: string): void {
  let validate = validators.get(schema);
  if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
  // Inputs are kept as jsonb, which refuses U+0000 (and text refuses unpaired surrogates) whatever the schema.
  const unstorable = unstorableJsonProblem(input);
  if (unstorable) throw badUserInput(`Invalid ${what}: ${unstorable.path || what} ${unstorable.problem}`, unstorable.path || what);
  if (!validate(input)) {
    const [error] = validate.errors ?? [];
    const where = error?.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : what;
    throw badUserInput(`Invalid ${what}: ${where} ${error?.message ?? 'is not valid'}`.trim(), where);
  }
}

/** The answer for an execution that does not exist or that the viewer may not see: the same for both. */

export class WorkflowEngine {
  private boss?: PgBoss;
  private db?: PgBossDb;
  private wakeups?: WorkerWakeups;
  private readonly workerIds: string[] = [];
  private readonly options: Required<Omit<WorkflowEngineOptions, 'em' | 'databaseUrl' | 'events' | 'integrations' | 'log'>> &
    WorkflowEngineOptions;

  constructor(options: WorkflowEngineOptions) {
    this.options = {
      maxAttempts: 3,
      retryDelaySeconds: 1,
      stepTimeoutSeconds: 60,
      maintenanceIntervalSeconds: 10,
      concurrency: 4,
      ...options,
    };
  }

  get definitions(): readonly WorkflowDefinition[] {
    return WORKFLOWS;
  }

  async start(): Promise<void> {
    // Its own pool, its statements prepared (db/pgBossDb.ts). Idle connections are kept: each new one costs a
    // SCRAM handshake on both sides, which polling paid for again and again with pg's 10 s default.
    const db = new PgBossDb(
      { connectionString: this.options.databaseUrl, max: this.options.concurrency + 2, idleTimeoutMillis: 300_000 },
      new OutageLog(this.options.log, 'pg-boss connection error').error,
    );
    this.db = db;
    const boss = new PgBoss({
      db,
      schema: 'pgboss',
      maintenanceIntervalSeconds: this.options.maintenanceIntervalSeconds,
      monitorStateIntervalSeconds: 60,
      schedule: false,
    });
    // While the database is down these come several times a second: logged as one outage (internals/outageLog.ts).
    boss.on('error', new OutageLog(this.options.log, 'pg-boss error').error);
    // Under the schema lock: replicas starting together on a new database would both create the queue, and
    // pg-boss's create_queue deadlocks against itself then (its INSERT waits for the other's, whose foreign
    // key on the queue table waits for this one's): one instance would fail to start.
    await withSchemaLock(this.options.databaseUrl, async () => {
      await boss.start();
      await boss.createQueue(STEP_QUEUE, {
        name: STEP_QUEUE,
        // Our own retries are explicit attempts (see runStep); pg-boss retries only jobs whose handler threw or
        // whose worker died (each job says how: STEP_JOB_RETRIES).
        ...STEP_JOB_RETRIES,
        expireInSeconds: this.options.stepTimeoutSeconds,
      });
    });
    this.boss = boss;
    // Jobs this instance creates wake a worker when they are due (internals/workerWakeups.ts), and a worker that
    // has run a job looks for the next at once: polling only finds jobs nobody here announced, and is slow.
    const wakeups = new WorkerWakeups(boss, this.workerIds);
    this.wakeups = wakeups;
    for (let i = 0; i < this.options.concurrency; i++) {
      let self = '';
      self = await boss.work<StepJob>(STEP_QUEUE, { batchSize: 1, pollingIntervalSeconds: IDLE_POLL_SECONDS, includeMetadata: true }, async ([job]) => {
        try {
          await this.runStep(job.data);
        } catch (err) {
          if (job.retryCount >= job.retryLimit) await this.abandonStep(job.data, err);
          else wakeups.failed(job);
          throw err;
        } finally {
          boss.notifyWorker(self);
        }
      });
      this.workerIds.push(self);
    }
  }

  /** Stops taking jobs and waits for the steps running now to finish. */
  async stop(): Promise<void> {
    this.wakeups?.stop();
    await this.boss?.stop({ graceful: true, wait: true, timeout: 20_000 });
    await this.db?.close();
  }

  private get jobs(): PgBoss {
    if (!this.boss) throw new Error('The workflow engine is not started');
    return this.boss;
  }

  /** Wakes the workers for the jobs just enqueued, at once or when their delay is over, not at their next poll. */
  private wake = (jobs: EnqueuedJob[]) => {
    for (const delay of new Set(jobs.map((j) => j.startAfterSeconds))) this.wakeups?.due(delay);
  };

  private transition<T>(work: (t: Transition) => Promise<T>): Promise<T> {
    return runTransition(this.options.em, this.jobs, this.options.events, work, this.wake);
  }

  // -------------------------------------------------------------------------------------------------------
  // Operations

  async startExecution(viewer: Viewer, definitionKey: string, input: unknown): Promise<WorkflowExecution> {
    const definition = workflowDefinition(definitionKey);
    if (!definition || !definition.startable) throw badUserInput(`There is no workflow "${definitionKey.slice(0, 100)}" to start`, 'definitionKey');
    authorize(viewer, 'start', 'WorkflowDefinition', { definitionKey }, () => 'You may not start this workflow');
    const given = input ?? {};
    checkInput(definition.inputSchema, given, 'input');
    // Its name is checked (and claimed) in the transaction that starts it, below.
    if (definitionKey === 'new_partner') (given as { organizationName: string }).organizationName = String((given as { organizationName: string }).organizationName).trim();
    // An offboarding names its person or organisation (a partner admin: of their own only) and lists, before
    // anyone confirms, what it will remove (offboarding.ts).
    const offboarding = OFFBOARDING_WORKFLOWS.includes(definitionKey)
      ? await prepareOffboarding(this.options.em.fork(), viewer, definitionKey, given as Record<string, unknown>)
      : null;
    const id = await this.transition(async (t) => {
      if (definitionKey === 'new_partner') {
        const taken = await organizationNameTaken(t.tx, (given as { organizationName: string }).organizationName);
        if (taken) throw badUserInput(taken, 'organizationName');
      }
      // A partner admin adds people to their own organisation: it is the run's from its creation, so that every
      // event of the run, its first (RUNNING) too, names it and reaches them (events carry the organisation).
      const ownOrganization = definitionKey === 'new_partner_user' && viewer.role === 'PARTNER_ADMIN' ? viewer.organizationId! : null;
      const organizationId = offboarding?.organizationId ?? ownOrganization;
      const execution = t.tx.create(WorkflowExecution, {
        definitionKey,
        input: offboarding?.input ?? (given as Record<string, unknown>),
        requestedBy: t.tx.getReference(User, viewer.userId),
        ...(organizationId ? { organization: t.tx.getReference(Organization, organizationId) } : {}),
      });
      const steps = this.createSteps(t.tx, execution, definition);
      if (offboarding) steps.find((s) => s.key === CONFIRMATION_STEPS[definitionKey])!.output = offboarding.confirmationOutput;
      t.record(execution, null, 'RUNNING');
      // And that step is answered for them.
      if (ownOrganization) {
        const step = steps.find((s) => s.key === 'select_organization')!;
        const organization = await t.tx.findOneOrFail(Organization, { id: ownOrganization });
        step.input = { organizationId: viewer.organizationId };
        step.output = { organizationName: organization.name, filledFor: 'PARTNER_ADMIN' };
        step.startedAt = step.finishedAt = new Date();
        t.setStep(execution, step, 'SUCCEEDED');
      }
      await this.advance(t, execution);
      return execution.id;
    });
    return this.options.em.fork().findOneOrFail(WorkflowExecution, { id });
  }

  /**
   * Submits a unit's budget: the submission becomes SUBMITTED (the unit's cells freeze) and its
   * budget_submission workflow starts, in one transaction. The caller has checked that the viewer may
   * read the unit; whether they may submit it, and whether it can be submitted now, is decided here
   * under the submission's row lock.
   */
  async submitBudget(viewer: Viewer, planId: string, unitId: string): Promise<string> {
    return this.transition(async (t) => {
      const submission = await t.tx.findOneOrFail(
        BudgetSubmission,
        { plan: planId, businessUnit: unitId },
        { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['businessUnit', 'plan'] },
      );
      authorize(viewer, 'submit', 'BudgetSubmission', { unitId, status: submission.status }, () => "You may not submit this unit's budget");
      if (!isSubmittable(submission.status)) throw conflict(`This budget is already ${submission.status.toLowerCase()}`);
      if (submission.plan.requireCompleteSubmission) {
        const { missing, total } = await missingBudgets(t.tx, planId, unitId);
        if (missing > 0) throw badUserInput(`${missing} of ${total} lines have no budget: this plan requires every line to have one before it is submitted`, 'businessUnitCode');
      }
      submission.status = 'SUBMITTED';
      submission.submittedAt = new Date();
      submission.submittedBy = t.tx.getReference(User, viewer.userId);
      // A new version: the review fields are the previous version's (its own record keeps them).
      submission.version += 1;
      submission.reviewComment = null;
      submission.reviewedBy = null;
      submission.reviewedAt = null;
      const execution = t.tx.create(WorkflowExecution, {
        definitionKey: 'budget_submission',
        input: { planId, businessUnitCode: submission.businessUnit.code },
        plan: submission.plan,
        businessUnit: submission.businessUnit,
        requestedBy: t.tx.getReference(User, viewer.userId),
      });
      this.createSteps(t.tx, execution, workflowDefinition('budget_submission')!);
      submission.executionId = execution.id;
      await t.tx.flush();
      // What is reviewed, diffed and published: the unit's lines as they are now (frozen: `freezeWhile`).
      await freezeVersion(t.tx, {
        submissionId: submission.id,
        version: submission.version,
        executionId: execution.id,
        submittedAt: submission.submittedAt,
        submittedById: viewer.userId,
        planId,
        unitId,
      });
      t.record(execution, null, 'RUNNING');
      await this.publishSubmissionStatus(t, execution, 'SUBMITTED');
      await this.advance(t, execution);
      return submission.id;
    });
  }

  async submitStepInput(viewer: Viewer, executionId: string, stepKey: string, input: unknown): Promise<WorkflowExecution> {
    const { execution, step, definition } = await this.visibleStep(viewer, executionId, stepKey);
    const stepDef = stepDefinition(definition, stepKey)!;
    if (stepDef.kind !== 'MANUAL') throw badUserInput(`${stepKey} is an automatic step: it takes no input`, 'stepKey');
    authorize(viewer, 'provideInput', 'WorkflowStep', { execution: executionScope(execution), inputRoles: stepDef.inputRoles }, () => 'You may not provide this input');
    if (step.status !== 'AWAITING_INPUT') throw conflict(`${stepKey} is ${step.status}, not waiting for input`);
    checkInput(stepDef.inputSchema ?? { type: 'object' }, input, 'input');
    const effect: InputEffect = (await INPUT_HANDLERS[stepKey]?.(this.options.em.fork(), viewer, execution, input)) ?? { output: {} };
    await this.transition(async (t) => {
      const [lockedExecution, lockedStep] = await this.lock(t.tx, execution.id, step.id);
      if (lockedStep.status !== 'AWAITING_INPUT') throw conflict(`${stepKey} is ${lockedStep.status}, not waiting for input`);
      lockedStep.input = input;
      // The name too: the monitor says "Approved by Ann Analyst", and a later rename does not rewrite history.
      const person = await t.tx.findOne(User, { id: viewer.userId }, { fields: ['displayName'] });
      lockedStep.output = { ...effect.output, providedBy: viewer.email, ...(person ? { providedByName: person.displayName } : {}) };
      lockedStep.attempts += 1;
      lockedStep.finishedAt = new Date();
      await effect.persist?.(t.tx, lockedExecution);
      t.setStep(lockedExecution, lockedStep, 'SUCCEEDED');
      if (effect.submissionStatus) await this.publishSubmissionStatus(t, lockedExecution, effect.submissionStatus);
      await this.advance(t, lockedExecution);
    });
    return this.options.em.fork().findOneOrFail(WorkflowExecution, { id: execution.id });
  }

  async retryStep(viewer: Viewer, executionId: string, stepKey: string): Promise<WorkflowExecution> {
    const { execution, step } = await this.visibleStep(viewer, executionId, stepKey);
    authorize(viewer, 'retry', 'WorkflowStep', { execution: executionScope(execution) }, () => 'You may not retry steps of this workflow');
    if (step.status !== 'FAILED') throw conflict(`${stepKey} is ${step.status}; only a failed step can be retried`);
    await this.transition(async (t) => {
      const [lockedExecution, lockedStep] = await this.lock(t.tx, execution.id, step.id);
      if (lockedStep.status !== 'FAILED') throw conflict(`${stepKey} is ${lockedStep.status}; only a failed step can be retried`);
      lockedStep.retriedByAdmin = true;
      lockedStep.error = null;
      lockedStep.finishedAt = null;
      t.setStep(lockedExecution, lockedStep, 'PENDING');
      await this.advance(t, lockedExecution);
    });
    return this.options.em.fork().findOneOrFail(WorkflowExecution, { id: execution.id });
  }

  /** Cancels an execution with its unfinished steps (cancellation.ts). */
  async cancelExecution(viewer: Viewer, executionId: string, reason: string | null): Promise<WorkflowExecution> {
    return cancelExecution(
      { em: this.options.em, transition: (work) => this.transition(work), publishSubmissionStatus: (t, e, s) => this.publishSubmissionStatus(t, e, s) },
      viewer,
      executionId,
      reason,
    );
  }

  /** Withdraws a submitted budget before its review (reviewActions.ts). Returns the submission's id. */
  async withdrawSubmission(viewer: Viewer, planId: string, unitId: string): Promise<string> {
    return withdrawSubmission(this.reviewDeps(), viewer, planId, unitId);
  }

  /** Reopens an approved budget (admins; reviewActions.ts). Returns the submission's id. */
  async reopenSubmission(viewer: Viewer, planId: string, unitId: string, reason: string): Promise<string> {
    return reopenSubmission(this.reviewDeps(), viewer, planId, unitId, reason);
  }

  // -------------------------------------------------------------------------------------------------------
  // Running steps

  /** The pg-boss handler of one step job. Throws only when the database fails (pg-boss retries then). */
  async runStep(job: StepJob): Promise<void> {
    const claimed = await this.transition(async (t) => {
      const [execution, step] = await this.lock(t.tx, job.executionId, job.stepId).catch(() => [null, null] as const);
      if (!execution || !step || execution.status === 'CANCELLED') return null;
      const fresh = step.status === 'PENDING' && step.attempts === job.attempt - 1;
      // The same job handed out again after its worker died mid-run: run it again.
      const redelivered = step.status === 'RUNNING' && step.attempts === job.attempt;
      if (!fresh && !redelivered) return null;
      step.attempts = job.attempt;
      step.startedAt = new Date();
      step.finishedAt = null;
      t.setStep(execution, step, 'RUNNING');
      t.setExecution(execution, 'RUNNING');
      return { executionId: execution.id, stepId: step.id };
    });
    if (!claimed) return;

    const em = this.options.em.fork();
    const execution = await em.findOneOrFail(WorkflowExecution, { id: claimed.executionId }, { populate: ['organization', 'businessUnit', 'plan'] });
    const steps = await em.find(StepExecution, { execution: execution.id }, { orderBy: { position: 'asc' } });
    const step = steps.find((s) => s.id === claimed.stepId)!;
    let result: StepRunResult | undefined;
    let failure: unknown;
    try {
      const runner = STEP_RUNNERS[step.key];
      if (!runner) throw new Error(`No runner for step ${step.key}`);
      result = await runner({
        execution,
        step,
        inputs: new Map(steps.map((s) => [s.key, s.input])),
        outputs: new Map(steps.map((s) => [s.key, s.output])),
        integrations: this.options.integrations.forStep({ stepKey: step.key, retriedByAdmin: step.retriedByAdmin }),
        em,
      });
    } catch (err) {
      failure = err;
    }

    if (result) {
      try {
        await this.transition((t) => this.recordSuccess(t, execution.id, step.id, job.attempt, result!));
        return;
      } catch (err) {
        // Its domain rows could not be written (a clash with existing data, say): the whole transaction
        // rolled back, and the step fails in a fresh one below. If the database itself is down, that one
        // throws too, and pg-boss hands the job out again later.
        failure = err;
      }
    }
    try {
      await this.transition((t) => this.recordFailure(t, execution.id, step.id, job.attempt, failure));
    } catch (err) {
      // Recording the failure failed: scheduling the retry, say. Left as it is, the step would stay RUNNING
      // with no error. So fail it in a transaction that schedules nothing, saying why no retry came; an
      // admin's retryStep runs it again. When even that fails, the database is away: throw, and pg-boss
      // hands the job out again later (and fails the step after its last try: abandonStep).
      this.options.log.error({ executionId: execution.id, step: step.key, err }, 'recording a workflow step failure failed');
      const retryWasDue = isTransient(failure) && job.attempt < this.options.maxAttempts;
      const final = retryWasDue ? new Error(`${errorMessage(failure)} (its next attempt could not be scheduled: ${errorMessage(err)})`) : failure;
      await this.transition((t) => this.recordFailure(t, execution.id, step.id, job.attempt, final));
    }
  }

  /**
   * The job of a step failed its last try (pg-boss gives it up): the step is failed with the error, so that it
   * shows why and an admin can retry it, instead of staying RUNNING (or PENDING) with no job to move it on.
   * When even that cannot be written, the database is away for good: it is logged.
   */
  private async abandonStep(job: StepJob, err: unknown): Promise<void> {
    this.options.log.error({ executionId: job.executionId, stepId: job.stepId, attempt: job.attempt, err }, 'a workflow step job failed its last try');
    try {
      await this.transition(async (t) => {
        const [execution, step] = await this.lock(t.tx, job.executionId, job.stepId);
        const running = step.status === 'RUNNING' && step.attempts === job.attempt;
        const unclaimed = step.status === 'PENDING' && step.attempts === job.attempt - 1;
        if (execution.status === 'CANCELLED' || (!running && !unclaimed)) return; // moved on meanwhile
        step.attempts = job.attempt;
        step.error = storableText(`The step could not be run to its end: ${errorMessage(err)}`.slice(0, 2000));
        step.finishedAt = new Date();
        t.setStep(execution, step, 'FAILED');
        t.setExecution(execution, 'FAILED');
      });
    } catch (failure) {
      this.options.log.error({ executionId: job.executionId, stepId: job.stepId, err: failure }, 'failing an abandoned workflow step failed');
    }
  }

  private async recordSuccess(t: Transition, executionId: string, stepId: string, attempt: number, result: StepRunResult) {
    const [execution, step] = await this.lock(t.tx, executionId, stepId);
    if (step.status !== 'RUNNING' || step.attempts !== attempt) return; // superseded
    await result.persist?.(t.tx, execution);
    step.output = result.output;
    step.error = null;
    step.finishedAt = new Date();
    t.setStep(execution, step, result.status ?? 'SUCCEEDED');
    if (result.submissionStatus) await this.publishSubmissionStatus(t, execution, result.submissionStatus);
    // Their open sockets re-check their viewer and close (a deactivation), as deactivateUser's do.
    for (const userId of result.revokeTokensOf ?? []) t.afterCommit(() => this.options.events.publish('TOKENS_REVOKED', { userId }));
    await this.advance(t, execution);
  }

  /** A transient failure schedules the next attempt while attempts remain; anything else fails the step. */
  private async recordFailure(t: Transition, executionId: string, stepId: string, attempt: number, failure: unknown) {
    const [execution, step] = await this.lock(t.tx, executionId, stepId);
    if (step.status !== 'RUNNING' || step.attempts !== attempt) return; // superseded
    step.error = storableText(errorMessage(failure).slice(0, 2000));
    if (isTransient(failure) && step.attempts < this.options.maxAttempts) {
      t.setStep(execution, step, 'PENDING');
      await t.enqueue(step, this.options.retryDelaySeconds * 2 ** (step.attempts - 1));
      return;
    }
    this.options.log.warn({ executionId, step: step.key, err: failure }, 'workflow step failed');
    step.finishedAt = new Date();
    t.setStep(execution, step, 'FAILED');
    t.setExecution(execution, 'FAILED');
  }

  /**
   * Moves an execution on from its current state: the first step not done decides. An automatic step is
   * enqueued; a manual one waits for input; no step left completes the execution.
   */
  private async advance(t: Transition, execution: WorkflowExecution): Promise<void> {
    const steps = await t.tx.find(StepExecution, { execution: execution.id }, { orderBy: { position: 'asc' } });
    const next = steps.find((s) => s.status !== 'SUCCEEDED' && s.status !== 'SKIPPED');
    if (!next) return t.setExecution(execution, 'COMPLETED');
    if (next.status === 'FAILED') return t.setExecution(execution, 'FAILED');
    if (next.kind === 'MANUAL') {
      if (next.status === 'PENDING') t.setStep(execution, next, 'AWAITING_INPUT');
      return t.setExecution(execution, 'AWAITING_INPUT');
    }
    if (next.status === 'PENDING') await t.enqueue(next);
    t.setExecution(execution, 'RUNNING');
  }

  private createSteps(tx: EntityManager, execution: WorkflowExecution, definition: WorkflowDefinition): StepExecution[] {
    return definition.steps.map((s, position) => tx.create(StepExecution, { execution, key: s.key, name: s.name, kind: s.kind, position }));
  }

  private async lock(tx: EntityManager, executionId: string, stepId: string): Promise<[WorkflowExecution, StepExecution]> {
    const execution = await tx.findOneOrFail(WorkflowExecution, { id: executionId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const step = await tx.findOneOrFail(StepExecution, { id: stepId, execution: executionId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    return [execution, step];
  }

  /** The execution and step a request names, if the viewer may see them (else NOT_FOUND, alike). */
  private async visibleStep(viewer: Viewer, executionId: string, stepKey: string) {
    const em = this.options.em.fork();
    const execution = isUuid(executionId) ? await em.findOne(WorkflowExecution, { id: executionId }) : null;
    authorize(viewer, 'read', 'WorkflowExecution', execution && executionScope(execution));
    const definition = workflowDefinition(execution!.definitionKey)!;
    const step = await em.findOne(StepExecution, { execution: execution!.id, key: stepKey });
    if (!step) throw notFound(`Step ${stepKey.slice(0, 100)}`);
    return { execution: execution!, step, definition };
  }

  /** After commit, tells open grids and dashboards that a unit's submission changed (to `status`). */
  private async publishSubmissionStatus(t: Transition, execution: WorkflowExecution, status: SubmissionStatus): Promise<void> {
    await this.publishUnitSubmission(t, execution.plan!.id, execution.businessUnit!.id, status);
  }

  /** After commit, tells open grids and dashboards that the unit's submission changed (to `status`, else as it is in `t`). */
  private async publishUnitSubmission(t: Transition, planId: string, unitId: string, status?: SubmissionStatus): Promise<void> {
    await t.tx.flush();
    const row = await t.tx.findOneOrFail(BudgetSubmission, { plan: planId, businessUnit: unitId }, { populate: ['businessUnit', 'submittedBy', 'reviewedBy'] });
    const submission = { ...snapshotSubmission(row), status: status ?? row.status };
    t.afterCommit(() => this.options.events.publish('SUBMISSION_STATUS_CHANGED', { planId, unitId, status: submission.status, submission }));
  }

  private reviewDeps(): ReviewDeps {
    return {
      em: this.options.em,
      transition: (work) => this.transition(work),
      publishSubmissionStatus: (t, e, s) => this.publishSubmissionStatus(t, e, s),
      publishUnitSubmission: (t, planId, unitId) => this.publishUnitSubmission(t, planId, unitId),
    };
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
