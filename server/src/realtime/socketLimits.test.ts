/**
 * What one person can make the server hold and send over websockets, as attacks on a real server with the
 * default settings: many sockets (grid and GraphQL together, capped per person: CloseCode.TooManySockets),
 * long subscription ids (CloseCode.BadRequest), big subscription variables (BAD_USER_INPUT), and the cost limit
 * with `first: $n` from the variables (GRAPHQL_VALIDATION_FAILED, as over HTTP). The flood at the caps prints
 * the server's memory before and after (figures for the notes, never a threshold).
 *
 * It prevents: 20 sockets x 50 subscriptions with long ids costing +200 MB, one edit then sending 90 MB to that
 * person, and `first: $n` escaping the cost limit over graphql-ws.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../graphql/limits.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { eventually } from '../testing/gridClients.js';
import { CloseCode } from '../../../schema/codes.js';

/** The default MAX_SOCKETS_PER_PERSON: this file runs the defaults. */
const CAP = 20;

interface Message {
  type: string;
  id?: string;
  payload?: any;
}

/** A raw graphql-transport-ws socket: every message kept, bytes received counted, the close code remembered. */
class RawGraphQLSocket {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  bytes = 0;
  closed?: { code: number; reason: string };
  private waiters: (() => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
    this.ws.on('message', (data: Buffer) => {
      this.bytes += data.length;
      this.messages.push(JSON.parse(String(data)));
      this.notify();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.notify();
    });
    this.ws.on('error', () => undefined);
  }

  private notify() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the first message (past or future) that matches, or the close, whichever comes first. */
  async until(match: (m: Message) => boolean): Promise<Message | { closed: { code: number; reason: string } }> {
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.closed) return { closed: this.closed };
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async open(token: string) {
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    return this.until((m) => m.type === 'connection_ack');
  }

  send(message: Message) {
    this.ws.send(JSON.stringify(message));
  }

  subscribe(id: string, query: string, variables: Record<string, unknown>) {
    this.send({ id, type: 'subscribe', payload: { query, variables } });
  }

  close() {
    this.ws.close();
  }
}

