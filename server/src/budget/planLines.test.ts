/**
 * A plan's lines added and removed through GraphQL against the real server (contract v1.1, "Plans and their
 * structure"): only admins may; every refusal leaves nothing half-added; a closed plan is FORBIDDEN and a
 * submitted unit a CONFLICT; each call writes its activity entry; a removed line's audit history stays readable;
 * open grids take the new lines' cells at once (editable, projected, audited) and lose the removed ones' (in the
 * stored state too); `budgetLinesStructureChanged` reaches who may read the unit and nobody else.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unitGridLayout } from './planLayout.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const ADD = `mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) {
  id businessUnit { code } productCategory region quarter position priorYearActual budgetAmount forecastSales comment version } }`;
const REMOVE = `mutation($ids: [ID!]!) { removeBudgetLines(ids: $ids) }`;
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id productCategory region quarter position budgetAmount comment } }`;
const AUDIT = `query($l: ID) { auditLog(lineId: $l, first: 100) { edges { node { column newValue user { email }
  line { id businessUnit { code } productCategory region quarter budgetAmount removedAt } } } } }`;
const STRUCTURE = `subscription($p: ID!, $u: String) { budgetLinesStructureChanged(planId: $p, businessUnitCode: $u) {
  planId businessUnit { code } added { id productCategory region quarter } removedLineIds } }`;

/** Everyone of the demo data but the admin, one of each role. */
const NON_ADMINS = ['analyst@example.com', 'lead.sales-north@example.com', 'planner.finance@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example'];

