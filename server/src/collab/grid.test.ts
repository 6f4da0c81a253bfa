import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cellsOf, connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { CloseCode } from '../../../schema/codes.js';

const LINES = `query($plan: ID!, $unit: String) {
  budgetLines(planId: $plan, businessUnitCode: $unit) { id budgetAmount forecastSales comment version updatedBy { email } }
}`;

describe('collaborative grid over the y-websocket protocol', () => {
  let server: TestServer;
  let planId: string;
  let lineIds: string[];
  let marketingLineId: string;
  const tokens: Record<string, string> = {};
  const clients: GridClient[] = [];
  const doc = (unit = 'SALES_NORTH') => `budget:${planId}:${unit}`;

  function open(who: string, unit = 'SALES_NORTH'): GridClient {
    const client = connectGrid(server.url, doc(unit), tokens[who]);
    clients.push(client);
    return client;
  }

  async function rows(unit = 'SALES_NORTH') {
    const res = await server.gql(LINES, { plan: planId, unit }, tokens.admin);
    return new Map<string, any>(res.data.budgetLines.map((l: any) => [l.id, l]));
  }

  beforeAll(async () => {
    server = await startTestServer();
    for (const email of [
      'admin@example.com',
      'analyst@example.com',
      'lead.sales-north@example.com',
      'planner.sales-north@example.com',
      'viewer.sales-north@example.com',
      'lead.marketing@example.com',
      'lead.sales-south@example.com',
    ]) {
      tokens[email.split('@')[0]] = await server.login(email);
    }
    tokens.admin = tokens.admin ?? (await server.login('admin@example.com'));
    planId = (await server.gql('{ budgetPlans { id } }', {}, tokens.admin)).data.budgetPlans[0].id;
    lineIds = [...(await rows()).keys()];
    marketingLineId = [...(await rows('MARKETING')).keys()][0];
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  afterAll(() => server?.stop());

  it('lets two leaders of a unit converge, and projects the edit into GraphQL and the audit log', async () => {
    const lead = open('lead.sales-north');
    const planner = open('planner.sales-north');
    await Promise.all([synced(lead), synced(planner)]);
    lead.cells.set(`${lineIds[0]}/budgetAmount`, 1234.5);
    planner.cells.set(`${lineIds[1]}/comment`, 'from the planner');
    await eventually(() => planner.cells.get(`${lineIds[0]}/budgetAmount`) === 1234.5, 'planner sees the lead');
    await eventually(() => lead.cells.get(`${lineIds[1]}/comment`) === 'from the planner', 'lead sees the planner');

    const line0 = await eventually(async () => {
      const row = (await rows()).get(lineIds[0]);
      return row.budgetAmount === 1234.5 && row;
    }, 'the row to show the grid edit');
    expect(line0.updatedBy).toEqual({ email: 'lead.sales-north@example.com' });
    expect(line0.version).toBe(2);
    const audit = await server.gql(
      `query($l: ID) { auditLog(lineId: $l) { edges { node { column newValue source user { email } } } } }`,
      { l: lineIds[1] },
      tokens.admin,
    );
    expect(audit.data.auditLog.edges.map((e: any) => e.node)).toEqual([
      { column: 'comment', newValue: 'from the planner', source: 'GRID', user: { email: 'planner.sales-north@example.com' } },
    ]);
  });

  it('ends a burst of concurrent edits identical on every client and in GraphQL', async () => {
    const writers = [open('lead.sales-north'), open('planner.sales-north'), open('lead.sales-north'), open('admin')];
    await Promise.all(writers.map(synced));
    const keys = lineIds.slice(10, 30).flatMap((id) => [`${id}/budgetAmount`, `${id}/forecastSales`]);
    let n = 0;
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 40; i++) {
          writer.cells.set(keys[(i * 7 + w * 3) % keys.length], ++n * 10 + w);
          if (i % 8 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    await eventually(() => {
      const reference = JSON.stringify(cellsOf(writers[0]));
      return writers.every((w) => JSON.stringify(cellsOf(w)) === reference);
    }, 'every client to converge');
    const final = cellsOf(writers[0]);
    await eventually(async () => {
      const byId = await rows();
      return keys.every((key) => {
        const [id, column] = key.split('/');
        return byId.get(id)[column] === (final[key] ?? null);
      });
    }, 'GraphQL to show the converged values');
  });

  it("never lands a viewer's edits, nor an analyst's", async () => {
    const viewer = open('viewer.sales-north');
    const analyst = open('analyst');
    const lead = open('lead.sales-north');
    await Promise.all([synced(viewer), synced(analyst), synced(lead)]);
    viewer.cells.set(`${lineIds[40]}/budgetAmount`, 666);
    analyst.cells.set(`${lineIds[41]}/budgetAmount`, 777);
    // A later edit by a writer arrives everywhere; by then the read-only edits would have too.
    lead.cells.set(`${lineIds[42]}/budgetAmount`, 1);
    await eventually(() => viewer.cells.get(`${lineIds[42]}/budgetAmount`) === 1, 'the viewer to see the lead');
    await eventually(async () => (await rows()).get(lineIds[42]).budgetAmount === 1, 'the lead edit in GraphQL');
    expect(lead.cells.has(`${lineIds[40]}/budgetAmount`)).toBe(false);
    expect(lead.cells.has(`${lineIds[41]}/budgetAmount`)).toBe(false);
    const byId = await rows();
    expect(byId.get(lineIds[40]).budgetAmount).toBeNull();
    expect(byId.get(lineIds[41]).budgetAmount).toBeNull();
    // Nor is it stored: a fresh client never receives it.
    const fresh = open('admin');
    await synced(fresh);
    expect(fresh.cells.has(`${lineIds[40]}/budgetAmount`)).toBe(false);
  });

  it('closes connections without a token, with a bad one, or to a unit the user may not read, before any content', async () => {
    const cases: [string | null, string, number][] = [
      [null, doc(), CloseCode.Unauthorized],
      ['not-a-jwt', doc(), CloseCode.Unauthorized],
      [tokens['lead.marketing'], doc(), CloseCode.Forbidden],
      [tokens['viewer.sales-north'], doc('MARKETING'), CloseCode.Forbidden],
      [tokens['lead.sales-north'], `budget:${planId}:NO_SUCH_UNIT`, CloseCode.Forbidden],
      [tokens['lead.sales-north'], `budget:00000000-0000-4000-8000-000000000000:SALES_NORTH`, CloseCode.Forbidden],
      [tokens['lead.sales-north'], 'something-else', CloseCode.Forbidden],
    ];
    for (const [token, name, code] of cases) {
      const client = connectGrid(server.url, name, token);
      clients.push(client);
      const closed = await client.closed;
      expect(closed.code, `${name} with ${token ? 'a token' : 'no token'}`).toBe(code);
      expect(client.cells.size).toBe(0);
      expect(client.provider.synced).toBe(false);
    }
  });

  it('drops each kind of invalid change, converges the sender back, and keeps valid changes of the same message', async () => {
    const sender = open('lead.sales-north');
    const watcher = open('planner.sales-north');
    await Promise.all([synced(sender), synced(watcher)]);
    const line = lineIds[50];
    sender.cells.set(`${line}/budgetAmount`, 100);
    await eventually(() => watcher.cells.get(`${line}/budgetAmount`) === 100, 'the valid baseline');

    const invalid: [string, (d: Y.Doc) => void][] = [
      ['negative amount', (d) => d.getMap('cells').set(`${line}/budgetAmount`, -5)],
      ['amount over 1e12', (d) => d.getMap('cells').set(`${line}/budgetAmount`, 1e12 + 1)],
      ['NaN', (d) => d.getMap('cells').set(`${line}/budgetAmount`, NaN)],
      ['Infinity', (d) => d.getMap('cells').set(`${line}/forecastSales`, Infinity)],
      ['string amount', (d) => d.getMap('cells').set(`${line}/forecastSales`, '12')],
      ['null amount', (d) => d.getMap('cells').set(`${line}/forecastSales`, null)],
      ['number comment', (d) => d.getMap('cells').set(`${line}/comment`, 12)],
      ['overlong comment', (d) => d.getMap('cells').set(`${line}/comment`, 'x'.repeat(2001))],
      ['read-only column', (d) => d.getMap('cells').set(`${line}/priorYearActual`, 1)],
      ['unknown line', (d) => d.getMap('cells').set('00000000-0000-4000-8000-000000000000/budgetAmount', 1)],
      ["another unit's line", (d) => d.getMap('cells').set(`${marketingLineId}/budgetAmount`, 1)],
      ['malformed key', (d) => d.getMap('cells').set('oops', 1)],
      ['nested type', (d) => d.getMap('cells').set(`${line}/comment`, new Y.Map())],
      ['other root map', (d) => d.getMap('evil').set('x', 1)],
      ['root text', (d) => d.getText('notes').insert(0, 'hello')],
      ['root array', (d) => d.getArray('list').push([1, 2])],
    ];
    for (const [what, change] of invalid) {
      const valid = lineIds[60 + invalid.findIndex(([w]) => w === what)];
      // One message: the invalid change and a valid one, as an offline resync would send them.
      sender.doc.transact(() => {
        change(sender.doc);
        sender.cells.set(`${valid}/comment`, what);
      });
      await eventually(() => watcher.cells.get(`${valid}/comment`) === what, `the valid change next to "${what}"`);
      await eventually(
        () =>
          sender.cells.get(`${line}/budgetAmount`) === 100 &&
          !sender.cells.has(`${line}/forecastSales`) &&
          !sender.cells.has(`${line}/comment`) &&
          !sender.cells.has(`${line}/priorYearActual`) &&
          [...sender.cells.keys()].every((k) => lineIds.includes(k.split('/')[0]) && ['budgetAmount', 'forecastSales', 'comment'].includes(k.split('/')[1])) &&
          (sender.doc.share.get('evil') === undefined || sender.doc.getMap('evil').size === 0) &&
          (sender.doc.share.get('notes') === undefined || sender.doc.getText('notes').length === 0) &&
          (sender.doc.share.get('list') === undefined || sender.doc.getArray('list').length === 0),
        `the sender to converge back after "${what}"`,
        3000,
      );
      expect(JSON.stringify(cellsOf(watcher))).toBe(JSON.stringify(cellsOf(sender)));
      expect(watcher.cells.has(`${marketingLineId}/budgetAmount`)).toBe(false);
      expect(watcher.doc.share.has('evil') ? watcher.doc.getMap('evil').size : 0).toBe(0);
    }
    const row = (await rows()).get(line);
    expect(row).toMatchObject({ budgetAmount: 100, forecastSales: null, comment: '' });
    const [{ n }] = await server.sql(
      `SELECT count(*)::int AS n FROM cell_change WHERE line_id = $1 AND NOT (column_name = 'budgetAmount' AND new_value = '100')`,
      [line],
    );
    expect(n).toBe(0);
    expect((await rows('MARKETING')).get(marketingLineId).budgetAmount).toBeNull();
  });

  it("brings an offline client's edits in after it reconnects", async () => {
    const offline = open('lead.sales-north');
    const online = open('planner.sales-north');
    await Promise.all([synced(offline), synced(online)]);
    offline.provider.disconnect();
    offline.cells.set(`${lineIds[80]}/budgetAmount`, 808);
    online.cells.set(`${lineIds[81]}/budgetAmount`, 818);
    offline.provider.connect();
    await eventually(() => online.cells.get(`${lineIds[80]}/budgetAmount`) === 808, 'the offline edit to arrive');
    await eventually(() => offline.cells.get(`${lineIds[81]}/budgetAmount`) === 818, 'the missed edit to reach the returning client');
    await eventually(async () => (await rows()).get(lineIds[80]).budgetAmount === 808, 'the offline edit in GraphQL');
  });

  it('carries updateBudgetLine into every open grid, and stores it in the document', async () => {
    const lead = open('lead.sales-north');
    await synced(lead);
    const res = await server.gql(
      `mutation($id: ID!) { updateBudgetLine(id: $id, input: { forecastSales: 4242, comment: "via API" }) { version forecastSales } }`,
      { id: lineIds[90] },
      tokens['planner.sales-north'],
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLine.forecastSales).toBe(4242);
    await eventually(() => lead.cells.get(`${lineIds[90]}/forecastSales`) === 4242, 'the API edit in the grid');
    expect(lead.cells.get(`${lineIds[90]}/comment`)).toBe('via API');
    // Clearing through the API deletes the keys.
    await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { forecastSales: null, comment: "" }) { version } }`, { id: lineIds[90] }, tokens['planner.sales-north']);
    await eventually(() => !lead.cells.has(`${lineIds[90]}/forecastSales`) && !lead.cells.has(`${lineIds[90]}/comment`), 'the API clear in the grid');
  });

  it('makes open connections read-only as soon as the unit is submitted', async () => {
    const south = open('lead.sales-south', 'SALES_SOUTH');
    const watcher = open('admin', 'SALES_SOUTH');
    await Promise.all([synced(south), synced(watcher)]);
    const southLines = [...(await rows('SALES_SOUTH')).keys()];
    south.cells.set(`${southLines[0]}/budgetAmount`, 1);
    await eventually(() => watcher.cells.get(`${southLines[0]}/budgetAmount`) === 1, 'an edit before submitting');
    const submitted = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }`,
      { p: planId },
      tokens['lead.sales-south'],
    );
    expect(submitted.data.submitBudget.status).toBe('SUBMITTED');
    south.cells.set(`${southLines[1]}/budgetAmount`, 2);
    watcher.cells.set(`${southLines[2]}/budgetAmount`, 3); // the admin is frozen out too
    // Prove the negative with a round trip: a fresh client syncs after the refused edits were sent.
    await new Promise((r) => setTimeout(r, 300));
    const fresh = open('analyst', 'SALES_SOUTH');
    await synced(fresh);
    expect(fresh.cells.get(`${southLines[0]}/budgetAmount`)).toBe(1);
    expect(fresh.cells.has(`${southLines[1]}/budgetAmount`)).toBe(false);
    expect(fresh.cells.has(`${southLines[2]}/budgetAmount`)).toBe(false);
    const byId = await rows('SALES_SOUTH');
    expect(byId.get(southLines[1]).budgetAmount).toBeNull();
  });

  it('closes only the sender of random, truncated or oversized frames; others keep working', async () => {
    const bystander = open('lead.sales-north');
    const other = open('planner.sales-north');
    await Promise.all([synced(bystander), synced(other)]);
    const frames: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff]),
      Buffer.from([0, 2, 50, 1, 2]), // an update claiming 50 bytes, carrying 2
      Buffer.from([0, 9, 0]), // unknown sync type
      Buffer.from([7]), // unknown message type
      Buffer.from([0, 2, 4, 1, 2, 3, 4]), // a well-framed update whose content is garbage
      Buffer.alloc(2 * 1024 * 1024, 1), // over the frame limit
      Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)),
    ];
    for (const frame of frames) {
      const raw = new WebSocket(`${server.url.replace('http', 'ws')}/yjs/${doc()}?token=${tokens['lead.sales-north']}`);
      await new Promise((resolve, reject) => {
        raw.once('open', resolve);
        raw.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
      raw.send(frame);
      const code = await closed;
      expect([CloseCode.BadRequest, CloseCode.MessageTooBig]).toContain(code);
    }
    const text = new WebSocket(`${server.url.replace('http', 'ws')}/yjs/${doc()}?token=${tokens['lead.sales-north']}`);
    await new Promise((resolve) => text.once('open', resolve));
    const textClosed = new Promise<number>((resolve) => text.once('close', (code) => resolve(code)));
    text.send('hello');
    expect(await textClosed).toBe(CloseCode.BadRequest);

    bystander.cells.set(`${lineIds[100]}/budgetAmount`, 5);
    await eventually(() => other.cells.get(`${lineIds[100]}/budgetAmount`) === 5, 'the others to keep working');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
