/**
 * A writer's plain cell edit goes to the peers before it is applied (GridDocument.acceptableAsSent): checked by
 * decoding, sent with the turn's broadcasts, then applied, validated, stored and projected once, and never sent
 * twice. What the check cannot vouch for takes the ordinary path, validated before anyone sees it. These run one
 * GridDocument with in-process peers (what a connection is to the document: GridPeer) and real Yjs client docs.
 */
import * as decoding from 'lib0/decoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { cellChangeProblem, cellKey } from './cellRules.js';
import { GridDocument, RELAYED_SETTLE_MS, type DocumentChange } from './GridDocument.js';
import type { ConnectionOrigin, RelayOrigin } from './origins.js';
import { encodeUpdate } from './protocol.js';
import { editsOf, TestPeer, writerAndObserver } from '../testing/documentPeers.js';

const LINES = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
/** Past the wait of relayed updates alone for their apply (a timer after theirs: it fires first). */
const relayedSettled = () => new Promise((resolve) => setTimeout(resolve, 2 * RELAYED_SETTLE_MS));

/** A document with two peers, recording what the pipeline stores, relays and projects. */
function setUp() {
  const document = new GridDocument('budget:plan:UNIT', 'plan', 'unit', 'UNIT', LINES);
  const stored: Uint8Array[] = [];
  const projected: DocumentChange[] = [];
  const errors: unknown[] = [];
  const relayed: Uint8Array[] = [];
  document.parts = { store: (u) => stored.push(u), project: (c) => projected.push(c), relay: (u) => relayed.push(u), onError: (_part, err) => errors.push(err) };
  const { writer, observer, client } = writerAndObserver(document);
  /** The update a client-side change produces. */
  const edit = editsOf(client);
  /** The client takes in what the server holds (its reverts among it), as the stock client would from broadcasts. */
  const catchUp = () => Y.applyUpdate(client, Y.encodeStateAsUpdate(document.doc));
  /** Another connection, with a client doc of its own (as up to date as the server), and its edits. */
  const secondWriter = (userId = 'user-second') => {
    const peer = new TestPeer(userId);
    document.addPeer(peer);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(document.doc));
    return { peer, doc, edit: editsOf(doc) };
  };
  return { document, stored, projected, relayed, errors, writer, observer, client, edit, catchUp, secondWriter };
}

