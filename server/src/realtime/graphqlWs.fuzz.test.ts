/**
 * GraphQL over websockets, fuzzed (issue 11): raw `ws` sockets send random graphql-transport-ws frames
 * (connection_init with any params, messages before init, subscribes with schema-built, mutated and hostile
 * documents and variables, duplicate, long and odd ids, completes, pings, unknown types, invalid JSON, binary
 * frames, frames over the size limit), with any subprotocol, as nobody and as each demo role, against one real
 * server and PostgreSQL.
 *
 * Each socket must get protocol answers only (ack, pong, next, error, complete for ids it sent; errors with
 * contract codes) or be closed with one of graphql-ws's codes (or ws's own for a bad frame), never with an
 * internal error and never left hanging. Mutations it ran change no row its role may not write. Meanwhile a
 * stock graphql-ws client of another person keeps hearing the edits of a third; memory stays bounded.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createClient, type Client } from 'graphql-ws';
import type { GraphQLSchema } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMemoryBounded, graphqlErrorProblems, memoryNow, REFUSAL_CLOSE_CODES } from '../testing/fuzzChecks.js';
import { FUZZ_SCALE, fuzzParams } from '../testing/fuzzBudget.js';
import { FUZZ_ROLE_NAMES, FUZZ_ROLES, expectNothingInvalidStored, expectNothingProtectedChanged, loadWorld, signInFresh, stillSignedIn, type FuzzRole } from '../testing/fuzzWorld.js';
import { anyOperation, contractSchema, hostileStrings, hostileValue, schemaOperation, type FuzzWorld } from '../testing/graphqlArbitraries.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { CloseCode } from '../../../schema/codes.js';

/** Stands for "Bearer <the run's token>" in generated messages; swapped in when the frame is sent. */
const ROLE_AUTH = '\u0001role-token';

type Frame = { binary: boolean; data: string | Uint8Array };

/**
 * Close codes a fuzzed socket may get: the refusals every fuzzer allows (a normal close echoing ours
 * included), plus graphql-ws's for a duplicate subscription id, and UnsupportedData (allowed here since the
 * first version of this fuzzer, though neither ws nor graphql-ws sends it today).
 */
const ALLOWED_CLOSE_CODES = new Set<number>([...REFUSAL_CLOSE_CODES, CloseCode.UnsupportedData, CloseCode.SubscriberAlreadyExists]);
const SERVER_MESSAGE_TYPES = new Set(['connection_ack', 'ping', 'pong', 'next', 'error', 'complete']);

function frameArbitrary(schema: GraphQLSchema, world: FuzzWorld): fc.Arbitrary<Frame> {
  const id = fc.oneof(
    { arbitrary: fc.constantFrom('1', '2', '3'), weight: 6 },
    { arbitrary: fc.uuid(), weight: 2 },
    { arbitrary: fc.constantFrom('', 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(5000), '__proto__', 'constructor', 'toString', '\u0000', '🧨'), weight: 2 },
    { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
    { arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant({})), weight: 1 },
  );
  const operation = fc.oneof(
    { arbitrary: schemaOperation(schema, world, ['subscription']), weight: 3 },
    { arbitrary: anyOperation(schema, world), weight: 3 },
  );
  const message = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constant('connection_init'),
        payload: fc.oneof(
          { arbitrary: fc.constant({ authorization: ROLE_AUTH }), weight: 4 },
          { arbitrary: fc.constant({ Authorization: ROLE_AUTH }), weight: 1 },
          { arbitrary: hostileStrings.map((s) => ({ authorization: s })), weight: 1 },
          { arbitrary: hostileStrings.map((s) => ({ authorization: `Bearer ${s}` })), weight: 1 },
          { arbitrary: hostileValue(world), weight: 2 },
        ),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        type: fc.constant('subscribe'),
        id,
        payload: fc.oneof({ arbitrary: operation, weight: 8 }, { arbitrary: hostileValue(world), weight: 1 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('complete'), id }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('ping', 'pong'), payload: fc.oneof(fc.constant(undefined), hostileValue(world)) }) },
    {
      weight: 1,
      arbitrary: fc.record({ type: fc.oneof(fc.constantFrom('connection_ack', 'next', 'error', 'start', 'stop', 'connection_terminate', 'ka', ''), fc.string()), id, payload: hostileValue(world) }),
    },
    { weight: 1, arbitrary: hostileValue(world).map((payload) => ({ payload })) },
  );
  return fc.oneof(
    { weight: 12, arbitrary: message.map((m) => ({ binary: false, data: JSON.stringify(m) })) },
    { weight: 1, arbitrary: message.map((m) => ({ binary: true, data: Buffer.from(JSON.stringify(m)) })) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('null', '[]', '"x"', '1', '{', '{"type":', '\u0000', '\ud800')).map((data) => ({ binary: false, data })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((data) => ({ binary: true, data })) },
    // Over the server's 100 KB frame limit, and just under it with a subscription's variables far over theirs.
    { weight: 1, arbitrary: fc.constant({ binary: false, data: JSON.stringify({ type: 'ping', payload: 'x'.repeat(110_000) }) }) },
    {
      weight: 1,
      arbitrary: fc.constant({
        binary: false,
        data: JSON.stringify({ type: 'subscribe', id: '9', payload: { query: 'subscription($p: ID!) { budgetLineChanged(planId: $p) { id } }', variables: { p: world.planIds[0], pad: 'x'.repeat(90_000) } } }),
      }),
    },
  );
}

