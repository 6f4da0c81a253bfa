import { once } from 'node:events';
import { buildSchema, type ExecutionResult } from 'graphql';
import { createClient, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, MessageType, parseMessage, stringifyMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';
import { describe, expect, it } from 'vitest';
import { isServerOnlyMessageError, nextMessage, nextMessagePrefix } from './graphqlWsEnvelope.js';

const HINT = "See server/src/internals/graphqlWsEnvelope.ts and this graphql-ws version's protocol (src/common.ts, src/server.ts).";
const schema = buildSchema('type Query { hello: String } type Subscription { tick: String }');
/** An id a client may choose, with what JSON must escape. */
const ODD_ID = 'id "quoted" \\ \u2028 é';

/** A subscription that yields nothing until it is closed: every result comes from the test, as from the fan-out. */
function silentStream(): AsyncIterableIterator<ExecutionResult> {
  let close!: (result: IteratorResult<ExecutionResult>) => void;
  const closed = new Promise<IteratorResult<ExecutionResult>>((resolve) => (close = resolve));
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => closed,
    return: async () => {
      close({ done: true, value: undefined });
      return { done: true, value: undefined };
    },
  };
}

/**
 * graphql-ws's server core as realtime/graphqlWs.ts drives it, on a socket interface the test holds: `handle`
 * takes a client message (resolving once graphql-ws is done with it), `onSend` sees every message sent.
 */
function openedServer(subscribe: () => AsyncIterableIterator<ExecutionResult>, onSend: (data: string) => void = () => undefined): (data: string) => Promise<void> {
  const server = makeServer({ schema, subscribe });
  let handle!: (data: string) => Promise<void>;
  server.opened(
    {
      protocol: GRAPHQL_TRANSPORT_WS_PROTOCOL,
      send: onSend,
      close: () => undefined,
      onMessage: (cb) => (handle = cb),
    },
    {},
  );
  return (data) => handle(data);
}

describe("graphql-ws's next message, written by the fan-out (internals/graphqlWsEnvelope.ts)", () => {
  it('is the message graphql-ws itself would send', () => {
    const payload: ExecutionResult = { data: { tick: 'x' } };
    const ours = nextMessage(nextMessagePrefix(ODD_ID), JSON.stringify(payload));
    expect(parseMessage(ours), `graphql-ws no longer accepts the next message as we write it. ${HINT}`).toEqual(
      parseMessage(stringifyMessage({ id: ODD_ID, type: MessageType.Next, payload })),
    );
    expect(MessageType.Next).toBe('next');
  });

  it('reaches a real graphql-ws client as a result of its subscription', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    let subscribed!: (opened: { socket: WebSocket; id: string }) => void;
    const opened = new Promise<{ socket: WebSocket; id: string }>((resolve) => (subscribed = resolve));
    const disposeServer = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
      {
        schema,
        subscribe: () => silentStream(),
        onSubscribe: (ctx, id) => void subscribed({ socket: ctx.extra.socket, id }),
      },
      wss,
    );
    const { port } = wss.address() as { port: number };
    const client = createClient({ url: `ws://127.0.0.1:${port}`, webSocketImpl: WebSocket, generateID: () => ODD_ID, retryAttempts: 0 });
    try {
      const received = new Promise<unknown>((resolve, reject) => {
        client.subscribe({ query: 'subscription { tick }' }, { next: resolve, error: reject, complete: () => reject(new Error('completed without a result')) });
      });
      const { socket, id } = await opened;
      expect(id).toBe(ODD_ID);
      socket.send(nextMessage(nextMessagePrefix(id), JSON.stringify({ data: { tick: 'from the fan-out' } })));
      expect(await received, `a real graphql-ws client did not take our next message as its subscription's result. ${HINT}`).toEqual({
        data: { tick: 'from the fan-out' },
      });
    } finally {
      await client.dispose();
      await disposeServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

describe("graphql-ws's refusal of a message only servers send (isServerOnlyMessageError)", () => {
  it.each([
    ['next', '{"id":"1","type":"next","payload":{"data":null}}'],
    ['error', '{"id":"1","type":"error","payload":[{"message":"x"}]}'],
    ['connection_ack', '{"type":"connection_ack"}'],
  ])('recognises graphql-ws rejecting a client %s', async (_type, message) => {
    const handle = openedServer(silentStream);
    await handle(stringifyMessage({ type: MessageType.ConnectionInit }));
    const failure = await handle(message).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure, 'graphql-ws no longer rejects a message of a type only servers send').toBeInstanceOf(Error);
    expect(
      isServerOnlyMessageError(failure),
      `graphql-ws's error text changed ("${(failure as Error).message}"): such messages would close with InternalServerError and be logged. ${HINT}`,
    ).toBe(true);
  });
});

describe('what realtime/fanout.ts assumes of graphql-ws: the next result is pulled only once the last one is sent', () => {
  it('sends each result before asking the stream for the next one', async () => {
    const log: string[] = [];
    let step = 0;
    const stream: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        log.push('pull');
        step += 1;
        return step <= 2 ? { done: false, value: { data: { tick: `r${step}` } } } : { done: true, value: undefined };
      },
    };
    const handle = openedServer(
      () => stream,
      (data) => log.push(`send ${parseMessage(data).type}`),
    );
    await handle(stringifyMessage({ type: MessageType.ConnectionInit }));
    log.length = 0; // the connection_ack
    await handle(stringifyMessage({ id: '1', type: MessageType.Subscribe, payload: { query: 'subscription { tick }' } }));
    expect(
      log,
      'graphql-ws now pulls a subscription\'s next result before sending the last one: the fan-out\'s buffered live results (FanoutSubscription.goLive) could overtake a replayed one',
    ).toEqual(['pull', 'send next', 'pull', 'send next', 'pull', 'send complete']);
  });
});