describe('a writer edit sent ahead of its apply', () => {
  it('goes to the peers with the turn, as sent, once; then is applied, stored and projected once', async () => {
    const { document, stored, projected, errors, writer, observer, edit } = setUp();
    // The first write claims the client id for this connection (the ordinary path: applied at once).
    const first = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 100));
    expect(document.applyClientUpdate(first, writer).accepted).toBe(1);
    expect(stored).toHaveLength(1);
    await nextTurn();
    observer.received.length = 0;

    const second = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 250));
    const result = document.applyClientUpdate(second, writer);
    expect(result).toMatchObject({ accepted: 1, rejected: [], missing: false });
    expect(stored).toHaveLength(1); // not applied yet
    await nextTurn();
    expect(observer.received).toEqual([encodeUpdate(second)]);
    expect(stored).toHaveLength(2);
    expect(stored[1]).toEqual(second); // stored as sent: validation changed nothing (Yjs does not encode it again)
    expect(projected.at(-1)!.cells).toEqual([expect.objectContaining({ key: cellKey(LINES[0], 'budgetAmount'), value: 250 })]);
    await nextTurn();
    expect(observer.received).toHaveLength(1); // not broadcast again when applied
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(250);
    expect(errors).toEqual([]);
  });

  it('is applied before anything reads the document in the same turn', async () => {
    const { document, writer, edit } = setUp();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[1], 'comment'), 'first')), writer);
    await nextTurn();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[1], 'comment'), 'second')), writer);
    expect((document.doc.getMap('cells') as Y.Map<unknown>).get(cellKey(LINES[1], 'comment'))).toBe('second');
  });

  it('keeps the order of a writer\'s updates within one turn, and every peer converges', async () => {
    const { document, writer, observer, edit } = setUp();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'forecastSales'), 1)), writer);
    await nextTurn();
    observer.received.length = 0;
    const updates = [2, 3, 4].map((value) => edit((cells) => cells.set(cellKey(LINES[0], 'forecastSales'), value)));
    for (const update of updates) document.applyClientUpdate(update, writer);
    await nextTurn();
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(document.doc));
    expect(replica.getMap('cells').get(cellKey(LINES[0], 'forecastSales'))).toBe(4);
    expect(document.cellValue(LINES[0], 'forecastSales')).toBe(4);
    expect(observer.received).toHaveLength(3);
  });

  it('is never what an invalid value or a cell of another unit takes: refused before anyone sees it', async () => {
    const { document, stored, writer, observer, edit, catchUp } = setUp();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 5)), writer);
    await nextTurn();
    observer.received.length = 0;
    const before = stored.length;
    const peer = new Y.Doc();
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(document.doc));
    for (const [key, value] of [
      [cellKey(LINES[0], 'budgetAmount'), 'not a number'],
      [cellKey(LINES[0], 'budgetAmount'), -1e30],
      ['33333333-3333-4333-8333-333333333333/budgetAmount', 7],
      [`${LINES[0]}/priorYearActual`, 7],
    ] as const) {
      const result = document.applyClientUpdate(edit((cells) => cells.set(key, value)), writer);
      expect(result.rejected, key).toEqual([key]);
      catchUp();
    }
    await nextTurn();
    // What went out is each refused value with its revert, in one update (never the value alone): a peer that
    // applies the messages one by one never holds anything but valid cells.
    for (const message of observer.received) {
      const decoder = decoding.createDecoder(message);
      decoding.readVarUint(decoder); // sync
      decoding.readVarUint(decoder); // update
      Y.applyUpdate(peer, decoding.readVarUint8Array(decoder));
      for (const [key, value] of peer.getMap('cells')) expect(cellChangeProblem(key, value, false, new Set(LINES)), key).toBeNull();
    }
    expect(observer.received.length).toBeGreaterThan(0);
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(5);
    expect(stored.length).toBeGreaterThan(before);
  });

  it('is not taken for an id this connection does not hold yet, nor for several cells at once', async () => {
    const { document, stored, writer, edit } = setUp();
    // A fresh client id: claimed by the ordinary path, applied at once.
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    expect(stored).toHaveLength(1);
    await nextTurn();
    // Two cells in one update: the ordinary path too.
    document.applyClientUpdate(
      edit((cells) => {
        cells.set(cellKey(LINES[0], 'budgetAmount'), 2);
        cells.set(cellKey(LINES[1], 'budgetAmount'), 3);
      }),
      writer,
    );
    expect(stored).toHaveLength(2);
  });

  it('several connections\' edits of one turn all go ahead, as sent and relayed once each, then are applied in order', async () => {
    const { document, stored, projected, relayed, errors, writer, observer, client, edit, secondWriter } = setUp();
    const second = secondWriter();
    // Each connection's first write claims its client id (the ordinary path).
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    document.applyClientUpdate(second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 2)), second.peer);
    await nextTurn();
    Y.applyUpdate(second.doc, Y.encodeStateAsUpdate(document.doc));
    Y.applyUpdate(client, Y.encodeStateAsUpdate(document.doc));
    const sent: Uint8Array[] = [];
    // Two turns: in the first each edits a cell of its own; in the second both set the same cell, concurrently
    // (neither has seen the other's value). A connection's next edit within a turn builds on its waiting one.
    for (const turn of [
      [
        { update: edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 10)), peer: writer },
        { update: second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 20)), peer: second.peer },
      ],
      [
        { update: edit((cells) => cells.set(cellKey(LINES[1], 'forecastSales'), 30)), peer: writer },
        { update: second.edit((cells) => cells.set(cellKey(LINES[1], 'forecastSales'), 40)), peer: second.peer },
      ],
    ]) {
      observer.received.length = 0;
      const [storedBefore, relayedBefore] = [stored.length, relayed.length];
      for (const { update, peer } of turn) expect(document.applyClientUpdate(update, peer)).toMatchObject({ accepted: 1, rejected: [], missing: false });
      expect(stored).toHaveLength(storedBefore); // none applied yet
      expect(relayed.slice(relayedBefore)).toEqual(turn.map((u) => u.update)); // relayed at once, as sent
      await nextTurn();
      expect(observer.received).toEqual(turn.map((u) => encodeUpdate(u.update)));
      expect(stored).toHaveLength(storedBefore + 2);
      expect(relayed).toHaveLength(relayedBefore + 2); // not relayed again when applied
      await nextTurn();
      expect(observer.received).toHaveLength(2); // nor broadcast again
      sent.push(...turn.map((u) => u.update));
    }
    expect(errors).toEqual([]);

    // Every replica that applies the messages, in any order, agrees with the server, whichever value won the cell.
    const replica = new Y.Doc();
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(document.doc));
    for (const update of [...sent].reverse()) Y.applyUpdate(second.doc, update);
    for (const update of sent) Y.applyUpdate(client, update);
    for (const doc of [replica, second.doc, client]) expect(doc.getMap('cells').toJSON()).toEqual(document.cells.toJSON());
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(10);
    expect(document.cellValue(LINES[1], 'budgetAmount')).toBe(20);
    expect([30, 40]).toContain(document.cellValue(LINES[1], 'forecastSales'));
    // The projection saw the value the document settled on last.
    const lastForecast = projected.flatMap((c) => c.cells).filter((c) => c.key === cellKey(LINES[1], 'forecastSales')).at(-1);
    expect(lastForecast?.value).toBe(document.cellValue(LINES[1], 'forecastSales'));
  });

  it('a turn\'s edits settle in one transaction, each stored as sent and credited to its own author; a cell several set goes to the one whose value won', async () => {
    const { document, stored, projected, errors, writer, client, edit, secondWriter } = setUp();
    const second = secondWriter('user-second');
    const third = secondWriter('user-third');
    // Each connection's first write claims its client id (the ordinary path).
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    document.applyClientUpdate(second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 2)), second.peer);
    document.applyClientUpdate(third.edit((cells) => cells.set(cellKey(LINES[1], 'comment'), 'x')), third.peer);
    await nextTurn();
    for (const doc of [client, second.doc, third.doc]) Y.applyUpdate(doc, Y.encodeStateAsUpdate(document.doc));
    let transactions = 0;
    document.doc.on('afterTransaction', () => transactions++);
    const [storedBefore, projectedBefore] = [stored.length, projected.length];

    // The second and third set the same cell concurrently (neither has seen the other's value).
    const turn = [
      { update: edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 10)), peer: writer },
      { update: second.edit((cells) => cells.set(cellKey(LINES[0], 'forecastSales'), 20)), peer: second.peer },
      { update: third.edit((cells) => cells.set(cellKey(LINES[0], 'forecastSales'), 30)), peer: third.peer },
    ];
    for (const { update, peer } of turn) expect(document.applyClientUpdate(update, peer)).toMatchObject({ accepted: 1, rejected: [], missing: false });
    await nextTurn();
    expect(transactions).toBe(1);
    expect(stored.slice(storedBefore)).toEqual(turn.map((u) => u.update));
    const won = document.cellValue(LINES[0], 'forecastSales');
    expect([20, 30]).toContain(won);
    const credited = projected.slice(projectedBefore).map((c) => ({
      by: (c.origin as ConnectionOrigin).author.userId,
      cells: c.cells.map((cell) => [cell.key, cell.value]),
    }));
    expect(credited).toEqual([
      { by: 'user-writer', cells: [[cellKey(LINES[0], 'budgetAmount'), 10]] },
      { by: won === 20 ? 'user-second' : 'user-third', cells: [[cellKey(LINES[0], 'forecastSales'), won]] },
    ]);
    expect(errors).toEqual([]);
  });

  it('a settled turn that validation refuses in part after all (a bug) sends and stores the revert, and credits each edit to its own author', async () => {
    const { document, stored, projected, relayed, errors, writer, observer, client, edit, secondWriter } = setUp();
    const second = secondWriter();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    document.applyClientUpdate(second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 2)), second.peer);
    await nextTurn();
    for (const doc of [client, second.doc]) Y.applyUpdate(doc, Y.encodeStateAsUpdate(document.doc));
    const [storedBefore, projectedBefore, relayedBefore] = [stored.length, projected.length, relayed.length];
    observer.received.length = 0;

    const turn = [
      { update: edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 10)), peer: writer },
      { update: second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 20)), peer: second.peer },
    ];
    for (const { update, peer } of turn) document.applyClientUpdate(update, peer);
    // The bug, simulated: between the check ahead and the apply, the second edit's line stops being editable here.
    (document as unknown as { lines: Set<string> }).lines.delete(LINES[1]);
    await nextTurn();
    await nextTurn();

    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain(cellKey(LINES[1], 'budgetAmount'));
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(10);
    expect(document.cellValue(LINES[1], 'budgetAmount')).toBe(2); // reverted to its last valid value
    // The peers got both edits ahead, then the net change with its revert; so did the other instances; storage the net.
    const [net] = stored.slice(storedBefore);
    expect(stored.slice(storedBefore)).toHaveLength(1);
    expect(observer.received).toEqual([...turn.map((u) => encodeUpdate(u.update)), encodeUpdate(net)]);
    expect(relayed.slice(relayedBefore)).toEqual([...turn.map((u) => u.update), net]);
    for (const doc of [client, second.doc]) {
      for (const message of [...turn.map((u) => u.update), net]) Y.applyUpdate(doc, message);
      expect(doc.getMap('cells').toJSON()).toEqual(document.cells.toJSON());
    }
    // Only the edit that stood is projected, as its author's.
    expect(projected.slice(projectedBefore).map((c) => [(c.origin as ConnectionOrigin).author.userId, c.cells.map((cell) => cell.value)])).toEqual([['user-writer', [10]]]);
  });

  it('an edit that builds on one still waiting takes the ordinary path, after the waiting one is applied', async () => {
    const { document, stored, relayed, errors, writer, observer, edit, secondWriter } = setUp();
    const second = secondWriter();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    document.applyClientUpdate(second.edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 2)), second.peer);
    await nextTurn();
    Y.applyUpdate(second.doc, Y.encodeStateAsUpdate(document.doc));
    observer.received.length = 0;
    const [storedBefore, relayedBefore] = [stored.length, relayed.length];

    const waiting = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 5));
    document.applyClientUpdate(waiting, writer);
    expect(stored).toHaveLength(storedBefore);
    // The second connection saw it (it was broadcast ahead) and overwrites it: its update names the waiting value.
    Y.applyUpdate(second.doc, waiting);
    const overwrite = second.edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 6));
    expect(document.applyClientUpdate(overwrite, second.peer)).toMatchObject({ accepted: 1, rejected: [], missing: false });
    expect(stored).toHaveLength(storedBefore + 2); // the waiting one, then this one: applied at once
    expect(relayed.slice(relayedBefore)).toEqual([waiting, stored.at(-1)]); // ahead as sent; then as applied
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(6);
    await nextTurn();
    expect(observer.received[0]).toEqual(encodeUpdate(waiting));
    expect(observer.received).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('a part that changes the document while an edit applied as sent is handed over: both reach every part, once', async () => {
    const { document, stored, projected, errors, writer, observer, edit } = setUp();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    await nextTurn();
    const project = document.parts.project!;
    let reacted = false;
    // A part that reacts to the change with a change of its own, at once (none does today: this keeps it safe).
    document.parts.project = (change) => {
      project(change);
      if (reacted) return;
      reacted = true;
      document.applyEdits(LINES[1], { comment: 'from a part' }, { kind: 'api', author: { userId: 'someone', source: 'API' } });
    };
    const [storedBefore, projectedBefore] = [stored.length, projected.length];
    observer.received.length = 0;
    const update = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 7));
    document.applyClientUpdate(update, writer);
    await nextTurn();
    await nextTurn();
    expect(stored.slice(storedBefore)).toHaveLength(2);
    expect(stored[storedBefore]).toEqual(update);
    expect(projected.slice(projectedBefore).map((c) => c.cells.map((cell) => cell.value))).toEqual([[7], ['from a part']]);
    // The edit went out once, ahead; the part's change once, with its own transaction's update.
    expect(observer.received).toEqual([encodeUpdate(update), encodeUpdate(stored[storedBefore + 1])]);
    expect(document.cellValue(LINES[1], 'comment')).toBe('from a part');
    expect(errors).toEqual([]);
  });

  it('a connection that leaves in the same turn still has its edit applied and stored', async () => {
    const { document, stored, writer, edit } = setUp();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 1)), writer);
    await nextTurn();
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 9)), writer);
    document.removePeer(writer);
    expect(stored).toHaveLength(2);
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(9);
  });
});

