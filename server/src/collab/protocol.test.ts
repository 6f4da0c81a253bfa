import type { EventEmitter } from 'node:events';
import * as ws from 'ws';
import { describe, expect, it } from 'vitest';
import { websocketFrame } from './protocol.js';

// ws's frame parser and builder, which it exports without types.
const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => EventEmitter & { write(chunk: Buffer): void };
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

/** What a client's ws Receiver makes of the given bytes: the binary messages it emits. */
function receive(bytes: Buffer): Buffer[] {
  const receiver = new Receiver({ isServer: false });
  const messages: Buffer[] = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(true);
    messages.push(Buffer.from(data));
  });
  receiver.on('error', (err: Error) => {
    throw err;
  });
  receiver.write(bytes);
  return messages;
}

describe('websocketFrame (one frame, built once per broadcast)', () => {
  it.each([0, 1, 125, 126, 127, 65535, 65536, 70000])('frames a %i-byte message exactly as ws would', (length) => {
    const message = new Uint8Array(length);
    for (let i = 0; i < length; i++) message[i] = (i * 31 + 7) & 0xff;
    const framed = websocketFrame(message);
    const ours = Buffer.concat(Sender.frame(Buffer.from(message), { fin: true, opcode: 2, mask: false, readOnly: true, rsv1: false }));
    expect(framed.equals(ours)).toBe(true);
    // Two frames back to back (as they arrive on a socket) come out as two messages, intact.
    const received = receive(Buffer.concat([framed, framed]));
    expect(received.length).toBe(2);
    for (const m of received) expect(m.equals(message)).toBe(true);
  });

  it('frames a view into a larger buffer by its own bytes only', () => {
    const backing = new Uint8Array(300).fill(9);
    backing.set([1, 2, 3], 100);
    const view = backing.subarray(100, 103);
    expect([...websocketFrame(view)]).toEqual([0x82, 3, 1, 2, 3]);
  });
});
