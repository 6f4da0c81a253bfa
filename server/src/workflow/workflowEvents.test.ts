/**
 * `workflowEvents` over graphql-ws with the stock client: exact resume from a cursor, and no event leaking
 * across organisations or units, live or replayed. Negatives are proven by order: the forbidden events
 * happen first, an allowed one after; when the allowed one arrives, a leaked one would already have.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { EVENT_CURSOR } from './eventStream.js';
import { runNewPartner } from '../testing/workflowRuns.js';

const EVENTS = `subscription($execution: ID, $after: String) {
  workflowEvents(executionId: $execution, after: $after) { cursor executionId stepKey status at execution { id status } }
}`;
/** "From the very beginning": the cursor before the first event. */
const START = encodeCursor(EVENT_CURSOR, '0');

interface Event {
  cursor: string;
  executionId: string;
  stepKey: string | null;
  status: string;
  execution: { id: string; status: string };
}

class Subscriber {
  readonly events: Event[] = [];
  errors: unknown;
  private readonly client: Client;
  private readonly stop: () => void;

  constructor(server: TestServer, token: string, variables: Record<string, unknown> = {}, query = EVENTS) {
    this.client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    this.stop = this.client.subscribe<{ workflowEvents: Event }>(
      { query, variables },
      {
        next: (result) => {
          if (result.data) this.events.push(result.data.workflowEvents);
          if (result.errors) this.errors = result.errors;
        },
        error: (err) => (this.errors = err),
        complete: () => undefined,
      },
    );
  }

  has(executionId: string, status: string, stepKey: string | null = null): boolean {
    return this.events.some((e) => e.executionId === executionId && e.status === status && e.stepKey === stepKey);
  }

  async close(): Promise<void> {
    this.stop();
    await this.client.dispose();
  }
}

