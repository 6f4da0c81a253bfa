/**
 * Spreadsheets in and out (CONTRACT.md v1.1) against a real server and database: the CSV and xlsx exports for
 * every role (exactly the lines `budgetLines` gives them; another unit: FORBIDDEN), the header row, numbers as
 * numbers, formulas neutralised (CSV) or written as plain strings (xlsx, read back with exceljs), Bearer and Basic
 * credentials, exports that cross the reader's chunks with every line once; and imports: an export edited and
 * imported back (CSV written by csv-stringify, xlsx by exceljs) with its cells audited as IMPORT by the importer
 * and seen at once by an open grid (stock y-websocket client), an activity entry and the webhook event
 * budget.values_imported; dry runs that write nothing; every refusal listed by row and column (values, missing
 * and hidden lines, the same line twice, read-only people, a submitted unit); rows found by their key without a
 * Line id; a READ token, a closed plan, an oversized body, a wrong content type and unreadable files refused.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import ExcelJS from 'exceljs';
import { stringify } from 'csv-stringify/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { parseCsv } from './csv.js';
import { MAX_LISTED_CHANGED_SINCE_EXPORT, MAX_REFUSED_CELLS } from './importLines.js';
import { HEADERS } from './sheetColumns.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) {
  id businessUnit { code } productCategory region quarter priorYearActual budgetAmount forecastSales comment version } }`;
const SET_LINE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id version } }`;

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any;
}

function basic(token: string, user = 'excel'): string {
  return `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
}

interface Line {
  id: string;
  businessUnit: { code: string };
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
}

/** A CSV body as a spreadsheet would save it: header and rows, CRLF (csv-stringify, not our writer). */
function csvBody(rows: (string | number | null)[][], header: readonly string[] = HEADERS): Buffer {
  return Buffer.from(stringify([header, ...rows.map((r) => r.map((v) => (v === null ? '' : v)))], { record_delimiter: 'windows' }));
}

