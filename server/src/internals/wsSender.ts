/**
 * Writing a pre-framed websocket message straight to a socket, past ws's sender: ws's private
 * `websocket._sender`, its `_state` and its `_queue`.
 *
 * Relies on ws 8 (checked on 8.23.0, lib/sender.js): a Sender whose `_state` is 0 (`DEFAULT`: not
 * compressing, not reading a Blob) and whose `_queue` is empty frames a message and writes it to the TCP socket
 * at once, inside `ws.send`. So while that holds, writing the same bytes to the TCP socket ourselves
 * (internals/wsSocket.ts) keeps the order of everything sent on the socket; when it does not hold, ws holds
 * messages back, and so must we. ws counts what we wrote in `bufferedAmount` (it reads the socket's buffer), so
 * backpressure still sees it.
 *
 * Why we reach in: a grid broadcast goes to every connection of a document. Through `ws.send` each receiver costs
 * its own framing, options object and `writev`; here the message is framed once (collab/protocol.ts
 * `websocketFrame`) and the same bytes are written to every socket, about 1 us of JavaScript per receiver
 * (bench/results.md, "What the profiles show", grid fan-out; commit 8170609), and to the socket's TCP handle
 * when it holds nothing, past Node's stream functions too (internals/socketWrite.ts).
 *
 * Fallback: when ws's internals are not as described, `writeFrameDirect` answers false (and `directFrameWriter`, which tests use to check, undefined) and the caller
 * sends through `ws.send`: the same bytes on the wire, only slower. When the sender is busy, the writer answers
 * false and the caller does the same for that message. wsSender.test.ts fails, saying what changed, so that a
 * ws upgrade cannot turn this off (or break the order of messages) unnoticed.
 *
 * GraphQL's live results take the same path (realtime/fanout.ts): each socket's messages of a batch framed into
 * one buffer (`websocketTextFramesOfParts`: each result encoded once, its bytes copied behind each subscriber's
 * prefix) and written with one call.
 *
 * Out of scope: building binary frames (collab/protocol.ts), compression (neither grid nor GraphQL sockets
 * compress: the servers are made without permessage-deflate).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { lastWriteLeftBytes, queuedBytes, writeToSocket } from './socketWrite.js';
import { tcpSocketOf } from './wsSocket.js';

/** ws's Sender `_state` when nothing is being compressed or read from a Blob (lib/sender.js `DEFAULT`). */
const SENDER_IDLE = 0;

interface SenderInternals {
  _state: unknown;
  _queue: unknown[];
}

/**
 * Writes one complete websocket frame to the socket and answers true, when ws would itself write at once (its
 * sender idle, nothing queued); answers false, writing nothing, otherwise: send that message through ws.
 */
export type FrameWriter = (framed: Buffer) => boolean;

/**
 * Writes one complete websocket frame to `ws`'s TCP socket when ws would itself write at once (its sender idle,
 * nothing queued), and answers true; answers false, writing nothing, otherwise (or when ws's internals are not
 * as described): send that message through `ws.send`. A plain function rather than a writer made per socket:
 * a grid server holds thousands of idle sockets, and a closure each is memory they pay for nothing.
 */
export function writeFrameDirect(ws: WebSocket, framed: Buffer): boolean {
  const sender = (ws as unknown as { _sender?: Partial<SenderInternals> | null })._sender;
  if (!sender || sender._state !== SENDER_IDLE || !Array.isArray(sender._queue) || sender._queue.length !== 0) return false;
  // ws's `_socket` as is: writeToSocket checks what it uses of it (its handle and Writable state) and otherwise
  // calls its `write`, which every net.Socket has; tcpSocketOf's checks of three methods, on every write of a
  // broadcast, would cost what this path saves (wsSender.test.ts checks that `_socket` is still there).
  const socket = (ws as unknown as { _socket?: Socket | null })._socket;
  if (!socket) return false;
  // To the TCP handle when the socket holds nothing, past Node's stream functions (internals/socketWrite.ts).
  writeToSocket(socket, framed);
  return true;
}

/**
 * Whether the last message `writeFrameDirect` wrote left bytes waiting to be sent (else the kernel took it all
 * and nothing waits in the handle: backpressure need not look). Only right after a `writeFrameDirect` that
 * answered true.
 */
export function directWriteLeftBytes(): boolean {
  return lastWriteLeftBytes();
}

/**
 * What is sent on `ws` and not yet taken by the kernel: ws's `bufferedAmount` (its sender's queue and the TCP
 * socket's Writable) and what `writeFrameDirect` left in the socket's handle (internals/socketWrite.ts), which
 * the Writable does not count. What backpressure reads.
 */
export function unsentBytes(ws: WebSocket): number {
  const socket = (ws as unknown as { _socket?: Socket | null })._socket;
  return ws.bufferedAmount + (socket ? queuedBytes(socket) : 0);
}

/** `writeFrameDirect` bound to one socket; undefined when ws's internals are not as described (see the header). */
export function directFrameWriter(ws: WebSocket): FrameWriter | undefined {
  const socket = tcpSocketOf(ws);
  const sender = (ws as unknown as { _sender?: Partial<SenderInternals> | null })._sender;
  if (!socket || !sender || sender._state !== SENDER_IDLE || !Array.isArray(sender._queue)) return undefined;
  return (framed) => writeFrameDirect(ws, framed);
}

/**
 * Text messages as server-to-client websocket frames (RFC 6455: FIN, opcode 1, unmasked, no extension), one
 * after the other in one buffer: what `ws.send` would write for each, in order.
 */
export function websocketTextFrames(messages: readonly string[]): Buffer {
  return websocketTextFramesOfParts(messages.map((message) => [message]));
}

/**
 * Text messages given in parts (a message is its parts one after the other: strings, or UTF-8 bytes), as
 * `websocketTextFrames` frames the strings they make: so that a part many messages share, a live result sent to
 * thousands of subscribers, is encoded once and its bytes copied into each socket's buffer, rather than encoded
 * again for each (realtime/fanout.ts). Byte parts must be whole UTF-8 sequences: a text frame's payload is
 * checked as UTF-8 by the client.
 */
export function websocketTextFramesOfParts(messages: readonly (readonly (string | Uint8Array)[])[]): Buffer {
  let total = 0;
  const lengths = messages.map((parts) => {
    let length = 0;
    for (const part of parts) length += typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
    total += (length < 126 ? 2 : length < 65536 ? 4 : 10) + length;
    return length;
  });
  const framed = Buffer.allocUnsafe(total);
  let at = 0;
  messages.forEach((parts, i) => {
    const length = lengths[i];
    framed[at] = 0x81;
    if (length < 126) {
      framed[at + 1] = length;
      at += 2;
    } else if (length < 65536) {
      framed[at + 1] = 126;
      framed.writeUInt16BE(length, at + 2);
      at += 4;
    } else {
      framed[at + 1] = 127;
      framed.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
      framed.writeUInt32BE(length >>> 0, at + 6);
      at += 10;
    }
    for (const part of parts) {
      if (typeof part === 'string') {
        at += framed.write(part, at);
      } else {
        framed.set(part, at);
        at += part.byteLength;
      }
    }
  });
  return framed;
}
