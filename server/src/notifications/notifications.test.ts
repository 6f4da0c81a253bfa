/**
 * Notifications against the real server, PostgreSQL and graphql-ws (CONTRACT.md, "The grid's history,
 * notifications and the review loop"): each kind made the way people make it (API and grid edits, a review, a
 * manual step waiting, a failing step), read with the query and received over a subscription; each person
 * sees and marks only their own.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlansync } from '../app.js';
import { loadConfig } from '../config.js';
import { ErrorCode } from '../errors.js';
import { createLogger } from '../log.js';
import { sharedJwtEnv } from '../testing/instances.js';
import { FEED_APPLICATION_NAME } from './notificationFeed.js';
import { connectGrid, eventually, synced } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { cutListenerConnection } from '../testing/listeners.js';

const LINES = `query($plan: ID!, $unit: String) { budgetLines(planId: $plan, businessUnitCode: $unit) { id budgetAmount } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id } }`;
const FIELDS = 'id kind at read message line { id } column actor { displayName } execution { id }';
const LIST = `query($first: Int, $unreadOnly: Boolean) { notifications(first: $first, unreadOnly: $unreadOnly) { ${FIELDS} } }`;
const MARK = `mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }`;
const INPUT = `mutation($id: ID!, $step: String!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: $step, input: $input) { id } }`;

interface Note {
  id: string;
  kind: string;
  read: boolean;
  message: string;
  line: { id: string } | null;
  column: string | null;
  actor: { displayName: string } | null;
  execution: { id: string } | null;
}

/** A graphql-ws subscription to notificationAdded, collecting what arrives. */
class Follower {
  readonly received: Note[] = [];
  errors: unknown[] | null = null;
  private readonly client: Client;
  readonly ready: Promise<void>;

  constructor(url: string, token: string | null) {
    let connected!: () => void;
    this.ready = new Promise((resolve) => (connected = resolve));
    this.client = createClient({
      url: url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
      on: { connected: () => connected() },
    });
    this.client.subscribe<{ notificationAdded: Note }>(
      { query: `subscription { notificationAdded { ${FIELDS} } }` },
      {
        next: (result) => {
          if (result.errors) this.errors = [...result.errors];
          else if (result.data) this.received.push(result.data.notificationAdded);
        },
        error: (err) => {
          this.errors = Array.isArray(err) ? err : [err];
          connected();
        },
        complete: () => undefined,
      },
    );
  }

  close(): Promise<void> {
    return this.client.dispose() as Promise<void>;
  }
}

