import { afterEach, describe, expect, it } from 'vitest';
import { openWsPair, type WsPair } from '../testing/wsPair.js';
import { corkSocket, tcpSocketOf, uncorkSocket } from './wsSocket.js';

const UPGRADE_HINT = 'See internals/wsSocket.ts: find where this ws version keeps the upgraded net.Socket and update tcpSocketOf.';

let pair: WsPair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

describe("ws's private _socket (internals/wsSocket.ts)", () => {
  it('is the net.Socket the connection was upgraded on', async () => {
    pair = await openWsPair();
    expect(
      tcpSocketOf(pair.server),
      `ws no longer keeps the upgraded TCP socket as websocket._socket: fan-out sockets are no longer corked per batch (one kernel write per message). ${UPGRADE_HINT}`,
    ).toBe(pair.upgraded);
  });

  it('holds what ws.send writes while corked, and lets it go, in order, when uncorked', async () => {
    pair = await openWsPair();
    const { server, upgraded } = pair;
    corkSocket(server);
    server.send('first');
    server.send('second');
    expect(upgraded.writableCorked, `corkSocket did not cork the upgraded socket. ${UPGRADE_HINT}`).toBe(1);
    // Each frame: 2 header bytes and the text. Written synchronously by ws.send into the corked socket's buffer.
    expect(
      upgraded.writableLength,
      'ws.send no longer writes its frame to the TCP socket synchronously: corking around a batch would not group its writes',
    ).toBe(2 + 'first'.length + 2 + 'second'.length);
    uncorkSocket(server);
    expect(upgraded.writableCorked).toBe(0);
    const received = await pair.receivedCount(2);
    expect(received.map(String)).toEqual(['first', 'second']);
  });
});