describe('a plain edit another instance accepted, sent on ahead of its apply', () => {
  const relayOrigin = (userId: string): RelayOrigin => ({ kind: 'relay', relayedFrom: 'instance-b', by: { userId, source: 'GRID' } });

  it('goes to the peers with the turn, as received, once; then is applied and projected, neither stored nor relayed again', async () => {
    const { document, stored, projected, relayed, errors, observer, client, edit } = setUp();
    const ydoc = (document as unknown as { ydoc: Y.Doc }).ydoc;
    // The remote writer's first edit of a cell and its next: the next builds on what the document holds.
    const first = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 10));
    const second = edit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 20));
    expect(document.applyRelayedUpdate(first, relayOrigin('user-remote'))).toMatchObject({ accepted: 1, rejected: [], missing: false });
    await nextTurn();
    await relayedSettled();
    observer.received.length = 0;
    const projectedBefore = projected.length;

    expect(document.applyRelayedUpdate(second, relayOrigin('user-remote'))).toMatchObject({ accepted: 1, rejected: [], missing: false });
    // Sent on with the turn, before the document has it.
    expect(ydoc.getMap('cells').get(cellKey(LINES[0], 'budgetAmount'))).toBe(10);
    expect(observer.received).toEqual([]);
    await nextTurn();
    expect(observer.received).toEqual([encodeUpdate(second)]);
    // Relayed alone, it is applied a little later (nothing here is waiting for it).
    expect(ydoc.getMap('cells').get(cellKey(LINES[0], 'budgetAmount'))).toBe(10);
    await relayedSettled();
    expect(ydoc.getMap('cells').get(cellKey(LINES[0], 'budgetAmount'))).toBe(20);
    expect(projected.slice(projectedBefore).map((c) => c.cells)).toEqual([[expect.objectContaining({ key: cellKey(LINES[0], 'budgetAmount'), value: 20 })]]);
    expect(projected.at(-1)!.origin).toMatchObject({ kind: 'relay', by: { userId: 'user-remote' } });
    expect(stored).toEqual([]); // the accepting instance stored it
    expect(relayed).toEqual([]); // and relayed it: never sent back
    await nextTurn();
    expect(observer.received).toHaveLength(1);
    expect(document.cellValue(LINES[0], 'budgetAmount')).toBe(20);
    expect(Y.encodeStateVector(document.doc)).toEqual(Y.encodeStateVector(client));
    expect(errors).toEqual([]);
  });

  it('waits for its apply until a writer\'s edit here settles, and joins that transaction; anything that reads the document applies it first', async () => {
    const { document, stored, projected, errors, observer, writer, edit } = setUp();
    // The writer's first edit claims its client id (the ordinary path, applied at once); its next ones go ahead.
    document.applyClientUpdate(edit((cells) => cells.set(cellKey(LINES[1], 'comment'), 'claimed')), writer);
    await nextTurn();
    // A writer on another instance, with a client doc of its own.
    const remote = new Y.Doc();
    Y.applyUpdate(remote, Y.encodeStateAsUpdate(document.doc));
    const remoteEdit = editsOf(remote);
    const ydoc = (document as unknown as { ydoc: Y.Doc }).ydoc;
    let transactions = 0;
    ydoc.on('afterTransaction', () => transactions++);
    const [storedBefore, projectedBefore] = [stored.length, projected.length];
    observer.received.length = 0;

    const relayedEdit = remoteEdit((cells) => cells.set(cellKey(LINES[0], 'budgetAmount'), 5));
    document.applyRelayedUpdate(relayedEdit, relayOrigin('user-remote'));
    await nextTurn();
    expect(observer.received).toEqual([encodeUpdate(relayedEdit)]);
    expect(transactions).toBe(0);
    // The writer here edits another cell, turns later: both applied in the one transaction of its turn.
    await nextTurn();
    const own = edit((cells) => cells.set(cellKey(LINES[1], 'budgetAmount'), 6));
    document.applyClientUpdate(own, writer);
    await nextTurn();
    expect(transactions).toBe(1);
    expect(ydoc.getMap('cells').get(cellKey(LINES[0], 'budgetAmount'))).toBe(5);
    expect(ydoc.getMap('cells').get(cellKey(LINES[1], 'budgetAmount'))).toBe(6);
    // Each still goes its own way: only the edit made here is stored; each is projected with its own origin.
    expect(stored.slice(storedBefore)).toEqual([own]);
    expect(projected.slice(projectedBefore).map((c) => [c.origin.kind, c.cells.map((cell) => cell.value)])).toEqual([
      ['relay', [5]],
      ['connection', [6]],
    ]);

    // Relayed again, and read before its wait is over: the read applies it.
    const next = remoteEdit((cells) => cells.set(cellKey(LINES[0], 'comment'), 'read at once'));
    document.applyRelayedUpdate(next, relayOrigin('user-remote'));
    await nextTurn();
    expect(ydoc.getMap('cells').get(cellKey(LINES[0], 'comment'))).toBe(undefined);
    expect(document.cellValue(LINES[0], 'comment')).toBe('read at once');
    expect(transactions).toBe(2);
    await relayedSettled();
    expect(transactions).toBe(2); // the timer found nothing left to apply
    expect(errors).toEqual([]);
  });

  it('keeps the order of one message\'s changes that build on each other, and what is not a plain edit is applied first', async () => {
    const { document, observer, edit } = setUp();
    const updates = [1, 2, 3].map((value) => edit((cells) => cells.set(cellKey(LINES[1], 'forecastSales'), value)));
    const both = edit((cells) => {
      cells.set(cellKey(LINES[0], 'comment'), 'two cells');
      cells.set(cellKey(LINES[1], 'comment'), 'in one change');
    });
    for (const update of [...updates, both]) document.applyRelayedUpdate(update, relayOrigin('user-remote'));
    // The first went ahead; the others build on it, or are not one cell: applied at once, after it.
    expect(document.cellValue(LINES[1], 'forecastSales')).toBe(3);
    expect(document.cellValue(LINES[1], 'comment')).toBe('in one change');
    await nextTurn();
    const replica = new Y.Doc();
    for (const message of observer.received) {
      const decoder = decoding.createDecoder(message);
      decoding.readVarUint(decoder); // sync
      decoding.readVarUint(decoder); // update
      Y.applyUpdate(replica, decoding.readVarUint8Array(decoder));
    }
    expect(replica.getMap('cells').toJSON()).toEqual(document.doc.getMap('cells').toJSON());
  });

  it('is never what an invalid value or a cell of another unit takes: refused before any peer sees it', async () => {
    const { document, observer, client, catchUp } = setUp();
    for (const [key, value] of [
      [cellKey(LINES[0], 'budgetAmount'), 'not a number'],
      ['33333333-3333-4333-8333-333333333333/budgetAmount', 7],
    ] as const) {
      let update: Uint8Array | undefined;
      const capture = (u: Uint8Array) => (update = u);
      client.on('update', capture);
      client.getMap('cells').set(key, value);
      client.off('update', capture);
      const result = document.applyRelayedUpdate(update!, relayOrigin('user-remote'));
      expect(result.rejected).toEqual([key]);
      expect(document.doc.getMap('cells').get(key)).toBe(undefined);
      catchUp();
    }
    await nextTurn();
    // What the peers got: the refused content with its revert, in one update each, never the refused value alone.
    const replica = new Y.Doc();
    for (const message of observer.received) {
      const decoder = decoding.createDecoder(message);
      decoding.readVarUint(decoder);
      decoding.readVarUint(decoder);
      Y.applyUpdate(replica, decoding.readVarUint8Array(decoder));
    }
    expect(replica.getMap('cells').toJSON()).toEqual({});
  });
});
