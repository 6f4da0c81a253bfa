/**
 * Two Plansync processes on one database and the local Redis, as behind the proxy of docker-compose.yml:
 * grid clients on either instance converge (presence too), a burst of concurrent edits from both ends
 * identical on every client and in the rows, API edits and every GraphQL event reach the other instance
 * (Dates intact), a workflow monitor on one follows a workflow driven through the other, a subscriber that
 * moves between instances with its cursor gets exactly what it missed, access and submission changes reach
 * sockets on the other instance, and killing one instance loses nothing that was stored.
 *
 * Skipped, with a message, when no Redis answers on 127.0.0.1:6379 (or TEST_REDIS_URL). Each run uses a Redis
 * prefix of its own.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { cellsOf, connectGrid, eventually, synced, type GridClient, editDropped } from '../testing/gridClients.js';
import { destroyInstances, LOCAL_REDIS_URL, redisReachable, startInstances } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';
import { EVENT_CURSOR } from '../workflow/eventStream.js';
import { runNewPartner } from '../testing/workflowRuns.js';
import { CloseCode } from '../../../schema/codes.js';

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) {
  console.warn(`[scaleOut.test] SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}. Start one (e.g. \`redis-server\`), or point TEST_REDIS_URL at one, to run the two-instance tests.`);
}

const START = encodeCursor(EVENT_CURSOR, '0');
const EVENTS = `subscription($execution: ID, $after: String) {
  workflowEvents(executionId: $execution, after: $after) { cursor executionId stepKey status at execution { id status updatedAt } }
}`;
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id budgetAmount forecastSales comment version updatedAt updatedBy { email } } }`;
const SET_ACCESS = `mutation($id: ID!, $role: Role!, $units: [String!]!) { setUserAccess(userId: $id, role: $role, businessUnitCodes: $units) { email role } }`;

/** A graphql-ws subscription with everything it received (`field` of each result), and how its socket closed. */
class Subscription<T = any> {
  readonly received: T[] = [];
  errors: unknown[] = [];
  closeCode?: number;
  /** Resolves once the server acknowledged the socket (it knows whose it is: an access change reaches it). */
  readonly connected: Promise<void>;
  private closing = false;
  private readonly client: Client;

  constructor(server: RestartableServer, token: string, query: string, variables: Record<string, unknown>, field: string) {
    let connected!: () => void;
    this.connected = new Promise((resolve) => (connected = resolve));
    this.client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      on: { connected: () => connected(), closed: (event) => (this.closeCode ??= (event as { code: number }).code) },
    });
    this.client.subscribe<Record<string, T>>(
      { query, variables },
      {
        next: (result) => {
          // What arrives while closing is not seen: a client that resumes does so from what it saw.
          if (this.closing) return;
          if (result.data) this.received.push(result.data[field]);
          if (result.errors) this.errors.push(result.errors);
        },
        error: (err) => this.errors.push(err),
        complete: () => undefined,
      },
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.dispose();
  }
}

