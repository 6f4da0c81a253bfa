/**
 * The grid relay between instances, on the local Redis (skipped, with a message, when none answers): two
 * RedisLinks with GridRelays in this process stand for two instances, each with its own copy of a document.
 * The changes of one turn of the event loop go out as one message and arrive complete and in order; what
 * Redis carries that is not a message of ours (garbage, cut short, forged lengths, bytes Yjs cannot read) is
 * dropped without harm and the relay keeps working; changes published just before a document is unloaded
 * still go out; and bursts from both ends leave both copies identical.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { EditableColumn } from '../budget/columns.js';
import { createLogger } from '../log.js';
import { RedisLink } from '../realtime/redisLink.js';
import { eventually } from '../testing/gridClients.js';

/** Retries `check` (assertions) until it passes. */
const until = (what: string, check: () => void) =>
  eventually(() => {
    check();
    return true;
  }, what);
import { LOCAL_REDIS_URL, redisReachable } from '../testing/instances.js';
import { cellKey } from './cellRules.js';
import { GridDocument } from './GridDocument.js';
import { GridRelay, type RelayedDocument } from './gridRelay.js';
import type { GridStore } from './gridStore.js';
import type { ApiOrigin } from './origins.js';

const reachable = await redisReachable(LOCAL_REDIS_URL);
if (!reachable) console.warn(`[gridRelay.test] SKIPPED: no Redis answers at ${LOCAL_REDIS_URL}.`);

const LINES = ['line-1', 'line-2', 'line-3'];
const origin = (userId: string): ApiOrigin => ({ kind: 'api', author: { userId, source: 'API' } });

interface Instance {
  link: RedisLink;
  relay: GridRelay;
}

interface Copy {
  doc: GridDocument;
  relayed: RelayedDocument;
  errors: unknown[];
}

