/**
 * The TCP socket under a ws WebSocket: ws's private `websocket._socket`.
 *
 * Relies on ws 8 (checked on 8.23.0, lib/websocket.js `setSocket`): a server-side WebSocket keeps the
 * `net.Socket` it was upgraded on as `_socket` for its whole life, and an idle sender writes each frame to it
 * synchronously, inside `ws.send`.
 *
 * Why we reach in: fan-out is most of the server's work, and on it the kernel's write per socket is the cost
 * that is left (bench/results.md, "What the profiles show": about 25 us per socket write). Corking every socket
 * while a batch is sent (realtime/fanout.ts: the three events of one transaction) makes one write per socket
 * instead of one per message; with it, 5,000 workflowEvents subscribers get their events at p99 216 ms
 * against 1,068 ms for graphql-ws's own server (bench/results.md, section 5; commit 4c9603c). The grid's
 * pre-framed broadcast writes to the same socket (internals/wsSender.ts).
 *
 * Fallback: when `_socket` is missing or is not a stream that corks, `tcpSocketOf` answers undefined and
 * `corkSocket`/`uncorkSocket` do nothing: one kernel write per message, slower, nothing lost or reordered.
 * wsSocket.test.ts fails, saying what changed, so that a ws upgrade cannot turn this off unnoticed.
 *
 * Out of scope: ws's sender (internals/wsSender.ts) and everything else of ws's internals.
 */
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';

/** What this module needs of ws's `_socket`: a writable stream that can be corked. */
export type TcpSocket = Pick<Writable, 'write' | 'cork' | 'uncork'>;

/** The TCP socket `ws` writes its frames to, or undefined when ws no longer keeps it where this module looks. */
export function tcpSocketOf(ws: WebSocket): TcpSocket | undefined {
  const socket = (ws as unknown as { _socket?: Partial<TcpSocket> | null })._socket;
  if (!socket || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function' || typeof socket.write !== 'function') return undefined;
  return socket as TcpSocket;
}

/** Holds what `ws` sends from now on in its TCP socket's buffer, until `uncorkSocket` (one kernel write for all). */
export function corkSocket(ws: WebSocket): void {
  tcpSocketOf(ws)?.cork();
}

/** Lets what was sent since `corkSocket` go to the kernel. */
export function uncorkSocket(ws: WebSocket): void {
  tcpSocketOf(ws)?.uncork();
}
