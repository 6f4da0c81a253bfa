/**
 * How long a turn's broadcasts took from the arrival of the grid message that started them to their last write
 * (GridDocument `parts.onForwarded`, the `plansync_grid_forward_seconds` histogram): measured once a turn, from its
 * first message, and only for turns a grid message started. One GridDocument with in-process peers (what a
 * connection is to the document: GridPeer) and a real Yjs client doc, as in sentAhead.test.ts; the socket's
 * listener that stamps each message's arrival is exercised end to end in gridLogFlood.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { messageArrived, messageHandled } from './arrivalClock.js';
import { cellKey } from './cellRules.js';
import { GridDocument } from './GridDocument.js';
import { editsOf, writerAndObserver } from '../testing/documentPeers.js';

const LINES = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const NS_PER_MS = 1_000_000n;

function setUp() {
  const document = new GridDocument('budget:plan:UNIT', 'plan', 'unit', 'UNIT', LINES);
  const forwarded: number[] = [];
  document.parts = { onError: (_part, err) => expect.fail(String(err)), onForwarded: (seconds) => forwarded.push(seconds) };
  const { writer, observer, client } = writerAndObserver(document);
  const edits = editsOf(client);
  const edit = (key: string, value: unknown): Uint8Array => edits((cells) => cells.set(key, value));
  /** A client message handled as the socket's listener handles it: its arrival stamped around the handling. */
  const receive = (arrivedMsAgo: number, handle: () => void) => {
    messageArrived(process.hrtime.bigint() - BigInt(arrivedMsAgo) * NS_PER_MS);
    try {
      handle();
    } finally {
      messageHandled();
    }
  };
  return { document, forwarded, writer, observer, edit, receive };
}

afterEach(() => messageHandled());

describe('the time a grid message takes through the server', () => {
  it('is measured once the turn has written to every peer, from the arrival of its first message', async () => {
    const { document, forwarded, writer, observer, edit, receive } = setUp();
    // Two messages in one turn, the first of them 40 ms ago: one measure, from the first.
    receive(40, () => document.applyClientUpdate(edit(cellKey(LINES[0], 'budgetAmount'), 100), writer));
    receive(0, () => document.applyClientUpdate(edit(cellKey(LINES[1], 'budgetAmount'), 200), writer));
    expect(forwarded).toEqual([]); // nothing written yet: the turn's broadcasts go when it ends
    await nextTurn();
    expect(observer.received.length).toBeGreaterThan(0);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]).toBeGreaterThanOrEqual(0.04);

    // The next turn's from its own first message (stamped 400 ms ago here), not from anything of the turn before.
    receive(400, () => document.applyClientUpdate(edit(cellKey(LINES[0], 'comment'), 'next'), writer));
    await nextTurn();
    expect(forwarded).toHaveLength(2);
    expect(forwarded[1]).toBeGreaterThanOrEqual(0.4);
  });

  it('is not measured for broadcasts no grid message started (an API edit, a change in a later turn)', async () => {
    const { document, forwarded, observer } = setUp();
    document.applyEdits(LINES[0], { budgetAmount: 5 }, { kind: 'api', author: { userId: 'user-api', source: 'API' } });
    await nextTurn();
    expect(observer.received.length).toBeGreaterThan(0);
    expect(forwarded).toEqual([]);
  });

  it('is not measured when no peer is there to write to', async () => {
    const document = new GridDocument('budget:plan:UNIT', 'plan', 'unit', 'UNIT', LINES);
    const forwarded: number[] = [];
    document.parts = { onError: () => undefined, onForwarded: (seconds) => forwarded.push(seconds) };
    messageArrived(process.hrtime.bigint());
    document.applyEdits(LINES[0], { budgetAmount: 5 }, { kind: 'api', author: { userId: 'user-api', source: 'API' } });
    messageHandled();
    await nextTurn();
    expect(forwarded).toEqual([]);
  });
});