/** A raw grid socket; resolves once the server has sent something (admitted: its sync step 1) or closed it. */
function gridSocket(url: string, docName: string, token: string): Promise<{ ws: WebSocket; closed?: number }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/yjs/${encodeURIComponent(docName)}?token=${token}`);
  ws.on('error', () => undefined);
  return new Promise((resolve) => {
    ws.once('message', () => resolve({ ws }));
    ws.once('close', (code) => resolve({ ws, closed: code }));
  });
}

const CHANGED = `subscription($plan: ID!, $unit: String) {
  budgetLineChanged(planId: $plan, businessUnitCode: $unit) { id comment version }
}`;
const UPDATE = 'mutation($id: ID!, $c: String) { updateBudgetLine(id: $id, input: { comment: $c }) { version } }';

describe('websocket limits per person', () => {
  let server: TestServer;
  let lead: string;
  let leadId: string;
  let other: string;
  let planId: string;
  let lineId: string;
  let docName: string;
  const opened: { close(): void }[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    [lead, other] = await Promise.all([server.login('lead.sales-north@example.com'), server.login('planner.sales-north@example.com')]);
    planId = (await server.gql('{ budgetPlans { id } }', {}, lead)).data.budgetPlans[0].id;
    lineId = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, lead)).data.budgetLines[0].id;
    docName = `budget:${planId}:SALES_NORTH`;
    leadId = (await server.gql('{ me { id } }', {}, lead)).data.me.id;
  });

  /** Closes these sockets and waits until the server no longer counts any of the lead's. */
  async function closeAll(sockets: { close(): void }[]) {
    for (const socket of sockets) socket.close();
    await eventually(() => server.app.services.sockets.count(leadId) === 0, "the lead's sockets to be closed");
  }
  afterAll(async () => {
    for (const socket of opened) socket.close();
    await server?.stop();
  });

  it(`closes a person's socket beyond ${CAP} (grid and GraphQL together) with CloseCode.TooManySockets, and nobody else's`, async () => {
    const mine: { close(): void }[] = [];
    for (let i = 0; i < CAP / 2; i++) {
      const g = new RawGraphQLSocket(server.url);
      mine.push(g);
      expect(await g.open(lead)).toMatchObject({ type: 'connection_ack' });
      const grid = await gridSocket(server.url, docName, lead);
      mine.push(grid.ws);
      expect(grid.closed).toBeUndefined();
    }
    opened.push(...mine);

    // One more of either kind is refused with CloseCode.TooManySockets.
    const extraGrid = await gridSocket(server.url, docName, lead);
    expect(extraGrid.closed).toBe(CloseCode.TooManySockets);
    const extraGraphQL = new RawGraphQLSocket(server.url);
    expect(await extraGraphQL.open(lead)).toMatchObject({ closed: { code: CloseCode.TooManySockets } });

    // Another person is not affected.
    const theirs = new RawGraphQLSocket(server.url);
    opened.push(theirs);
    expect(await theirs.open(other)).toMatchObject({ type: 'connection_ack' });
    const theirGrid = await gridSocket(server.url, docName, other);
    opened.push(theirGrid.ws);
    expect(theirGrid.closed).toBeUndefined();

    // A socket closed gives its place back.
    mine[0].close();
    await eventually(async () => {
      const again = await gridSocket(server.url, docName, lead);
      if (again.closed) return false;
      mine.push(again.ws);
      return true;
    }, 'a place freed by a closed socket');
    await closeAll(mine);
  });

  it('costs `first: $n` from the variables over graphql-ws too', async () => {
    const socket = new RawGraphQLSocket(server.url);
    opened.push(socket);
    await socket.open(lead);
    const costly = `query($n: Int) { auditLog(first: $n) { edges { cursor node { id column oldValue newValue source at
      line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
      user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor } } }`;
    socket.subscribe('costly', costly, { n: 500 });
    const refused = await socket.until((m) => m.id === 'costly');
    expect(refused).toMatchObject({ type: 'error' });
    expect((refused as Message).payload.map((e: any) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((refused as Message).payload[0].message).toMatch(/cost/i);
    socket.subscribe('small', costly, { n: 2 });
    expect(await socket.until((m) => m.id === 'small')).toMatchObject({ type: 'next' });
    expect(socket.closed).toBeUndefined();
    await closeAll([socket]);
  });

  it('refuses big subscription variables (BAD_USER_INPUT) and closes a socket that sends a long id (CloseCode.BadRequest)', async () => {
    const socket = new RawGraphQLSocket(server.url);
    opened.push(socket);
    await socket.open(lead);
    socket.subscribe('padded', CHANGED, { plan: planId, unit: 'SALES_NORTH', padding: 'x'.repeat(LIMITS.maxSubscriptionVariablesBytes) });
    const padded = await socket.until((m) => m.id === 'padded');
    expect(padded).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'BAD_USER_INPUT' } }] });

    socket.subscribe('x'.repeat(LIMITS.maxOperationIdLength + 1), CHANGED, { plan: planId });
    expect(await socket.until(() => false)).toEqual({ closed: { code: CloseCode.BadRequest, reason: expect.stringMatching(/id/) } });
    await closeAll([socket]);
  });

  it(`bounds a flood of ${CAP} sockets x ${LIMITS.maxSubscriptionsPerSocket} subscriptions with the longest ids and variables`, async () => {
    const longId = () => randomUUID().padEnd(LIMITS.maxOperationIdLength, 'x');
    const padding = 'p'.repeat(LIMITS.maxSubscriptionVariablesBytes - 200);
    global.gc?.();
    const before = process.memoryUsage();
    const flood: RawGraphQLSocket[] = [];
    for (let i = 0; i < CAP; i++) {
      const socket = new RawGraphQLSocket(server.url);
      flood.push(socket);
      opened.push(socket);
      await socket.open(lead);
      // Each subscription its own group (distinct variables), as an attacker would make them.
      for (let j = 0; j < LIMITS.maxSubscriptionsPerSocket; j++) socket.subscribe(longId(), CHANGED, { plan: planId, unit: 'SALES_NORTH', padding: `${i}/${j}/${padding}` });
      // The socket over the cap: CloseCode.TooManySockets.
    }
    const beyond = new RawGraphQLSocket(server.url);
    expect(await beyond.open(lead)).toMatchObject({ closed: { code: CloseCode.TooManySockets } });
    // Subscriptions have no acknowledgement: edit until every one of them has heard an edit.
    let edits = 0;
    await eventually(
      async () => {
        await server.gql(UPDATE, { id: lineId, c: `flood ${++edits}` }, other);
        return flood.every((s) => new Set(s.messages.filter((m) => m.type === 'next').map((m) => m.id)).size === LIMITS.maxSubscriptionsPerSocket);
      },
      'every subscription to be live',
      30_000,
    );
    // A subscription that heard an earlier edit may still have the last one on its way: wait for it everywhere
    // (events come in order), so that the bytes counted below are the measured edit's alone.
    const lastEdit = `flood ${edits}`;
    await eventually(
      () => flood.every((s) => s.messages.filter((m) => m.payload?.data?.budgetLineChanged?.comment === lastEdit).length === LIMITS.maxSubscriptionsPerSocket),
      'the last priming edit everywhere',
      30_000,
    );
    global.gc?.();
    const during = process.memoryUsage();
    // One more edit: what it sends to this person, all sockets together.
    const bytesBefore = flood.reduce((n, s) => n + s.bytes, 0);
    const marker = `measured ${randomUUID()}`;
    await server.gql(UPDATE, { id: lineId, c: marker }, other);
    await eventually(() => flood.every((s) => s.messages.filter((m) => m.payload?.data?.budgetLineChanged?.comment === marker).length === LIMITS.maxSubscriptionsPerSocket), 'the measured edit everywhere', 30_000);
    const sentForOneEdit = flood.reduce((n, s) => n + s.bytes, 0) - bytesBefore;
    for (const socket of flood) expect(socket.closed).toBeUndefined();
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `[socket flood] ${CAP} sockets x ${LIMITS.maxSubscriptionsPerSocket} subscriptions (ids ${LIMITS.maxOperationIdLength} chars, variables ~${LIMITS.maxSubscriptionVariablesBytes} B): ` +
        `rss ${mb(before.rss)} -> ${mb(during.rss)}, heap ${mb(before.heapUsed)} -> ${mb(during.heapUsed)} (test clients in the same process); ` +
        `one edit sent ${mb(sentForOneEdit)} to that person`,
    );
    await closeAll(flood);
  });
});
