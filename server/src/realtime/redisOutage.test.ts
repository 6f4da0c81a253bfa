/**
 * Two instances on one database, with a Redis of the test's own (a `redis-server` child process on a free
 * port) that the test kills and starts again: both instances keep serving their own clients, say "redis:
 * down" on /readyz (still 200) and in their logs, and once Redis is back they catch up: grid clients on both
 * converge with every edit made during the outage, workflow monitors on both have every event of both
 * instances, in order, budgetLineChanged and submissionStatusChanged subscribers get what the other instance
 * changed meanwhile, and nothing stored is lost. An access change made on one instance during the outage
 * still reaches the other's sockets (each instance re-checks its sockets' rights while Redis is away).
 *
 * Skipped, with a message, when `redis-server` cannot be run here.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { cellsOf, connectGrid, eventually, synced, type GridClient, editDropped } from '../testing/gridClients.js';
import { destroyInstances, ownRedis, redisServerInstalled, startInstances, type OwnRedis } from '../testing/instances.js';
import type { RestartableServer } from '../testing/restartableServer.js';
import { EVENT_CURSOR } from '../workflow/eventStream.js';
import { runNewPartner } from '../testing/workflowRuns.js';
import { CloseCode } from '../../../schema/codes.js';

const installed = await redisServerInstalled();
if (!installed) console.warn('[redisOutage.test] SKIPPED: `redis-server` is not installed, so the test cannot start and kill a Redis of its own.');

const EVENTS = `subscription($after: String) { workflowEvents(after: $after) { cursor executionId stepKey status } }`;

describe.skipIf(!installed)('when Redis goes away', () => {
  let redis: OwnRedis;
  let a: RestartableServer;
  let b: RestartableServer;
  let admin: string;
  let lead: string;
  let planId: string;
  let lines: string[];
  const grids: GridClient[] = [];
  const clients: Client[] = [];

  function grid(server: RestartableServer, token: string): GridClient {
    const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    grids.push(client);
    return client;
  }

  /** A workflow monitor from the very first event; the cursors it received, in order. */
  function monitor(server: RestartableServer): { cursors: string[]; events: { executionId: string; stepKey: string | null; status: string }[] } {
    const received = { cursors: [] as string[], events: [] as { executionId: string; stepKey: string | null; status: string }[] };
    const client = createClient({ url: server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${admin}` }, retryAttempts: 0 });
    clients.push(client);
    client.subscribe<{ workflowEvents: { cursor: string; executionId: string; stepKey: string | null; status: string } }>(
      { query: EVENTS, variables: { after: encodeCursor(EVENT_CURSOR, '0') } },
      {
        next: (r) => {
          if (!r.data) return;
          received.cursors.push(Buffer.from(r.data.workflowEvents.cursor, 'base64url').toString().split(':')[1]);
          received.events.push(r.data.workflowEvents);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    return received;
  }

  const startPartner = (server: RestartableServer, name: string) => runNewPartner(server, admin, name);
  /** Every budgetLineChanged and submissionStatusChanged of the plan that `server` delivers to an admin. */
  function planWatcher(server: RestartableServer) {
    const seen = { lines: new Map<string, { budgetAmount: number | null; version: number }>(), submissions: new Map<string, string>(), errors: [] as unknown[] };
    const client = createClient({ url: server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${admin}` }, retryAttempts: 0 });
    clients.push(client);
    const sink = <T>(next: (data: T) => void) => ({
      next: (r: { data?: T | null; errors?: unknown }) => (r.data ? next(r.data) : seen.errors.push(r.errors)),
      error: (e: unknown) => seen.errors.push(e),
      complete: () => undefined,
    });
    client.subscribe<{ budgetLineChanged: { id: string; budgetAmount: number | null; version: number } }>(
      { query: `subscription($p: ID!) { budgetLineChanged(planId: $p) { id budgetAmount version } }`, variables: { p: planId } },
      sink(({ budgetLineChanged: l }) => {
        const known = seen.lines.get(l.id);
        if (!known || known.version < l.version) seen.lines.set(l.id, { budgetAmount: l.budgetAmount, version: l.version });
      }),
    );
    client.subscribe<{ submissionStatusChanged: { status: string; businessUnit: { code: string } } }>(
      { query: `subscription($p: ID!) { submissionStatusChanged(planId: $p) { status businessUnit { code } } }`, variables: { p: planId } },
      sink(({ submissionStatusChanged: sub }) => seen.submissions.set(sub.businessUnit.code, sub.status)),
    );
    return seen;
  }
  const isDone = (m: ReturnType<typeof monitor>, id: string) => m.events.some((e) => e.executionId === id && e.stepKey === null && e.status === 'COMPLETED');
  const readiness = async (server: RestartableServer) => {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, body: await res.json() };
  };
  const logged = (server: RestartableServer, text: string) => server.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith(text));

  beforeAll(async () => {
    redis = await ownRedis();
    await redis.start();
    [a, b] = await startInstances(2, redis.url, { SIMULATED_STEP_MS: '20' });
    admin = await a.login('admin@example.com');
    lead = await b.login('lead.sales-north@example.com');
    planId = (await a.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    lines = (await a.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, admin)).data.budgetLines.map(
      (l: { id: string }) => l.id,
    );
  });
  afterAll(async () => {
    grids.forEach((g) => g.destroy());
    await Promise.all(clients.map((c) => c.dispose()));
    await destroyInstances([a, b].filter(Boolean));
    await redis?.kill();
  });

  it('keeps serving each instance\'s own clients, says so, and catches up when Redis is back', async () => {
    const [a1, a2, b1, b2] = [grid(a, lead), grid(a, admin), grid(b, lead), grid(b, admin)];
    await Promise.all([a1, a2, b1, b2].map(synced));
    a1.cells.set(`${lines[0]}/budgetAmount`, 1);
    await eventually(() => b1.cells.get(`${lines[0]}/budgetAmount`) === 1, 'an edit to cross instances before the outage');
    const monitorA = monitor(a);
    const monitorB = monitor(b);
    // A leader connected to B, whose access an admin changes through A while Redis is away.
    const southLeadToken = await a.login('lead.sales-south@example.com');
    const southDoc = `budget:${planId}:SALES_SOUTH`;
    const southLead = connectGrid(b.url, southDoc, southLeadToken);
    const southWitness = connectGrid(b.url, southDoc, admin);
    grids.push(southLead, southWitness);
    await Promise.all([synced(southLead), synced(southWitness)]);
    const southLines = (await a.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_SOUTH") { id } }`, { p: planId }, admin)).data.budgetLines.map(
      (l: { id: string }) => l.id,
    );
    expect(await editDropped(southLead, southWitness, `${southLines[0]}/budgetAmount`, 1)).toBe(false);
    let southClosed: number | undefined;
    const southWs = createClient({
      url: b.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${southLeadToken}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      on: { closed: (e) => (southClosed ??= (e as { code: number }).code) },
    });
    clients.push(southWs);
    southWs.subscribe({ query: `subscription($p: ID!) { budgetLineChanged(planId: $p) { id } }`, variables: { p: planId } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await new Promise((r) => southWs.on('connected', r));
    // Changes of lines and submissions made through A reach B's subscribers through Redis; made during the
    // outage, they reach them once B catches up from PostgreSQL.
    const watcherB = planWatcher(b);
    let probe = 1;
    await eventually(() => {
      if (watcherB.lines.has(lines[0])) return true;
      a1.cells.set(`${lines[0]}/budgetAmount`, ++probe); // until the subscription is up
      return false;
    }, "B's budgetLineChanged subscriber to get A's edits");
    a1.cells.set(`${lines[0]}/budgetAmount`, 2);
    await eventually(() => watcherB.lines.get(lines[0])?.budgetAmount === 2, "B's budgetLineChanged subscriber to get A's last edit");
    const before = await startPartner(b, 'Before The Outage');
    await eventually(() => isDone(monitorA, before) && isDone(monitorB, before), 'both monitors to be live');

    await redis.kill();
    for (const server of [a, b]) {
      await eventually(async () => (await readiness(server)).body.redis === 'down', '/readyz to say that Redis is down');
      expect(await readiness(server)).toEqual({
        status: 200,
        body: { status: 'ready', database: 'up', redis: 'down', integrations: { microsoftGraph: { status: 'simulated' }, powerBi: { status: 'simulated' }, metabase: { status: 'simulated' }, slack: { status: 'simulated' }, studio: { status: 'simulated' }, infrabot: { status: 'simulated' }, lms: { status: 'simulated' } } },
      });
      await eventually(() => logged(server, 'Redis went away'), 'the log to say that Redis went away');
    }

    // Each instance serves its own clients: edits, a new client, workflows and their monitors.
    for (let i = 1; i <= 10; i++) a1.cells.set(`${lines[i]}/budgetAmount`, 100 + i);
    for (let i = 11; i <= 20; i++) b1.cells.set(`${lines[i]}/budgetAmount`, 100 + i);
    await eventually(() => a2.cells.get(`${lines[10]}/budgetAmount`) === 110, 'A to serve its clients');
    await eventually(() => b2.cells.get(`${lines[20]}/budgetAmount`) === 120, 'B to serve its clients');
    const joined = grid(a, admin);
    await synced(joined);
    // An access change through A does not reach B through Redis, but B checks its sockets' rights now and then.
    const users = (await a.gql('{ users { id email } }', {}, admin)).data.users as { id: string; email: string }[];
    const southLeadId = users.find((u) => u.email === 'lead.sales-south@example.com')!.id;
    const setAccess = (role: string) =>
      a.gql(`mutation($id: ID!, $r: Role!) { setUserAccess(userId: $id, role: $r, businessUnitCodes: ["SALES_SOUTH"]) { role } }`, { id: southLeadId, r: role }, admin);
    expect((await setAccess('VIEWER')).data.setUserAccess.role).toBe('VIEWER');
    await eventually(() => southClosed === CloseCode.Forbidden, 'the GraphQL socket on B to close with CloseCode.Forbidden', 30_000);
    let v = 10;
    await eventually(() => editDropped(southLead, southWitness, `${southLines[1]}/budgetAmount`, ++v), 'the grid connection on B to turn read-only', 30_000);

    const opsLead = await a.login('lead.operations@example.com');
    const submitted = await a.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "OPERATIONS") { status } }`, { p: planId }, opsLead);
    expect(submitted.data.submitBudget.status).toBe('SUBMITTED');
    const onA = await startPartner(a, 'During On A');
    const onB = await startPartner(b, 'During On B');
    await eventually(() => isDone(monitorA, onA) && isDone(monitorB, onB), 'each monitor to follow its own instance', 60_000);
    // Nothing accepted during the outage is lost: it is stored and projected.
    await eventually(async () => {
      const rows = await a.sql<{ id: string; budget_amount: number | null }>('SELECT id, budget_amount FROM budget_line WHERE id = ANY($1::uuid[])', [lines.slice(1, 21)]);
      const byId = new Map(rows.map((r) => [r.id, r.budget_amount === null ? null : Number(r.budget_amount)]));
      return lines.slice(1, 21).every((id, k) => byId.get(id) === 101 + k);
    }, 'the outage edits to be stored and projected');

    await redis.start();
    for (const server of [a, b]) {
      await eventually(async () => (await readiness(server)).body.redis === 'up', '/readyz to say that Redis is up', 30_000);
      await eventually(() => logged(server, 'Redis is back'), 'the log to say that Redis is back');
    }
    const expected = Object.fromEntries(lines.slice(0, 21).map((id, i) => [`${id}/budgetAmount`, i === 0 ? 2 : 100 + i]));
    const everyone = [a1, a2, b1, b2, joined];
    await eventually(
      () => everyone.every((c) => Object.entries(expected).every(([k, v]) => c.cells.get(k) === v)),
      'every client to hold every edit of the outage',
      30_000,
    );
    const reference = JSON.stringify(cellsOf(a1));
    expect(everyone.every((c) => JSON.stringify(cellsOf(c)) === reference)).toBe(true);
    // B's subscribers got what A changed during the outage: every line at its last version, the submission.
    await eventually(
      () => lines.slice(1, 11).every((id, k) => watcherB.lines.get(id)?.budgetAmount === 101 + k) && watcherB.submissions.get('OPERATIONS') === 'SUBMITTED',
      "B's subscribers to catch up with A's changes",
      30_000,
    );
    expect(lines.slice(11, 21).every((id, k) => watcherB.lines.get(id)?.budgetAmount === 111 + k)).toBe(true);
    expect(watcherB.errors).toEqual([]);
    // Live again across instances.
    b2.cells.set(`${lines[30]}/comment`, 'after the outage');
    await eventually(() => a1.cells.get(`${lines[30]}/comment`) === 'after the outage', 'edits to cross instances again');

    // Both monitors have every event of both instances, exactly once, in order.
    const after = await startPartner(a, 'After The Outage');
    await eventually(() => isDone(monitorA, after) && isDone(monitorB, after), 'both monitors to see the run after the outage', 60_000);
    const stored = (await a.sql<{ id: string }>('SELECT id FROM workflow_event ORDER BY id')).map((r) => String(r.id));
    expect(monitorA.cursors).toEqual(stored);
    expect(monitorB.cursors).toEqual(stored);
    await setAccess('BU_LEADER');
  }, 240_000);
});
