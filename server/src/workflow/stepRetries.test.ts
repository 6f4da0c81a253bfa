/**
 * Automatic retries of a failing integration step, with the settings users run: no WORKFLOW_* override, so
 * the retry delay, the attempts and the backoff are the defaults (config.ts). A test with no retry delay once
 * hid that scheduling a delayed retry failed, and the step stayed RUNNING forever with no error.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { answerCompaniesStep, runNewPartner, startNewPartnerRun } from '../testing/workflowRuns.js';
import { EVENT_CURSOR } from './eventStream.js';

const EXECUTION = `id status steps { key status attempts error startedAt finishedAt }`;
/** What users are promised: a failing step has run out of retries well within this. */
const A_MINUTE = 60_000;

interface StepEvent {
  stepKey: string | null;
  status: string;
}

/** The `workflowEvents` of one execution, from its first, over graphql-ws with the stock client. */
function followEvents(server: TestServer, token: string, executionId: string): { events: StepEvent[]; close(): Promise<void> } {
  const client: Client = createClient({
    url: server.url.replace('http', 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const events: StepEvent[] = [];
  const stop = client.subscribe<{ workflowEvents: StepEvent }>(
    {
      query: `subscription($id: ID, $after: String) { workflowEvents(executionId: $id, after: $after) { stepKey status } }`,
      variables: { id: executionId, after: encodeCursor(EVENT_CURSOR, '0') },
    },
    { next: (r) => r.data && events.push(r.data.workflowEvents), error: () => undefined, complete: () => undefined },
  );
  return {
    events,
    async close() {
      stop();
      await client.dispose();
    },
  };
}

describe('a failing integration step, with the default retry settings', () => {
  let server: TestServer;
  let admin: string;

  const execution = async (id: string) =>
    (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION} } }`, { id }, admin)).data.workflowExecution;
  const stepOf = (e: any, key: string) => e.steps.find((s: any) => s.key === key);
  /** The execution once it has reached `status`. */
  const executionOnce = (id: string, status: string, what: string, timeout = A_MINUTE) =>
    eventually(async () => {
      const e = await execution(id);
      return e.status === status && e;
    }, what, timeout);
  /** retryStep as the admin, which must be accepted. */
  const retryStep = async (id: string, stepKey: string) => {
    const retried = await server.gql(`mutation($id: ID!, $step: String!) { retryStep(executionId: $id, stepKey: $step) { id } }`, { id, step: stepKey }, admin);
    expect(retried.errors).toBeUndefined();
  };
  /**
   * Makes the database itself refuse a write (a trigger raising `message` when `condition` holds for NEW),
   * until the returned function drops the trigger: a failure the server cannot see coming.
   */
  const refuseWrites = async (name: string, write: 'INSERT' | 'UPDATE', table: string, condition: string, message: string) => {
    await ddl(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF ${condition} THEN RAISE EXCEPTION '${message}'; END IF;
        RETURN NEW;
      END $$`);
    await ddl(`CREATE TRIGGER ${name} BEFORE ${write} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
    return () => ddl(`DROP TRIGGER ${name} ON ${table}`);
  };
  /**
   * A trigger made or dropped while the server writes the table: pg-boss's job table is partitioned, and the
   * DDL locks the partitions in an order a concurrent job write may cross, a deadlock either side may lose.
   * The server runs its side again (db/pgBossDb.ts); so does the test.
   */
  const ddl = async (text: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await server.sql(text);
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
      }
    }
  };

  beforeAll(async () => {
    server = await startTestServer({ SIMULATE_FAILURE_STEPS: 'create_slack_group' });
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  it('does not hang RUNNING: shows its attempts and last error while it retries, ends FAILED, and retryStep completes it', async () => {
    const id = await runNewPartner(server, admin, 'Hanging Step Ltd');
    const events = followEvents(server, admin, id);
    try {
      // While it retries: not failed yet, but its attempts and the error of the last one are there.
      const retrying = await eventually(
        async () => {
          const slack = stepOf(await execution(id), 'create_slack_group');
          return slack.status !== 'FAILED' && slack.attempts >= 1 && slack.error && slack;
        },
        'the failing step to show an attempt and its error',
        A_MINUTE,
      );
      expect(retrying.error).toMatch(/Simulated failure/);

      const failed = await executionOnce(id, 'FAILED', 'the execution to fail');
      expect(stepOf(failed, 'create_slack_group')).toMatchObject({ status: 'FAILED', attempts: 3, error: expect.stringMatching(/Simulated failure/) });
      expect(stepOf(failed, 'lms_setup').status).toBe('PENDING');
      // Every attempt and every wait for the next one, in order, to whoever follows the run.
      const slackStatuses = () => events.events.filter((e) => e.stepKey === 'create_slack_group').map((e) => e.status);
      await eventually(() => slackStatuses().includes('FAILED'), 'the FAILED event');
      expect(slackStatuses()).toEqual(['RUNNING', 'PENDING', 'RUNNING', 'PENDING', 'RUNNING', 'FAILED']);

      await retryStep(id, 'create_slack_group');
      const done = await executionOnce(id, 'COMPLETED', 'the retried execution to complete');
      expect(stepOf(done, 'create_slack_group')).toMatchObject({ status: 'SUCCEEDED', attempts: 4, error: null });
      expect(done.steps.every((s: any) => s.status === 'SUCCEEDED')).toBe(true);
    } finally {
      await events.close();
    }
  }, 4 * A_MINUTE);

  it('fails the step with the reason, instead of leaving it RUNNING, when its next attempt cannot be scheduled', async () => {
    const id = await runNewPartner(server, admin, 'Unschedulable Retry Ltd');
    const [{ id: stepId }] = await server.sql(`SELECT id FROM step_execution WHERE execution_id = $1 AND key = 'create_slack_group'`, [id]);
    // The database itself refuses the job of the step's second attempt (a trigger on pg-boss's job table).
    const allow = await refuseWrites(
      'refuse_second_attempt',
      'INSERT',
      'pgboss.job',
      `NEW.data->>'stepId' = '${stepId}' AND NEW.data->>'attempt' = '2'`,
      'no second attempt today',
    );
    try {
      const failed = await executionOnce(id, 'FAILED', 'the execution to fail');
      const slack = stepOf(failed, 'create_slack_group');
      expect(slack).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(slack.error).toMatch(/Simulated failure.*could not be scheduled.*no second attempt today/);
    } finally {
      await allow();
    }
    await retryStep(id, 'create_slack_group');
    await eventually(async () => (await execution(id)).status === 'COMPLETED', 'the retried execution to complete', A_MINUTE);
  }, 4 * A_MINUTE);

  it('fails a step its job could never even start, once the job is given up, instead of leaving it PENDING for ever', async () => {
    const id = await startNewPartnerRun(server, admin, 'Unstartable Step Ltd');
    const [{ id: stepId }] = await server.sql(`SELECT id FROM step_execution WHERE execution_id = $1 AND key = 'trigger_infrabot'`, [id]);
    // The database refuses to mark that step RUNNING, every time (the job's handler throws, pg-boss retries it).
    const allow = await refuseWrites('refuse_start', 'UPDATE', 'step_execution', `NEW.id = '${stepId}' AND NEW.status::text = 'RUNNING'`, 'this step may not start');
    try {
      await answerCompaniesStep(server, admin, id);
      const failed = await executionOnce(id, 'FAILED', 'the execution to fail', 2 * A_MINUTE);
      expect(stepOf(failed, 'trigger_infrabot')).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/could not be run.*this step may not start/) });
    } finally {
      await allow();
    }
    await retryStep(id, 'trigger_infrabot');
    await eventually(async () => stepOf(await execution(id), 'trigger_infrabot').status === 'SUCCEEDED', 'the retried step to succeed', A_MINUTE);
  }, 4 * A_MINUTE);
});