describe('workflowEvents', () => {
  let server: TestServer;
  let admin: string;
  const subscribers: Subscriber[] = [];
  const subscribe = (token: string, variables: Record<string, unknown> = {}, query = EVENTS) => {
    const s = new Subscriber(server, token, variables, query);
    subscribers.push(s);
    return s;
  };

  const newPartner = (name: string) => runNewPartner(server, admin, name);

  async function partnerUser(token: string, email: string, organizationId?: string): Promise<string> {
    const res = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, token);
    const id = res.data.startWorkflow.id;
    if (organizationId) {
      await eventually(async () => !(await server.gql(
        `mutation($id: ID!, $o: ID!) { submitStepInput(executionId: $id, stepKey: "select_organization", input: { organizationId: $o }) { id } }`,
        { id, o: organizationId },
        token,
      )).errors, 'the organisation step');
    }
    await eventually(async () => !(await server.gql(
      `mutation($id: ID!, $e: String!) { submitStepInput(executionId: $id, stepKey: "input_user_details", input: { email: $e, displayName: "New Person" }) { id } }`,
      { id, e: email },
      token,
    )).errors, 'the details step');
    return id;
  }

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '10' });
    admin = await server.login('admin@example.com');
  });
  afterAll(async () => {
    await Promise.all(subscribers.map((s) => s.close()));
    await server?.stop();
  });

  it('resumes from a cursor with exactly the events an uninterrupted subscriber got: no gap, no duplicate', async () => {
    const warmup = await newPartner('Warmup Co');
    const steady = subscribe(admin, { after: START });
    await eventually(() => steady.has(warmup, 'COMPLETED'), 'the steady subscriber to replay the warm-up');

    const first = await newPartner('Umbrella');
    const interrupted = subscribe(admin, { after: START });
    await eventually(() => interrupted.events.filter((e) => e.executionId === first).length >= 5, 'a few events of the first run');
    await interrupted.close();
    const resumeFrom = interrupted.events.at(-1)!.cursor;

    const second = await newPartner('Soylent');
    await eventually(() => steady.has(first, 'COMPLETED') && steady.has(second, 'COMPLETED'), 'both runs to complete');
    const resumed = subscribe(admin, { after: resumeFrom });
    await eventually(() => resumed.has(second, 'COMPLETED'), 'the resumed subscriber to catch up');
    const third = await newPartner('Tyrell');
    await eventually(() => steady.has(third, 'COMPLETED') && resumed.has(third, 'COMPLETED'), 'live events after the replay');

    const cursors = (s: Subscriber) => s.events.map((e) => e.cursor);
    expect([...cursors(interrupted), ...cursors(resumed)]).toEqual(cursors(steady));
    expect(new Set(cursors(steady)).size).toBe(steady.events.length);
    // Per execution, in order: created, the companies step waited and succeeded, every step ran, completed.
    const ofFirst = steady.events.filter((e) => e.executionId === first).map((e) => `${e.stepKey ?? '-'}:${e.status}`);
    expect(ofFirst[0]).toBe('-:RUNNING');
    expect(ofFirst.at(-1)).toBe('-:COMPLETED');
    expect(ofFirst).toContain('input_studio_companies:AWAITING_INPUT');
    for (const step of ['trigger_infrabot', 'lms_setup']) {
      expect(ofFirst.indexOf(`${step}:RUNNING`)).toBeLessThan(ofFirst.indexOf(`${step}:SUCCEEDED`));
    }
  });

  it('sends subscribers that share a result the same events in order, also when fields are read from the database', async () => {
    // Identical subscriptions of one person share one execution per event (realtime/fanout.ts); a selection
    // with a field read from PostgreSQL (steps) makes the shared result asynchronous.
    const WITH_STEPS = `subscription { workflowEvents { cursor executionId stepKey status execution { id status steps { key status } } } }`;
    const plain = [subscribe(admin), subscribe(admin), subscribe(admin)];
    const withSteps = [subscribe(admin, {}, WITH_STEPS), subscribe(admin, {}, WITH_STEPS)];
    const leaving = subscribe(admin);
    // Live once an event reaches all of them.
    const probe = await newPartner('Probe Co');
    await eventually(() => [...plain, ...withSteps, leaving].every((s) => s.has(probe, 'COMPLETED')), 'every subscriber to follow the probe');
    await leaving.close();

    const first = await newPartner('Initech');
    const second = await newPartner('Hooli');
    await eventually(() => [...plain, ...withSteps].every((s) => s.has(first, 'COMPLETED') && s.has(second, 'COMPLETED')), 'both runs everywhere');

    // They subscribed one after the other, so each holds the events from when it was live: compare what came
    // after the probe completed, when all of them were.
    const sinceLive = (s: Subscriber) => s.events.slice(s.events.findIndex((e) => e.executionId === probe && e.stepKey === null && e.status === 'COMPLETED') + 1);
    const cursors = (s: Subscriber) => sinceLive(s).map((e) => e.cursor);
    for (const s of [...plain.slice(1), ...withSteps]) expect(cursors(s)).toEqual(cursors(plain[0]));
    expect(new Set(cursors(plain[0])).size).toBe(sinceLive(plain[0]).length);
    expect(sinceLive(plain[0]).some((e) => e.executionId === first) && sinceLive(plain[0]).some((e) => e.executionId === second)).toBe(true);
    const completed = withSteps[0].events.find((e) => e.executionId === first && e.status === 'COMPLETED' && e.stepKey === null)!;
    const steps = (completed.execution as unknown as { steps: { key: string; status: string }[] }).steps;
    expect(steps.length).toBeGreaterThan(3);
    expect(steps.every((step) => step.status === 'SUCCEEDED')).toBe(true);
    expect(JSON.stringify(sinceLive(withSteps[1]))).toBe(JSON.stringify(sinceLive(withSteps[0])));
    expect(plain.every((s) => !s.errors) && withSteps.every((s) => !s.errors)).toBe(true);
  });

  it("never shows a partner admin another organisation's events, live or replayed", async () => {
    const partner = await server.login('partner.admin@acme.example');
    const live = subscribe(partner);
    // Make the subscription live: an event it may see, repeated until one arrives.
    const mine: string[] = [];
    await eventually(async () => {
      mine.push(await partnerUser(partner, `probe-${mine.length}@acme.example`));
      return live.events.length > 0;
    }, 'the partner subscription to be live');

    // Events the partner may not see: another organisation's onboarding, and its users.
    const other = await newPartner('Cyberdyne');
    await eventually(async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: other }, admin)).data.workflowExecution.status === 'COMPLETED', 'Cyberdyne to be onboarded');
    const [{ id: cyberdyne }] = await server.sql(`SELECT id FROM organization WHERE name = 'Cyberdyne'`);
    const theirs = await partnerUser(admin, 'someone@cyberdyne.example', cyberdyne);
    await eventually(async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: theirs }, admin)).data.workflowExecution.status === 'COMPLETED', 'their user to be added');
    // Then one the partner may see; once it has arrived, a leak would have too.
    const last = await partnerUser(partner, 'last@acme.example');
    mine.push(last);
    await eventually(() => live.has(last, 'COMPLETED'), "the partner's own run to complete");
    expect(live.events.every((e) => mine.includes(e.executionId))).toBe(true);

    const replayed = subscribe(partner, { after: START });
    await eventually(() => replayed.has(last, 'COMPLETED'), 'the replay');
    expect(replayed.events.every((e) => mine.includes(e.executionId))).toBe(true);
    expect(replayed.events.some((e) => e.executionId === theirs || e.executionId === other)).toBe(false);

    // Following a hidden execution is refused, alike for a missing one.
    const hidden = subscribe(partner, { execution: other });
    const missing = subscribe(partner, { execution: '00000000-0000-4000-8000-000000000000' });
    await eventually(() => hidden.errors && missing.errors, 'both to be refused');
    expect(errorCode({ errors: hidden.errors } as never)).toBe('NOT_FOUND');
    expect(JSON.stringify(hidden.errors)).toBe(JSON.stringify(missing.errors));
  });

  it("shows a partner admin every event of the run they start, its first one too, as an admin sees them", async () => {
    // Their organisation is filled in for them: the run names it from its creation, so its first event
    // (RUNNING) reaches them too, live and replayed (it used to be recorded before, naming no organisation).
    const partner = await server.login('partner.admin@acme.example');
    const live = subscribe(partner);
    const started = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, partner);
    const id = started.data.startWorkflow.id as string;
    await eventually(() => live.has(id, 'AWAITING_INPUT', 'input_user_details'), 'the details step to wait, live');
    const replayed = subscribe(partner, { execution: id, after: START });
    const byAdmin = subscribe(admin, { execution: id, after: START });
    await eventually(() => replayed.has(id, 'AWAITING_INPUT') && byAdmin.has(id, 'AWAITING_INPUT'), 'the run to be replayed');
    const steps = (s: Subscriber) => s.events.filter((e) => e.executionId === id).map((e) => `${e.stepKey ?? '-'}:${e.status}`);
    expect(steps(byAdmin)).toEqual(['-:RUNNING', 'select_organization:SUCCEEDED', 'input_user_details:AWAITING_INPUT', '-:AWAITING_INPUT']);
    expect(steps(replayed)).toEqual(steps(byAdmin));
    expect(steps(live)).toEqual(steps(byAdmin));
  });

  it("shows a business-unit leader their units' submissions only, and nothing to a viewer", async () => {
    const north = await server.login('lead.sales-north@example.com');
    const ops = await server.login('lead.operations@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, north)).data.budgetPlans[0].id;
    const submit = async (token: string, unit: string) =>
      (await server.gql(`mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { execution { id } } }`, { p: planId, u: unit }, token))
        .data.submitBudget.execution.id as string;

    const watcher = subscribe(north, { after: START });
    const theirs = await submit(ops, 'OPERATIONS');
    const analyst = await server.login('analyst@example.com');
    await eventually(async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: theirs }, analyst)).data.workflowExecution.status === 'AWAITING_INPUT', 'the other unit to wait for review');
    const mine = await submit(north, 'SALES_NORTH');
    await eventually(() => watcher.has(mine, 'AWAITING_INPUT'), "the leader's own submission to wait for review");
    expect(watcher.events.every((e) => e.executionId === mine)).toBe(true);

    const viewer = subscribe(await server.login('viewer.sales-north@example.com'));
    await eventually(() => viewer.errors, 'the viewer to be refused');
    expect(errorCode({ errors: viewer.errors } as never)).toBe('FORBIDDEN');
  });
});
