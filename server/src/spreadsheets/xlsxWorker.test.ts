/**
 * A workbook that needs more memory to read than the worker's heap limit (xlsxWorker.ts, WORKER_HEAP_MB), through
 * the real import route of a real server: a 6 KB upload whose one `<col min="1" max="1000000000"/>` makes exceljs
 * create a column object for each of a billion columns (Column.fromModel counts from min to max; the file format
 * stops at 16,384). Read on the server's own thread, as before the worker, that ended the process for everyone.
 * Now: a 400 with the contract's code naming the cause, while another person edits, imports a CSV and an xlsx,
 * and the server answers as before once it is over.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { WORKER_HEAP_MB } from './xlsxWorker.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const JSZip = createRequire(createRequire(import.meta.url).resolve('exceljs'))('jszip') as typeof import('jszip');

describe('an xlsx import that needs more memory than the worker may take', () => {
  let server: TestServer;
  let planId: string;
  let viewer: string;
  let lead: string;
  beforeAll(async () => {
    server = await startTestServer();
    viewer = await server.login('viewer.sales-north@example.com');
    lead = await server.login('lead.marketing@example.com');
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
  }, 60_000);
  afterAll(() => server?.stop());

  const post = async (path: string, token: string, body: Buffer | string, type: string) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  const exported = async (unit: string, token: string) => {
    const res = await fetch(`${server.url}/export/budget-lines.xlsx?planId=${planId}&businessUnitCode=${unit}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it('answers 400 BAD_USER_INPUT naming the memory it needs, while others carry on, and the server stays up', async () => {
    // The viewer's own export, with one line added to its sheet: a billion columns of width 9.
    const zip = await JSZip.loadAsync(await exported('SALES_NORTH', viewer));
    const sheetPath = Object.keys(zip.files).find((name) => /^xl\/worksheets\/sheet\d+\.xml$/.test(name))!;
    const sheet = await zip.file(sheetPath)!.async('string');
    const withColumns = sheet.replace(/<cols>.*?<\/cols>|(?=<sheetData)/, '<cols><col min="1" max="1000000000" width="9"/></cols>');
    expect(withColumns).toContain('max="1000000000"');
    zip.file(sheetPath, withColumns);
    const bomb = Buffer.from(await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
    expect(bomb.length).toBeLessThan(100 * 1024);

    const refused = post(`/import/budget-lines?planId=${planId}&dryRun=true`, viewer, bomb, XLSX);
    // Meanwhile, someone else: an edit, a CSV import and an xlsx import (the second worker), and /healthz.
    const [line] = await server.sql(`SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'MARKETING' ORDER BY l.position LIMIT 1`);
    const edit = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4321 }) { budgetAmount } }`, { id: line.id }, lead);
    expect(edit.errors).toBeUndefined();
    expect(edit.data.updateBudgetLine.budgetAmount).toBe(4321);
    const csv = await post(`/import/budget-lines?planId=${planId}`, lead, `Line id,Budget amount\r\n${line.id},4322\r\n`, 'text/csv');
    expect([csv.status, csv.json.applied]).toEqual([200, 1]);
    const honest = await post(`/import/budget-lines?planId=${planId}&dryRun=true`, lead, await exported('MARKETING', lead), XLSX);
    expect(honest.status, JSON.stringify(honest.json)).toBe(200);
    expect(honest.json.rejected).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const answer = await refused;
    expect(answer.status, JSON.stringify(answer.json)).toBe(400);
    expect(answer.json.error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(answer.json.error.message).toContain(`more than ${WORKER_HEAP_MB} MB of memory`);

    // Afterwards: the same server (not a restarted one) still reads workbooks and answers.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const again = await post(`/import/budget-lines?planId=${planId}&dryRun=true`, viewer, await exported('SALES_NORTH', viewer), XLSX);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect((await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]))[0].budget_amount).toBe(4322);
  }, 300_000);
});