describe('spreadsheets', () => {
  let server: TestServer;
  let planId: string;
  const tokens: Record<string, string> = {};
  const grids: GridClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ GRID_IDLE_UNLOAD_MS: '20', WEBHOOK_ALLOW_INSECURE: 'true' });
    for (const [who, email] of Object.entries({
      admin: 'admin@example.com',
      analyst: 'analyst@example.com',
      lead: 'lead.sales-north@example.com',
      planner: 'planner.sales-north@example.com',
      southLead: 'lead.sales-south@example.com',
      viewer: 'viewer.sales-north@example.com',
      partner: 'partner.admin@acme.example',
    })) {
      tokens[who] = await server.login(email);
    }
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
  }, 60_000);
  afterEach(() => {
    while (grids.length) grids.pop()!.destroy();
  });
  afterAll(() => server?.stop());

  async function call(method: string, path: string, authorization?: string, body?: Buffer, contentType?: string): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(`${server.url}${path}`, { method, headers, body: body && new Uint8Array(body) });
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: any;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, body: bytes, json };
  }
  const exportOf = (format: 'csv' | 'xlsx', who: string, query = `planId=${planId}`, authorization = `Bearer ${tokens[who]}`) =>
    call('GET', `/export/budget-lines.${format}?${query}`, authorization);
  const importAs = (who: string, body: Buffer, options: { dryRun?: boolean; type?: string; plan?: string; authorization?: string } = {}) =>
    call(
      'POST',
      `/import/budget-lines?planId=${options.plan ?? planId}${options.dryRun ? '&dryRun=true' : ''}`,
      options.authorization ?? `Bearer ${tokens[who]}`,
      body,
      options.type ?? 'text/csv',
    );
  const linesOf = async (who: string, unit?: string): Promise<Line[]> => {
    const res = await server.gql(LINES, { p: planId, u: unit ?? null }, tokens[who]);
    expect(res.errors).toBeUndefined();
    return res.data.budgetLines;
  };
  const csvRows = (answer: Answer) => parseCsv(answer.body.toString('utf8')).rows.map((r) => r.cells);
  const auditCount = async () => (await server.sql<{ n: number }>(`SELECT count(*)::int AS n FROM cell_change`))[0].n;
  const lineRows = () => server.sql(`SELECT id, budget_amount, forecast_sales, comment, version FROM budget_line ORDER BY id`);

  function expectRefusal(answer: Answer, status: number, code: string) {
    expect(answer.status, answer.body.toString('utf8').slice(0, 300)).toBe(status);
    expect(answer.json.error.code).toBe(code);
    expect(answer.json.error.message.length).toBeGreaterThan(0);
  }

  function grid(unit: string, token = tokens.admin): GridClient {
    const client = connectGrid(server.url, `budget:${planId}:${unit}`, token);
    grids.push(client);
    return client;
  }

  /** An import's answer without the applied cells it lists for an undo (checked on their own below). */
  const counts = ({ changes: _changes, ...rest }: { changes?: unknown; [key: string]: unknown }) => rest;

  async function xlsxRows(body: Buffer): Promise<{ sheet: ExcelJS.Worksheet; rows: ExcelJS.CellValue[][] }> {
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(body as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0];
    const rows: ExcelJS.CellValue[][] = [];
    sheet.eachRow((row) => rows.push((row.values as ExcelJS.CellValue[]).slice(1)));
    return { sheet, rows };
  }

  describe('export', () => {
    it('refuses a request without valid credentials: 401 with a Basic and a Bearer challenge', async () => {
      for (const authorization of [undefined, 'Bearer nope', basic('nope'), 'Basic !!!']) {
        for (const answer of [
          await call('GET', `/export/budget-lines.csv?planId=${planId}`, authorization),
          await call('POST', `/import/budget-lines?planId=${planId}`, authorization, Buffer.from('x'), 'text/csv'),
        ]) {
          expectRefusal(answer, 401, ErrorCode.UNAUTHENTICATED);
          expect(answer.headers.get('www-authenticate')).toContain('Basic realm="Plansync"');
          expect(answer.headers.get('www-authenticate')).toMatch(/Bearer realm="Plansync"/);
        }
      }
    });

    it('gives every role exactly the lines budgetLines gives it, in CSV and xlsx, with Bearer and Basic', async () => {
      for (const who of ['admin', 'analyst', 'lead', 'viewer', 'partner']) {
        const expected = await linesOf(who);
        const expectedIds = expected.map((l) => l.id).sort();
        const csv = await exportOf('csv', who);
        expect(csv.status).toBe(200);
        expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
        expect(csv.headers.get('cache-control')).toBe('no-store');
        const rows = csvRows(csv);
        expect(rows[0]).toEqual([...HEADERS]);
        expect(rows.slice(1).map((r) => r[0]).sort(), who).toEqual(expectedIds);
        // The same through HTTP Basic with an access token's place taken by the session token, and as xlsx.
        const viaBasic = await exportOf('csv', who, `planId=${planId}`, basic(tokens[who]));
        expect(csvRows(viaBasic)).toEqual(rows);
        const xlsx = await exportOf('xlsx', who, `planId=${planId}`, basic(tokens[who], ''));
        expect(xlsx.status).toBe(200);
        expect(xlsx.headers.get('content-type')).toBe(XLSX);
        const { rows: cells } = await xlsxRows(xlsx.body);
        expect(cells[0]).toEqual([...HEADERS]);
        expect(cells.slice(1).map((r) => r[0] as string).sort(), who).toEqual(expectedIds);
      }
      expect(await linesOf('admin')).toHaveLength(600);
      expect(await linesOf('lead')).toHaveLength(120);
    });

    it('answers a unit as budgetLines does: its lines, FORBIDDEN outside the caller units, NOT_FOUND for a missing unit or plan', async () => {
      const north = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      expect(north.status).toBe(200);
      expect(north.headers.get('content-disposition')).toMatch(/^attachment; filename="budget-lines-.*-SALES_NORTH\.csv"; filename\*=UTF-8''/);
      const rows = csvRows(north).slice(1);
      expect(rows).toHaveLength(120);
      expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['SALES_NORTH']));
      for (const [who, query, status, code] of [
        ['lead', `planId=${planId}&businessUnitCode=SALES_SOUTH`, 403, ErrorCode.FORBIDDEN],
        ['viewer', `planId=${planId}&businessUnitCode=NOPE`, 403, ErrorCode.FORBIDDEN],
        ['admin', `planId=${planId}&businessUnitCode=NOPE`, 404, ErrorCode.NOT_FOUND],
        ['admin', `planId=${planId}&businessUnitCode=SALES%00NORTH`, 400, ErrorCode.BAD_USER_INPUT],
        ['partner', `planId=${planId}&businessUnitCode=SALES_NORTH`, 403, ErrorCode.FORBIDDEN],
        ['admin', `planId=00000000-0000-4000-8000-000000000000`, 404, ErrorCode.NOT_FOUND],
        ['admin', `planId=not-a-plan`, 404, ErrorCode.NOT_FOUND],
        ['admin', ``, 400, ErrorCode.BAD_USER_INPUT],
      ] as const) {
        for (const format of ['csv', 'xlsx'] as const) {
          const answer = await exportOf(format, who, query);
          expectRefusal(answer, status, code);
          const gql = await server.gql(LINES, { p: new URLSearchParams(query).get('planId') ?? '', u: new URLSearchParams(query).get('businessUnitCode') }, tokens[who]);
          if (query !== '') expect(gql.errors?.[0]?.extensions?.code, `${who} ${query}`).toBe(code);
        }
      }
      // A parameter given twice is refused, saying which: the second unit was once read as none, every unit exported.
      for (const query of [`planId=${planId}&planId=${planId}`, `planId=${planId}&businessUnitCode=SALES_NORTH&businessUnitCode=SALES_SOUTH`]) {
        const answer = await exportOf('csv', 'admin', query);
        expectRefusal(answer, 400, ErrorCode.BAD_USER_INPUT);
        expect(answer.json.error.message).toMatch(/^(planId|businessUnitCode) is given more than once/);
      }
    });

    it('writes the CSV as spreadsheets read it: BOM, CRLF, numbers as numbers, text neutralised against formulas', async () => {
      const [first, second, third] = await linesOf('admin', 'MARKETING');
      // The full-width ＝ and ＠ too, which Apple Numbers reads as = and @ (the web client's exports neutralise them).
      const texts = [
        '=HYPERLINK("http://evil.example","x")', '+1+2', '-3', '@SUM(A1)', '\tTAB', "'=already", '\uFF1DHYPERLINK("http://evil.example","x")', '\uFF20SUM(A1)',
        "'\uFF0B1", 'plain, with "quotes"\nand a line',
      ];
      for (const [i, comment] of texts.entries()) {
        const line = i === 0 ? first : i === 1 ? second : third;
        expect((await server.gql(SET_LINE, { id: line.id, input: { comment, budgetAmount: 1234.5 + i } }, tokens.admin)).errors).toBeUndefined();
        const csv = await exportOf('csv', 'admin', `planId=${planId}&businessUnitCode=MARKETING`);
        const text = csv.body.toString('utf8');
        expect(text.startsWith(`\uFEFF${HEADERS.join(',')}\r\n`)).toBe(true);
        const row = csvRows(csv).find((r) => r[0] === line.id)!;
        const expected = /^'*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(comment) ? `'${comment}` : comment;
        expect(row[8]).toBe(expected);
        // Amounts are bare numbers in the text (no quotes, no formatting).
        expect(text).toContain(`,${1234.5 + i},`);
        // xlsx: a string cell, never a formula, holding the text itself.
        const { sheet } = await xlsxRows((await exportOf('xlsx', 'admin', `planId=${planId}&businessUnitCode=MARKETING`)).body);
        let found = false;
        sheet.eachRow((r) => {
          if (r.getCell(1).value !== line.id) return;
          found = true;
          const cell = r.getCell(9);
          expect(cell.type).toBe(ExcelJS.ValueType.String);
          expect(cell.formula).toBeUndefined();
          expect(cell.value).toBe(comment);
          expect(r.getCell(7).type).toBe(ExcelJS.ValueType.Number);
          expect(r.getCell(7).value).toBe(1234.5 + i);
          expect(r.getCell(10).type).toBe(ExcelJS.ValueType.Number);
          expect(r.getCell(11).value).toBeInstanceOf(Date);
          expect(r.getCell(12).value).toBe('admin@example.com');
        });
        expect(found).toBe(true);
      }
      // The file imports back unchanged: every neutralised text comes back as it was.
      const csv = await exportOf('csv', 'admin', `planId=${planId}&businessUnitCode=MARKETING`);
      const audits = await auditCount();
      const answer = await importAs('admin', csv.body);
      expect(counts(answer.json)).toEqual({ applied: 0, unchanged: 120 * 3, rejected: [] });
      expect(await auditCount()).toBe(audits);
    });

    it('reads a plan larger than a chunk by keyset: every line once, in unit and grid order', async () => {
      const made = await server.gql(`mutation { createBudgetPlan(input: { name: "Big FY", fiscalYear: 2040 }) { id } }`, {}, tokens.admin);
      const bigPlan = made.data.createBudgetPlan.id;
      const [{ id: unitId }] = await server.sql(`SELECT id FROM business_unit WHERE code = 'OPERATIONS'`);
      // 2,500 more lines in one unit, many sharing a position (the id breaks the tie).
      await server.sql(
        `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, comment, version, updated_at)
         SELECT gen_random_uuid(), $1, $2, 'Bulk ' || n, 'Everywhere', 'Q1', 10000 + n / 7, '', 1, now() FROM generate_series(1, 2500) AS n`,
        [bigPlan, unitId],
      );
      const expected = (await server.sql(`SELECT count(*)::int AS n FROM budget_line WHERE plan_id = $1`, [bigPlan]))[0].n;
      const csv = await call('GET', `/export/budget-lines.csv?planId=${bigPlan}`, `Bearer ${tokens.admin}`);
      const rows = csvRows(csv).slice(1);
      expect(rows).toHaveLength(expected);
      expect(new Set(rows.map((r) => r[0])).size).toBe(expected);
      const units = rows.map((r) => r[1]);
      expect(units).toEqual([...units].sort());
    });
  });

  describe('import', () => {
    it('applies an edited export: audited as IMPORT by the importer, seen at once by an open grid, an activity entry and a webhook event', async () => {
      const hook = await server.gql(
        `mutation { createWebhook(url: "http://127.0.0.1:9/hook", events: ["budget.values_imported"]) { webhook { id } } }`,
        {},
        tokens.admin,
      );
      expect(hook.errors).toBeUndefined();
      const watcher = grid('SALES_NORTH');
      await synced(watcher);
      const csv = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const [header, ...rows] = csvRows(csv);
      expect(header).toEqual([...HEADERS]);
      // Three cells of two lines change; the rest of the file is as exported.
      rows[0][6] = '4321.5';
      rows[0][8] = 'from Excel';
      rows[1][7] = '250';
      const linesBefore = await server.sql(`SELECT id, budget_amount, forecast_sales, comment, version FROM budget_line WHERE id = ANY($1)`, [[rows[0][0], rows[1][0]]]);
      const before = await auditCount();
      const answer = await importAs('lead', csvBody(rows));
      expect(answer.status).toBe(200);
      expect(counts(answer.json)).toEqual({ applied: 3, unchanged: 120 * 3 - 3, rejected: [] });
      // The applied cells, with their values before and after and their lines' versions: what an undo needs.
      const was = (id: string) => linesBefore.find((l) => l.id === id)!;
      expect(answer.json.changes.sort((a: any, b: any) => (a.lineId + a.column).localeCompare(b.lineId + b.column))).toEqual(
        [
          { lineId: rows[0][0], column: 'budgetAmount', before: was(rows[0][0]).budget_amount, after: 4321.5, version: was(rows[0][0]).version + 1 },
          { lineId: rows[0][0], column: 'comment', before: was(rows[0][0]).comment, after: 'from Excel', version: was(rows[0][0]).version + 1 },
          { lineId: rows[1][0], column: 'forecastSales', before: was(rows[1][0]).forecast_sales, after: 250, version: was(rows[1][0]).version + 1 },
        ].sort((a, b) => (a.lineId + a.column).localeCompare(b.lineId + b.column)),
      );
      const audit = await server.sql(
        `SELECT c.line_id, c.column_name, c.new_value, c.source, u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id WHERE c.id > (SELECT max(id) - 3 FROM cell_change) ORDER BY c.id`,
      );
      expect(await auditCount()).toBe(before + 3);
      expect(audit.map((a) => [a.line_id, a.column_name, a.new_value, a.source, a.email]).sort()).toEqual(
        [
          [rows[0][0], 'budgetAmount', '4321.5', 'IMPORT', 'lead.sales-north@example.com'],
          [rows[0][0], 'comment', 'from Excel', 'IMPORT', 'lead.sales-north@example.com'],
          [rows[1][0], 'forecastSales', '250', 'IMPORT', 'lead.sales-north@example.com'],
        ].sort(),
      );
      await eventually(
        () => watcher.cells.get(`${rows[0][0]}/budgetAmount`) === 4321.5 && watcher.cells.get(`${rows[0][0]}/comment`) === 'from Excel',
        'the open grid to show the import',
      );
      const [entry] = await server.sql(`SELECT actor_email, subject, details FROM activity_entry WHERE action = 'VALUES_IMPORTED' ORDER BY at DESC LIMIT 1`);
      expect(entry).toMatchObject({ actor_email: 'lead.sales-north@example.com', details: { planId, businessUnitCodes: ['SALES_NORTH'], applied: 3, format: 'csv' } });
      await eventually(async () => (await server.sql(`SELECT 1 FROM webhook_delivery WHERE event = 'budget.values_imported'`)).length === 1, 'the webhook delivery');
      const [delivery] = await server.sql(`SELECT payload FROM webhook_delivery WHERE event = 'budget.values_imported'`);
      expect(JSON.stringify(delivery.payload)).toContain('lead.sales-north@example.com');
      await server.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: hook.data.createWebhook.webhook.id }, tokens.admin);
      // The same file again: nothing left to change. An empty cell clears its column.
      expect(counts((await importAs('lead', csvBody(rows))).json)).toEqual({ applied: 0, unchanged: 120 * 3, rejected: [] });
      rows[0][6] = '';
      expect(counts((await importAs('lead', csvBody(rows))).json)).toEqual({ applied: 1, unchanged: 120 * 3 - 1, rejected: [] });
      const [cleared] = await server.sql(`SELECT c.old_value, c.new_value, c.source FROM cell_change c ORDER BY c.id DESC LIMIT 1`);
      expect(cleared).toEqual({ old_value: '4321.5', new_value: null, source: 'IMPORT' });
      await eventually(() => watcher.cells.get(`${rows[0][0]}/budgetAmount`) === undefined, 'the open grid to show the cleared cell');
    });

    it('says which cells of an older export would set back values changed since it was exported, before and after applying', async () => {
      // Monday: the lead exports the unit. Tuesday: a colleague enters a budget in the grid's lines (API here).
      const csv = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const [, ...rows] = csvRows(csv);
      const [theirs, mine] = [rows[40], rows[41]];
      const set = await server.gql(SET_LINE, { id: theirs[0], input: { budgetAmount: 77777 } }, tokens.planner);
      expect(set.errors).toBeUndefined();
      // Wednesday: the lead changes one other cell in Monday's file and imports it.
      mine[6] = '4242';
      const preview = await importAs('lead', csvBody(rows), { dryRun: true });
      expect(preview.status).toBe(200);
      // Two cells would change, one of them the colleague's: the preview names it, with its value now and who set it.
      expect(preview.json.applied).toBe(2);
      const told = {
        row: rows.indexOf(theirs) + 2,
        column: 'Budget amount',
        now: 77777,
        file: theirs[6] === '' ? null : Number(theirs[6]),
        fileVersion: Number(theirs[9]),
        version: Number(theirs[9]) + 1,
        updatedBy: 'planner.sales-north@example.com',
      };
      expect(preview.json.changedSinceExport).toEqual([{ ...told, updatedAt: expect.any(String) }]);
      expect(preview.json.changedSinceExportCount).toBe(1);
      // Applied as the contract says, and said again in the answer.
      const applied = await importAs('lead', csvBody(rows));
      expect(applied.json.applied).toBe(2);
      expect(applied.json.changedSinceExport).toEqual([{ ...told, updatedAt: expect.any(String) }]);
      // A fresh export changes nothing and warns of nothing.
      const fresh = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const again = await importAs('lead', fresh.body, { dryRun: true });
      expect(again.json).toEqual({ applied: 0, unchanged: 120 * 3, rejected: [] });
    });

    it("says so too when the importer changed the line last but a colleague changed another of its cells in between (xlsx and csv)", async () => {
      // Found in a finance QA pass: the lead exports; the planner sets a forecast; the lead then adds a comment to the
      // same line in the grid, and imports Monday's file. The line's last editor is the lead, so the file's empty
      // forecast cleared the planner's figure without a word in the preview.
      for (const format of ['xlsx', 'csv'] as const) {
        const exported = await exportOf(format, 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
        const csv = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
        const [, ...rows] = csvRows(csv);
        const line = format === 'xlsx' ? rows[60] : rows[61];
        const theirs = await server.gql(SET_LINE, { id: line[0], input: { forecastSales: 4242 } }, tokens.planner);
        expect(theirs.errors).toBeUndefined();
        const mine = await server.gql(SET_LINE, { id: line[0], input: { comment: `checked ${format}` } }, tokens.lead);
        expect(mine.errors).toBeUndefined();
        const preview = await importAs('lead', exported.body, { dryRun: true, ...(format === 'xlsx' ? { type: XLSX } : {}) });
        expect(preview.status).toBe(200);
        // The forecast would be cleared (and the lead's own comment set back, theirs to do): the forecast is named.
        expect(preview.json.applied).toBe(2);
        expect(preview.json.changedSinceExport).toEqual([
          expect.objectContaining({ row: rows.indexOf(line) + 2, column: 'Forecast sales', now: 4242, file: null, updatedBy: 'planner.sales-north@example.com' }),
        ]);
        expect(preview.json.changedSinceExportCount).toBe(1);
      }
      // A file exported after both changes warns of nothing.
      const fresh = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const again = await importAs('lead', fresh.body, { dryRun: true });
      expect(again.json).toEqual({ applied: 0, unchanged: 120 * 3, rejected: [] });
    });

    it('lists at most MAX_LISTED_CHANGED_SINCE_EXPORT of the cells changed since the export, and counts them all', async () => {
      const csv = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const [, ...rows] = csvRows(csv);
      // A colleague changes both amounts of every line after the export: the old file would set back 240 cells.
      const changes = rows.map((r, i) => ({ id: r[0], input: { budgetAmount: 90_000 + i, forecastSales: 80_000 + i } }));
      const batch = await server.gql(`mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { rejected { id } } }`, { c: changes }, tokens.planner);
      expect(batch.errors).toBeUndefined();
      expect(batch.data.updateBudgetLines.rejected).toEqual([]);
      const preview = await importAs('lead', csvBody(rows), { dryRun: true });
      expect(preview.json.changedSinceExportCount).toBe(rows.length * 2);
      expect(preview.json.changedSinceExport).toHaveLength(MAX_LISTED_CHANGED_SINCE_EXPORT);
      // The first of the file.
      expect(preview.json.changedSinceExport[0]).toMatchObject({ row: 2, column: 'Budget amount', now: 90_000 });
    });

    it('can be undone with the changes it lists: restoreCells back to the old values, audited RESTORE, a line changed since kept', async () => {
      const csv = await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      const [, ...rows] = csvRows(csv);
      const [a, b] = [rows[5], rows[6]];
      const original = await server.sql(`SELECT id, budget_amount, comment FROM budget_line WHERE id = ANY($1) ORDER BY id`, [[a[0], b[0]]]);
      a[6] = '777';
      a[8] = 'imported too';
      b[6] = '888';
      b[8] = 'imported';
      const imported = (await importAs('lead', csvBody(rows))).json;
      expect(counts(imported)).toMatchObject({ applied: 4, rejected: [] });
      // A colleague changes line b after the import.
      const later = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { forecastSales: 5 }) { version } }`, { id: b[0] }, tokens.admin);
      expect(later.errors).toBeUndefined();

      // The web client's undo: every cell the import changed, at the version the import left its line.
      const RESTORE_CELLS = `mutation($c: [RestoreCellInput!]!, $atomic: Boolean) { restoreCells(cells: $c, atomic: $atomic) { updated { id budgetAmount comment } rejected { id code } } }`;
      const cells = imported.changes.map((c: any) => ({ lineId: c.lineId, column: c.column, expectedVersion: c.version }));
      const auditBefore = await auditCount();
      // Who may not change the unit, a line with no audit entry (no such line) and a column nobody may set: refused,
      // and atomic, nothing written.
      const viewer = await server.gql(RESTORE_CELLS, { c: cells }, tokens.viewer);
      expect(viewer.errors, JSON.stringify(viewer.errors)).toBeUndefined();
      expect(viewer.data.restoreCells.rejected.map((r: any) => r.code)).toEqual([ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN]);
      const missing = '00000000-0000-4000-8000-000000000000';
      const untouched = await server.gql(RESTORE_CELLS, { c: [...cells, { lineId: missing, column: 'forecastSales' }, { lineId: a[0], column: 'priorYearActual' }], atomic: true }, tokens.lead);
      expect(untouched.data.restoreCells).toEqual({
        updated: [],
        rejected: [{ id: a[0], code: ErrorCode.BAD_USER_INPUT }, { id: missing, code: ErrorCode.NOT_FOUND }],
      });
      expect(await auditCount()).toBe(auditBefore);

      const undo = await server.gql(RESTORE_CELLS, { c: cells }, tokens.lead);
      expect(undo.errors).toBeUndefined();
      const was = original.find((l) => l.id === a[0])!;
      expect(undo.data.restoreCells.updated).toEqual([{ id: a[0], budgetAmount: was.budget_amount, comment: was.comment }]);
      expect(undo.data.restoreCells.rejected).toEqual([{ id: b[0], code: ErrorCode.CONFLICT }]);
      const [kept] = await server.sql(`SELECT budget_amount, comment, forecast_sales FROM budget_line WHERE id = $1`, [b[0]]);
      expect(kept).toEqual({ budget_amount: 888, comment: 'imported', forecast_sales: 5 });
      // The audit says what happened: the import's cells set back (RESTORE), by the lead; not typed in over the API.
      const audit = await server.sql<{ column_name: string; new_value: string | null; source: string }>(
        `SELECT column_name, new_value, source::text FROM cell_change WHERE line_id = $1 ORDER BY id DESC LIMIT 2`,
        [a[0]],
      );
      expect(audit.map((e) => e.source)).toEqual(['RESTORE', 'RESTORE']);
      expect(await auditCount()).toBe(auditBefore + 2);
    });

    it('round-trips an xlsx workbook edited with exceljs', async () => {
      const xlsx = await exportOf('xlsx', 'admin', `planId=${planId}&businessUnitCode=SALES_SOUTH`);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(xlsx.body as unknown as ArrayBuffer);
      const sheet = workbook.worksheets[0];
      const lineId = sheet.getRow(5).getCell(1).value as string;
      sheet.getRow(5).getCell(7).value = 777;
      // A formula as Excel saves it, with its result: the result is imported.
      sheet.getRow(5).getCell(8).value = { formula: 'G5*2', result: 1554 };
      sheet.getRow(5).getCell(9).value = '=not a formula, a comment';
      // Nothing is evaluated here: a formula without a saved value, and an error value, are refused.
      sheet.getRow(6).getCell(7).value = { formula: 'G5*3' } as ExcelJS.CellFormulaValue;
      sheet.getRow(6).getCell(8).value = { error: '#DIV/0!' } as ExcelJS.CellErrorValue;
      const edited = Buffer.from(await workbook.xlsx.writeBuffer());
      const answer = await importAs('admin', edited, { type: XLSX });
      expect(counts(answer.json)).toEqual({
        applied: 3,
        unchanged: 120 * 3 - 5,
        rejected: [
          { row: 6, column: 'Budget amount', reason: expect.stringContaining('a formula without a saved value') },
          { row: 6, column: 'Forecast sales', reason: expect.stringContaining('#DIV/0!') },
        ],
      });
      const [row] = await server.sql(`SELECT budget_amount, forecast_sales, comment FROM budget_line WHERE id = $1`, [lineId]);
      expect(row).toEqual({ budget_amount: 777, forecast_sales: 1554, comment: '=not a formula, a comment' });
    });

    it('applies nothing on a dry run, and answers what the import would do', async () => {
      const csv = await exportOf('csv', 'admin', `planId=${planId}&businessUnitCode=FINANCE`);
      const [, ...rows] = csvRows(csv);
      rows[0][6] = '1';
      rows[1][6] = '-1';
      const before = await lineRows();
      const audits = await auditCount();
      const activity = (await server.sql(`SELECT count(*)::int AS n FROM activity_entry`))[0].n;
      const answer = await importAs('admin', csvBody(rows), { dryRun: true });
      expect(counts(answer.json)).toEqual({ applied: 1, unchanged: 120 * 3 - 2, rejected: [{ row: 3, column: 'Budget amount', reason: 'Budget amount must not be negative' }] });
      expect(await lineRows()).toEqual(before);
      expect(await auditCount()).toBe(audits);
      expect((await server.sql(`SELECT count(*)::int AS n FROM activity_entry`))[0].n).toBe(activity);
    });

    it('lists every refused cell with its row and column, and applies the rest', async () => {
      const north = await linesOf('lead', 'SALES_NORTH');
      const [south] = await linesOf('admin', 'SALES_SOUTH');
      const row = (l: Line, amount: string | number | null, forecast: string | number | null, comment: string) =>
        [l.id, l.businessUnit.code, l.productCategory, l.region, l.quarter, null, amount, forecast, comment, l.version, null, null];
      const body = csvBody([
        row(north[10], 10, north[10].forecastSales, 'ok'), // 2: applied (amount, comment)
        row(north[11], -5, 'abc', 'x'.repeat(2001)), // 3: three bad values
        row(north[12], 1e13, north[12].forecastSales, north[12].comment), // 4: too large
        row(south, 1, south.forecastSales, south.comment), // 5: another unit's line: not found for a leader
        ['00000000-0000-4000-8000-000000000000', '', '', '', '', '', '5', '', '', '', '', ''], // 6: missing
        ['not-an-id', '', '', '', '', '', '5', '', '', '', '', ''], // 7: missing
        row(north[10], 11, north[10].forecastSales, 'ok'), // 8: the same line again
        ['', 'SALES_NORTH', '', '', '', '', '5', '', '', '', '', ''], // 9: no id and no key
        ['', 'SALES_NORTH', 'Laptops\u0000', 'Europe', 'Q1', '', '5', '', '', '', '', ''], // 10: a key no line has
        [], // 11: empty: skipped
        row(north[13], '1.5e3', ' 12.25 ', north[13].comment), // 12: numbers as text
      ]);
      const answer = await importAs('lead', body);
      expect(answer.status).toBe(200);
      const notFound = expect.stringContaining('not found');
      expect(answer.json.rejected).toEqual([
        { row: 3, column: 'Budget amount', reason: 'Budget amount must not be negative' },
        { row: 3, column: 'Forecast sales', reason: expect.stringContaining('must be a number') },
        { row: 3, column: 'Comment', reason: 'Comment must be at most 2000 characters' },
        { row: 4, column: 'Budget amount', reason: 'Budget amount must be at most 1000000000000' },
        { row: 5, column: 'Line id', reason: notFound },
        { row: 6, column: 'Line id', reason: notFound },
        { row: 7, column: 'Line id', reason: notFound },
        { row: 8, column: 'Line id', reason: 'Row 2 already changes this line: give each line one row' },
        { row: 9, column: 'Line id', reason: expect.stringContaining('Give the Line id') },
        { row: 10, column: 'Line id', reason: notFound },
      ]);
      expect(answer.json.applied).toBe(2 + 2);
      const [changed] = await server.sql(`SELECT budget_amount, comment FROM budget_line WHERE id = $1`, [north[10].id]);
      expect(changed).toEqual({ budget_amount: 10, comment: 'ok' });
      const [numbers] = await server.sql(`SELECT budget_amount, forecast_sales FROM budget_line WHERE id = $1`, [north[13].id]);
      expect(numbers).toEqual({ budget_amount: 1500, forecast_sales: 12.25 });
      const [untouched] = await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [south.id]);
      expect(untouched.budget_amount).toBe(south.budgetAmount);
    });

    it('refuses the changes of people who may only read, and of a submitted unit, cell by cell; unchanged cells are no refusal', async () => {
      for (const who of ['viewer', 'analyst']) {
        const csv = await exportOf('csv', who, `planId=${planId}&businessUnitCode=SALES_NORTH`);
        // Unchanged: nothing refused.
        expect(counts((await importAs(who, csv.body)).json)).toEqual({ applied: 0, unchanged: 360, rejected: [] });
        const [, ...rows] = csvRows(csv);
        rows[2][6] = '99';
        const answer = await importAs(who, csvBody(rows));
        expect(counts(answer.json)).toEqual({ applied: 0, unchanged: 359, rejected: [{ row: 4, column: 'Budget amount', reason: 'You may not change this budget line' }] });
      }
      // A submitted unit is frozen for everyone, admins included.
      const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }`, { p: planId }, tokens.southLead);
      expect(submitted.errors).toBeUndefined();
      const csv = await exportOf('csv', 'admin', `planId=${planId}&businessUnitCode=SALES_SOUTH`);
      const [, ...rows] = csvRows(csv);
      rows[0][6] = '5';
      rows[0][8] = 'late';
      const before = await lineRows();
      const answer = await importAs('admin', csvBody(rows));
      expect(counts(answer.json)).toEqual({
        applied: 0,
        unchanged: 358,
        rejected: [
          { row: 2, column: 'Budget amount', reason: "This unit's budget is submitted and cannot be changed" },
          { row: 2, column: 'Comment', reason: "This unit's budget is submitted and cannot be changed" },
        ],
      });
      expect(await lineRows()).toEqual(before);
    });

    it('finds a line by unit, category, region and quarter when its Line id is empty, in any column order and header case', async () => {
      const [line] = (await linesOf('admin', 'MARKETING')).slice(40, 41);
      const header = ['quarter', ' REGION ', 'Comment', 'Business Unit', 'Product category', 'Line id'];
      const body = csvBody([[line.quarter, line.region, 'by key', 'marketing', line.productCategory.toUpperCase(), '']], header);
      const answer = await importAs('admin', body);
      expect(counts(answer.json)).toEqual({ applied: 1, unchanged: 0, rejected: [] });
      const [row] = await server.sql(`SELECT comment FROM budget_line WHERE id = $1`, [line.id]);
      expect(row.comment).toBe('by key');
      // Semicolons and a decimal comma, as Excel writes CSV where the comma is the decimal separator.
      const semi = Buffer.from(`\uFEFFLine id;Budget amount\r\n${line.id};1234,75\r\n`);
      expect(counts((await importAs('admin', semi)).json)).toEqual({ applied: 1, unchanged: 0, rejected: [] });
      const [after] = await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]);
      expect(after.budget_amount).toBe(1234.75);
    });

    it('refuses a READ access token, a closed plan, a partner, and answers 413, 415 and 400 for bodies it cannot take', async () => {
      const csv = (await exportOf('csv', 'admin', `planId=${planId}&businessUnitCode=OPERATIONS`)).body;
      const made = await server.gql(`mutation { createAccessToken(name: "reader", scopes: [READ]) { token } }`, {}, tokens.admin);
      const readToken = made.data.createAccessToken.token;
      expect(readToken).toMatch(/^pst_/);
      // A READ token exports (Bearer and Basic) but may not import, not even a dry run.
      expect((await exportOf('csv', 'admin', `planId=${planId}`, `Bearer ${readToken}`)).status).toBe(200);
      expect((await exportOf('xlsx', 'admin', `planId=${planId}`, basic(readToken))).status).toBe(200);
      expectRefusal(await importAs('admin', csv, { authorization: `Bearer ${readToken}` }), 403, ErrorCode.FORBIDDEN);
      expectRefusal(await importAs('admin', csv, { authorization: `Bearer ${readToken}`, dryRun: true }), 403, ErrorCode.FORBIDDEN);
      const writer = (await server.gql(`mutation { createAccessToken(name: "writer", scopes: [READ, WRITE]) { token } }`, {}, tokens.admin)).data.createAccessToken.token;
      expect((await importAs('admin', csv, { authorization: `Bearer ${writer}` })).status).toBe(200);

      expectRefusal(await importAs('partner', csv), 403, ErrorCode.FORBIDDEN);
      expectRefusal(await importAs('admin', csv, { plan: '00000000-0000-4000-8000-000000000000' }), 404, ErrorCode.NOT_FOUND);
      const closed = (await server.gql(`mutation { createBudgetPlan(input: { name: "Closed FY", fiscalYear: 2041 }) { id } }`, {}, tokens.admin)).data.createBudgetPlan.id;
      const closing = await server.gql(`mutation($p: ID!) { setBudgetPlanStatus(planId: $p, status: CLOSED) { status } }`, { p: closed }, tokens.admin);
      expect(closing.errors).toBeUndefined();
      expectRefusal(await importAs('admin', csv, { plan: closed }), 403, ErrorCode.FORBIDDEN);

      const audits = await auditCount();
      expectRefusal(await importAs('admin', csv, { type: 'application/json' }), 415, ErrorCode.BAD_USER_INPUT);
      expectRefusal(await importAs('admin', csv, { type: 'text/plain' }), 415, ErrorCode.BAD_USER_INPUT);
      const twice = await call('POST', `/import/budget-lines?planId=${planId}&dryRun=false&dryRun=true`, `Bearer ${tokens.admin}`, csv, 'text/csv');
      expectRefusal(twice, 400, ErrorCode.BAD_USER_INPUT);
      expect(twice.json.error.message).toMatch(/^dryRun is given more than once/);
      for (const [body, type] of [
        [Buffer.from(''), 'text/csv'],
        [Buffer.from('Line id,Budget amount\r\n"unclosed,5\r\n'), 'text/csv'],
        [Buffer.from('Something,Else\r\n1,2\r\n'), 'text/csv'],
        [Buffer.from('Line id,Version\r\n1,2\r\n'), 'text/csv'],
        [Buffer.from('not a zip at all'), XLSX],
        [Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(100)]), XLSX],
        [csv, XLSX],
      ] as const) {
        const answer = await importAs('admin', body, { type });
        expectRefusal(answer, 400, ErrorCode.BAD_USER_INPUT);
      }
      expect(await auditCount()).toBe(audits);
    });

    it('refuses an xlsx whose entries unpack to more than the sizes it declares, before exceljs unpacks it (a zip bomb)', async () => {
      // 40 MB of spaces deflate to 40 KB. exceljs (JSZip) unpacks an entry whole and only then compares its size
      // with the declared one, so an entry declaring 1 KB took all of it in memory (1 GB from a 1 MB upload),
      // past the check of the declared sizes, for anyone who may import (a viewer's requests get that far).
      const spaces = zlib.deflateRawSync(Buffer.alloc(40 * 1024 * 1024, 0x20));
      const lying = zipOf([{ name: 'xl/bomb.xml', packed: spaces, declared: 1000 }]);
      const answer = await importAs('viewer', lying, { type: XLSX, dryRun: true });
      expectRefusal(answer, 400, ErrorCode.BAD_USER_INPUT);
      expect(answer.json.error.message).toMatch(/do not unpack to the sizes it declares/);
      // An honest entry the end record does not count: JSZip reads every header that follows, so it unpacked what
      // the size check never added up.
      const hidden = zipOf(
        [
          { name: 'a.xml', packed: zlib.deflateRawSync(Buffer.from('<a/>')), declared: 4 },
          { name: 'xl/bomb.xml', packed: spaces, declared: 40 * 1024 * 1024 },
        ],
        1,
      );
      const second = await importAs('viewer', hidden, { type: XLSX, dryRun: true });
      expectRefusal(second, 400, ErrorCode.BAD_USER_INPUT);
      expect(second.json.error.message).toMatch(/no zip archive/);
      // A real workbook still imports.
      const workbook = await exportOf('xlsx', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`);
      expect(counts((await importAs('lead', workbook.body, { type: XLSX, dryRun: true })).json)).toEqual({ applied: 0, unchanged: 120 * 3, rejected: [] });
    });

    it('refuses whole, applying nothing, a file with more refused cells than an edited export could have', async () => {
      const [line] = await server.sql<{ id: string; budget_amount: number | null }>(
        `SELECT l.id, l.budget_amount FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'MARKETING' ORDER BY l.position LIMIT 1`,
      );
      const audits = await auditCount();
      // One good change first, then rows naming no line, one refusal each: a file that is not an export of this plan.
      const rows = [`Line id,Budget amount`, `${line.id},4242`, ...Array.from({ length: MAX_REFUSED_CELLS + 1 }, () => 'x,1')];
      const answer = await importAs('admin', Buffer.from(rows.join('\r\n')));
      expectRefusal(answer, 400, ErrorCode.BAD_USER_INPUT);
      expect(answer.json.error.message).toMatch(/^More than 100,000 cells of this file are refused, so nothing was imported.*The first: row 3, Line id:/);
      expect(await auditCount()).toBe(audits);
      expect((await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]))[0].budget_amount).toBe(line.budget_amount);
      // At the bound, every refusal is listed and the rest applied.
      const atBound = await importAs('admin', Buffer.from(rows.slice(0, -1).join('\r\n')));
      expect(atBound.status).toBe(200);
      expect([atBound.json.applied, atBound.json.rejected.length]).toEqual([1, MAX_REFUSED_CELLS]);
    });

    it('answers 413 for a body over 10 MB, declared or streamed', async () => {
      const big = Buffer.alloc(10 * 1024 * 1024 + 1, 0x41);
      expectRefusal(await importAs('admin', big), 413, ErrorCode.BAD_USER_INPUT);
      // Sent in chunks without a length: refused once it passes the limit.
      let answered = false;
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL(`${server.url}/import/budget-lines?planId=${planId}`);
        const req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } },
          (res) => {
            answered = true;
            let text = '';
            res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text }));
          },
        );
        // The server may answer before it has read everything: what it says counts, not a late write error.
        req.on('error', (err) => (answered ? undefined : reject(err)));
        const chunk = Buffer.alloc(1024 * 1024, 0x42);
        let sent = 0;
        const pump = () => {
          while (sent < 12 && !req.destroyed && !answered) {
            sent += 1;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error.code).toBe(ErrorCode.BAD_USER_INPUT);
      // Still serving.
      expect((await exportOf('csv', 'lead', `planId=${planId}&businessUnitCode=SALES_NORTH`)).status).toBe(200);
    });
  });
});

/**
 * A zip archive of deflated entries whose directory declares the sizes given (true or not), its end record counting
 * `counted` of them (all by default). CRCs are left 0: JSZip, as exceljs calls it, does not check them.
 */
function zipOf(entries: { name: string; packed: Buffer; declared: number }[], counted = entries.length): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, packed, declared } of entries) {
    const file = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(file.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(declared, 24);
    central.writeUInt16LE(file.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, file, packed);
    centrals.push(central, file);
    offset += 30 + file.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(counted, 8);
  end.writeUInt16LE(counted, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