interface SocketOutcome {
  messages: string[];
  /** The close code, when the server closed the socket before we did. */
  serverClose?: { code: number; reason: string };
  /** ws's client gave up on a 101 without the subprotocol it asked for. */
  clientRefusedSubprotocol?: boolean;
  /** What went wrong with the server's side of the protocol (empty when nothing). */
  problems: string[];
}

/** The property's time limit grows with its budget (npm run fuzz runs it FUZZ_SCALE times longer). */
const FUZZ_TIMEOUT = 120_000 * FUZZ_SCALE;

describe('GraphQL over websockets, fuzzed', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  let world: FuzzWorld;
  let wsUrl: string;
  const tokens: Partial<Record<FuzzRole, string>> = {};
  let memoryBefore: ReturnType<typeof memoryNow>;
  const closeCodes = new Map<number, number>();
  // The bystanders: someone following a unit with the stock client, and a colleague editing it.
  const FOLLOWER = 'lead.sales-south@example.com';
  const EDITOR = 'planner.sales-south@example.com';
  let follower: Client;
  let editorToken: string;
  let southLine: string;
  const heard: string[] = [];
  let edits = 0;

  async function signIn(role: FuzzRole): Promise<void> {
    const email = FUZZ_ROLES[role];
    if (email) tokens[role] = await signInFresh(server, email);
  }

  /** Opens a raw socket, sends `frames` (then a ping), and collects what comes back until the pong or a close. */
  function runSocket(role: FuzzRole, protocols: string[], frames: Frame[], options: { waitForAck?: boolean; until?: (messages: string[]) => boolean } = {}): Promise<SocketOutcome> {
    return new Promise((resolve) => {
      const socket = new WebSocket(wsUrl, protocols);
      const outcome: SocketOutcome = { messages: [], problems: [] };
      const sentIds = new Set<string>();
      let acknowledged = false;
      let probing = false;
      let probeAnswered = false;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      // A liveness bound, far above any real answer time: a socket neither answered nor closed by then hangs.
      const timer = setTimeout(() => {
        outcome.problems.push('neither answered the final ping nor closed within 20 s');
        socket.terminate();
        finish();
      }, 20_000);
      let closedNow: () => void = () => undefined;
      const closed = new Promise<void>((resolve) => (closedNow = resolve));
      let ackSeen: () => void = () => undefined;
      const ack = new Promise<void>((resolve) => (ackSeen = resolve));
      socket.on('open', async () => {
        for (const frame of frames) {
          if (done) return;
          let data = frame.data;
          if (typeof data === 'string') data = data.replaceAll(JSON.stringify(ROLE_AUTH), JSON.stringify(`Bearer ${tokens[role] ?? 'none'}`));
          try {
            // Binary frames are read as UTF-8 text by the server: their ids count as well.
            const parsed = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
            if (parsed?.type === 'subscribe' && typeof parsed.id === 'string') sentIds.add(parsed.id);
          } catch {
            // Not JSON: sent as it is.
          }
          socket.send(data, { binary: frame.binary }, () => undefined);
          // As a real client does, wait for the server to acknowledge a connection_init before going on (the
          // token check is asynchronous; anything sent before the ack is refused with CloseCode.Unauthorized).
          if (options.waitForAck && typeof data === 'string' && data.includes('"connection_init"')) await Promise.race([ack, closed]);
        }
        if (done) return;
        probing = true;
        socket.send(JSON.stringify({ type: 'ping', payload: { probe: true } }), () => undefined);
      });
      socket.on('message', (data, isBinary) => {
        const text = String(data);
        outcome.messages.push(text);
        if (isBinary) outcome.problems.push(`a binary message: ${text.slice(0, 200)}`);
        let message: { type?: string; id?: unknown; payload?: { errors?: unknown; probe?: boolean } | unknown[] };
        try {
          message = JSON.parse(text);
        } catch {
          outcome.problems.push(`a message that is not JSON: ${text.slice(0, 200)}`);
          return;
        }
        if (!SERVER_MESSAGE_TYPES.has(String(message.type))) outcome.problems.push(`an unknown message type: ${text.slice(0, 200)}`);
        if (message.type === 'connection_ack') {
          acknowledged = true;
          ackSeen();
        }
        if (['next', 'error', 'complete'].includes(String(message.type))) {
          if (!acknowledged) outcome.problems.push(`${message.type} before connection_ack: ${text.slice(0, 200)}`);
          if (typeof message.id !== 'string' || !sentIds.has(message.id)) outcome.problems.push(`${message.type} for an id never subscribed: ${text.slice(0, 200)}`);
        }
        if (message.type === 'error') outcome.problems.push(...graphqlErrorProblems(message.payload, true));
        if (message.type === 'next') outcome.problems.push(...graphqlErrorProblems((message.payload as { errors?: unknown })?.errors, true));
        if (message.type === 'pong' && probing && (message.payload as { probe?: boolean })?.probe) probeAnswered = true;
        // Answers to operations are asynchronous and may come after the pong: `until` says what to wait for.
        if (probeAnswered && (!options.until || options.until(outcome.messages))) socket.close(CloseCode.NormalClosure);
      });
      socket.on('close', (code, reason) => {
        closedNow();
        if (!outcome.serverClose && code !== CloseCode.NormalClosure) outcome.serverClose = { code, reason: String(reason) };
        finish();
      });
      socket.on('unexpected-response', (_req, res) => {
        outcome.problems.push(`the upgrade was answered ${res.statusCode}`);
        finish();
      });
      socket.on('error', (err) => {
        // ws's client refuses a 101 that picked none of the subprotocols it asked for (and closes with
        // CloseCode.AbnormalClosure): the server answered, with CloseCode.SubprotocolNotAcceptable to follow;
        // nothing to check beyond that.
        if (/subprotocol/i.test(err.message)) outcome.clientRefusedSubprotocol = true;
      });
    });
  }

  /** The follower's stock client hears an edit the editor makes now (edits again until one arrives). */
  async function followerStillServed(after: string): Promise<void> {
    const base = `still followed after fuzz run #${++edits}`;
    // Each try writes a new comment: the same one again changes nothing, so nothing would be published, and a
    // first try made before the subscription was live (at the start) would never be heard.
    const sent: string[] = [];
    await eventually(
      async () => {
        if (sent.some((c) => heard.includes(c))) return true;
        const comment = sent.length === 0 ? base : `${base} (try ${sent.length + 1})`;
        sent.push(comment);
        const res = await server.gql('mutation($id: ID!, $c: String) { updateBudgetLine(id: $id, input: { comment: $c }) { version } }', { id: southLine, c: comment }, editorToken);
        expect(res.errors, after).toBeUndefined();
        return heard.includes(comment);
      },
      `the follower to hear "${base}" after ${after}`,
      // A liveness bound for a loaded machine, not a measure.
      30_000,
    );
  }

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5' });
    wsUrl = server.url.replace(/^http/, 'ws') + '/graphql';
    schema = contractSchema();
    world = await loadWorld(server, [FOLLOWER, EDITOR]);
    for (const role of FUZZ_ROLE_NAMES) await signIn(role);
    editorToken = await signInFresh(server, EDITOR);
    const followerToken = await signInFresh(server, FOLLOWER);
    southLine = (await server.sql(`SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_SOUTH' LIMIT 1`))[0].id;
    follower = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${followerToken}` }, retryAttempts: 0 });
    follower.subscribe<{ budgetLineChanged: { comment: string } }>(
      { query: 'subscription($p: ID!) { budgetLineChanged(planId: $p, businessUnitCode: "SALES_SOUTH") { id comment } }', variables: { p: world.planIds[0] } },
      { next: (r) => r.data && heard.push(r.data.budgetLineChanged.comment), error: () => undefined, complete: () => undefined },
    );
    await followerStillServed('start');
    memoryBefore = memoryNow();
  });
  afterAll(async () => {
    if (process.env.FUZZ_REPORT) console.log(`graphql-ws fuzz: close codes ${JSON.stringify([...closeCodes].sort())}`);
    await follower?.dispose();
    await server?.stop();
  });

  it('answers per protocol or closes with a graphql-ws code, whatever a socket sends, and keeps serving someone else', async () => {
    const protocols = fc.oneof(
      { arbitrary: fc.constant<string[]>(['graphql-transport-ws']), weight: 12 },
      { arbitrary: fc.constantFrom<string[]>([], ['graphql-ws'], ['graphql-transport-ws', 'graphql-ws'], ['nope']), weight: 1 },
    );
    const script = fc.record({ protocol: protocols, frames: fc.array(frameArbitrary(schema, world), { minLength: 1, maxLength: 6 }), waitForAck: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FUZZ_ROLE_NAMES), fc.array(script, { minLength: 1, maxLength: 2 }), async (role, scripts) => {
        let outcomes: SocketOutcome[] = [];
        const what = () =>
          scripts
            .map(({ protocol, frames, waitForAck }) => `${role} ${JSON.stringify(protocol)}${waitForAck ? ' (waiting for the ack)' : ''} sent ${JSON.stringify(frames.map((f) => (typeof f.data === 'string' ? f.data.slice(0, 300) : `<binary ${Buffer.from(f.data).toString('hex').slice(0, 80)}>`)))}`)
            .join('\n  and at once ');
        await expectNothingProtectedChanged(
          server,
          role,
          async () => {
            // One socket, or two of one person at once (a second tab racing the first).
            outcomes = await Promise.all(scripts.map(({ protocol, frames, waitForAck }) => runSocket(role, protocol, frames, { waitForAck })));
          },
          what,
        );
        await expectNothingInvalidStored(server, what);
        for (const outcome of outcomes) {
          const close = outcome.serverClose;
          if (close) closeCodes.set(close.code, (closeCodes.get(close.code) ?? 0) + 1);
          expect(outcome.problems, `${what()}\n<- ${outcome.messages.map((m) => m.slice(0, 300)).join('\n<- ')}`).toEqual([]);
          if (close && !outcome.clientRefusedSubprotocol) expect(ALLOWED_CLOSE_CODES.has(close.code), `closed ${close.code} ${close.reason} after ${what()}`).toBe(true);
        }
        await followerStillServed(what());
        // A fuzzed signOut ends the token it ran with: sign in again so later runs still act as that role.
        if (role !== 'anonymous' && !(await stillSignedIn(server, tokens[role]!))) await signIn(role);
      }),
      { ...fuzzParams(15), endOnFailure: true },
    );
  }, FUZZ_TIMEOUT);

  it('refuses 25 sockets of one person past the cap, and a flood of subscriptions on one socket, and keeps serving', async () => {
    // Many sockets at once, each with the largest number of subscriptions allowed and long ids: bounded by
    // the caps (sockets per person, operations per socket, id length), not by the person's patience.
    const sockets = Array.from({ length: 25 }, () =>
      runSocket(
        'viewer',
        ['graphql-transport-ws'],
        [
          { binary: false, data: JSON.stringify({ type: 'connection_init', payload: { authorization: ROLE_AUTH } }) },
          ...Array.from({ length: 60 }, (_, i) => ({
            binary: false,
            data: JSON.stringify({ type: 'subscribe', id: `${randomUUID()}${'i'.repeat(90)}${i}`, payload: { query: 'subscription { workflowEvents { cursor } }' } }),
          })),
        ],
        { waitForAck: true },
      ),
    );
    for (const outcome of await Promise.all(sockets)) {
      expect(outcome.problems).toEqual([]);
      if (outcome.serverClose) expect(ALLOWED_CLOSE_CODES.has(outcome.serverClose.code), JSON.stringify(outcome.serverClose)).toBe(true);
    }
    await followerStillServed('25 sockets of 60 subscriptions');
  });

  // Found while fuzzing: JSON.stringify of deeply nested subscription variables (or of a ping's payload, echoed
  // in the pong) overflowed the stack, and the socket was closed with CloseCode.InternalServerError.
  it('closes a socket whose message nests thousands of levels deep with BadRequest, not InternalServerError', async () => {
    const deep = `${'['.repeat(15000)}1${']'.repeat(15000)}`;
    const planId = world.planIds[0];
    const messages = [
      `{"type":"subscribe","id":"1","payload":{"query":"subscription($p: ID!) { budgetLineChanged(planId: $p) { id } }","variables":{"p":"${planId}","q":${deep}}}}`,
      `{"type":"subscribe","id":"1","payload":{"query":"{ me { id } }","variables":{"q":${deep}}}}`,
      `{"type":"ping","payload":${deep}}`,
    ];
    for (const message of messages) {
      const outcome = await runSocket('viewer', ['graphql-transport-ws'], [{ binary: false, data: JSON.stringify({ type: 'connection_init', payload: { authorization: ROLE_AUTH } }) }, { binary: false, data: message }], { waitForAck: true });
      expect(outcome.problems).toEqual([]);
      expect(outcome.serverClose?.code, message.slice(0, 80)).toBe(CloseCode.BadRequest);
    }
    await followerStillServed('deeply nested messages');
  });

  // Found by this fuzzer: graphql-ws throws on a well-formed message of a server's type, and the socket was
  // closed with CloseCode.InternalServerError (an internal error, logged at error level) from one
  // unauthenticated message.
  it('closes a socket that sends a message of a server type (next, error, connection_ack) with BadRequest, not InternalServerError', async () => {
    const messages = [
      { type: 'next', id: '1', payload: { data: null } },
      { type: 'error', id: '1', payload: [{ message: 'x' }] },
      { type: 'connection_ack' },
    ];
    for (const role of ['anonymous', 'viewer'] as const) {
      for (const message of messages) {
        const frames = [
          ...(role === 'viewer' ? [{ binary: false, data: JSON.stringify({ type: 'connection_init', payload: { authorization: ROLE_AUTH } }) }] : []),
          { binary: false, data: JSON.stringify(message) },
        ];
        const outcome = await runSocket(role, ['graphql-transport-ws'], frames, { waitForAck: true });
        expect(outcome.problems).toEqual([]);
        expect(outcome.serverClose?.code, `${role} sent ${message.type}`).toBe(CloseCode.BadRequest);
      }
    }
    await followerStillServed('messages of server types');
  });

  // Found by this fuzzer: graphql-js's SingleFieldSubscriptionsRule throws out of validate() for @include/@skip
  // it cannot evaluate on a subscription's root field, and the socket (every subscription on it) was closed
  // with CloseCode.InternalServerError.
  it('answers a subscription with @include or @skip it cannot evaluate on its root field with an error, and keeps the socket', async () => {
    const documents = [
      'subscription($x: Boolean!) { workflowEvents @include(if: $x) { cursor } }',
      'subscription { workflowEvents @include { cursor } }',
      'subscription { workflowEvents @skip(if: "no") { cursor } }',
      'subscription S($x: Boolean = true) { ...F } fragment F on Subscription { workflowEvents @skip(if: $x) { cursor } }',
    ];
    const outcome = await runSocket('admin', ['graphql-transport-ws'], [
      { binary: false, data: JSON.stringify({ type: 'connection_init', payload: { authorization: ROLE_AUTH } }) },
      ...documents.map((query, i) => ({ binary: false, data: JSON.stringify({ type: 'subscribe', id: `d${i}`, payload: { query, variables: { x: true } } }) })),
      { binary: false, data: JSON.stringify({ type: 'subscribe', id: 'fine', payload: { query: '{ me { email } }' } }) },
    ], { waitForAck: true, until: (messages) => messages.filter((m) => /"id":"(d\d|fine)"/.test(m)).length >= documents.length + 2 });
    expect(outcome.problems).toEqual([]);
    expect(outcome.serverClose).toBeUndefined();
    const messages = outcome.messages.map((m) => JSON.parse(m));
    for (let i = 0; i < documents.length; i++) {
      const error = messages.find((m) => m.id === `d${i}`);
      expect(error?.type, documents[i]).toBe('error');
      expect(error.payload.map((e: { extensions: { code: string } }) => e.extensions.code), documents[i]).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    }
    expect(messages.find((m) => m.id === 'fine' && m.type === 'next')?.payload.data.me.email).toBe('admin@example.com');
  });

  it('kept its memory bounded', () => {
    expectMemoryBounded(memoryBefore, 'graphql-ws fuzz');
  });
});