describe.skipIf(!reachable)('grid relay between instances', () => {
  const prefix = `plansync-test-relay-${randomBytes(4).toString('hex')}`;
  const log = createLogger('silent');
  // Nothing here is stored: a catch-up from storage finds nothing (storage is not what these tests are about).
  const store = { readState: async () => null } as unknown as GridStore;
  const instances: Instance[] = [];
  /** Plain connections: one sees what travels on the channels, one publishes what no instance would. */
  let spy: Redis;
  let forger: Redis;
  let a: Instance;
  let b: Instance;
  let docCount = 0;

  async function instance(): Promise<Instance> {
    const link = new RedisLink({ url: LOCAL_REDIS_URL, prefix, log });
    await link.start(5000);
    const created = { link, relay: new GridRelay(link, store, log) };
    instances.push(created);
    return created;
  }

  /**
   * Opens a copy as GridServer does: follows the channel, then reads what is stored (`stored`: nothing here unless
   * given), then attaches and says hello.
   */
  async function open(on: Instance, docName: string, stored?: () => Uint8Array): Promise<Copy> {
    const relayed = await on.relay.join(docName);
    const doc = new GridDocument(docName, 'plan', 'unit', 'UNIT', LINES);
    if (stored) doc.loadState(stored());
    const errors: unknown[] = [];
    doc.parts = {
      relay: (update, author) => relayed.publishUpdate(update, author),
      relayPresence: (update) => relayed.publishPresence(update),
      onError: (_part, err) => errors.push(err),
    };
    relayed.attach(doc);
    return { doc, relayed, errors };
  }

  /** Waits until `copy` knows every other instance holding its document, and that these are `others`. */
  async function sure(copy: Copy, others: Instance[]): Promise<void> {
    await until('the holders known', () => {
      expect(copy.relayed.knowsEveryHolder).toBe(true);
      expect(copy.relayed.knownHolders.sort()).toEqual(others.map((o) => o.link.instanceId).sort());
    });
  }

  /**
   * The same document open on A and on B, the hellos answered and each sure that the other is its only other
   * holder: from then on each one's changes go to the other's own channel (`toA`, `toB`).
   */
  async function openOnBoth(): Promise<{ docName: string; channel: string; toA: string; toB: string; onA: Copy; onB: Copy }> {
    const docName = `budget:plan-${++docCount}:UNIT`;
    const onA = await open(a, docName);
    const onB = await open(b, docName);
    await settle(a.link.channel(`grid:${docName}`));
    await sure(onA, [b]);
    await sure(onB, [a]);
    return { docName, channel: a.link.channel(`grid:${docName}`), toA: a.relay.inboxOf(a.link.instanceId), toB: b.relay.inboxOf(b.link.instanceId), onA, onB };
  }

  /** Waits until a marker published now has come back: whatever was published before it has arrived too. */
  async function settle(channel: string): Promise<void> {
    const marker = Buffer.from(`marker-${randomBytes(6).toString('hex')}`);
    let seen = false;
    const onMessage = (c: Buffer, m: Buffer) => {
      if (c.toString() === channel && m.equals(marker)) seen = true;
    };
    spy.on('messageBuffer', onMessage);
    await spy.subscribe(channel);
    await forger.publish(channel, marker);
    await until('the marker to come back', () => expect(seen).toBe(true));
    spy.off('messageBuffer', onMessage);
    // Left subscribed, the spy would count among the receivers of a hello, and keep its sender unsure.
    await spy.unsubscribe(channel);
  }

  /** Messages on `channel` while `during` runs, up to a marker published after it. */
  async function messagesDuring(channel: string, during: () => void | Promise<void>): Promise<Buffer[]> {
    const seen: Buffer[] = [];
    const onMessage = (c: Buffer, m: Buffer) => {
      if (c.toString() === channel) seen.push(m);
    };
    await spy.subscribe(channel);
    spy.on('messageBuffer', onMessage);
    await during();
    await settle(channel);
    spy.off('messageBuffer', onMessage);
    return seen.filter((m) => !m.toString().startsWith('marker-'));
  }

  const cells = (copy: Copy) => copy.doc.cells.toJSON();

  /** Of `messages`, those from `from` that carry someone's changes (not the answer to a hello, which names nobody). */
  function changesFrom(from: Instance, messages: Buffer[]): Buffer[] {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, from.link.instanceId);
    const prefix = Buffer.from(encoding.toUint8Array(e));
    return messages.filter((m) => {
      if (!m.subarray(0, prefix.length).equals(prefix)) return false;
      const d = decoding.createDecoder(new Uint8Array(m.subarray(prefix.length)));
      const kind = decoding.readVarUint(d);
      // Several changes, or changes sent to one instance's own channel.
      if (kind === 3 || kind === 6) return true;
      return kind === 0 && decoding.readVarString(d) !== '';
    });
  }

  beforeAll(async () => {
    spy = new Redis(LOCAL_REDIS_URL, { lazyConnect: true });
    forger = new Redis(LOCAL_REDIS_URL, { lazyConnect: true });
    await Promise.all([spy.connect(), forger.connect()]);
    a = await instance();
    b = await instance();
  });

  afterAll(async () => {
    for (const { relay, link } of instances) {
      relay.stop();
      await link.close();
    }
    await spy?.quit();
    await forger?.quit();
  });

  it('sends the changes of one turn as one message, which arrives complete and in order', async () => {
    const { toB, onA, onB } = await openOnBoth();
    const key = cellKey('line-1', 'budgetAmount');
    const seenOnB: unknown[] = [];
    onB.doc.cells.observe((event) => {
      if (event.keysChanged.has(key)) seenOnB.push(onB.doc.cells.get(key));
    });
    const messages = await messagesDuring(toB, () => {
      // One synchronous run: twenty changes to one cell by two people, and one to another cell.
      for (let i = 1; i <= 20; i++) onA.doc.applyEdits('line-1', { budgetAmount: i }, origin(i % 2 ? 'ann' : 'bob'));
      onA.doc.applyEdits('line-2', { comment: 'last' }, origin('ann'));
    });
    expect(changesFrom(a, messages)).toHaveLength(1);
    await until('B to have what A has', () => expect(cells(onB)).toEqual(cells(onA)));
    expect(seenOnB).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(cells(onB)).toEqual({ [key]: 20, [cellKey('line-2', 'comment')]: 'last' });
    expect([...onA.errors, ...onB.errors]).toEqual([]);
  });

  it('keeps changes of separate turns in separate messages, in order', async () => {
    const { toB, onA, onB } = await openOnBoth();
    const key = cellKey('line-3', 'forecastSales');
    const messages = await messagesDuring(toB, async () => {
      for (let i = 1; i <= 5; i++) {
        onA.doc.applyEdits('line-3', { forecastSales: i * 10 }, origin('ann'));
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    expect(changesFrom(a, messages)).toHaveLength(5);
    await until('the last change on B', () => expect(onB.doc.cells.get(key)).toBe(50));
  });

  it('drops what is not a message of ours, and keeps relaying', async () => {
    const { docName, channel, toB, onA, onB } = await openOnBoth();
    const before = Y.encodeStateAsUpdate(onB.doc.doc);
    const from = 'someone-else';
    const message = (write: (e: encoding.Encoder) => void) => {
      const e = encoding.createEncoder();
      encoding.writeVarString(e, from);
      write(e);
      return Buffer.from(encoding.toUint8Array(e));
    };
    const change = (e: encoding.Encoder, update: Uint8Array) => {
      encoding.writeVarString(e, 'mallory');
      encoding.writeVarString(e, 'GRID');
      encoding.writeVarUint8Array(e, update);
    };
    /** Bytes Yjs (or y-protocols) cannot read: a length that runs past the end. */
    const unreadable = new Uint8Array([0xff, 0xff, 0xff]);
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0xff]),
      Buffer.from('not even binary'),
      // An unknown kind.
      message((e) => encoding.writeVarUint(e, 99)),
      // A batch of three with one change: cut short.
      message((e) => {
        encoding.writeVarUint(e, 3);
        encoding.writeVarUint(e, 3);
        change(e, new Uint8Array([0, 0]));
      }),
      // A batch of none, and one claiming a million changes.
      message((e) => {
        encoding.writeVarUint(e, 3);
        encoding.writeVarUint(e, 0);
      }),
      message((e) => {
        encoding.writeVarUint(e, 3);
        encoding.writeVarUint(e, 1_000_000);
      }),
      // A length far past the end of the message.
      message((e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, 'mallory');
        encoding.writeVarString(e, 'GRID');
        encoding.writeVarUint(e, 1 << 20);
      }),
      // Bytes Yjs cannot read, alone and in a batch.
      message((e) => {
        encoding.writeVarUint(e, 0);
        change(e, unreadable);
      }),
      message((e) => {
        encoding.writeVarUint(e, 3);
        encoding.writeVarUint(e, 2);
        change(e, unreadable);
        change(e, unreadable);
      }),
      // A hello whose state vector cannot be read, and presence that is not presence.
      message((e) => {
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, unreadable);
      }),
      message((e) => {
        encoding.writeVarUint(e, 1);
        encoding.writeVarUint8Array(e, unreadable);
      }),
    ];
    // On B's own channel: changes for a document it does not hold, cut short, and of a kind it does not take there.
    const direct = [
      ...junk,
      message((e) => {
        encoding.writeVarUint(e, 6);
        encoding.writeVarString(e, 'budget:no-such-plan:UNIT');
        encoding.writeVarUint(e, 1);
        change(e, Y.encodeStateAsUpdate(new Y.Doc()));
      }),
      message((e) => {
        encoding.writeVarUint(e, 6);
        encoding.writeVarString(e, docName);
        encoding.writeVarUint(e, 2);
        change(e, new Uint8Array([0, 0]));
      }),
      message((e) => {
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc()));
      }),
    ];
    // On the document's channel: answers and byes that are not for anyone here.
    const control = [
      message((e) => {
        encoding.writeVarUint(e, 4);
        encoding.writeVarString(e, b.link.instanceId);
        encoding.writeVarString(e, 'not-its-session');
        encoding.writeVarUint(e, 1);
        encoding.writeVarString(e, 'x');
      }),
      message((e) => {
        encoding.writeVarUint(e, 5);
        encoding.writeVarString(e, 'not-a-session');
      }),
      message((e) => encoding.writeVarUint(e, 4)),
    ];
    for (const raw of [...junk, ...control]) await forger.publish(channel, raw);
    for (const raw of direct) await forger.publish(toB, raw);
    await settle(channel);
    await settle(toB);
    expect(Y.encodeStateAsUpdate(onB.doc.doc)).toEqual(before);
    // Neither forgot the other.
    expect(onA.relayed.knownHolders).toEqual([b.link.instanceId]);
    expect(onB.relayed.knownHolders).toEqual([a.link.instanceId]);

    // Still relaying, both ways.
    onA.doc.applyEdits('line-1', { budgetAmount: 7 }, origin('ann'));
    onB.doc.applyEdits('line-2', { budgetAmount: 8 }, origin('bob'));
    await until('both copies to converge', () => {
      expect(cells(onA)).toEqual({ [cellKey('line-1', 'budgetAmount')]: 7, [cellKey('line-2', 'budgetAmount')]: 8 });
      expect(cells(onB)).toEqual(cells(onA));
    });
  });

  it('applies a valid change in a batch from another instance even when the one before it cannot be read', async () => {
    const { channel, onA, onB } = await openOnBoth();
    // A change made on a third copy, sent by hand behind an unreadable one in the same message.
    const third = new Y.Doc();
    third.getMap('cells').set(cellKey('line-3', 'budgetAmount'), 42);
    const good = Y.encodeStateAsUpdate(third);
    const e = encoding.createEncoder();
    encoding.writeVarString(e, 'a-third-instance');
    encoding.writeVarUint(e, 3);
    encoding.writeVarUint(e, 2);
    for (const update of [new Uint8Array([0xff, 0xff, 0xff]), good]) {
      encoding.writeVarString(e, '');
      encoding.writeVarString(e, '');
      encoding.writeVarUint8Array(e, update);
    }
    await forger.publish(channel, Buffer.from(encoding.toUint8Array(e)));
    await until('the readable change on both', () => {
      expect(onA.doc.cells.get(cellKey('line-3', 'budgetAmount'))).toBe(42);
      expect(onB.doc.cells.get(cellKey('line-3', 'budgetAmount'))).toBe(42);
    });
  });

  /**
   * What the instances publish while `during` runs (seen with MONITOR, which subscribes to nothing and so
   * changes no count of receivers): the channel, the sender's instance id, and the message kind.
   */
  async function publishesDuring(during: () => void | Promise<void>, quietMs = 300): Promise<{ channel: string; from: string; kind: number }[]> {
    // A MONITOR line that is not read as one (ioredis takes it for the reply to a command it never sent, and
    // emits "Command queue state error") must not end the test run: it happens as the connection closes, and as
    // it opens, when the first lines come in the same read as MONITOR's OK, before ioredis has switched to
    // monitoring (it switches in a promise callback). So the connection is made here, heard from the start, rather
    // than by `monitor()`, which listens only once it has switched. Lines lost that way were published before
    // `during`; nothing is read after it.
    const monitor = new Redis(LOCAL_REDIS_URL, { monitor: true, lazyConnect: true });
    monitor.on('error', () => undefined);
    const monitoring = new Promise<void>((resolve) => monitor.once('monitoring', () => resolve()));
    await monitor.connect();
    await monitoring;
    const seen: { channel: string; from: string; kind: number }[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() !== 'publish' || !args[1]?.startsWith(prefix)) return;
      // MONITOR shows a byte that is not printable as \xNN (and a few as \n, \r, \t, \a, \b).
      const message = (args[2] ?? '').replace(/\\(x[0-9a-f]{2}|[nrtab"\\])/g, (_, e: string) =>
        e.startsWith('x') ? String.fromCharCode(parseInt(e.slice(1), 16)) : ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[e] ?? e,
      );
      // Every message of ours starts with the sender's instance id (a varString: a length, then 36 characters).
      if (message.charCodeAt(0) !== 36) return;
      seen.push({ channel: args[1], from: message.slice(1, 37), kind: message.charCodeAt(37) });
    });
    try {
      await during();
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    } finally {
      monitor.disconnect();
    }
    return seen;
  }

  const HELLO = 2;
  const isChange = (kind: number) => kind === 0 || kind === 3 || kind === 6;

  it('sends changes to the one other instance holding the document on its own channel, and none to itself', async () => {
    const { channel, toA, toB, onA, onB } = await openOnBoth();
    const seen = await publishesDuring(async () => {
      onA.doc.applyEdits('line-1', { budgetAmount: 1 }, origin('ann'));
      onB.doc.applyEdits('line-2', { budgetAmount: 2 }, origin('bob'));
      await until('each change on the other copy', () => expect(cells(onB)).toEqual(cells(onA)));
    });
    // (Other documents of earlier tests may still be saying hello meanwhile.)
    const changes = seen.filter((p) => isChange(p.kind) && [channel, toA, toB].includes(p.channel) && (p.channel !== channel || p.kind !== 0));
    expect(changes).toEqual([
      { channel: toB, from: a.link.instanceId, kind: 6 },
      { channel: toA, from: b.link.instanceId, kind: 6 },
    ]);
    expect(seen.filter((p) => p.channel === channel)).toEqual([]);
  });

  it('sends nothing for a document no other instance holds, and one opening it later gets everything', async () => {
    const docName = `budget:plan-${++docCount}:UNIT`;
    const onA = await open(a, docName);
    await sure(onA, []);
    const alone = await publishesDuring(() => {
      onA.doc.applyEdits('line-1', { budgetAmount: 11 }, origin('ann'));
      onA.doc.applyEdits('line-2', { comment: 'alone' }, origin('ann'));
    });
    expect(alone).toEqual([]);
    // B opens it: its hello reaches A, whose answer carries what A accepted alone (it is not stored here).
    const onB = await open(b, docName);
    await until('B to have what A accepted alone', () => expect(cells(onB)).toEqual(cells(onA)));
    await sure(onA, [b]);
    await sure(onB, [a]);
    onA.doc.applyEdits('line-3', { budgetAmount: 33 }, origin('ann'));
    await until('a later change on B', () => expect(onB.doc.cells.get(cellKey('line-3', 'budgetAmount'))).toBe(33));
  });

  it('misses nothing while a third instance opens the document amid changes on the two others', async () => {
    const { channel, onA, onB } = await openOnBoth();
    const c = await instance();
    let onC: Copy | undefined;
    const seen = await publishesDuring(async () => {
      // What C reads from storage: everything accepted so far (storage that keeps up), so that C lacks nothing a
      // later change depends on, and asks again only if something after its read went missing.
      const opening = open(c, onA.doc.name, () => Y.encodeStateAsUpdate(onA.doc.doc)).then((copy) => (onC = copy));
      // Both others keep changing the document, turn after turn, while C subscribes, loads and says hello.
      for (let turn = 0; !onC || turn < 40; turn++) {
        onA.doc.applyEdits(LINES[turn % 3], { budgetAmount: turn }, origin('ann'));
        onB.doc.applyEdits(LINES[(turn + 1) % 3], { forecastSales: turn }, origin('bob'));
        // And C, from the moment it has the document, while it learns who else holds it.
        onC?.doc.applyEdits(LINES[(turn + 2) % 3], { comment: `C ${turn}` }, origin('cat'));
        await new Promise((resolve) => setTimeout(resolve, turn % 5));
      }
      await opening;
      await sure(onC!, [a, b]);
      onC!.doc.applyEdits('line-1', { comment: 'from C' }, origin('cat'));
      await until('the three copies to converge', () => {
        expect(cells(onB)).toEqual(cells(onA));
        expect(cells(onC!)).toEqual(cells(onA));
      });
    });
    // C said hello once; nobody had to ask again for something missing. (Documents of earlier tests may still be
    // asking for the changes forged into them: only this document's channel counts.)
    expect(seen.filter((p) => p.kind === HELLO && p.channel === channel).map((p) => p.from)).toEqual([c.link.instanceId]);
    // Three holders: changes on the document's channel again.
    expect(seen.filter((p) => isChange(p.kind) && p.from === c.link.instanceId).every((p) => p.channel === channel)).toBe(true);
    expect(onA.relayed.knownHolders.sort()).toEqual([b.link.instanceId, c.link.instanceId].sort());
    expect([...onA.errors, ...onB.errors, ...onC!.errors]).toEqual([]);
    onC!.relayed.leave();
  });

  it('stops sending to an instance that said bye, and sends on the channel while a subscriber is not an instance', async () => {
    const { channel, onA, onB } = await openOnBoth();
    onB.relayed.leave();
    await sure(onA, []);
    const afterBye = await publishesDuring(() => void onA.doc.applyEdits('line-1', { budgetAmount: 5 }, origin('ann')));
    expect(afterBye).toEqual([]);
    // Someone watching the channel (not an instance) receives A's next hello: A can no longer be sure.
    await spy.subscribe(channel);
    onA.relayed.unsure();
    await onA.relayed.catchUp();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(onA.relayed.knowsEveryHolder).toBe(false);
    const watched = await publishesDuring(() => void onA.doc.applyEdits('line-1', { budgetAmount: 6 }, origin('ann')));
    expect(watched.filter((p) => isChange(p.kind))).toEqual([{ channel, from: a.link.instanceId, kind: 0 }]);
    await spy.unsubscribe(channel);
  });

  it("stops trusting Redis's count of a hello's receivers once more instances answer, and says so", async () => {
    const d = await instance();
    const warn = vi.spyOn(d.relay.log, 'warn');
    const docName = `budget:plan-${++docCount}:UNIT`;
    const channel = d.link.channel(`grid:${docName}`);
    const alone = await open(d, docName);
    await sure(alone, []);
    // An answer that Redis did not count among the hello's receivers (an instance on another cluster node, say).
    const e = encoding.createEncoder();
    encoding.writeVarString(e, 'an-instance-redis-did-not-count');
    encoding.writeVarUint(e, 4);
    encoding.writeVarString(e, d.link.instanceId);
    encoding.writeVarString(e, alone.relayed.sessionId);
    encoding.writeVarUint(e, alone.relayed.helloRound);
    encoding.writeVarString(e, 'its-session');
    await forger.publish(channel, Buffer.from(encoding.toUint8Array(e)));
    await until('the counts distrusted', () => expect(d.relay.trustsCounts).toBe(false));
    expect(alone.relayed.knowsEveryHolder).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    // From now on its changes go on the document's channel, where every instance hears them.
    const seen = await publishesDuring(() => void alone.doc.applyEdits('line-1', { budgetAmount: 1 }, origin('ann')));
    expect(seen.filter((p) => isChange(p.kind))).toEqual([{ channel, from: d.link.instanceId, kind: 0 }]);
  });

  it('still sends the changes of the turn in which a document is unloaded', async () => {
    const { onA, onB } = await openOnBoth();
    onA.doc.applyEdits('line-1', { comment: 'said just before leaving' }, origin('ann'));
    onA.relayed.leave();
    await until('the change made before leaving on B', () => expect(onB.doc.cells.get(cellKey('line-1', 'comment'))).toBe('said just before leaving'));
  });

  it('leaves both copies identical after bursts from both ends, in many turns', async () => {
    const { onA, onB } = await openOnBoth();
    const columns: EditableColumn[] = ['budgetAmount', 'forecastSales'];
    for (let turn = 0; turn < 30; turn++) {
      for (let i = 0; i < 1 + (turn % 4); i++) {
        const line = LINES[(turn + i) % LINES.length];
        const column = columns[(turn * 7 + i) % 2];
        onA.doc.applyEdits(line, { [column]: turn * 100 + i }, origin('ann'));
        onB.doc.applyEdits(LINES[(turn + i + 1) % LINES.length], { [column]: turn * 100 + i + 50 }, origin('bob'));
      }
      if (turn % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await until('the same state on both', () => expect(Y.encodeStateVector(onB.doc.doc)).toEqual(Y.encodeStateVector(onA.doc.doc)));
    expect(cells(onB)).toEqual(cells(onA));
    expect([...onA.errors, ...onB.errors]).toEqual([]);
  });
});