describe('adding and removing budget lines', () => {
  let server: TestServer;
  let admin: string;
  let planId: string;
  const grids: GridClient[] = [];
  const subscriptions: Client[] = [];

  beforeAll(async () => {
    // Documents nobody holds unload at once, so that a test can remove lines of a document that is not open.
    server = await startTestServer({ GRID_IDLE_UNLOAD_MS: '20' });
    admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterEach(() => {
    while (grids.length) grids.pop()!.destroy();
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((c) => c.dispose()));
    await server?.stop();
  });

  const count = async (sql: string, params: unknown[] = []) => (await server.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n;
  const lineCount = () => count('budget_line');
  const activity = (action: string) => server.sql(`SELECT actor_email, subject, details FROM activity_entry WHERE action = $1 ORDER BY at`, [action]);
  const unitLines = async (unit: string, p = planId) => (await server.gql(LINES, { p, u: unit }, admin)).data.budgetLines as any[];
  const add = (lines: unknown[], token = admin, p = planId) => server.gql(ADD, { p, l: lines }, token);
  const remove = (ids: string[], token = admin) => server.gql(REMOVE, { ids }, token);
  const line = (unit: string, productCategory: string, region: string, quarter: string, priorYearActual?: number | null) => ({
    businessUnitCode: unit,
    productCategory,
    region,
    quarter,
    ...(priorYearActual !== undefined ? { priorYearActual } : {}),
  });
  const quarters = (unit: string, category: string, region: string) => ['Q1', 'Q2', 'Q3', 'Q4'].map((q) => line(unit, category, region, q));

  function grid(unit: string, token: string): GridClient {
    const client = connectGrid(server.url, `budget:${planId}:${unit}`, token);
    grids.push(client);
    return client;
  }

  function follow(token: string, unit?: string) {
    const received: any[] = [];
    const errors: unknown[] = [];
    const client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    subscriptions.push(client);
    client.subscribe(
      { query: STRUCTURE, variables: { p: planId, u: unit } },
      {
        next: (r) => (r.data ? received.push(r.data.budgetLinesStructureChanged) : errors.push(r.errors)),
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );
    return { received, errors };
  }

  /** The document's cells as stored (snapshot and log merged), as a load would read them. */
  async function storedCells(unit: string): Promise<Record<string, unknown>> {
    const docName = `budget:${planId}:${unit}`;
    const parts = [
      ...(await server.sql<{ state: Buffer }>(`SELECT state FROM grid_snapshot WHERE doc_name = $1`, [docName])).map((r) => r.state),
      ...(await server.sql<{ update: Buffer }>(`SELECT "update" FROM grid_update WHERE doc_name = $1 ORDER BY id`, [docName])).map((r) => r.update),
    ];
    const doc = new Y.Doc();
    for (const part of parts) Y.applyUpdate(doc, new Uint8Array(part));
    const cells = doc.getMap('cells').toJSON();
    doc.destroy();
    return cells;
  }

  const openDocuments = async () => Number(/^plansync_grid_open_documents (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);

  it('is for admins only: every other role is refused both mutations, and nothing changes', async () => {
    const [someLine] = await unitLines('SALES_NORTH');
    const before = await lineCount();
    for (const email of NON_ADMINS) {
      const token = await server.login(email);
      expect(errorCode(await add([line('SALES_NORTH', 'Laptops', 'Europe', 'Q1')], token)), email).toBe('FORBIDDEN');
      // Whatever the input: a non-admin learns nothing about it.
      expect(errorCode(await add([line('NOPE', 'Toasters', 'Mars', 'Q9')], token)), email).toBe('FORBIDDEN');
      expect(errorCode(await remove([someLine.id], token)), email).toBe('FORBIDDEN');
      expect(errorCode(await remove(['not-an-id'], token)), email).toBe('FORBIDDEN');
    }
    expect(errorCode(await add([line('SALES_NORTH', 'Laptops', 'Europe', 'Q1')], null as never))).toBe('UNAUTHENTICATED');
    expect(errorCode(await remove([someLine.id], null as never))).toBe('UNAUTHENTICATED');
    expect(await lineCount()).toBe(before);
    expect(await activity('LINES_ADDED')).toEqual([]);
    expect(await activity('LINES_REMOVED')).toEqual([]);
  });

  it("adds a new unit's lines in the grid's order, with a DRAFT submission and one activity entry", async () => {
    expect((await server.gql(`mutation { createBusinessUnit(code: "RESEARCH", name: "Research") { code } }`, {}, admin)).errors).toBeUndefined();
    const res = await add([...quarters('RESEARCH', 'Servers', 'Europe'), line('RESEARCH', 'Laptops', 'North America', 'Q2', 1250.5)]);
    expect(res.errors).toBeUndefined();
    const added = res.data.addBudgetLines;
    // In the order given, each where the layout puts it (category, then region, then quarter).
    expect(added.map((l: any) => [l.productCategory, l.region, l.quarter, l.position, l.priorYearActual])).toEqual([
      ['Servers', 'Europe', 'Q1', 44, null],
      ['Servers', 'Europe', 'Q2', 45, null],
      ['Servers', 'Europe', 'Q3', 46, null],
      ['Servers', 'Europe', 'Q4', 47, null],
      ['Laptops', 'North America', 'Q2', 1, 1250.5],
    ]);
    expect(added[0]).toMatchObject({ businessUnit: { code: 'RESEARCH' }, budgetAmount: null, forecastSales: null, comment: '', version: 1 });
    expect((await unitLines('RESEARCH')).map((l) => l.position)).toEqual([1, 44, 45, 46, 47]);
    const submissions = (await server.gql(`query($p: ID!) { budgetSubmissions(planId: $p) { businessUnit { code } status } }`, { p: planId }, admin)).data.budgetSubmissions;
    expect(submissions).toContainEqual({ businessUnit: { code: 'RESEARCH' }, status: 'DRAFT' });

    const entries = await activity('LINES_ADDED');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_email: 'admin@example.com', subject: 'FY2027 Budget', details: { planId, count: 5, units: { RESEARCH: 5 } } });
  });

  it('refuses bad lines with BAD_USER_INPUT and adds none of the call', async () => {
    const good = line('RESEARCH', 'Storage', 'Asia Pacific', 'Q1');
    const before = await lineCount();
    const refusals: [string, unknown[]][] = [
      ['an unknown unit', [good, line('NO_SUCH_UNIT', 'Storage', 'Asia Pacific', 'Q1')]],
      ['an empty category', [good, line('RESEARCH', '   ', 'Asia Pacific', 'Q1')]],
      ['a region of 81 characters', [good, line('RESEARCH', 'Storage', 'M'.repeat(81), 'Q1')]],
      ['a category with a control character', [good, line('RESEARCH', 'Toast\u0007ers', 'Asia Pacific', 'Q1')]],
      ['a region with a NUL', [good, line('RESEARCH', 'Storage', 'Ma\u0000rs', 'Q1')]],
      // XML does not allow them: every export writes them as U+FFFD, so the line's own export would not name it.
      ['a category with U+FFFE', [good, line('RESEARCH', 'Stor\uFFFEage', 'Asia Pacific', 'Q1')]],
      ['a region with U+FFFF', [good, line('RESEARCH', 'Storage', 'Asia\uFFFF', 'Q1')]],
      ['a quarter outside the plan layout', [good, line('RESEARCH', 'Storage', 'Asia Pacific', 'Q5')]],
      ['the same line twice', [good, line('RESEARCH', 'Storage', 'Asia Pacific', 'Q1')]],
      ['a line that exists', [good, line('RESEARCH', 'Servers', 'Europe', 'Q3')]],
      ['a line of the demo data that exists', [good, line('SALES_NORTH', 'Laptops', 'Europe', 'Q1')]],
      ['a negative prior-year actual', [good, line('RESEARCH', 'Storage', 'Asia Pacific', 'Q2', -1)]],
      ['a prior-year actual over 1e12', [good, line('RESEARCH', 'Storage', 'Asia Pacific', 'Q2', 1e12 + 1)]],
    ];
    for (const [what, lines] of refusals) {
      const res = await add(lines);
      expect(errorCode(res), what).toBe('BAD_USER_INPUT');
      expect(res.errors![0].message.length, what).toBeGreaterThan(0);
    }
    // More than 5,000 lines in one call, over HTTP as a script would send them: refused whole.
    const overCap = await add(Array.from({ length: 5001 }, () => good));
    expect(errorCode(overCap)).toBe('BAD_USER_INPUT');
    expect(overCap.errors![0].message).toMatch(/5000 lines/);
    // A plan that does not exist.
    expect(errorCode(await add([good], admin, '00000000-0000-4000-8000-000000000000'))).toBe('NOT_FOUND');
    expect(errorCode(await add([good], admin, 'nope'))).toBe('NOT_FOUND');
    expect(await lineCount()).toBe(before);
    expect(await activity('LINES_ADDED')).toHaveLength(1);
    // Messages say what is wrong.
    expect((await add([good, line('RESEARCH', 'Servers', 'Europe', 'Q3')])).errors![0].message).toMatch(/RESEARCH Servers, Europe, Q3 already exists/);
  });

  it("adds categories and regions of the team's own after the layout's lines, each group's quarters together and in order", async () => {
    const before = (await unitLines('SALES_SOUTH')).length;
    // Two groups of their own in one call (given out of order), trimmed; then a group of the layout, which takes its
    // layout place; then another unit's quarter of a group of their own, which joins its group's place.
    const added = await add([
      line('SALES_SOUTH', ' Cloud services ', 'India', 'Q3'),
      line('SALES_SOUTH', 'Cloud services', 'India', 'Q1'),
      ...quarters('SALES_SOUTH', 'Laptops', 'Oceania'),
    ]);
    expect(added.errors).toBeUndefined();
    expect(added.data.addBudgetLines.map((l: any) => `${l.productCategory}/${l.region}/${l.quarter}`)).toEqual([
      'Cloud services/India/Q3', 'Cloud services/India/Q1', 'Laptops/Oceania/Q1', 'Laptops/Oceania/Q2', 'Laptops/Oceania/Q3', 'Laptops/Oceania/Q4',
    ]);
    expect((await add([line('SALES_SOUTH', 'Cloud services', 'India', 'Q2'), line('MARKETING', 'Cloud services', 'India', 'Q4')])).errors).toBeUndefined();
    // The same text again is the same line: refused as existing, trimmed or not.
    expect((await add([line('SALES_SOUTH', 'Cloud services ', 'India', 'Q1')])).errors![0].message).toMatch(/SALES_SOUTH Cloud services, India, Q1 already exists/);
    // In other capitals too (the import matches lines without case, and would find two), and twice in one call.
    expect((await add([line('SALES_SOUTH', 'cloud SERVICES', 'india', 'Q1')])).errors![0].message).toMatch(/SALES_SOUTH Cloud services, India, Q1 already exists/);
    expect((await add([line('SALES_SOUTH', 'laptops', 'europe', 'Q1')])).errors![0].message).toMatch(/SALES_SOUTH Laptops, Europe, Q1 already exists/);
    expect((await add([line('MARKETING', 'Edge', 'Oceania', 'Q1'), line('MARKETING', 'EDGE', 'oceania', 'Q1')])).errors![0].message).toMatch(/given twice/);

    const south = await unitLines('SALES_SOUTH');
    expect(south).toHaveLength(before + 7);
    // The layout's 120 first, in their order; then the groups of their own, each group's quarters in order.
    const tail = south.slice(before).map((l: any) => `${l.productCategory}/${l.region}/${l.quarter}`);
    expect(tail).toEqual(['Cloud services/India/Q1', 'Cloud services/India/Q2', 'Cloud services/India/Q3', 'Laptops/Oceania/Q1', 'Laptops/Oceania/Q2', 'Laptops/Oceania/Q3', 'Laptops/Oceania/Q4']);
    const positions = south.map((l: any) => l.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    // Another unit lists the group at the same place.
    const marketing = (await unitLines('MARKETING')).find((l: any) => l.productCategory === 'Cloud services');
    const southCloudQ1 = south.find((l: any) => l.productCategory === 'Cloud services' && l.quarter === 'Q1');
    expect(marketing.quarter).toBe('Q4');
    expect(marketing.position).toBe(southCloudQ1.position + 3);
    // Editable like any line, through the one write path.
    const edited = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 5000 }) { budgetAmount } }`, { id: southCloudQ1.id }, admin);
    expect(edited.errors).toBeUndefined();
    expect(edited.data.updateBudgetLine.budgetAmount).toBe(5000);
  });

  it('removes lines, counting only the ids that name one, and keeps their audit history readable', async () => {
    const research = await unitLines('RESEARCH');
    const [first, second] = research;
    // Some history for the first: an API edit.
    const edit = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 777, comment: "gone soon" }) { version } }`, { id: first.id }, admin);
    expect(edit.errors).toBeUndefined();

    // Unknown ids, malformed ones and repeats do not count.
    const res = await remove([first.id, first.id.toUpperCase(), second.id, '00000000-0000-4000-8000-000000000000', 'nope']);
    expect(res.errors).toBeUndefined();
    expect(res.data.removeBudgetLines).toBe(2);
    expect((await unitLines('RESEARCH')).map((l) => l.id)).toEqual(research.slice(2).map((l) => l.id));
    // Removing again: nothing left to remove.
    expect((await remove([first.id])).data.removeBudgetLines).toBe(0);
    // More than 5,000 ids, over HTTP: refused whole, the real one among them stays.
    const tooMany = [research[2].id, ...Array.from({ length: 5000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)];
    expect(errorCode(await remove(tooMany))).toBe('BAD_USER_INPUT');
    expect((await unitLines('RESEARCH')).map((l) => l.id)).toContain(research[2].id);

    const entries = await activity('LINES_REMOVED');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor_email: 'admin@example.com', subject: 'FY2027 Budget', details: { planId, count: 2, units: { RESEARCH: 2 } } });

    // The history of the removed line, by its id and in the whole log, with what the line was.
    const history = await server.gql(AUDIT, { l: first.id }, admin);
    expect(history.errors).toBeUndefined();
    const nodes = history.data.auditLog.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => [n.column, n.newValue]).sort()).toEqual([['budgetAmount', '777'], ['comment', 'gone soon']]);
    expect(nodes[0].line).toMatchObject({ id: first.id, businessUnit: { code: 'RESEARCH' }, productCategory: first.productCategory, budgetAmount: 777 });
    expect(Number.isNaN(Date.parse(nodes[0].line.removedAt))).toBe(false);
    const all = await server.gql(AUDIT, {}, admin);
    expect(all.errors).toBeUndefined();
    expect(all.data.auditLog.edges.some((e: any) => e.node.line.id === first.id)).toBe(true);
    // Still under the unit's row-level security: a leader of another unit reads no such entry.
    const other = await server.login('lead.marketing@example.com');
    const missing = errorCode(await server.gql(AUDIT, { l: '00000000-0000-4000-8000-000000000000' }, other));
    expect(missing).toBeDefined();
    expect(errorCode(await server.gql(AUDIT, { l: first.id }, other))).toBe(missing);
    expect(await count('removed_budget_line WHERE id = $1', [first.id])).toBe(1);
  });

  it('refuses both in a closed plan (FORBIDDEN) and in a submitted or approved unit (CONFLICT), changing nothing', async () => {
    const [sales] = await unitLines('SALES_SOUTH');
    // A Finance line that will not exist when the unit is submitted: adding it is refused for the unit's state.
    const [financeGone, finance] = await unitLines('FINANCE');
    expect((await remove([financeGone.id])).data.removeBudgetLines).toBe(1);
    const before = await lineCount();
    const removals = (await activity('LINES_REMOVED')).length;
    const additions = (await activity('LINES_ADDED')).length;
    const setStatus = (s: string) => server.gql(`mutation($p: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $p, status: $s) { status } }`, { p: planId, s }, admin);

    expect((await setStatus('CLOSED')).errors).toBeUndefined();
    expect(errorCode(await add([line('RESEARCH', 'Storage', 'Europe', 'Q1')]))).toBe('FORBIDDEN');
    expect(errorCode(await remove([sales.id]))).toBe('FORBIDDEN');
    expect((await setStatus('OPEN')).errors).toBeUndefined();

    const lead = await server.login('lead.finance@example.com');
    const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "FINANCE") { status } }`, { p: planId }, lead);
    expect(submitted.data.submitBudget.status).toBe('SUBMITTED');
    // A call that touches a submitted unit is refused whole, the other unit's part too.
    const refusedAdd = await add([line('RESEARCH', 'Storage', 'Europe', 'Q1'), line('FINANCE', financeGone.productCategory, financeGone.region, financeGone.quarter)]);
    expect(errorCode(refusedAdd)).toBe('CONFLICT');
    expect(refusedAdd.errors![0].message).toMatch(/FINANCE budget is submitted/);
    expect(errorCode(await remove([sales.id, finance.id]))).toBe('CONFLICT');

    expect(await lineCount()).toBe(before);
    expect(await activity('LINES_REMOVED')).toHaveLength(removals);
    expect(await activity('LINES_ADDED')).toHaveLength(additions);
  });

  it('gives open grids the new lines at once, editable, projected and audited; removed lines leave them and storage', async () => {
    const lead = await server.login('lead.sales-north@example.com');
    const client = grid('SALES_NORTH', lead);
    await synced(client);
    // A line of the unit, edited, removed, then added back as a new line.
    const [existing] = await unitLines('SALES_NORTH');
    client.cells.set(`${existing.id}/budgetAmount`, 4321);
    client.cells.set(`${existing.id}/comment`, 'about to go');
    await eventually(async () => (await unitLines('SALES_NORTH'))[0].budgetAmount === 4321, 'the edit to reach the row');
    await eventually(async () => (await storedCells('SALES_NORTH'))[`${existing.id}/budgetAmount`] === 4321, 'the edit to be stored');

    expect((await remove([existing.id])).data.removeBudgetLines).toBe(1);
    // The removed line's cells vanish from the connected client's document, and from the stored state.
    await eventually(() => !client.cells.has(`${existing.id}/budgetAmount`) && !client.cells.has(`${existing.id}/comment`), "the removed line's cells to leave the grid");
    await eventually(async () => {
      const stored = await storedCells('SALES_NORTH');
      return !(`${existing.id}/budgetAmount` in stored) && !(`${existing.id}/comment` in stored);
    }, "the removed line's cells to leave the stored state");
    // Neither projected nor audited as cell changes: the audit log of the line holds the edits only.
    const history = (await server.gql(AUDIT, { l: existing.id }, admin)).data.auditLog.edges.map((e: any) => e.node.newValue).sort();
    expect(history).toEqual(['4321', 'about to go']);
    // A write to a removed line's cell is refused like any unknown key, and snaps back.
    client.cells.set(`${existing.id}/budgetAmount`, 1);
    await eventually(() => !client.cells.has(`${existing.id}/budgetAmount`), 'the write to a removed line to be reverted');

    // Added back as a new line: the open grid may edit it at once, and the edit reaches rows and audit.
    const again = await add([line('SALES_NORTH', existing.productCategory, existing.region, existing.quarter)]);
    expect(again.errors).toBeUndefined();
    const added = again.data.addBudgetLines[0];
    expect(added.id).not.toBe(existing.id);
    client.cells.set(`${added.id}/budgetAmount`, 999);
    const row = await eventually(async () => (await unitLines('SALES_NORTH')).find((l) => l.id === added.id && l.budgetAmount === 999), 'the new line to take the edit');
    expect(row.position).toBe(existing.position);
    const audit = (await server.gql(AUDIT, { l: added.id }, admin)).data.auditLog.edges.map((e: any) => e.node);
    expect(audit).toMatchObject([{ column: 'budgetAmount', newValue: '999', user: { email: 'lead.sales-north@example.com' }, line: { id: added.id, removedAt: null } }]);
    // Another client connecting now gets the new cell too.
    const other = grid('SALES_NORTH', admin);
    await synced(other);
    expect(other.cells.get(`${added.id}/budgetAmount`)).toBe(999);
  });

  it('drops the cells of lines removed while their document was not open, in storage too, when it next loads', async () => {
    const [target] = await unitLines('MARKETING');
    const lead = await server.login('lead.marketing@example.com');
    const client = grid('MARKETING', lead);
    await synced(client);
    client.cells.set(`${target.id}/forecastSales`, 55);
    await eventually(async () => (await storedCells('MARKETING'))[`${target.id}/forecastSales`] === 55, 'the edit to be stored');
    grids.pop()!.destroy();
    await eventually(async () => (await openDocuments()) === 0, 'the document to unload');

    expect((await remove([target.id])).data.removeBudgetLines).toBe(1);
    // Nobody had it open: storage still holds the cell until the document loads again.
    expect((await storedCells('MARKETING'))[`${target.id}/forecastSales`]).toBe(55);
    const next = grid('MARKETING', lead);
    await synced(next);
    expect(next.cells.has(`${target.id}/forecastSales`)).toBe(false);
    await eventually(async () => !(`${target.id}/forecastSales` in (await storedCells('MARKETING'))), 'the load to store the removal');
  });

  it('tells readers of the unit what was added and removed, and nobody else', async () => {
    const analyst = follow(await server.login('analyst@example.com'));
    const northLead = follow(await server.login('lead.sales-north@example.com'), 'SALES_NORTH');
    const northViewer = follow(await server.login('viewer.sales-north@example.com'));
    const marketingLead = follow(await server.login('lead.marketing@example.com'));
    const refused = follow(await server.login('lead.marketing@example.com'), 'SALES_NORTH');
    await eventually(() => refused.errors.length > 0, 'the refusal of a unit the caller may not read');
    expect(errorCode({ errors: refused.errors[0] } as never)).toBe('FORBIDDEN');

    // Subscriptions have no acknowledgement: remove a line of each unit followed until every subscriber has heard
    // of one; from then on, events reach each subscriber in the order they were published.
    const removeOne = async (unit: string) => {
      const [first] = await unitLines(unit);
      expect((await remove([first.id])).data.removeBudgetLines).toBe(1);
      return first.id as string;
    };
    await eventually(async () => {
      await removeOne('MARKETING');
      return analyst.received.length > 0 && marketingLead.received.length > 0;
    }, 'the plan-wide subscriptions to be live');
    await eventually(async () => {
      await removeOne('SALES_NORTH');
      return northLead.received.length > 0 && northViewer.received.length > 0;
    }, 'the Sales North subscriptions to be live');

    // Research lines added (nobody but the analyst reads Research), then a Sales North line removed, then a
    // Marketing one.
    const added = await add([line('RESEARCH', 'Networking', 'Latin America', 'Q3')]);
    expect(added.errors).toBeUndefined();
    const northLine = await removeOne('SALES_NORTH');
    const marketingLine = await removeOne('MARKETING');

    await eventually(() => analyst.received.some((e) => e.removedLineIds.includes(marketingLine)), 'the analyst to hear of the Marketing removal');
    await eventually(() => northLead.received.some((e) => e.removedLineIds.includes(northLine)), 'the Sales North leader to hear of the removal');
    await eventually(() => northViewer.received.some((e) => e.removedLineIds.includes(northLine)), 'the Sales North viewer to hear of it');
    await eventually(() => marketingLead.received.some((e) => e.removedLineIds.includes(marketingLine)), 'the Marketing leader to hear of the Marketing removal');
    expect(analyst.received.find((e) => e.removedLineIds.includes(northLine))).toEqual({ planId, businessUnit: { code: 'SALES_NORTH' }, added: [], removedLineIds: [northLine] });
    expect(analyst.received.find((e) => e.added.length > 0)).toEqual({
      planId,
      businessUnit: { code: 'RESEARCH' },
      added: [{ id: added.data.addBudgetLines[0].id, productCategory: 'Networking', region: 'Latin America', quarter: 'Q3' }],
      removedLineIds: [],
    });
    // Each hears of its own units only: by the last event each heard, the others' would have arrived.
    expect(new Set(marketingLead.received.map((e) => e.businessUnit.code))).toEqual(new Set(['MARKETING']));
    expect(new Set(northLead.received.map((e) => e.businessUnit.code))).toEqual(new Set(['SALES_NORTH']));
    expect(new Set(northViewer.received.map((e) => e.businessUnit.code))).toEqual(new Set(['SALES_NORTH']));
    expect(northLead.errors).toEqual([]);
  });

  it("takes the contract's 5,000 lines in one HTTP call (a new year's structure for 42 units), with one activity entry", async () => {
    // 120 lines a unit (6 categories x 5 regions x 4 quarters): 42 new units hold 5,040 possible lines.
    const units = Array.from({ length: 42 }, (_, i) => `BULK_${String(i).padStart(2, '0')}`);
    for (const code of units) {
      expect((await server.gql(`mutation($c: String!) { createBusinessUnit(code: $c, name: $c) { code } }`, { c: code }, admin)).errors).toBeUndefined();
    }
    const lines = units.flatMap((unit) => unitGridLayout().map((l) => line(unit, l.productCategory, l.region, l.quarter, 1))).slice(0, 5000);
    expect(lines).toHaveLength(5000);
    const before = await lineCount();
    const res = await add(lines);
    expect(res.errors).toBeUndefined();
    expect(res.data.addBudgetLines).toHaveLength(5000);
    expect(await lineCount()).toBe(before + 5000);
    const entry = (await activity('LINES_ADDED')).at(-1) as any;
    expect(entry.details).toMatchObject({ planId, count: 5000 });
  });
});
