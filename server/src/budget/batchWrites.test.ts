/**
 * `updateBudgetLines` against the real server (contract v1.1, "Tools and scripts"): every role against a batch
 * spanning two units; each change answered with the code updateBudgetLine would give (a hidden line NOT_FOUND,
 * exactly like a missing one); atomic batches all or nothing (rows, audit log and open grids untouched); the
 * contract's 5,000 changes in one HTTP call, each audited with source API, seen by a stock y-websocket client and
 * by budgetLineChanged subscribers; 5,001 refused whole. A fast-check property: non-atomic applies exactly the
 * valid changes, atomic all or none (a few runs in `npm test`, FUZZ_SCALE times more in `npm run fuzz`).
 */
import fc from 'fast-check';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { unitGridLayout } from './planLayout.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { fuzzParams, FUZZ_SCALE } from '../testing/fuzzBudget.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const BATCH = `mutation($c: [BudgetLineChangeInput!]!, $a: Boolean) { updateBudgetLines(changes: $c, atomic: $a) {
  updated { id budgetAmount comment version updatedBy { email } } rejected { id code message } } }`;
const SLIM_BATCH = `mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { updated { id version } rejected { id code message } } }`;
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id budgetAmount forecastSales comment version } }`;
const MISSING = '00000000-0000-4000-8000-000000000000';

interface Line {
  id: string;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
}

describe('updateBudgetLines', () => {
  let server: TestServer;
  let admin: string;
  let planId: string;
  const grids: GridClient[] = [];
  const subscriptions: Client[] = [];

  beforeAll(async () => {
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

  const unitLines = async (unit: string): Promise<Line[]> => (await server.gql(LINES, { p: planId, u: unit }, admin)).data.budgetLines;
  const batch = (changes: unknown[], token = admin, atomic?: boolean) => server.gql(BATCH, { c: changes, a: atomic }, token);
  const auditCount = async () => (await server.sql<{ n: number }>(`SELECT count(*)::int AS n FROM cell_change`))[0].n;
  const rows = async (ids: string[]) =>
    server.sql<{ id: string; budget_amount: number | null; comment: string; version: number }>(
      `SELECT id, budget_amount, comment, version FROM budget_line WHERE id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );

  function grid(unit: string, token = admin): GridClient {
    const client = connectGrid(server.url, `budget:${planId}:${unit}`, token);
    grids.push(client);
    return client;
  }

  it('answers every role, per change, as updateBudgetLine would, over a batch spanning two units', async () => {
    const [north] = await unitLines('SALES_NORTH');
    const [south] = await unitLines('SALES_SOUTH');
    // What each role gets for (SALES_NORTH line, SALES_SOUTH line): updated, or the code of the refusal.
    const expected: Record<string, [string, string]> = {
      'admin@example.com': ['updated', 'updated'],
      'planner.finance@example.com': [ErrorCode.NOT_FOUND, ErrorCode.NOT_FOUND],
      'lead.sales-north@example.com': ['updated', ErrorCode.NOT_FOUND],
      'lead.sales-south@example.com': [ErrorCode.NOT_FOUND, 'updated'],
      'analyst@example.com': [ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN],
      'viewer.sales-north@example.com': [ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND],
      'partner.admin@acme.example': [ErrorCode.NOT_FOUND, ErrorCode.NOT_FOUND],
    };
    let amount = 1000;
    for (const [email, [forNorth, forSouth]] of Object.entries(expected)) {
      const token = await server.login(email);
      const before = await rows([north.id, south.id]);
      const audits = await auditCount();
      amount += 1;
      const res = await batch([{ id: north.id, input: { budgetAmount: amount } }, { id: south.id, input: { budgetAmount: amount } }], token);
      expect(res.errors, email).toBeUndefined();
      const { updated, rejected } = res.data.updateBudgetLines;
      const outcome = (id: string) => (updated.some((l: any) => l.id === id) ? 'updated' : rejected.find((r: any) => r.id === id)?.code);
      expect([outcome(north.id), outcome(south.id)], email).toEqual([forNorth, forSouth]);
      for (const line of updated) expect(line).toMatchObject({ budgetAmount: amount, updatedBy: { email } });
      // Refused changes left their rows alone; applied ones wrote one audit entry each, as the caller, source API.
      const after = await rows([north.id, south.id]);
      const applied = [forNorth, forSouth].filter((o) => o === 'updated').length;
      for (const [i, id] of [north.id, south.id].entries()) {
        const was = before.find((r) => r.id === id)!;
        const now = after.find((r) => r.id === id)!;
        if ([forNorth, forSouth][i] === 'updated') expect(now).toMatchObject({ budget_amount: amount, version: was.version + 1 });
        else expect(now).toEqual(was);
      }
      expect(await auditCount()).toBe(audits + applied);
      if (applied > 0) {
        const entries = await server.sql(
          `SELECT c.source, u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id ORDER BY c.id DESC LIMIT $1`,
          [applied],
        );
        for (const entry of entries) expect(entry).toEqual({ source: 'API', email });
      }
      // The single mutation agrees on each line this role may read (for hidden ones it names no row either way).
      for (const [line, code] of [
        [north, forNorth],
        [south, forSouth],
      ] as const) {
        if (code !== ErrorCode.FORBIDDEN) continue;
        const single = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 1 }) { id } }`, { id: line.id }, token);
        expect(errorCode(single)).toBe(ErrorCode.FORBIDDEN);
        expect(rejected.find((r: any) => r.id === line.id).message).toBe(single.errors![0].message);
      }
    }
  });

  it('names each refusal: missing or hidden lines alike, stale versions, bad values, the same line twice', async () => {
    const north = await unitLines('SALES_NORTH');
    const south = await unitLines('SALES_SOUTH');
    const leader = await server.login('lead.sales-north@example.com');
    const before = await rows([north[1].id, north[2].id, north[3].id, north[4].id]);
    const audits = await auditCount();
    const res = await batch(
      [
        { id: north[1].id, input: { budgetAmount: 111, comment: 'fine' }, expectedVersion: north[1].version },
        { id: MISSING, input: { budgetAmount: 1 } },
        { id: south[0].id, input: { budgetAmount: 1 } },
        { id: 'nope', input: { budgetAmount: 1 } },
        { id: north[2].id, input: { budgetAmount: 1 }, expectedVersion: north[2].version - 1 },
        { id: north[3].id, input: { budgetAmount: -5 } },
        { id: north[4].id, input: { comment: 'x'.repeat(2001) } },
        { id: north[1].id, input: { budgetAmount: 222 } },
      ],
      leader,
    );
    expect(res.errors).toBeUndefined();
    const { updated, rejected } = res.data.updateBudgetLines;
    expect(updated).toEqual([expect.objectContaining({ id: north[1].id, budgetAmount: 111, comment: 'fine', version: north[1].version + 1 })]);
    expect(rejected.map((r: any) => [r.id, r.code])).toEqual([
      [MISSING, ErrorCode.NOT_FOUND],
      [south[0].id, ErrorCode.NOT_FOUND],
      ['nope', ErrorCode.NOT_FOUND],
      [north[2].id, ErrorCode.CONFLICT],
      [north[3].id, ErrorCode.BAD_USER_INPUT],
      [north[4].id, ErrorCode.BAD_USER_INPUT],
      [north[1].id, ErrorCode.BAD_USER_INPUT],
    ]);
    // A hidden line is told exactly what a missing one is.
    expect(rejected[1].message).toBe(rejected[0].message);
    expect(rejected[3].message).toMatch(new RegExp(`since version ${north[2].version - 1}; it is now at version ${north[2].version}`));
    expect(rejected[4].message).toMatch(/must not be negative/);
    expect(rejected[6].message).toMatch(/earlier in the same call/);
    const after = await rows([north[2].id, north[3].id, north[4].id]);
    expect(after).toEqual(before.filter((r) => r.id !== north[1].id));
    expect(await auditCount()).toBe(audits + 2); // budgetAmount and comment of north[1]

    // An empty batch does nothing and says so; without a token nothing is judged at all.
    expect((await batch([], leader)).data.updateBudgetLines).toEqual({ updated: [], rejected: [] });
    const anonymous = await batch([{ id: north[5].id, input: { budgetAmount: 1 } }], null as never);
    expect(errorCode(anonymous)).toBe(ErrorCode.UNAUTHENTICATED);
    expect(await auditCount()).toBe(audits + 2);
  });

  it('runs concurrent batches over the same units in opposite orders, and single edits among them, to the end', async () => {
    const north = await unitLines('SALES_NORTH');
    const south = await unitLines('SALES_SOUTH');
    const marketing = await unitLines('MARKETING');
    const audits = await auditCount();
    const forward = [...north.slice(20, 30), ...south.slice(20, 30), ...marketing.slice(20, 30)];
    const backward = [...marketing.slice(30, 40), ...south.slice(30, 40), ...north.slice(30, 40)];
    const results = await Promise.all([
      batch(forward.map((l) => ({ id: l.id, input: { forecastSales: 77 } }))),
      batch(backward.map((l) => ({ id: l.id, input: { forecastSales: 78 } }))),
      server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { forecastSales: 79 }) { id } }`, { id: south[40].id }, admin),
      batch(forward.map((l) => ({ id: l.id, input: { comment: 'again' } }))),
    ]);
    for (const res of results) expect(res.errors).toBeUndefined();
    expect(results[0].data.updateBudgetLines.updated).toHaveLength(30);
    expect(results[1].data.updateBudgetLines.updated).toHaveLength(30);
    expect(results[3].data.updateBudgetLines.updated).toHaveLength(30);
    expect(await auditCount()).toBe(audits + 30 + 30 + 1 + 30);
    const now = await rows(forward.map((l) => l.id));
    for (const row of now) expect(row.comment).toBe('again');
  });

  it('refuses changes to a submitted unit and to a closed plan, as updateBudgetLine does', async () => {
    const [ops] = await unitLines('OPERATIONS');
    const [fin] = await unitLines('FINANCE');
    const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "OPERATIONS") { status } }`, { p: planId }, admin);
    expect(submitted.errors).toBeUndefined();
    let res = await batch([{ id: ops.id, input: { budgetAmount: 5 } }, { id: fin.id, input: { budgetAmount: 5 } }]);
    expect(res.data.updateBudgetLines.updated.map((l: any) => l.id)).toEqual([fin.id]);
    expect(res.data.updateBudgetLines.rejected).toEqual([{ id: ops.id, code: ErrorCode.FORBIDDEN, message: "This unit's budget is submitted and cannot be changed" }]);

    const closed = await server.gql(`mutation($p: ID!) { setBudgetPlanStatus(planId: $p, status: CLOSED) { status } }`, { p: planId }, admin);
    expect(closed.errors).toBeUndefined();
    try {
      const audits = await auditCount();
      res = await batch([{ id: fin.id, input: { budgetAmount: 6 } }]);
      const single = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 6 }) { id } }`, { id: fin.id }, admin);
      expect(res.data.updateBudgetLines).toEqual({ updated: [], rejected: [{ id: fin.id, code: ErrorCode.FORBIDDEN, message: single.errors![0].message }] });
      expect(await auditCount()).toBe(audits);
    } finally {
      await server.gql(`mutation($p: ID!) { setBudgetPlanStatus(planId: $p, status: OPEN) { status } }`, { p: planId }, admin);
    }
  });

  it('atomic: one refusal and nothing is applied (rows, audit log, open grids), every problem listed', async () => {
    const north = await unitLines('SALES_NORTH');
    const south = await unitLines('SALES_SOUTH');
    const watcher = grid('SALES_NORTH');
    await synced(watcher);
    // Every value the grid ever shows for the cells the refused batch names.
    const seen: unknown[] = [];
    watcher.cells.observe((e) => e.keysChanged.forEach((k) => seen.push(watcher.cells.get(k))));
    const changes = [
      { id: north[10].id, input: { budgetAmount: 987_654 } },
      { id: south[10].id, input: { budgetAmount: 987_654 } },
      { id: north[11].id, input: { budgetAmount: 987_654 }, expectedVersion: north[11].version + 7 },
      { id: MISSING, input: { budgetAmount: 987_654 } },
    ];
    const ids = [north[10].id, south[10].id, north[11].id];
    const before = await rows(ids);
    const audits = await auditCount();
    const res = await batch(changes, admin, true);
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLines.updated).toEqual([]);
    expect(res.data.updateBudgetLines.rejected.map((r: any) => [r.id, r.code])).toEqual([
      [north[11].id, ErrorCode.CONFLICT],
      [MISSING, ErrorCode.NOT_FOUND],
    ]);
    expect(await rows(ids)).toEqual(before);
    expect(await auditCount()).toBe(audits);
    // Proven by order: a later change of the same document reaches the grid; the refused one never did.
    const later = await batch([{ id: north[12].id, input: { budgetAmount: 123_456 } }]);
    expect(later.data.updateBudgetLines.updated).toHaveLength(1);
    await eventually(() => watcher.cells.get(`${north[12].id}/budgetAmount`) === 123_456, 'the later change on the grid');
    expect(seen).not.toContain(987_654);

    // The same batch without the bad changes, atomic: all applied.
    const ok = await batch(changes.slice(0, 2), admin, true);
    expect(ok.data.updateBudgetLines.rejected).toEqual([]);
    expect(ok.data.updateBudgetLines.updated.map((l: any) => l.budgetAmount)).toEqual([987_654, 987_654]);
    await eventually(() => watcher.cells.get(`${north[10].id}/budgetAmount`) === 987_654, 'the atomic batch on the grid');
  });

  it("takes the contract's 5,000 changes in one HTTP call: audited, on open grids and to subscribers; 5,001 refused", async () => {
    // 42 new units of 120 lines (the grid layout) hold the 5,000 lines: 42 documents, one transaction each.
    const units = Array.from({ length: 42 }, (_, i) => `BATCH_${String(i).padStart(2, '0')}`);
    for (const code of units) {
      expect((await server.gql(`mutation($c: String!) { createBusinessUnit(code: $c, name: $c) { code } }`, { c: code }, admin)).errors).toBeUndefined();
    }
    const newLines = units
      .flatMap((unit) => unitGridLayout().map((l) => ({ businessUnitCode: unit, productCategory: l.productCategory, region: l.region, quarter: l.quarter })))
      .slice(0, 5000);
    const added = await server.gql(`mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) { id businessUnit { code } } }`, { p: planId, l: newLines }, admin);
    expect(added.errors).toBeUndefined();
    const lines = added.data.addBudgetLines as { id: string; businessUnit: { code: string } }[];
    expect(lines).toHaveLength(5000);

    const watched = units[3];
    const watcher = grid(watched);
    await synced(watcher);
    const events: any[] = [];
    const subscriber = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
    });
    subscriptions.push(subscriber);
    subscriber.subscribe(
      { query: `subscription($p: ID!, $u: String) { budgetLineChanged(planId: $p, businessUnitCode: $u) { id budgetAmount forecastSales } }`, variables: { p: planId, u: watched } },
      { next: (m) => events.push(m.data?.budgetLineChanged), error: (e) => events.push(e), complete: () => undefined },
    );
    // Subscriptions have no acknowledgement: change a line of the unit until the subscriber hears of it, then
    // wait for every such change on the subscription and on the grid, so that what follows is the batch's alone.
    const primer = lines.find((l) => l.businessUnit.code === watched)!;
    let primes = 0;
    await eventually(async () => {
      if (events.length > 0) return true;
      primes += 1;
      const res = await server.gql(`mutation($id: ID!, $v: Float) { updateBudgetLine(id: $id, input: { forecastSales: $v }) { id } }`, { id: primer.id, v: primes }, admin);
      expect(res.errors).toBeUndefined();
      return false;
    }, 'the subscription to hear a first change');
    // Primes sent before the subscription was live are never heard; events come in order, so the last prime's
    // being heard means every one that will be has been.
    await eventually(
      () => events.some((e) => e?.id === primer.id && e.forecastSales === primes) && watcher.cells.get(`${primer.id}/forecastSales`) === primes,
      'the last priming change heard',
    );
    events.length = 0;
    const gridUpdates: unknown[] = [];
    watcher.doc.on('update', (u: Uint8Array) => gridUpdates.push(u));

    const audits = await auditCount();
    const changes = lines.map((l, i) => ({ id: l.id, input: { budgetAmount: 10_000 + i } }));
    const res = await server.gql(SLIM_BATCH, { c: changes }, admin);
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLines.rejected).toEqual([]);
    expect(res.data.updateBudgetLines.updated).toHaveLength(5000);
    expect(res.data.updateBudgetLines.updated.map((l: any) => l.id)).toEqual(lines.map((l) => l.id));
    // Each change has its audit entry, source API, as the admin.
    const entries = await server.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM cell_change c JOIN app_user u ON u.id = c.user_id
        WHERE c.line_id = ANY($1::uuid[]) AND c.source = 'API' AND u.email = 'admin@example.com' AND c.column_name = 'budgetAmount'`,
      [lines.map((l) => l.id)],
    );
    expect(entries[0].n).toBe(5000);
    expect(await auditCount()).toBe(audits + 5000);
    // The stock client on one unit sees its 120 values, in one update of the document.
    const watchedLines = lines.map((l, i) => ({ ...l, value: 10_000 + i })).filter((l) => l.businessUnit.code === watched);
    expect(watchedLines).toHaveLength(120);
    await eventually(() => watchedLines.every((l) => watcher.cells.get(`${l.id}/budgetAmount`) === l.value), 'the batch on the grid');
    expect(gridUpdates).toHaveLength(1);
    await eventually(() => events.length === 120, 'budgetLineChanged for the 120 lines of the unit');
    expect(new Map(events.map((e) => [e.id, e.budgetAmount]))).toEqual(new Map(watchedLines.map((l) => [l.id, l.value])));

    // 5,001 changes: refused whole, nothing applied.
    const tooMany = [...changes.map((c) => ({ ...c, input: { budgetAmount: 1 } })), { id: MISSING, input: { budgetAmount: 1 } }];
    const refused = await server.gql(SLIM_BATCH, { c: tooMany }, admin);
    expect(errorCode(refused)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(refused.errors![0].message).toMatch(/5000 changes/);
    expect(await auditCount()).toBe(audits + 5000);
  }, 120_000);

  it('property: non-atomic applies exactly the valid changes; atomic all or none', async () => {
    const leader = await server.login('lead.sales-south@example.com');
    const own = await unitLines('SALES_SOUTH');
    const other = await unitLines('MARKETING');
    type Kind = 'valid' | 'hidden' | 'missing' | 'stale' | 'bad';
    const change = fc.record({
      kind: fc.constantFrom<Kind>('valid', 'valid', 'hidden', 'missing', 'stale', 'bad'),
      line: fc.nat({ max: 119 }),
      amount: fc.integer({ min: 0, max: 1_000_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(change, { maxLength: 12, selector: (c) => c.line }), fc.boolean(), async (mix, atomic) => {
        const current = new Map((await unitLines('SALES_SOUTH')).map((l) => [l.id, l]));
        const changes = mix.map((c) => {
          const line = current.get(own[c.line].id)!;
          switch (c.kind) {
            case 'valid':
              return { id: line.id, input: { budgetAmount: c.amount }, expectedVersion: line.version };
            case 'hidden':
              return { id: other[c.line].id, input: { budgetAmount: c.amount } };
            case 'missing':
              return { id: `00000000-0000-4000-9000-${String(c.line).padStart(12, '0')}`, input: { budgetAmount: c.amount } };
            case 'stale':
              return { id: line.id, input: { budgetAmount: c.amount }, expectedVersion: line.version + 1 };
            case 'bad':
              return { id: line.id, input: { budgetAmount: -1 - c.amount } };
          }
        });
        const ownIds = [...current.keys()];
        const before = await rows(ownIds);
        const audits = await auditCount();
        const res = await batch(changes, leader, atomic);
        expect(res.errors).toBeUndefined();
        const valid = mix.filter((c) => c.kind === 'valid');
        const applies = atomic && valid.length < mix.length ? [] : valid;
        expect(res.data.updateBudgetLines.updated.map((l: any) => l.id)).toEqual(applies.map((c) => own[c.line].id));
        expect(res.data.updateBudgetLines.rejected).toHaveLength(mix.length - valid.length);
        const after = new Map((await rows(ownIds)).map((r) => [r.id, r]));
        let changedCells = 0;
        for (const was of before) {
          const applied = applies.find((c) => own[c.line].id === was.id);
          const now = after.get(was.id)!;
          if (!applied) expect(now).toEqual(was);
          else {
            expect(now.budget_amount).toBe(applied.amount);
            if (was.budget_amount !== applied.amount) changedCells += 1;
          }
        }
        expect(await auditCount()).toBe(audits + changedCells);
      }),
      fuzzParams(6),
    );
  }, 60_000 * FUZZ_SCALE);
});
