import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openWsPair, type WsPair } from '../testing/wsPair.js';
import { queuedBytes, writesDirectly, writeToSocket } from './socketWrite.js';
import { unsentBytes, writeFrameDirect } from './wsSender.js';
import { websocketFrame } from '../collab/protocol.js';

const UPGRADE_HINT =
  "See internals/socketWrite.ts: read this Node version's lib/internal/stream_base_commons.js (writeGeneric, createWriteWrap) and update writeToSocket, or drop it (broadcasts then go through socket.write).";

interface TcpPair {
  /** The accepted side, written to. */
  sender: net.Socket;
  /** The connecting side, read from (paused until `read` is called). */
  receiver: net.Socket;
  close(): Promise<void>;
}

async function openTcpPair(): Promise<TcpPair> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const receiver = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  receiver.pause();
  const [[sender]] = await Promise.all([accepted, once(receiver, 'connect')]);
  return {
    sender,
    receiver,
    async close() {
      sender.destroy();
      receiver.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Everything the receiver gets until `total` bytes have come. */
async function readAll(socket: net.Socket, total: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= total) resolve();
    }),
  );
  socket.resume();
  await done;
  return Buffer.concat(chunks);
}

let pair: TcpPair | undefined;
let wsPair: WsPair | undefined;
afterEach(async () => {
  await pair?.close();
  await wsPair?.close();
  pair = undefined;
  wsPair = undefined;
});

describe("direct writes to a socket's TCP handle (internals/socketWrite.ts)", () => {
  it("finds Node's WriteWrap and the socket's handle", async () => {
    pair = await openTcpPair();
    expect(writesDirectly(pair.sender), `Node no longer offers process.binding('stream_wrap').WriteWrap or socket._handle.writeBuffer as described. ${UPGRADE_HINT}`).toBe(true);
  });

  it('keeps the order of everything written, past the Writable or through it, also when the kernel cannot take it all at once', async () => {
    pair = await openTcpPair();
    const { sender, receiver } = pair;
    // The receiver does not read yet: the first large write fills the kernel's buffers, and libuv holds the rest.
    const parts: Buffer[] = [];
    const part = (size: number, seed: number) => {
      const buffer = Buffer.alloc(size);
      for (let i = 0; i < size; i++) buffer[i] = (seed * 31 + i) & 0xff;
      parts.push(buffer);
      return buffer;
    };
    writeToSocket(sender, part(8 * 1024 * 1024, 1));
    expect(queuedBytes(sender), 'an 8 MB write to a socket nobody reads should leave bytes in the handle').toBeGreaterThan(0);
    expect(sender.writableLength, 'the direct write went through the Writable').toBe(0);
    sender.write(part(1000, 2)); // through the Writable: behind it in libuv's queue
    writeToSocket(sender, part(3000, 3));
    sender.cork();
    writeToSocket(sender, part(500, 4)); // corked: through the Writable, in order
    sender.write(part(700, 5));
    sender.uncork();
    writeToSocket(sender, part(2 * 1024 * 1024, 6));
    const expected = Buffer.concat(parts);
    const received = await readAll(receiver, expected.length);
    expect(received.length).toBe(expected.length);
    expect(received.equals(expected)).toBe(true);
    expect(queuedBytes(sender)).toBe(0);
  });

  it('closes the socket, without an error event or a crash, when the peer is gone', async () => {
    pair = await openTcpPair();
    const { sender, receiver } = pair;
    const errors: unknown[] = [];
    sender.on('error', (err) => errors.push(err));
    const closed = once(sender, 'close');
    receiver.resetAndDestroy();
    // Write until the reset is seen: the first writes may still be accepted by the kernel.
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 1000 && !sender.destroyed; i++) {
      writeToSocket(sender, chunk);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await closed;
    expect(sender.destroyed).toBe(true);
    // Node's own path may report the reset it read; our writes add none of their own.
    for (const err of errors) expect((err as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|EPIPE/);
  });

  it("counts what waits in the handle in a websocket's unsent bytes, which backpressure reads", async () => {
    wsPair = await openWsPair();
    const { server, client } = wsPair;
    // The client stops reading: its TCP socket is ws's _socket.
    (client as unknown as { _socket: net.Socket })._socket.pause();
    const frame = websocketFrame(new Uint8Array(4 * 1024 * 1024));
    expect(writeFrameDirect(server, frame)).toBe(true);
    expect(server.bufferedAmount, "ws's own count does not see the handle's queue").toBe(0);
    expect(unsentBytes(server)).toBeGreaterThan(0);
    expect(unsentBytes(server)).toBeLessThanOrEqual(frame.length);
    (client as unknown as { _socket: net.Socket })._socket.resume();
    await wsPair.receivedCount(1);
    expect(unsentBytes(server)).toBe(0);
  });
});
