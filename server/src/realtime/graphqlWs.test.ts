/**
 * GraphQL over websockets against a real server, with the stock graphql-ws client: authentication at
 * connection_init and at token expiry, budgetLineChanged and its row-level security, the limits and error
 * masking that graphql-ws would otherwise skip, the cap on operations per socket, and garbage frames.
 *
 * Subscriptions have no "subscribed" acknowledgement in the protocol, so a test first makes each
 * subscription live: it keeps making harmless changes until one arrives, then drains up to a marker.
 * Negatives ("never receives") are proven by order: a forbidden change is made first, an allowed one after;
 * when the allowed one arrives, the forbidden one would already have.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { LIMITS } from '../graphql/limits.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { CONTRACT_CODES } from '../testing/fuzzChecks.js';
import { CloseCode } from '../../../schema/codes.js';


const CHANGED = `subscription($plan: ID!, $unit: String) {
  budgetLineChanged(planId: $plan, businessUnitCode: $unit) {
    id businessUnit { code } budgetAmount forecastSales comment version updatedAt updatedBy { email }
  }
}`;
const LINES = `query($plan: ID!, $unit: String) { budgetLines(planId: $plan, businessUnitCode: $unit) { id version comment } }`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) {
  updateBudgetLine(id: $id, input: $input) { id budgetAmount forecastSales comment version updatedAt updatedBy { email } }
}`;

interface ChangedLine {
  id: string;
  businessUnit: { code: string };
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
  updatedAt: string;
  updatedBy: { email: string } | null;
}
type Result = FormattedExecutionResult<Record<string, any>, unknown>;

/** Errors as the client hands them over: an array of GraphQL errors, or a close event. */
function errorCodes(error: unknown): string[] {
  const close = error as { code?: number; reason?: string };
  expect(Array.isArray(error), `not GraphQL errors: ${close?.code ? `close ${close.code} ${close.reason}` : String(error)}`).toBe(true);
  return (error as Result['errors'])!.map((e) => String(e.extensions?.code));
}

/** Every error of a result or error message carries a contract code and no stack. */
function expectContractErrors(errors: readonly unknown[] | undefined) {
  for (const error of errors ?? []) {
    const e = error as { extensions?: Record<string, unknown>; message: string };
    expect(CONTRACT_CODES.has(String(e.extensions?.code)), JSON.stringify(e).slice(0, 300)).toBe(true);
    expect(e.extensions?.stacktrace).toBeUndefined();
    expect(JSON.stringify(e)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+/);
  }
}

/** One operation on a graphql-ws client, with everything it received. */
class Operation {
  results: Result[] = [];
  error: unknown = undefined;
  completed = false;
  private waiters: (() => void)[] = [];
  readonly dispose: () => void;

  constructor(client: Client, query: string, variables?: Record<string, unknown>, operationName?: string) {
    this.dispose = client.subscribe<Record<string, any>>(
      { query, variables, operationName },
      {
        next: (result) => {
          expectContractErrors(result.errors);
          this.results.push(result);
          this.notify();
        },
        error: (error) => {
          if (Array.isArray(error)) expectContractErrors(error);
          this.error = error;
          this.notify();
        },
        complete: () => {
          this.completed = true;
          this.notify();
        },
      },
    );
  }