describe.skipIf(!reachable)('RedisLink publishing', () => {
  it('sends what one run publishes together, in order, on every channel, on the connection Redis does not answer', async () => {
    const prefix = `plansync-test-link-${randomBytes(4).toString('hex')}`;
    const log = createLogger('silent');
    const sender = new RedisLink({ url: LOCAL_REDIS_URL, prefix, log });
    const receiver = new RedisLink({ url: LOCAL_REDIS_URL, prefix, log });
    try {
      await Promise.all([sender.start(5000), receiver.start(5000)]);
      await until('publishing unanswered', () => expect(sender.quietPublishing).toBe(true));
      const got: string[] = [];
      await receiver.subscribe(receiver.channel('one'), (m) => got.push(`one:${m.toString()}`));
      await receiver.subscribe(receiver.channel('two'), (m) => got.push(`two:${m.toString()}`));
      const sent: string[] = [];
      for (let i = 0; i < 40; i++) {
        const name = i % 3 === 0 ? 'two' : 'one';
        expect(sender.publish(sender.channel(name), i % 2 ? Buffer.from(String(i)) : String(i))).toBe(true);
        sent.push(`${name}:${i}`);
      }
      // And one alone in a later run.
      await new Promise((resolve) => setImmediate(resolve));
      sender.publish(sender.channel('one'), 'last');
      sent.push('one:last');
      await until('every message, in order', () => expect(got).toEqual(sent));
      expect(sender.quietPublishing).toBe(true);
      // And the other way.
      receiver.publish(receiver.channel('back'), 'ok');
      const back: string[] = [];
      await sender.subscribe(sender.channel('back'), (m) => back.push(m.toString()));
      receiver.publish(receiver.channel('back'), 'ok');
      await until('a message the other way', () => expect(back).toContain('ok'));
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
    }
  });
});
