import { afterEach, describe, expect, it } from 'vitest';
import { websocketFrame } from '../collab/protocol.js';
import { openWsPair, type WsPair } from '../testing/wsPair.js';
import { directFrameWriter, websocketTextFrames, websocketTextFramesOfParts } from './wsSender.js';

const UPGRADE_HINT =
  "See internals/wsSender.ts: read this ws version's lib/sender.js (when does it write a frame at once?) and update directFrameWriter, or drop it (grid broadcasts then go through ws.send).";

let pair: WsPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

/** ws's private fields, read here only to say which one changed when a check fails. */
function senderOf(pair: WsPair): { _state?: unknown; _queue?: unknown } | undefined {
  return (pair.server as unknown as { _sender?: { _state?: unknown; _queue?: unknown } })._sender;
}

describe("ws's private _sender (internals/wsSender.ts)", () => {
  it('has an idle state of 0 and an empty queue on a fresh connection', async () => {
    pair = await openWsPair();
    const sender = senderOf(pair);
    expect(sender, `ws's WebSocket has no _sender any more. ${UPGRADE_HINT}`).toBeTruthy();
    expect(sender!._state, `ws's Sender no longer keeps its state as _state = 0 (DEFAULT) when idle. ${UPGRADE_HINT}`).toBe(0);
    expect(Array.isArray(sender!._queue) && sender!._queue.length === 0, `ws's Sender no longer keeps held messages in an array _queue. ${UPGRADE_HINT}`).toBe(true);
    expect(directFrameWriter(pair.server), `directFrameWriter no longer recognises ws's internals: grid broadcasts go through ws.send. ${UPGRADE_HINT}`).toBeTypeOf('function');
  });

  it('writes a pre-framed message in order with what ws sends, counted in bufferedAmount', async () => {
    pair = await openWsPair();
    const { server, upgraded } = pair;
    const write = directFrameWriter(server)!;
    server.send(Buffer.from('before'));
    // Corked, so what was written stays in the socket's buffer, where ws's bufferedAmount must see it.
    upgraded.cork();
    const direct = new Uint8Array([1, 2, 3, 250]);
    expect(write(websocketFrame(direct)), 'an idle sender was taken for a busy one').toBe(true);
    expect(
      server.bufferedAmount,
      "ws's bufferedAmount no longer counts bytes written to its TCP socket directly: grid backpressure would not see broadcasts",
    ).toBe(websocketFrame(direct).length);
    upgraded.uncork();
    server.send(Buffer.from('after'));
    const received = await pair.receivedCount(3);
    expect(received.map((m) => [...m])).toEqual([[...Buffer.from('before')], [1, 2, 3, 250], [...Buffer.from('after')]]);
  });

  it('declines while ws compresses a message, so nothing overtakes what ws holds', async () => {
    pair = await openWsPair({ threshold: 0 });
    const { server } = pair;
    const write = directFrameWriter(server)!;
    expect(write).toBeTypeOf('function');
    // Compression runs in zlib's thread pool: until it is done, ws holds later messages in its queue.
    server.send(Buffer.from('compressed first'), { compress: true });
    expect(
      write(websocketFrame(new Uint8Array([9]))),
      `ws's sender no longer shows a compression in progress in _state/_queue: a direct write would overtake the message being compressed. ${UPGRADE_HINT}`,
    ).toBe(false);
    server.send(Buffer.from('then this'), { compress: false });
    const received = await pair.receivedCount(2);
    expect(received.map(String)).toEqual(['compressed first', 'then this']);
    // Once ws has written everything, direct writes are taken again.
    expect(write(websocketFrame(new Uint8Array([7])))).toBe(true);
    expect([...(await pair.receivedCount(3))[2]]).toEqual([7]);
  });

  it('frames text messages of every length class as ws would, one after the other in one write', async () => {
    pair = await openWsPair();
    const kinds: boolean[] = [];
    pair.client.on('message', (_data, isBinary: boolean) => kinds.push(isBinary));
    const messages = ['', 'x'.repeat(125), 'y'.repeat(126), 'é'.repeat(40_000), 'z'.repeat(65_535), '{"id":"1","type":"next","payload":{"data":{"ü":"€ 😀"}}}', 'w'.repeat(70_000)];
    expect(directFrameWriter(pair.server)!(websocketTextFrames(messages))).toBe(true);
    const received = await pair.receivedCount(messages.length);
    expect(received.map(String)).toEqual(messages);
    expect(kinds).toEqual(messages.map(() => false));
  });

  it('frames messages given in parts (strings and UTF-8 bytes) as the strings they join into', async () => {
    pair = await openWsPair();
    const received: string[] = [];
    pair.client.on('message', (data: Buffer, isBinary: boolean) => received.push(isBinary ? '<binary>' : String(data)));
    // One result shared by several messages behind prefixes of their own, and messages at the frame-length
    // boundaries (125, 126 and past 65,535 bytes).
    const shared = Buffer.from('{"data":{"ü":"€ 😀"}}');
    const messages: (string | Uint8Array)[][] = [
      ['{"id":"1","type":"next","payload":', shared, '}'],
      ['{"id":"' + 'é'.repeat(40) + '","type":"next","payload":', shared, '}'],
      ['x'.repeat(100), Buffer.from('y'.repeat(25))],
      [Buffer.from('x'.repeat(100)), 'y'.repeat(26)],
      ['z'.repeat(65_000), Buffer.from('€'.repeat(200))],
      [],
    ];
    const joined = messages.map((parts) => parts.map((part) => (typeof part === 'string' ? part : Buffer.from(part).toString())).join(''));
    const framed = websocketTextFramesOfParts(messages);
    expect(framed.equals(websocketTextFrames(joined))).toBe(true);
    expect(directFrameWriter(pair.server)!(framed)).toBe(true);
    await pair.receivedCount(messages.length);
    expect(received).toEqual(joined);
  });
});
