/**
 * One real ws connection for the internals tests (internals/ws*.test.ts): a ws server on a free port, a ws client
 * connected to it, and the server side's WebSocket with the `net.Socket` it was upgraded on. Whatever the client
 * receives is collected in order. `close()` tears both ends and the server down.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer, type PerMessageDeflateOptions } from 'ws';

export interface WsPair {
  /** The server side of the connection (what Plansync's grid and GraphQL sockets are). */
  server: WebSocket;
  /** The TCP socket the server side was upgraded on. */
  upgraded: Socket;
  client: WebSocket;
  /** The messages the client received so far, in order. */
  received: Buffer[];
  /** Resolves once the client has received `count` messages in all. */
  receivedCount(count: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

/** Opens a connection; `perMessageDeflate` is negotiated on both ends when given. */
export async function openWsPair(perMessageDeflate?: PerMessageDeflateOptions): Promise<WsPair> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: perMessageDeflate ?? false });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket, { socket: Socket }]>;
  const { port } = wss.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: perMessageDeflate ?? false });
  const received: Buffer[] = [];
  const waiters: { count: number; resolve: (messages: Buffer[]) => void }[] = [];
  client.on('message', (data: Buffer) => {
    received.push(Buffer.from(data));
    for (const waiter of waiters.filter((w) => received.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(received.slice());
    }
  });
  const [[server, request]] = await Promise.all([accepted, once(client, 'open')]);
  return {
    server,
    upgraded: request.socket,
    client,
    received,
    receivedCount(count) {
      if (received.length >= count) return Promise.resolve(received.slice());
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async close() {
      const closed = client.readyState === WebSocket.CLOSED ? Promise.resolve() : once(client, 'close');
      client.close();
      await closed;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