describe('notifications', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let planId: string;
  let planName: string;
  const followers: Follower[] = [];
  let jwt: Record<string, string>;

  const list = async (who: string, variables: Record<string, unknown> = {}): Promise<Note[]> => {
    const res = await server.gql(LIST, variables, tokens[who]);
    expect(res.errors).toBeUndefined();
    return res.data.notifications;
  };
  const follow = async (who: string): Promise<Follower> => {
    const follower = new Follower(server.url, tokens[who]);
    followers.push(follower);
    await follower.ready;
    return follower;
  };
  const count = async () => Number((await server.sql('select count(*)::int as n from notification'))[0].n);
  const update = async (who: string, id: string, input: Record<string, unknown>) => {
    const res = await server.gql(UPDATE, { id, input }, tokens[who]);
    expect(res.errors).toBeUndefined();
  };

  beforeAll(async () => {
    jwt = await sharedJwtEnv();
    server = await startTestServer({
      ...jwt,
      SIMULATED_STEP_MS: '5',
      SIMULATE_FAILURE_STEPS: 'create_slack_group,share_documentation',
      WORKFLOW_MAX_ATTEMPTS: '1',
    });
    for (const email of [
      'admin@example.com',
      'analyst@example.com',
      'lead.sales-north@example.com',
      'planner.sales-north@example.com',
      'viewer.sales-north@example.com',
      'lead.finance@example.com',
      'planner.finance@example.com',
      'lead.marketing@example.com',
      'partner.admin@acme.example',
    ]) {
      tokens[email.split('@')[0]] = await server.login(email);
    }
    ({ id: planId, name: planName } = (await server.gql('{ budgetPlans { id name } }', {}, tokens.admin)).data.budgetPlans[0]);
  });

  afterAll(async () => {
    await Promise.all(followers.map((f) => f.close()));
    await server?.stop();
  });

  it('tells whoever set a cell last when another person changes it (query and subscription), and nobody else', async () => {
    const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin)).data.budgetLines;
    const lead = await follow('lead.sales-north');
    const planner = await follow('planner.sales-north');
    await update('lead.sales-north', lines[0].id, { budgetAmount: 1234 });
    expect(await list('lead.sales-north')).toEqual([]);

    await update('admin', lines[0].id, { budgetAmount: 1300 });
    const [note] = await list('lead.sales-north');
    expect(note).toMatchObject({
      kind: 'CELL_OVERWRITTEN',
      read: false,
      line: { id: lines[0].id },
      column: 'budgetAmount',
      actor: { displayName: 'Ada Admin' },
      execution: null,
    });
    expect(note.message).toContain('Ada Admin');
    await eventually(() => lead.received.some((n) => n.id === note.id), 'the lead to receive it live');
    expect(lead.received.find((n) => n.id === note.id)).toEqual(note);

    // The admin changing their own value again, and the admin and planner reading: nothing new for anyone.
    const before = await count();
    await update('admin', lines[0].id, { budgetAmount: 1400 });
    expect(await count()).toBe(before);
    expect(await list('admin')).toEqual([]);
    expect(await list('planner.sales-north')).toEqual([]);

    // The planner's own: set by the planner, overwritten by the lead. Only the planner's subscription has it.
    await update('planner.sales-north', lines[1].id, { comment: 'planner note' });
    await update('lead.sales-north', lines[1].id, { comment: 'lead note' });
    const [mine] = await list('planner.sales-north');
    expect(mine).toMatchObject({ kind: 'CELL_OVERWRITTEN', column: 'comment', actor: { displayName: 'Sales North Lead' } });
    await eventually(() => planner.received.some((n) => n.id === mine.id), 'the planner to receive theirs');
    expect(planner.received.map((n) => n.id)).toEqual([mine.id]);
    expect(lead.received.map((n) => n.id)).toEqual([note.id]);
  });

  it('comes from grid edits too', async () => {
    const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin)).data.budgetLines;
    await update('planner.sales-north', lines[2].id, { forecastSales: 77 });
    const grid = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, tokens['lead.sales-north']);
    try {
      await synced(grid);
      grid.cells.set(`${lines[2].id}/forecastSales`, 88);
      const note = await eventually(
        async () => (await list('planner.sales-north')).find((n) => n.line?.id === lines[2].id && n.column === 'forecastSales'),
        'the grid edit to notify the planner',
      );
      expect(note).toMatchObject({ kind: 'CELL_OVERWRITTEN', actor: { displayName: 'Sales North Lead' } });
    } finally {
      grid.destroy();
    }
  });

  it('tells who may answer a review that it waits, and the unit its outcome with the comment', async () => {
    const analyst = await follow('analyst');
    const submitted = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "FINANCE") { execution { id } } }`,
      { p: planId },
      tokens['lead.finance'],
    );
    expect(submitted.errors).toBeUndefined();
    const executionId: string = submitted.data.submitBudget.execution.id;
    const waiting = await eventually(
      async () => (await list('analyst')).find((n) => n.kind === 'STEP_AWAITING_INPUT' && n.execution?.id === executionId),
      'the analyst to be told the review waits',
    );
    // Which review: the unit and the plan, so that five units' reviews do not read the same.
    expect(waiting!.message).toBe(`"Finance review" of Finance in ${planName} awaits your input`);
    await eventually(() => analyst.received.some((n) => n.id === waiting!.id), 'the analyst to receive it live');
    // Exactly those who may give the input: what canGiveInput answers each of them.
    for (const who of Object.keys(tokens)) {
      const steps = await server.gql(
        `query($id: ID!) { workflowExecution(id: $id) { steps { key canGiveInput } } }`,
        { id: executionId },
        tokens[who],
      );
      const may = Boolean(steps.data?.workflowExecution?.steps.find((s: { key: string }) => s.key === 'finance_review')?.canGiveInput);
      const told = (await list(who)).some((n) => n.kind === 'STEP_AWAITING_INPUT' && n.execution?.id === executionId);
      expect({ who, told }).toEqual({ who, told: may });
    }

    const reviewed = await server.gql(
      INPUT,
      { id: executionId, step: 'finance_review', input: { decision: 'REJECT', comment: 'Travel is twice last year' } },
      tokens.analyst,
    );
    expect(reviewed.errors).toBeUndefined();
    // Answered, the review no longer waits: the admin, told too, does not keep an unread call for what is done.
    const adminsCall = (await list('admin')).find((n) => n.kind === 'STEP_AWAITING_INPUT' && n.execution?.id === executionId);
    expect(adminsCall).toBeDefined();
    await eventually(async () => (await list('admin')).find((n) => n.id === adminsCall!.id)?.read, "the admin's call to be read once the analyst answered");
    for (const who of ['lead.finance', 'planner.finance']) {
      const note = await eventually(
        async () => (await list(who)).find((n) => n.kind === 'SUBMISSION_REVIEWED' && n.execution?.id === executionId),
        `${who} to be told of the review`,
      );
      // The outcome in words, the reviewer and the comment.
      expect(note!.message).toMatch(new RegExp(`^The budget of Finance in ${planName} was rejected by .+: Travel is twice last year$`));
    }
    for (const who of ['lead.sales-north', 'lead.marketing', 'analyst']) {
      expect((await list(who)).some((n) => n.kind === 'SUBMISSION_REVIEWED')).toBe(false);
    }
  });

  it('tells admins and whoever started the execution that a step failed', async () => {
    const started = await server.gql(
      `mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Failing Partner" }) { id } }`,
      {},
      tokens.admin,
    );
    const executionId: string = started.data.startWorkflow.id;
    await eventually(async () => {
      const res = await server.gql(INPUT, { id: executionId, step: 'input_studio_companies', input: { companies: [{ name: 'HQ', environment: 'prod' }] } }, tokens.admin);
      return !res.errors;
    }, 'the companies step to wait');
    const failed = await eventually(
      async () => (await list('admin')).find((n) => n.kind === 'STEP_FAILED' && n.execution?.id === executionId),
      'the admin to be told the step failed',
      30_000,
    );
    expect(failed!.message).toContain('Slack');
    for (const who of ['analyst', 'partner.admin', 'lead.sales-north']) {
      expect((await list(who)).some((n) => n.kind === 'STEP_FAILED' && n.execution?.id === executionId)).toBe(false);
    }
    // Whoever started it is told too: a partner admin onboarding a person, whose last step fails.
    const onboarding = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }`, {}, tokens['partner.admin']);
    const onboardingId: string = onboarding.data.startWorkflow.id;
    await eventually(async () => {
      const res = await server.gql(
        INPUT,
        { id: onboardingId, step: 'input_user_details', input: { email: 'new.person@partner.example', displayName: 'New Person' } },
        tokens['partner.admin'],
      );
      return !res.errors;
    }, 'the details step to wait');
    for (const who of ['partner.admin', 'admin']) {
      const note = await eventually(
        async () => (await list(who)).find((n) => n.kind === 'STEP_FAILED' && n.execution?.id === onboardingId),
        `${who} to be told the onboarding step failed`,
        30_000,
      );
      expect(note!.message).toContain('documentation');
      // Whose onboarding: the organisation.
      expect(note!.message).toMatch(/^"[^"]+" for Acme Partners failed: /);
    }
    expect((await list('analyst')).some((n) => n.kind === 'STEP_FAILED')).toBe(false);
  });

  it('pages with first and unreadOnly, and marks only the caller\'s own read', async () => {
    const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin)).data.budgetLines;
    for (let i = 0; i < 3; i++) {
      await update('viewer.sales-north', lines[4].id, { budgetAmount: 1 }).catch(() => undefined);
      await update('lead.sales-north', lines[3 + i].id, { budgetAmount: 10 + i });
      await update('admin', lines[3 + i].id, { budgetAmount: 20 + i });
    }
    const all = await list('lead.sales-north');
    expect(all.length).toBeGreaterThanOrEqual(4);
    expect(all.map((n) => Number(n.id))).toEqual([...all.map((n) => Number(n.id))].sort((a, b) => b - a));
    expect((await list('lead.sales-north', { first: 2 })).map((n) => n.id)).toEqual(all.slice(0, 2).map((n) => n.id));

    const others = await list('planner.sales-north');
    const marked = await server.gql(MARK, { ids: [all[0].id, all[1].id, others[0].id] }, tokens['lead.sales-north']);
    expect(marked.data.markNotificationsRead).toBe(2);
    expect((await list('planner.sales-north')).find((n) => n.id === others[0].id)!.read).toBe(false);
    const unread = await list('lead.sales-north', { unreadOnly: true });
    expect(unread.map((n) => n.id)).toEqual(all.slice(2).map((n) => n.id));
    // Marking them again changes nothing.
    expect((await server.gql(MARK, { ids: [all[0].id] }, tokens['lead.sales-north'])).data.markNotificationsRead).toBe(0);

    const rest = await server.gql(MARK, {}, tokens['lead.sales-north']);
    expect(rest.data.markNotificationsRead).toBe(unread.length);
    expect(await list('lead.sales-north', { unreadOnly: true })).toEqual([]);
    expect((await list('planner.sales-north')).some((n) => !n.read)).toBe(true);

    expect(errorCode(await server.gql(MARK, { ids: ['not-an-id'] }, tokens['lead.sales-north']))).toBe(ErrorCode.BAD_USER_INPUT);
    expect(errorCode(await server.gql(LIST, { first: -1 }, tokens['lead.sales-north']))).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('answers an empty list of ids and a page of none as nothing, for every role (the fuzzer found them refused as unchecked)', async () => {
    for (const who of Object.keys(tokens)) {
      const marked = await server.gql(MARK, { ids: [] }, tokens[who]);
      expect(marked.errors, who).toBeUndefined();
      expect(marked.data.markNotificationsRead, who).toBe(0);
      const none = await server.gql(LIST, { first: 0 }, tokens[who]);
      expect(none.errors, who).toBeUndefined();
      expect(none.data.notifications, who).toEqual([]);
    }
  });

  it('reaches a subscriber on another instance of the same database', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-'));
    const config = loadConfig({
      ...jwt,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: server.databaseUrl,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const other = await startPlansync(config, createLogger(config.logLevel));
    try {
      const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin)).data.budgetLines;
      const there = new Follower(other.url, tokens['lead.sales-north']);
      followers.push(there);
      await there.ready;
      await update('lead.sales-north', lines[6].id, { budgetAmount: 600 });
      await update('admin', lines[6].id, { budgetAmount: 700 });
      const [note] = await list('lead.sales-north');
      expect(note).toMatchObject({ kind: 'CELL_OVERWRITTEN', line: { id: lines[6].id } });
      await eventually(() => there.received.some((n) => n.id === note.id), 'the other instance to push it');
      await there.close();
    } finally {
      await other.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('listens again after its database connection is cut', async () => {
    await cutListenerConnection(server, FEED_APPLICATION_NAME);
    const lead = await follow('lead.sales-north');
    const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin)).data.budgetLines;
    await update('lead.sales-north', lines[7].id, { budgetAmount: 800 });
    await update('admin', lines[7].id, { budgetAmount: 900 });
    const [note] = await list('lead.sales-north');
    expect(note.line).toEqual({ id: lines[7].id });
    await eventually(() => lead.received.some((n) => n.id === note.id), 'the reconnected feed to push it');
  });

  it("hides a cell's notifications from whoever may no longer read its unit", async () => {
    const lines = (await server.gql(LINES, { plan: planId, unit: 'MARKETING' }, tokens.admin)).data.budgetLines;
    await update('lead.marketing', lines[0].id, { budgetAmount: 5 });
    await update('admin', lines[0].id, { budgetAmount: 6 });
    expect((await list('lead.marketing')).some((n) => n.line?.id === lines[0].id)).toBe(true);
    await server.sql(
      `delete from user_business_unit where user_id = (select id from app_user where email = 'lead.marketing@example.com')`,
    );
    tokens['lead.marketing'] = await server.login('lead.marketing@example.com');
    expect((await list('lead.marketing')).some((n) => n.line?.id === lines[0].id)).toBe(false);
    // Still theirs: marking all read counts it, and nobody else sees it.
    expect((await server.gql(MARK, {}, tokens['lead.marketing'])).data.markNotificationsRead).toBeGreaterThanOrEqual(1);
  });

  it("keeps a unit's submission notifications from a leader moved to another unit, as its cells' and its execution are", async () => {
    tokens['lead.operations'] = await server.login('lead.operations@example.com');
    const submitted = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "OPERATIONS") { execution { id } } }`,
      { p: planId },
      tokens['lead.operations'],
    );
    expect(submitted.errors).toBeUndefined();
    const executionId: string = submitted.data.submitBudget.execution.id;
    await eventually(
      async () => (await list('analyst')).some((n) => n.kind === 'STEP_AWAITING_INPUT' && n.execution?.id === executionId),
      'the review to wait',
    );
    const reviewed = await server.gql(INPUT, { id: executionId, step: 'finance_review', input: { decision: 'REJECT', comment: 'Too much' } }, tokens.analyst);
    expect(reviewed.errors).toBeUndefined();
    const note = await eventually(
      async () => (await list('lead.operations')).find((n) => n.kind === 'SUBMISSION_REVIEWED' && n.execution?.id === executionId),
      'the leader to be told of the review',
    );

    // Moved to another unit by an admin: Operations' review is no longer theirs to read.
    const me = (await server.gql('{ me { id } }', {}, tokens['lead.operations'])).data.me.id;
    const moved = await server.gql(
      `mutation($u: ID!) { setUserAccess(userId: $u, role: BU_LEADER, businessUnitCodes: ["SALES_SOUTH"]) { id } }`,
      { u: me },
      tokens.admin,
    );
    expect(moved.errors).toBeUndefined();
    tokens['lead.operations'] = await server.login('lead.operations@example.com');
    const execution = `query($id: ID!) { workflowExecution(id: $id) { id steps { key input output } } }`;
    expect((await server.gql(execution, { id: executionId }, tokens['lead.operations'])).data.workflowExecution).toBeNull();
    // The review's outcome and comment are Operations' business: no longer listed for them (it stays theirs, and
    // shows again should they be given Operations back), nor does its execution open.
    const res = await server.gql(`{ notifications(first: 200) { id message execution { id steps { key input output } } } }`, {}, tokens['lead.operations']);
    expect(res.errors).toBeUndefined();
    expect(res.data.notifications.find((n: { id: string }) => n.id === note!.id)).toBeUndefined();
    expect(res.data.notifications.filter((n: { message: string }) => n.message.includes('Too much'))).toEqual([]);
    const back = await server.gql(`mutation($u: ID!) { setUserAccess(userId: $u, role: BU_LEADER, businessUnitCodes: ["OPERATIONS"]) { id } }`, { u: me }, tokens.admin);
    expect(back.errors).toBeUndefined();
    tokens['lead.operations'] = await server.login('lead.operations@example.com');
    const again = await server.gql(`{ notifications(first: 200) { id execution { id } } }`, {}, tokens['lead.operations']);
    expect(again.data.notifications.find((n: { id: string }) => n.id === note!.id)).toEqual({ id: note!.id, execution: { id: executionId } });
  });

  it('refuses callers who are not signed in', async () => {
    expect(errorCode(await server.gql(LIST, {}, null))).toBe(ErrorCode.UNAUTHENTICATED);
    expect(errorCode(await server.gql(MARK, {}, null))).toBe(ErrorCode.UNAUTHENTICATED);
    const anonymous = new Follower(server.url, null);
    followers.push(anonymous);
    await eventually(() => anonymous.errors !== null, 'the anonymous subscription to be refused');
    expect(anonymous.received).toEqual([]);
  });
});