describe.skipIf(!reachable)('two instances on one database and one Redis', () => {
  let a: RestartableServer;
  let b: RestartableServer;
  let planId: string;
  let lines: string[];
  const tokens: Record<string, string> = {};
  const grids: GridClient[] = [];
  const subscriptions: Subscription[] = [];
  const docName = (unit = 'SALES_NORTH') => `budget:${planId}:${unit}`;

  function grid(server: RestartableServer, who: string, unit = 'SALES_NORTH'): GridClient {
    const client = connectGrid(server.url, docName(unit), tokens[who]);
    grids.push(client);
    return client;
  }
  function subscribe<T = any>(server: RestartableServer, who: string, query: string, variables: Record<string, unknown>, field: string) {
    const s = new Subscription<T>(server, tokens[who], query, variables, field);
    subscriptions.push(s);
    return s;
  }
  async function rows(server: RestartableServer, unit = 'SALES_NORTH'): Promise<Map<string, any>> {
    const res = await server.gql(LINES, { p: planId, u: unit }, tokens.admin);
    return new Map(res.data.budgetLines.map((l: any) => [l.id, l]));
  }
  /** Every stored workflow event, in cursor order. */
  const storedCursors = async () => (await a.sql<{ id: string }>('SELECT id FROM workflow_event ORDER BY id')).map((r) => String(r.id));
  const cursorsOf = (s: Subscription) => s.received.map((e) => Buffer.from(e.cursor, 'base64url').toString().split(':')[1]);

  const startPartner = (server: RestartableServer, name: string) => runNewPartner(server, tokens.admin, name);
  const completed = async (ids: string[]) =>
    (await a.sql(`SELECT count(*)::int AS n FROM workflow_execution WHERE id = ANY($1::uuid[]) AND status = 'COMPLETED'`, [ids]))[0].n === ids.length;


  beforeAll(async () => {
    [a, b] = await startInstances(2, LOCAL_REDIS_URL, {
      SIMULATED_STEP_MS: '20',
      GRID_IDLE_UNLOAD_MS: '500',
      // The instance killed below leaves a step job active: the other takes it over once it expires.
      WORKFLOW_STEP_TIMEOUT_SECONDS: '5',
      WORKFLOW_MAINTENANCE_SECONDS: '1',
    });
    for (const email of [
      'admin@example.com',
      'analyst@example.com',
      'lead.sales-north@example.com',
      'planner.sales-north@example.com',
      'lead.sales-south@example.com',
      'lead.finance@example.com',
      'lead.marketing@example.com',
    ]) {
      // One instance signs, the other verifies: the keys are shared as in docker-compose.yml.
      tokens[email.split('@')[0]] = await a.login(email);
    }
    tokens.admin = await b.login('admin@example.com');
    planId = (await b.gql('{ budgetPlans { id } }', {}, tokens.admin)).data.budgetPlans[0].id;
    lines = [...(await rows(a)).keys()];
  });
  afterEach(async () => {
    while (grids.length) grids.pop()!.destroy();
    await Promise.all(subscriptions.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await destroyInstances([a, b].filter(Boolean));
  });

  it('started together on an empty database, migrated and seeded it once', async () => {
    expect(await a.sql('SELECT count(*)::int AS n FROM business_unit')).toEqual([{ n: 5 }]);
    expect(await a.sql('SELECT count(*)::int AS n FROM budget_plan')).toEqual([{ n: 1 }]);
    expect(await a.sql('SELECT count(*)::int AS n FROM app_user')).toEqual([{ n: (await b.sql('SELECT count(DISTINCT email)::int AS n FROM app_user'))[0].n }]);
  });

  it('reports Redis up on /readyz of both', async () => {
    for (const server of [a, b]) {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ready',
        database: 'up',
        redis: 'up',
        integrations: { microsoftGraph: { status: 'simulated' }, powerBi: { status: 'simulated' }, metabase: { status: 'simulated' }, slack: { status: 'simulated' }, studio: { status: 'simulated' }, infrabot: { status: 'simulated' }, lms: { status: 'simulated' } },
      });
    }
  });

  it('seeds a document opened on both instances at the same moment exactly once', async () => {
    const name = docName('OPERATIONS');
    expect(await a.sql('SELECT 1 FROM grid_update WHERE doc_name = $1', [name])).toEqual([]);
    const both = [grid(a, 'admin', 'OPERATIONS'), grid(b, 'admin', 'OPERATIONS'), grid(a, 'analyst', 'OPERATIONS'), grid(b, 'analyst', 'OPERATIONS')];
    await Promise.all(both.map(synced));
    await eventually(() => both.every((c) => JSON.stringify(cellsOf(c)) === JSON.stringify(cellsOf(both[0]))), 'the clients to agree');
    // One seed row, nothing else: nobody wrote.
    expect(await a.sql('SELECT count(*)::int AS n FROM grid_update WHERE doc_name = $1', [name])).toEqual([{ n: 1 }]);
  });

  it('lets clients on different instances converge, with presence, each edit projected once by the instance that took it', async () => {
    const lead = grid(a, 'lead.sales-north');
    const planner = grid(b, 'planner.sales-north');
    await Promise.all([synced(lead), synced(planner)]);
    lead.cells.set(`${lines[0]}/budgetAmount`, 111);
    planner.cells.set(`${lines[1]}/comment`, 'from B');
    await eventually(() => planner.cells.get(`${lines[0]}/budgetAmount`) === 111, 'B to see the edit made on A');
    await eventually(() => lead.cells.get(`${lines[1]}/comment`) === 'from B', 'A to see the edit made on B');

    // Presence both ways, and to a client that joins later.
    // (Who someone is in presence comes from their token, whatever the client says.)
    lead.provider.awareness.setLocalStateField('user', { name: 'Lead on A' });
    planner.provider.awareness.setLocalStateField('user', { name: 'Planner on B' });
    const names = (c: GridClient) => [...c.provider.awareness.getStates().values()].map((s) => s.user?.email).filter(Boolean);
    const [leadEmail, plannerEmail] = ['lead.sales-north@example.com', 'planner.sales-north@example.com'];
    await eventually(() => names(planner).includes(leadEmail), 'the planner to see the lead');
    await eventually(() => names(lead).includes(plannerEmail), 'the lead to see the planner');
    const late = grid(b, 'admin');
    await synced(late);
    await eventually(() => names(late).includes(leadEmail) && names(late).includes(plannerEmail), 'a late client to see both');
    lead.provider.disconnect();
    await eventually(() => !names(planner).includes(leadEmail), 'the lead to leave the presence on B');

    // Both instances show the rows; one audit entry per edit, by its author.
    await eventually(async () => {
      const [fromA, fromB] = [await rows(a), await rows(b)];
      return [fromA, fromB].every((r) => r.get(lines[0]).budgetAmount === 111 && r.get(lines[1]).comment === 'from B');
    }, 'the rows to show both edits');
    const audit = await a.sql(
      `SELECT c.line_id, c.column_name, c.new_value, u.email, c.source FROM cell_change c JOIN app_user u ON u.id = c.user_id
       WHERE c.line_id = ANY($1::uuid[]) ORDER BY c.id`,
      [[lines[0], lines[1]]],
    );
    expect(audit.map((r) => `${r.line_id}/${r.column_name}=${r.new_value} by ${r.email} (${r.source})`).sort()).toEqual(
      [`${lines[0]}/budgetAmount=111 by lead.sales-north@example.com (GRID)`, `${lines[1]}/comment=from B by planner.sales-north@example.com (GRID)`].sort(),
    );
    const [line0, line1] = [(await rows(b)).get(lines[0]), (await rows(b)).get(lines[1])];
    expect([line0.version, line0.updatedBy.email, line1.version, line1.updatedBy.email]).toEqual([
      2,
      'lead.sales-north@example.com',
      2,
      'planner.sales-north@example.com',
    ]);
  });

  it('ends a burst of concurrent edits to the same cells from both instances identical on every client, in storage and in the rows', async () => {
    const writers = [grid(a, 'lead.sales-north'), grid(b, 'planner.sales-north'), grid(a, 'admin'), grid(b, 'lead.sales-north')];
    await Promise.all(writers.map(synced));
    // 20 lines x 2 columns, every writer touching every cell: many edits of one cell race across instances.
    const keys = lines.slice(10, 30).flatMap((id) => [`${id}/budgetAmount`, `${id}/forecastSales`]);
    let n = 0;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 60; i++) {
          writer.cells.set(keys[(i * 7 + w * 3) % keys.length], ++n * 10 + w);
          if (i % 6 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await eventually(() => {
      const reference = JSON.stringify(cellsOf(writers[0]));
      return writers.every((w) => JSON.stringify(cellsOf(w)) === reference);
    }, 'every client to converge', 30_000);
    const final = cellsOf(writers[0]);
    // Fresh clients on both instances get the same document.
    const fresh = [grid(a, 'admin'), grid(b, 'admin')];
    await Promise.all(fresh.map(synced));
    await eventually(() => fresh.every((f) => JSON.stringify(cellsOf(f)) === JSON.stringify(final)), 'fresh clients to agree');
    // The rows end at the converged values, whichever instance's projection committed last.
    await eventually(async () => {
      const byId = await rows(b);
      return keys.every((key) => {
        const [id, column] = key.split('/');
        return byId.get(id)[column] === (final[key] ?? null);
      });
    }, 'the rows to show the converged values', 30_000);
    // And storage holds it: once both instances unloaded the document, a new client reads it back.
    writers.concat(fresh).forEach((c) => c.provider.disconnect());
    await eventually(async () => {
      const reloaded = grid(a, 'admin');
      await synced(reloaded);
      const same = JSON.stringify(cellsOf(reloaded)) === JSON.stringify(final);
      reloaded.destroy();
      return same;
    }, 'the stored document to hold the converged values');
  });

  it('carries an API edit through one instance to grid clients and budgetLineChanged subscribers on the other, Dates intact', async () => {
    const onA = grid(a, 'lead.sales-north');
    await synced(onA);
    const changed = subscribe(a, 'analyst', `subscription($p: ID!) { budgetLineChanged(planId: $p, businessUnitCode: "SALES_NORTH") { id budgetAmount comment version updatedAt updatedBy { email } } }`, { p: planId }, 'budgetLineChanged');
    // Subscriptions have no acknowledgement: change a comment through B until one arrives on A.
    let i = 0;
    await eventually(async () => {
      await b.gql(`mutation($id: ID!, $c: String!) { updateBudgetLine(id: $id, input: { comment: $c }) { id } }`, { id: lines[41], c: `warm-up ${i++}` }, tokens['lead.sales-north']);
      return changed.received.length > 0;
    }, 'the subscription on A to be live');
    const res = await b.gql(
      `mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4242 }) { id budgetAmount version updatedAt updatedBy { email } } }`,
      { id: lines[40] },
      tokens['lead.sales-north'],
    );
    expect(res.errors).toBeUndefined();
    const edited = res.data.updateBudgetLine;
    await eventually(() => onA.cells.get(`${lines[40]}/budgetAmount`) === 4242, 'the grid client on A to see the API edit');
    const event = await eventually(() => changed.received.find((e) => e.id === lines[40] && e.budgetAmount === 4242), 'the event on A');
    expect(event).toEqual({ id: lines[40], budgetAmount: 4242, comment: '', version: edited.version, updatedAt: edited.updatedAt, updatedBy: { email: 'lead.sales-north@example.com' } });
    expect(changed.errors).toEqual([]);
  });

  it('lets a monitor on one instance follow a workflow driven through the other, every event in order', async () => {
    const monitor = subscribe(a, 'admin', EVENTS, { after: START }, 'workflowEvents');
    const id = await startPartner(b, 'Driven Through B');
    await eventually(() => monitor.received.some((e) => e.executionId === id && e.status === 'COMPLETED' && e.stepKey === null), 'the monitor on A to see the run complete', 30_000);
    const stored = (await a.sql<{ id: string }>('SELECT id FROM workflow_event WHERE execution_id = $1 ORDER BY id', [id])).map((r) => String(r.id));
    expect(cursorsOf(monitor).filter((_, k) => monitor.received[k].executionId === id)).toEqual(stored);
    const mine = monitor.received.filter((e) => e.executionId === id);
    expect(mine.every((e) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(monitor.errors).toEqual([]);
  });

  it('gives a subscriber that moves from one instance to the other with its cursor exactly the events it missed', async () => {
    const steadyA = subscribe(a, 'admin', EVENTS, { after: START }, 'workflowEvents');
    const steadyB = subscribe(b, 'admin', EVENTS, { after: START }, 'workflowEvents');
    const interrupted = subscribe(a, 'admin', EVENTS, { after: START }, 'workflowEvents');
    // Runs driven through both instances at once: their events interleave, published by two processes.
    const first = await Promise.all([startPartner(a, 'Moves A1'), startPartner(b, 'Moves B1')]);
    await eventually(() => interrupted.received.filter((e) => first.includes(e.executionId)).length >= 4, 'a few events of the first runs');
    await interrupted.close();
    const resumeFrom = interrupted.received.at(-1)!.cursor;
    const second = await Promise.all([startPartner(b, 'Moves B2'), startPartner(a, 'Moves A2'), startPartner(b, 'Moves B3')]);
    await eventually(() => completed([...first, ...second]), 'the runs to complete', 60_000);

    const resumed = subscribe(b, 'admin', EVENTS, { after: resumeFrom }, 'workflowEvents');
    const last = await startPartner(a, 'Moves A3');
    const done = (s: Subscription) => s.received.some((e) => e.executionId === last && e.status === 'COMPLETED' && e.stepKey === null);
    await eventually(() => done(steadyA) && done(steadyB) && done(resumed), 'every subscriber to see the last run complete', 60_000);

    const stored = await storedCursors();
    expect(cursorsOf(steadyA)).toEqual(stored);
    expect(cursorsOf(steadyB)).toEqual(stored);
    expect([...cursorsOf(interrupted), ...cursorsOf(resumed)]).toEqual(stored);
  });

  it('carries access changes made through one instance to grid and GraphQL sockets on the other', async () => {
    const leadGrid = grid(b, 'lead.sales-south', 'SALES_SOUTH');
    const witness = grid(a, 'admin', 'SALES_SOUTH');
    await Promise.all([synced(leadGrid), synced(witness)]);
    const south = [...(await rows(a, 'SALES_SOUTH')).keys()];
    const ws = subscribe(b, 'lead.sales-south', `subscription($p: ID!) { budgetLineChanged(planId: $p) { id } }`, { p: planId }, 'budgetLineChanged');
    // The socket must be open before the access changes: one that connects after is let in with the new rights
    // (read at connection_init), which may follow the plan, and is never closed.
    await ws.connected;
    expect(await editDropped(leadGrid, witness, `${south[0]}/budgetAmount`, 1)).toBe(false);

    const users = (await a.gql('{ users { id email } }', {}, tokens.admin)).data.users as { id: string; email: string }[];
    const leadId = users.find((u) => u.email === 'lead.sales-south@example.com')!.id;
    try {
      const demoted = await a.gql(SET_ACCESS, { id: leadId, role: 'VIEWER', units: ['SALES_SOUTH'] }, tokens.admin);
      expect(demoted.data.setUserAccess.role).toBe('VIEWER');
      await eventually(() => ws.closeCode === CloseCode.Forbidden, 'the GraphQL socket on B to close with CloseCode.Forbidden');
      // The grid connection on B is read-only now: its edits are dropped.
      let v = 100;
      await eventually(() => editDropped(leadGrid, witness, `${south[1]}/budgetAmount`, ++v), 'the grid connection on B to turn read-only');
      expect(await editDropped(leadGrid, witness, `${south[1]}/budgetAmount`, ++v)).toBe(true);
    } finally {
      await a.gql(SET_ACCESS, { id: leadId, role: 'BU_LEADER', units: ['SALES_SOUTH'] }, tokens.admin);
    }
  });

  it("freezes a unit's grid on one instance when it is submitted through the other, and tells dashboards there", async () => {
    const leadGrid = grid(a, 'lead.finance', 'FINANCE');
    const witness = grid(b, 'admin', 'FINANCE');
    await Promise.all([synced(leadGrid), synced(witness)]);
    const finance = [...(await rows(a, 'FINANCE')).keys()];
    const dashboard = subscribe(a, 'analyst', `subscription($p: ID!) { submissionStatusChanged(planId: $p, businessUnitCode: "FINANCE") { status submittedAt submittedBy { email } } }`, { p: planId }, 'submissionStatusChanged');
    expect(await editDropped(leadGrid, witness, `${finance[0]}/budgetAmount`, 1)).toBe(false);

    const submitted = await b.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "FINANCE") { submittedAt execution { id } } }`, { p: planId }, tokens['lead.finance']);
    expect(submitted.errors).toBeUndefined();
    let v = 10;
    await eventually(() => editDropped(leadGrid, witness, `${finance[1]}/budgetAmount`, ++v), 'the grid on A to freeze');

    // The review rejects it through B: the dashboard on A hears it.
    const executionId = submitted.data.submitBudget.execution.id;
    await eventually(async () => {
      const r = await b.gql(`mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "REJECT" }) { id } }`, { id: executionId }, tokens.analyst);
      return !r.errors;
    }, 'the review to take the decision');
    const rejected = await eventually(() => dashboard.received.find((e) => e.status === 'REJECTED'), 'the rejection to reach the dashboard on A', 30_000);
    expect(rejected).toEqual({ status: 'REJECTED', submittedAt: submitted.data.submitBudget.submittedAt, submittedBy: { email: 'lead.finance@example.com' } });
  });

  it('reviews what was submitted through one instance while edits keep coming on the other: none lands after it', async () => {
    const writer = grid(b, 'lead.marketing', 'MARKETING');
    await synced(writer);
    const marketing = [...(await rows(a, 'MARKETING')).keys()];
    let writing = true;
    const edits = (async () => {
      for (let n = 0; writing; n++) {
        writer.cells.set(`${marketing[n % marketing.length]}/budgetAmount`, 70_000 + n);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await new Promise((r) => setTimeout(r, 300)); // edits on their way to rows on B
    const submitted = await a.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "MARKETING") { execution { id } } }`, { p: planId }, tokens['lead.marketing']);
    expect(submitted.errors).toBeUndefined();
    const executionId = submitted.data.submitBudget.execution.id;
    const reviewed = await eventually(async () => {
      const res = await a.gql(`query($id: ID!) { workflowExecution(id: $id) { steps { key status output } } }`, { id: executionId }, tokens.admin);
      return res.data.workflowExecution.steps.find((st: any) => st.key === 'validate_budget' && st.status === 'SUCCEEDED')?.output.totalBudgetAmount as number | undefined;
    }, 'validate_budget to finish', 30_000);
    writing = false;
    await edits;
    const total = async () => [...(await rows(a, 'MARKETING')).values()].reduce((sum, l) => sum + (l.budgetAmount ?? 0), 0);
    // No line written after the submission, whichever instance accepted the edit.
    const late = await a.sql(
      `SELECT l.id FROM budget_line l JOIN budget_submission s ON s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
        WHERE s.business_unit_id = (SELECT id FROM business_unit WHERE code = 'MARKETING') AND l.updated_at > s.submitted_at`,
    );
    expect(late).toEqual([]);
    expect(await total()).toBe(reviewed);
    // And the document everyone sees says the same as the rows (edits refused after the submission snap back).
    const fresh = grid(a, 'admin', 'MARKETING');
    await synced(fresh);
    await eventually(
      () => marketing.reduce((sum, id) => sum + ((fresh.cells.get(`${id}/budgetAmount`) as number | undefined) ?? 0), 0) === reviewed,
      'the document to show what was reviewed',
    );
  });

  it('loses nothing that was stored when one instance is killed, and converges when it is back', async () => {
    const onA = grid(a, 'lead.sales-north');
    const onB = grid(b, 'planner.sales-north');
    await Promise.all([synced(onA), synced(onB)]);
    const key = (i: number) => `${lines[60 + i]}/budgetAmount`;
    for (let i = 0; i < 20; i++) onA.cells.set(key(i), 5000 + i);
    await eventually(async () => {
      const byId = await rows(b);
      return Array.from({ length: 20 }, (_, i) => i).every((i) => byId.get(lines[60 + i]).budgetAmount === 5000 + i);
    }, 'the edits made on A to be stored and projected');
    const monitor = subscribe(b, 'admin', EVENTS, { after: START }, 'workflowEvents');
    const running = await startPartner(a, 'Survives A');

    expect(await a.stop('SIGKILL')).toBe(null);
    // B keeps everything A stored, serves its own clients, and finishes A's workflow.
    const fresh = grid(b, 'admin');
    await synced(fresh);
    for (let i = 0; i < 20; i++) expect(fresh.cells.get(key(i))).toBe(5000 + i);
    for (let i = 20; i < 25; i++) onB.cells.set(key(i), 5000 + i);
    await eventually(() => fresh.cells.get(key(24)) === 5024, 'B to keep serving its clients');
    // Edits made against the dead instance stay with its client.
    for (let i = 25; i < 30; i++) onA.cells.set(key(i), 5000 + i);
    await eventually(() => monitor.received.some((e) => e.executionId === running && e.status === 'COMPLETED' && e.stepKey === null), 'B to finish the run started on A', 60_000);

    await a.start();
    await eventually(
      () => [onA, onB, fresh].every((c) => Array.from({ length: 30 }, (_, i) => i).every((i) => c.cells.get(key(i)) === 5000 + i)),
      'every client to hold every edit once A is back',
      30_000,
    );
    expect(cellsOf(onA)).toEqual(cellsOf(onB));
    await eventually(async () => {
      const byId = await rows(a);
      return Array.from({ length: 30 }, (_, i) => i).every((i) => byId.get(lines[60 + i]).budgetAmount === 5000 + i);
    }, 'every edit to reach the rows');
    const stored = (await a.sql<{ id: string }>('SELECT id FROM workflow_event WHERE execution_id = $1 ORDER BY id', [running])).map((r) => String(r.id));
    expect(cursorsOf(monitor).filter((_, k) => monitor.received[k].executionId === running)).toEqual(stored);
  }, 180_000);
});