  private notify() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `condition` holds; rejects when the operation ends first. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.error !== undefined || this.completed) {
        throw new Error(`operation ended: ${JSON.stringify(this.error ?? 'completed')} after ${JSON.stringify(this.results)}`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once the operation has ended (error or complete). */
  async ended(): Promise<void> {
    while (this.error === undefined && !this.completed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** The lines received so far. */
  get lines(): ChangedLine[] {
    return this.results.map((r) => r.data?.budgetLineChanged as ChangedLine);
  }
}

describe('GraphQL over websockets', () => {
  let server: TestServer;
  let wsUrl: string;
  let planId: string;
  const tokens: Record<string, string> = {};
  /** A few lines of each unit, for the changes. */
  const lines: Record<string, { id: string }[]> = {};
  const clients: Client[] = [];
  const rawSockets: WebSocket[] = [];

  /** A graphql-ws client that connects at once and never retries; closes are recorded. */
  function connect(token: string | null, params?: Record<string, unknown>) {
    const closes: { code: number; reason: string }[] = [];
    let connected = false;
    let onReady!: () => void;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: params ?? (token ? { authorization: `Bearer ${token}` } : {}),
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: {
        connected: () => {
          connected = true;
          onReady();
        },
        closed: (event) => {
          const e = event as { code: number; reason: string };
          closes.push({ code: e.code, reason: String(e.reason) });
        },
      },
    });
    clients.push(client);
    return {
      client,
      closes,
      /** Resolves once the server acknowledged the connection. */
      ready,
      get connected() {
        return connected;
      },
      subscribe: (query: string, variables?: Record<string, unknown>) => new Operation(client, query, variables),
      /** Runs one query or mutation over the socket and returns its single result or error. */
      async run(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<{ result?: Result; error?: unknown }> {
        const op = new Operation(client, query, variables, operationName);
        await op.ended();
        return op.error !== undefined ? { error: op.error } : { result: op.results[0] };
      },
    };
  }

  /** A raw websocket speaking (or not) graphql-transport-ws; resolves once open. */
  async function rawSocket(): Promise<WebSocket> {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    rawSockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return socket;
  }

  function closeOf(socket: WebSocket): Promise<{ code: number; reason: string; messages: string[] }> {
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(String(data)));
    return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason), messages })));
  }

  /** Changes a line's comment over HTTP as `who`; returns the line as the mutation answered it. */
  async function change(who: string, lineId: string, input: Record<string, unknown>): Promise<ChangedLine> {
    const res = await server.gql(UPDATE, { id: lineId, input }, tokens[who]);
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    return res.data.updateBudgetLine;
  }

  /**
   * Makes subscriptions live: keeps changing a line (as `who`, in a unit all of them may read) until every
   * one has received something, then changes it to a marker and drains each up to that marker.
   */
  async function makeLive(ops: Operation[], who: string, lineId: string): Promise<void> {
    for (let i = 0; !ops.every((op) => op.results.length > 0); i++) {
      for (const op of ops) if (op.error !== undefined || op.completed) throw new Error(`not live: ${JSON.stringify(op.error)}`);
      await change(who, lineId, { comment: `warm-up ${i}` });
      await Promise.race([Promise.all(ops.map((op) => op.until(() => op.results.length > 0))), sleep(100)]);
    }
    const marker = `live ${randomUUID()}`;
    await change(who, lineId, { comment: marker });
    await Promise.all(ops.map((op) => op.until(() => op.lines.some((l) => l?.comment === marker))));
    for (const op of ops) op.results.length = 0;
  }

  /** A fingerprint of the budget data, to prove nothing changed. */
  async function storedLines(): Promise<string> {
    const [row] = await server.sql(
      `SELECT md5(string_agg(concat_ws('|', id, budget_amount, forecast_sales, comment, version), ',' ORDER BY id)) AS h,
              (SELECT count(*) FROM cell_change)::int AS audit
         FROM budget_line`,
    );
    return JSON.stringify(row);
  }

  beforeAll(async () => {
    server = await startTestServer();
    wsUrl = `ws://127.0.0.1:${server.app.port}/graphql`;
    const people = {
      admin: 'admin@example.com',
      analyst: 'analyst@example.com',
      leadNorth: 'lead.sales-north@example.com',
      leadSouth: 'lead.sales-south@example.com',
      leadMarketing: 'lead.marketing@example.com',
      viewerMarketing: 'viewer.marketing@example.com',
      partner: 'partner.admin@acme.example',
    };
    await Promise.all(Object.entries(people).map(async ([key, email]) => (tokens[key] = await server.login(email))));
    planId = (await server.gql('{ budgetPlans { id } }', {}, tokens.admin)).data.budgetPlans[0].id;
    for (const unit of ['SALES_NORTH', 'SALES_SOUTH', 'MARKETING']) {
      lines[unit] = (await server.gql(LINES, { plan: planId, unit }, tokens.admin)).data.budgetLines;
    }
  });
  afterEach(async () => {
    for (const socket of rawSockets.splice(0)) socket.terminate();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server?.stop());

  describe('authentication', () => {
    it('closes the socket with CloseCode.Unauthorized without a token or with a bad one', async () => {
      const good = tokens.leadNorth;
      const tampered = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const params = [
        {},
        { authorization: '' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer not.a.jwt' },
        { authorization: `Bearer ${tampered}` },
        { authorization: good }, // no "Bearer"
        { authorization: 42 },
        { authorization: `Bearer ${'x'.repeat(20_000)}` },
      ];
      for (const p of params) {
        const c = connect(null, p);
        const op = c.subscribe(CHANGED, { plan: planId });
        await op.ended();
        expect(op.results, JSON.stringify(p).slice(0, 80)).toEqual([]);
        expect((op.error as { code?: number }).code, JSON.stringify(p).slice(0, 80)).toBe(CloseCode.Unauthorized);
        expect(c.connected).toBe(false);
        expect(c.closes.map((e) => e.code)).toEqual([CloseCode.Unauthorized]);
      }
    });

    it('runs nothing that a socket sends before or without a valid connection_init', async () => {
      const before = await storedLines();
      const mutation = {
        query: UPDATE,
        variables: { id: lines.SALES_NORTH[0].id, input: { comment: 'sent before init' } },
      };
      // A bad token with a mutation right behind it, and a mutation with no init at all.
      const first = await rawSocket();
      const firstClosed = closeOf(first);
      first.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer nope' } }));
      first.send(JSON.stringify({ id: '1', type: 'subscribe', payload: mutation }));
      const second = await rawSocket();
      const secondClosed = closeOf(second);
      second.send(JSON.stringify({ id: '1', type: 'subscribe', payload: mutation }));

      for (const closed of [firstClosed, secondClosed]) {
        const { code, messages } = await closed;
        expect(code).toBe(CloseCode.Unauthorized);
        expect(messages.filter((m) => JSON.parse(m).type !== 'connection_ack')).toEqual([]);
      }
      expect(await storedLines()).toBe(before);
    });

    it('closes the socket with CloseCode.Unauthorized when the token expires', async () => {
      const shortLived = await startTestServer({ JWT_TTL_SECONDS: '2' });
      try {
        const token = await shortLived.login('analyst@example.com');
        const plan = (await shortLived.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
        let onConnected!: () => void;
        let onClosed!: (code: number) => void;
        const connected = new Promise<void>((resolve) => (onConnected = resolve));
        const closed = new Promise<number>((resolve) => (onClosed = resolve));
        const client = createClient({
          url: `ws://127.0.0.1:${shortLived.app.port}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          lazy: false,
          retryAttempts: 0,
          onNonLazyError: () => undefined,
          on: { connected: () => onConnected(), closed: (e) => onClosed((e as { code: number }).code) },
        });
        clients.push(client);
        // Accepted at connect; closed by the server once the token runs out.
        await connected;
        const op = new Operation(client, CHANGED, { plan });
        expect(await closed).toBe(CloseCode.Unauthorized);
        await op.ended();
        expect((op.error as { code?: number }).code).toBe(CloseCode.Unauthorized);
        expect(op.results).toEqual([]);
        // The same token over HTTP is refused too.
        expect(errorCode(await shortLived.gql('{ me { email } }', {}, token))).toBe('UNAUTHENTICATED');
      } finally {
        await shortLived.stop();
      }
    });
  });

  describe('budgetLineChanged', () => {
    it("delivers a change to a leader subscribed to their unit, with the new values, version and author", async () => {
      const lead = connect(tokens.leadNorth);
      const sub = lead.subscribe(CHANGED, { plan: planId, unit: 'SALES_NORTH' });
      await makeLive([sub], 'leadNorth', lines.SALES_NORTH[1].id);

      const line = lines.SALES_NORTH[2];
      const written = await change('leadNorth', line.id, { budgetAmount: 1234.5, forecastSales: 987, comment: 'pushed' });
      await sub.until(() => sub.results.length > 0);
      expect(sub.results[0].errors).toBeUndefined();
      expect(sub.lines[0]).toEqual({
        id: line.id,
        businessUnit: { code: 'SALES_NORTH' },
        budgetAmount: 1234.5,
        forecastSales: 987,
        comment: 'pushed',
        version: written.version,
        updatedAt: written.updatedAt,
        updatedBy: { email: 'lead.sales-north@example.com' },
      });
      expect(written.version).toBeGreaterThan(1);

      // An admin's change reaches the leader too, attributed to the admin.
      await change('admin', line.id, { budgetAmount: 1 });
      await sub.until(() => sub.results.length > 1);
      expect(sub.lines[1]).toMatchObject({ id: line.id, budgetAmount: 1, version: written.version + 1, updatedBy: { email: 'admin@example.com' } });
      expect(lead.closes).toEqual([]);
    });

    it('gives a subscriber without a unit exactly the units it may read', async () => {
      const analyst = connect(tokens.analyst).subscribe(CHANGED, { plan: planId });
      const viewer = connect(tokens.viewerMarketing).subscribe(CHANGED, { plan: planId });
      const leadNorth = connect(tokens.leadNorth).subscribe(CHANGED, { plan: planId });
      // North first: the analyst's events come in order, so draining it up to the marketing marker last leaves
      // nothing of the north warm-up in flight.
      await makeLive([leadNorth, analyst], 'leadNorth', lines.SALES_NORTH[0].id);
      await makeLive([analyst, viewer], 'leadMarketing', lines.MARKETING[0].id);

      // Forbidden for the viewer (and the north leader, for the south one) first, allowed last.
      const north = await change('leadNorth', lines.SALES_NORTH[3].id, { comment: 'north secret' });
      const south = await change('leadSouth', lines.SALES_SOUTH[3].id, { comment: 'south secret' });
      const marketing = await change('leadMarketing', lines.MARKETING[3].id, { comment: 'for marketing' });
      const lastNorth = await change('leadNorth', lines.SALES_NORTH[4].id, { comment: 'north again' });

      await analyst.until(() => analyst.results.length >= 4);
      expect(analyst.lines.map((l) => [l.businessUnit.code, l.comment])).toEqual([
        ['SALES_NORTH', 'north secret'],
        ['SALES_SOUTH', 'south secret'],
        ['MARKETING', 'for marketing'],
        ['SALES_NORTH', 'north again'],
      ]);
      expect(analyst.lines[0]).toMatchObject({ id: north.id, version: north.version });
      expect(analyst.lines[1]).toMatchObject({ id: south.id, version: south.version });

      await viewer.until(() => viewer.lines.some((l) => l.id === marketing.id));
      expect(viewer.lines.map((l) => [l.businessUnit.code, l.comment])).toEqual([['MARKETING', 'for marketing']]);

      await leadNorth.until(() => leadNorth.lines.some((l) => l.id === lastNorth.id));
      expect(leadNorth.lines.map((l) => [l.businessUnit.code, l.comment])).toEqual([
        ['SALES_NORTH', 'north secret'],
        ['SALES_NORTH', 'north again'],
      ]);
    });

    it("answers FORBIDDEN for another unit's code, and sends nothing of it", async () => {
      const lead = connect(tokens.leadNorth);
      const cases = [
        { who: lead, unit: 'MARKETING', code: 'FORBIDDEN' },
        { who: lead, unit: 'NO_SUCH_UNIT', code: 'FORBIDDEN' },
        { who: connect(tokens.viewerMarketing), unit: 'SALES_NORTH', code: 'FORBIDDEN' },
        { who: connect(tokens.analyst), unit: 'NO_SUCH_UNIT', code: 'NOT_FOUND' },
      ];
      const ops = cases.map((c) => ({ ...c, op: c.who.subscribe(CHANGED, { plan: planId, unit: c.unit }) }));
      for (const { op, code, unit } of ops) {
        await op.ended();
        const errors = op.error !== undefined ? errorCodes(op.error) : op.results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
        expect(errors, unit).toEqual([code]);
        expect(op.results.every((r) => r.data == null), unit).toBe(true);
      }
      // The socket is still fine.
      const ok = lead.subscribe(CHANGED, { plan: planId, unit: 'SALES_NORTH' });
      await makeLive([ok], 'leadNorth', lines.SALES_NORTH[5].id);
      expect(lead.closes).toEqual([]);
    });

    it('gives a PARTNER_ADMIN nothing', async () => {
      const partner = connect(tokens.partner);
      for (const unit of [undefined, 'SALES_NORTH']) {
        const op = partner.subscribe(CHANGED, { plan: planId, unit });
        await op.ended();
        const errors = op.error !== undefined ? errorCodes(op.error) : op.results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
        expect(errors).toEqual(['FORBIDDEN']);
        expect(op.results.every((r) => r.data == null)).toBe(true);
      }
      expect(partner.closes).toEqual([]);
    });
  });

  describe('limits and errors', () => {
    it('applies the depth, alias, cost and token limits and answers parse and validation errors', async () => {
      const admin = connect(tokens.admin);
      let deep = 'name';
      for (let i = 0; i < LIMITS.maxDepth - 1; i++) deep = `ofType { ${deep} }`;
      const aliases = Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: id`).join(' ');
      const cases = [
        { name: 'depth', query: `{ __type(name: "Query") { ${deep} } }`, code: 'GRAPHQL_VALIDATION_FAILED', message: /depth/i },
        {
          name: 'aliases',
          query: `subscription($plan: ID!) { budgetLineChanged(planId: $plan) { ${aliases} } }`,
          code: 'GRAPHQL_VALIDATION_FAILED',
          message: /alias/i,
        },
        {
          name: 'cost',
          query: `{ auditLog(first: 500) { edges { cursor node { id column oldValue newValue source at
            line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
            user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor } } }`,
          code: 'GRAPHQL_VALIDATION_FAILED',
          message: /cost/i,
        },
        { name: 'tokens', query: `{ me { ${'email '.repeat(LIMITS.maxTokens + 10)} } }`, code: 'GRAPHQL_PARSE_FAILED', message: /token/i },
        { name: 'syntax', query: 'subscription { budgetLineChanged(', code: 'GRAPHQL_PARSE_FAILED', message: /Syntax/i },
        { name: 'unknown field', query: `subscription { budgetLineChanged(planId: "${planId}") { secret } }`, code: 'GRAPHQL_VALIDATION_FAILED', message: /secret/ },
        { name: 'missing argument', query: 'subscription { budgetLineChanged { id } }', code: 'GRAPHQL_VALIDATION_FAILED', message: /planId/ },
        { name: 'two root fields', query: `subscription { a: budgetLineChanged(planId: "x") { id } b: budgetLineChanged(planId: "y") { id } }`, code: 'GRAPHQL_VALIDATION_FAILED', message: /one top level field/ },
      ];
      for (const c of cases) {
        const { error, result } = await admin.run(c.query, { plan: planId });
        expect(result, c.name).toBeUndefined();
        expect(errorCodes(error), c.name).toContain(c.code);
        expect(new Set(errorCodes(error)), c.name).toEqual(new Set([c.code]));
        expect((error as { message: string }[])[0].message, c.name).toMatch(c.message);
      }
      // A document at the limits is fine, and the socket survived all of the above.
      let atLimit = 'name';
      for (let i = 0; i < LIMITS.maxDepth - 2; i++) atLimit = `ofType { ${atLimit} }`;
      const ok = await admin.run(`{ __type(name: "Query") { ${atLimit} } }`);
      expect(ok.result?.errors).toBeUndefined();
      expect(ok.result?.data?.__type).toBeTruthy();
      expect(admin.closes).toEqual([]);
    });

    it('answers bad variables with BAD_USER_INPUT and runs nothing', async () => {
      const before = await storedLines();
      const lead = connect(tokens.leadNorth);
      const line = lines.SALES_NORTH[6];
      const cases: { name: string; query: string; variables: Record<string, unknown>; operationName?: string }[] = [
        { name: 'missing planId', query: CHANGED, variables: {} },
        { name: 'null planId', query: CHANGED, variables: { plan: null } },
        { name: 'planId as object', query: CHANGED, variables: { plan: { a: 1 } } },
        { name: 'unit as number', query: CHANGED, variables: { plan: planId, unit: 5 } },
        { name: 'amount as text', query: UPDATE, variables: { id: line.id, input: { budgetAmount: 'lots' } } },
        { name: 'read-only column', query: UPDATE, variables: { id: line.id, input: { version: 7 } } },
        { name: 'missing input', query: UPDATE, variables: { id: line.id } },
        { name: 'unknown operation name', query: CHANGED, variables: { plan: planId }, operationName: 'Nope' },
        {
          name: 'two operations, no name',
          query: `${UPDATE.replace('mutation(', 'mutation Write(')} query Other { me { email } }`,
          variables: { id: line.id, input: { comment: 'which one?' } },
        },
      ];
      for (const c of cases) {
        const { error, result } = await lead.run(c.query, c.variables, c.operationName);
        const codes = error !== undefined ? errorCodes(error) : (result?.errors ?? []).map((e) => String(e.extensions?.code));
        expect(new Set(codes), c.name).toEqual(new Set(['BAD_USER_INPUT']));
        expect(result?.data ?? null, c.name).toBeNull();
      }
      // Values our resolvers check, over the socket.
      const negative = await lead.run(UPDATE, { id: line.id, input: { budgetAmount: -5 } });
      expect(negative.result?.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      const elsewhere = await lead.run(UPDATE, { id: lines.MARKETING[6].id, input: { budgetAmount: 5 } });
      expect(elsewhere.result?.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(await storedLines()).toBe(before);
      expect(lead.closes).toEqual([]);
    });

    it('masks an internal failure as INTERNAL_SERVER_ERROR without SQL, and keeps the socket serving', async () => {
      const analyst = connect(tokens.analyst);
      await analyst.ready;
      await server.sql('ALTER TABLE business_unit RENAME TO business_unit_moved_away');
      try {
        const sub = analyst.subscribe(CHANGED, { plan: planId, unit: 'SALES_NORTH' });
        await sub.ended();
        const raw = JSON.stringify([sub.error ?? null, sub.results]);
        const codes = sub.error !== undefined ? errorCodes(sub.error) : sub.results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
        expect(codes).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(raw).toContain('Internal server error');
        expect(raw).not.toMatch(/business_unit|select|relation|postgres|sql|exist/i);

        const query = await analyst.run('{ businessUnits { code } }');
        expect(query.result?.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(JSON.stringify(query)).not.toMatch(/business_unit|select|relation|postgres|sql|exist/i);
        // What does not need the table still works on the same socket.
        const plans = await analyst.run('{ budgetPlans { name } }');
        expect(plans.result?.data?.budgetPlans).toEqual([{ name: 'FY2027 Budget' }]);
      } finally {
        await server.sql('ALTER TABLE business_unit_moved_away RENAME TO business_unit');
      }
      const live = analyst.subscribe(CHANGED, { plan: planId, unit: 'SALES_NORTH' });
      await makeLive([live], 'leadNorth', lines.SALES_NORTH[7].id);
      expect(analyst.closes).toEqual([]);
    });
  });

  describe('database outage', () => {
    it('closes a socket whose authentication fails inside with CloseCode.InternalServerError and a reason that reveals nothing', async () => {
      // A server of its own: its database is made unreachable, which nothing else here may suffer.
      const other = await startTestServer();
      const admin = new pg.Client({ connectionString: inject('postgresServerUrl') });
      await admin.connect();
      const database = new URL(other.databaseUrl).pathname.slice(1);
      try {
        const token = await other.login('analyst@example.com');
        await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
        const socket = new WebSocket(`ws://127.0.0.1:${other.app.port}/graphql`, 'graphql-transport-ws');
        rawSockets.push(socket);
        await new Promise((resolve) => socket.once('open', resolve));
        const closed = closeOf(socket);
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
        const { code, reason, messages } = await closed;
        expect(code).toBe(CloseCode.InternalServerError);
        expect(reason).toBe('Internal server error');
        expect(messages).toEqual([]);

        await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
        const c = createClient({
          url: `ws://127.0.0.1:${other.app.port}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${token}` },
          retryAttempts: 0,
        });
        clients.push(c);
        const op = new Operation(c, '{ me { email } }');
        await op.ended();
        expect(op.results).toEqual([{ data: { me: { email: 'analyst@example.com' } } }]);
      } finally {
        await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
        await admin.end();
        await other.stop();
      }
    });
  });

  describe('operations per socket', () => {
    it('refuses the operation over the cap with a clear error and keeps the others working', async () => {
      const analyst = connect(tokens.analyst);
      const ops = Array.from({ length: LIMITS.maxSubscriptionsPerSocket }, () => analyst.subscribe(CHANGED, { plan: planId }));
      const over = analyst.subscribe(CHANGED, { plan: planId });
      await over.ended();
      expect(errorCodes(over.error)).toEqual(['BAD_USER_INPUT']);
      expect((over.error as { message: string }[])[0].message).toContain(String(LIMITS.maxSubscriptionsPerSocket));
      expect(over.results).toEqual([]);

      // All the others are live, on one socket that stayed open.
      await makeLive(ops, 'leadSouth', lines.SALES_SOUTH[8].id);
      const next = await change('leadNorth', lines.SALES_NORTH[8].id, { comment: 'to all fifty' });
      await Promise.all(ops.map((op) => op.until(() => op.lines.some((l) => l.comment === 'to all fifty'))));
      for (const op of ops) expect(op.lines).toEqual([expect.objectContaining({ id: next.id, version: next.version })]);
      expect(analyst.closes).toEqual([]);

      // Ending one frees its place: a new subscription is accepted (once the server has seen the end).
      ops[0].dispose();
      let replacement: Operation;
      for (;;) {
        replacement = analyst.subscribe(CHANGED, { plan: planId });
        try {
          await makeLive([replacement], 'leadSouth', lines.SALES_SOUTH[9].id);
          break;
        } catch {
          expect(errorCodes(replacement.error)).toEqual(['BAD_USER_INPUT']);
        }
      }
      expect(analyst.closes).toEqual([]);
    });

    it('counts only running operations: finished and failed ones free their place', async () => {
      const lead = connect(tokens.leadNorth);
      for (let i = 0; i < LIMITS.maxSubscriptionsPerSocket + 5; i++) {
        const me = await lead.run('{ me { email } }');
        expect(me.result?.data?.me.email, `query ${i}`).toBe('lead.sales-north@example.com');
        const forbidden = lead.subscribe(CHANGED, { plan: planId, unit: 'MARKETING' });
        await forbidden.ended();
        const codes = forbidden.error !== undefined ? errorCodes(forbidden.error) : forbidden.results.flatMap((r) => (r.errors ?? []).map((e) => e.extensions?.code));
        expect(codes, `subscription ${i}`).toEqual(['FORBIDDEN']);
      }
      const live = lead.subscribe(CHANGED, { plan: planId });
      await makeLive([live], 'leadNorth', lines.SALES_NORTH[10].id);
      expect(lead.closes).toEqual([]);
    });
  });

  describe('garbage', () => {
    it('closes a socket that sends garbage with CloseCode.BadRequest and echoes nothing, while other clients keep working', async () => {
      const bystander = connect(tokens.leadNorth);
      const watching = bystander.subscribe(CHANGED, { plan: planId, unit: 'SALES_NORTH' });
      await makeLive([watching], 'leadNorth', lines.SALES_NORTH[11].id);

      const frames: (string | Buffer)[] = [
        'garbage',
        '{"type":',
        '[]',
        'null',
        '{"type":"bogus"}',
        '{"type":"subscribe"}',
        '{"id":"1","type":"subscribe","payload":"not an object"}',
        Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]),
      ];
      for (const frame of frames) {
        // Before and after a valid connection_init.
        for (const init of [false, true]) {
          const socket = await rawSocket();
          const closed = closeOf(socket);
          if (init) {
            socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.leadNorth}` } }));
            await new Promise<void>((resolve) => socket.once('message', () => resolve()));
          }
          socket.send(frame);
          const { code, messages } = await closed;
          expect(code, `${String(frame).slice(0, 40)} (init: ${init})`).toBe(CloseCode.BadRequest);
          expect(messages.filter((m) => JSON.parse(m).type !== 'connection_ack')).toEqual([]);
        }
      }

      // A second connection_init, and a frame over the size limit, end the socket too.
      const twice = await rawSocket();
      const twiceClosed = closeOf(twice);
      const init = JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.leadNorth}` } });
      twice.send(init);
      twice.send(init);
      expect((await twiceClosed).code).toBe(CloseCode.TooManyInitialisationRequests);
      const big = await rawSocket();
      const bigClosed = closeOf(big);
      big.send('x'.repeat(LIMITS.maxWebSocketMessageBytes + 1));
      expect((await bigClosed).code).toBe(CloseCode.MessageTooBig);

      // The bystander saw none of it and still receives changes.
      const after = await change('leadNorth', lines.SALES_NORTH[12].id, { comment: 'after the garbage' });
      await watching.until(() => watching.lines.some((l) => l.id === after.id));
      expect(watching.lines.map((l) => l.comment)).toEqual(['after the garbage']);
      expect(bystander.closes).toEqual([]);
    });
  });
});
