/**
 * The grid as an attacker sees it: hand-made Yjs updates and awareness messages on raw sockets (testing/rawGrid.ts)
 * next to stock clients, against the real server and PostgreSQL. Each test is named after what it prevents.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { awarenessUpdateOf, connectRawGrid, frameOf, replicaOf, type RawGridClient } from '../testing/rawGrid.js';
import { CloseCode } from '../../../schema/codes.js';

const LINES = `query($plan: ID!, $unit: String) {
  budgetLines(planId: $plan, businessUnitCode: $unit) { id budgetAmount forecastSales comment version updatedBy { email } }
}`;
const AUDIT = `query($l: ID) { auditLog(lineId: $l) { edges { node { column oldValue newValue source user { email } } } } }`;

describe('grid attacks: nothing a client sends lands unvalidated or in someone else\'s name', () => {
  let server: TestServer;
  let planId: string;
  let lineIds: string[];
  const tokens: Record<string, string> = {};
  const stock: GridClient[] = [];
  const raw: RawGridClient[] = [];
  const docName = () => `budget:${planId}:SALES_NORTH`;

  const open = async (who: string) => {
    const client = connectGrid(server.url, docName(), tokens[who]);
    stock.push(client);
    await synced(client);
    // Announce presence as the web client does (the stock client's initial empty state has clock 0, which
    // y-protocols never applies).
    client.provider.awareness.setLocalStateField('cell', null);
    return client;
  };
  const openRaw = async (who: string) => {
    const client = connectRawGrid(server.url, docName(), tokens[who]);
    raw.push(client);
    await client.synced;
    return client;
  };
  const row = async (lineId: string) => {
    const res = await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin);
    return res.data.budgetLines.find((l: any) => l.id === lineId);
  };
  const audit = async (lineId: string) =>
    (await server.gql(AUDIT, { l: lineId }, tokens.admin)).data.auditLog.edges.map((e: any) => e.node);

  beforeAll(async () => {
    server = await startTestServer();
    for (const email of ['admin@example.com', 'lead.sales-north@example.com', 'planner.sales-north@example.com', 'viewer.sales-north@example.com']) {
      tokens[email.split('@')[0]] = await server.login(email);
    }
    planId = (await server.gql('{ budgetPlans { id } }', {}, tokens.admin)).data.budgetPlans[0].id;
    const res = await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, tokens.admin);
    lineIds = res.data.budgetLines.map((l: any) => l.id);
  });
  afterEach(() => {
    while (stock.length) stock.pop()!.destroy();
    while (raw.length) raw.pop()!.close();
  });
  afterAll(() => server?.stop());

  it('a change waiting for a victim\'s next edit is dropped, never applied inside it and credited to the victim', async () => {
    const victim = await open('planner.sales-north');
    const attacker = await openRaw('lead.sales-north');
    const key = `${lineIds[3]}/budgetAmount`;
    victim.cells.set(`${lineIds[2]}/comment`, 'victim was here'); // the victim's client id is now known to all
    await eventually(() => attacker.doc.getMap('cells').get(`${lineIds[2]}/comment`) === 'victim was here', 'the attacker to see it');

    // The attacker predicts the victim's next item (same client id and clock) and writes right after it.
    const predicted = replicaOf(attacker.doc, victim.doc.clientID);
    predicted.getMap('cells').set(key, 999);
    const mine = replicaOf(predicted);
    mine.getMap('cells').set(key, 5);
    const attack = Y.encodeStateAsUpdate(mine, Y.encodeStateVector(predicted)); // only the attacker's item
    const requestsBefore = attacker.syncRequests;
    attacker.sendUpdate(attack);
    // The server cannot integrate it and says so: it asks the attacker for what it lacks.
    await eventually(() => attacker.syncRequests > requestsBefore, 'a sync request to the attacker');

    victim.cells.set(key, 42); // the victim's real edit, at exactly the predicted id
    await eventually(async () => (await row(lineIds[3])).budgetAmount === 42, 'the victim\'s value in the row');
    const fresh = await open('admin');
    expect(fresh.cells.get(key)).toBe(42);
    expect(victim.cells.get(key)).toBe(42);
    const entries = await audit(lineIds[3]);
    expect(entries.filter((e: any) => e.column === 'budgetAmount').map((e: any) => [e.newValue, e.user.email])).toEqual([
      ['42', 'planner.sales-north@example.com'],
    ]);
  });

  it('a delete waiting for a victim\'s next edit is dropped, never clearing their cell in their name', async () => {
    const victim = await open('planner.sales-north');
    const attacker = await openRaw('lead.sales-north');
    victim.cells.set(`${lineIds[4]}/comment`, 'hello');
    await eventually(() => attacker.doc.getMap('cells').get(`${lineIds[4]}/comment`) === 'hello', 'the attacker to see it');
    const clock = Y.getState(attacker.doc.store, victim.doc.clientID);
    // An update with no structs and a delete set over the victim's next 100 clocks.
    const deletes = frameOf((e) => {
      encoding.writeVarUint(e, 0); // no structs
      encoding.writeVarUint(e, 1); // one client in the delete set
      encoding.writeVarUint(e, victim.doc.clientID);
      encoding.writeVarUint(e, 1); // one range
      encoding.writeVarUint(e, clock);
      encoding.writeVarUint(e, 100);
    });
    const requestsBefore = attacker.syncRequests;
    attacker.sendUpdate(deletes);
    await eventually(() => attacker.syncRequests > requestsBefore, 'a sync request to the attacker');

    const key = `${lineIds[5]}/forecastSales`;
    victim.cells.set(key, 77);
    await eventually(async () => (await row(lineIds[5])).forecastSales === 77, 'the victim\'s value in the row');
    // Some time for a wrongly released delete to show: a later edit of the victim's is projected after it.
    victim.cells.set(`${lineIds[5]}/comment`, 'later');
    await eventually(async () => (await row(lineIds[5])).comment === 'later', 'the later edit');
    expect((await row(lineIds[5])).forecastSales).toBe(77);
    expect(attacker.doc.getMap('cells').get(key)).toBe(77);
    const cleared = (await audit(lineIds[5])).filter((e: any) => e.column === 'forecastSales' && e.newValue === null);
    expect(cleared).toEqual([]);
  });

  it("writing under another person's client id is refused, so their own edit at that id still lands", async () => {
    const victim = await open('planner.sales-north');
    const attacker = await openRaw('lead.sales-north');
    // The stock client announces presence with its document's client id on connect: that id is now the victim's.
    await eventually(() => attacker.awareness.getStates().has(victim.doc.clientID), 'the victim\'s presence');
    const key = `${lineIds[6]}/budgetAmount`;
    const forged = replicaOf(attacker.doc, victim.doc.clientID);
    forged.getMap('cells').set(key, 13);
    attacker.sendUpdate(Y.encodeStateAsUpdate(forged, Y.encodeStateVector(attacker.doc)));
    victim.cells.set(key, 31);
    await eventually(async () => (await row(lineIds[6])).budgetAmount === 31, 'the victim\'s value in the row');
    const fresh = await open('admin');
    expect(fresh.cells.get(key)).toBe(31);
    expect(attacker.doc.getMap('cells').get(key)).toBe(31);
    expect((await audit(lineIds[6])).map((e: any) => e.newValue)).not.toContain('13');
  });

  it('list content, nested types and other root types are reverted, while a valid edit in the same message lands with its audit', async () => {
    const attacker = await openRaw('lead.sales-north');
    const sizeBefore = Y.encodeStateAsUpdate(attacker.doc).byteLength;
    const base = () => replicaOf(attacker.doc);
    const list = base();
    list.getArray('cells').insert(0, ['x'.repeat(300_000)]); // sequence content under the root map
    const text = base();
    text.getText('notes').insert(0, 'hidden notes');
    const nested = base();
    nested.getMap('cells').set(`${lineIds[7]}/comment`, new Y.Map()); // a shared type as a cell value
    const valid = base();
    valid.getMap('cells').set(`${lineIds[8]}/budgetAmount`, 321);
    const sv = Y.encodeStateVector(attacker.doc);
    const message = Y.mergeUpdates([list, text, nested, valid].map((d) => Y.encodeStateAsUpdate(d, sv)));
    attacker.sendUpdate(message);

    await eventually(async () => (await row(lineIds[8])).budgetAmount === 321, 'the valid edit in the row');
    const entries = await audit(lineIds[8]);
    expect(entries.map((e: any) => [e.column, e.newValue, e.user.email])).toContainEqual(['budgetAmount', '321', 'lead.sales-north@example.com']);
    const fresh = await open('admin');
    expect(fresh.doc.getText('notes').toString()).toBe('');
    expect(fresh.cells.has(`${lineIds[7]}/comment`)).toBe(false);
    // The 300 KB never stays anywhere: not in what a new client receives, not in what is stored.
    expect(Y.encodeStateAsUpdate(fresh.doc).byteLength - sizeBefore).toBeLessThan(10_000);
    await eventually(async () => {
      const [{ bytes }] = await server.sql<{ bytes: string | null }>(`SELECT sum(length(update))::text AS bytes FROM grid_update`);
      return Number(bytes ?? 0) < 100_000;
    }, 'stored updates without the hidden content');
  });

  describe('presence is the server\'s to vouch for', () => {
    it('cannot set, spoof or remove anyone else\'s presence, nor add fake people', async () => {
      const victim = await open('planner.sales-north');
      const observer = await open('admin');
      const attacker = await openRaw('viewer.sales-north'); // read-only, too
      await eventually(() => observer.provider.awareness.getStates().has(victim.doc.clientID), 'the victim\'s presence');
      const victimId = victim.doc.clientID;
      // Someone else's id and a few made-up ones: only one id becomes the attacker's, with the attacker's identity.
      attacker.sendAwareness(
        awarenessUpdateOf([
          { clientId: victimId, clock: 1_000, state: { user: { name: 'Hijacked' } } },
          ...Array.from({ length: 5 }, (_, i) => ({ clientId: 10_000 + i, clock: 1, state: { user: { name: `fake ${i}` } } })),
        ]),
      );
      attacker.sendAwareness(awarenessUpdateOf([{ clientId: victimId, clock: 2_000, state: null }]));
      const attackerSeen = () => [...observer.provider.awareness.getStates().values()].filter((s: any) => s.user?.email === 'viewer.sales-north@example.com');
      await eventually(() => attackerSeen().length === 1, "the attacker's own, vouched presence");
      let states = observer.provider.awareness.getStates();
      expect(states.get(victimId)?.user?.email).toBe('planner.sales-north@example.com');
      expect(states.size).toBe(3); // the victim, the observer and the attacker: nobody else
      for (const [id, state] of states) if (id !== observer.doc.clientID) expect(typeof (state as any).user.name).toBe('string');
      // 300 fake people in one message: refused as malformed, that connection only.
      attacker.sendAwareness(
        awarenessUpdateOf(Array.from({ length: 300 }, (_, i) => ({ clientId: 20_000 + i, clock: 1, state: { user: { name: `fake ${i}` } } }))),
      );
      expect((await attacker.closed).code).toBe(CloseCode.BadRequest);
      await eventually(() => attackerSeen().length === 0, "the attacker's presence to go with its connection");
      states = observer.provider.awareness.getStates();
      expect([...states.keys()].sort()).toEqual([victimId, observer.doc.clientID].sort());
    });

    it('a name that is an object or a made-up identity becomes the person\'s own name from their token', async () => {
      const observer = await open('admin');
      const attacker = await openRaw('lead.sales-north');
      const id = attacker.doc.clientID;
      attacker.sendAwareness(
        awarenessUpdateOf([{ clientId: id, clock: 1, state: { user: { name: { toString: 'boom' }, email: 'admin@example.com', color: 'url(javascript:x)' }, cell: { $x: 1 }, extra: 'x'.repeat(1000) } }]),
      );
      await eventually(() => observer.provider.awareness.getStates().has(id), 'the attacker\'s presence');
      const state = observer.provider.awareness.getStates().get(id) as any;
      expect(state.user.email).toBe('lead.sales-north@example.com');
      expect(typeof state.user.name).toBe('string');
      expect(state.user.color).toMatch(/^#[0-9a-f]{6}$/);
      expect(state.cell).toBeNull();
      expect(state.extra).toBeUndefined();
    });

    it('an oversized presence closes only that connection (CloseCode.BadRequest)', async () => {
      const observer = await open('admin');
      const attacker = await openRaw('lead.sales-north');
      attacker.sendAwareness(awarenessUpdateOf([{ clientId: attacker.doc.clientID, clock: 1, state: { cell: 'x'.repeat(100_000) } }]));
      expect((await attacker.closed).code).toBe(CloseCode.BadRequest);
      observer.cells.set(`${lineIds[9]}/comment`, 'still fine');
      await eventually(async () => (await row(lineIds[9])).comment === 'still fine', 'the observer\'s edit');
    });

    it('a burst of presence updates ends on the last one (coalesced, not dropped)', async () => {
      const observer = await open('admin');
      const attacker = await openRaw('lead.sales-north');
      const id = attacker.doc.clientID;
      for (let clock = 1; clock <= 500; clock++) {
        attacker.sendAwareness(awarenessUpdateOf([{ clientId: id, clock, state: { cell: `${lineIds[clock % 10]}/budgetAmount` } }]));
      }
      await eventually(() => (observer.provider.awareness.getStates().get(id) as any)?.cell === `${lineIds[0]}/budgetAmount`, 'the last presence');
    });
  });

  it('a client that sends but does not read is not read from either: server memory stays bounded', async () => {
    const people = await Promise.all(['admin', 'planner.sales-north', 'viewer.sales-north', 'lead.sales-north'].map(open));
    await eventually(() => people[0].provider.awareness.getStates().size >= 4, 'everyone present');
    const attacker = await openRaw('lead.sales-north');
    (attacker.ws as any)._socket.pause(); // stops reading what the server sends
    const before = process.memoryUsage().arrayBuffers;
    const query = frameOf((e) => encoding.writeVarUint(e, 3));
    for (let i = 0; i < 40_000; i++) attacker.send(query);
    // Each answer is every present state (~600 bytes here): 24 MB if all were answered while unread.
    await new Promise((r) => setTimeout(r, 1500));
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(8 * 1024 * 1024);
    // The others are unaffected.
    people[1].cells.set(`${lineIds[10]}/comment`, 'unaffected');
    await eventually(() => people[0].cells.get(`${lineIds[10]}/comment`) === 'unaffected', 'an edit to reach the others');
  });

  it('a viewer that does not read what is broadcast is closed (CloseCode.TryAgainLater) once 16 MB wait for it; the others are unaffected', async () => {
    const [writer, colleague] = await Promise.all(['lead.sales-north', 'planner.sales-north'].map(open));
    const slow = await openRaw('viewer.sales-north');
    (slow.ws as any)._socket.pause(); // reads nothing more
    // Broadcasts of about 80 KB (a 2,000-character comment on each of the unit's lines), 24 MB in all: more than
    // the kernel's buffers hold, so most of it waits in the server, where backpressure must count it.
    const comment = (round: number) => `${round}`.padEnd(2000, String.fromCharCode(97 + (round % 26)));
    for (let round = 0; round < 300; round++) {
      writer.doc.transact(() => {
        for (const id of lineIds) writer.cells.set(`${id}/comment`, comment(round));
      });
      if (round % 20 === 19) await new Promise((r) => setTimeout(r, 10));
    }
    await eventually(() => colleague.cells.get(`${lineIds[0]}/comment`) === comment(299), 'the last broadcast to reach a colleague who reads', 30_000);
    // Once it reads again, it finds the server closed it: its close frame comes after what was sent before it.
    (slow.ws as any)._socket.resume();
    const { code } = await slow.closed;
    expect(code).toBe(CloseCode.TryAgainLater);
    expect(slow.received).toBeLessThan(300 * lineIds.length * 2000);
  }, 60_000);
});
