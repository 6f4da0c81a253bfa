/**
 * Workbooks that make exceljs do far more work than their size, through the real import route of a real server
 * (found in a security QA pass). A 6 KB upload by a VIEWER, a dry run, took a worker's whole heap (1.5 GB) and
 * half a minute of a CPU: a `<col min="1" max="1000000000"/>` (exceljs creates one object per column), a
 * `<mergeCell ref="A1:XFD1048576"/>` (every cell of the range), a `<dataValidation sqref="A1:XFD1048576">` (one
 * entry per address), a defined name over the whole sheet (one per cell). Two in a loop kept both workers, and every
 * other xlsx import of the process, waiting. The import reads cell values only: these are now dropped before
 * exceljs reads the workbook, and the file imports as if they were not there.
 *
 * And what is left bounded: a row with cells far right, a part that unpacks to a thousand times its size, a
 * workbook that needs more memory than the worker may take (XLSX_READER_MEMORY_MB): each a 400 BAD_USER_INPUT
 * naming the cause, while other people's work carries on and the server stays up.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { MAX_PACKING_RATIO } from './sheetReaders.js';
import { MAX_MERGED_CELLS, MAX_SHEET_COLUMNS } from './xlsxWorker.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const JSZip = createRequire(createRequire(import.meta.url).resolve('exceljs'))('jszip') as typeof import('jszip');

/** What a test server is driven with: a plan, a viewer (who may dry-run imports) and a unit leader of another unit. */
function usingServer(env: Record<string, string> = {}) {
  const s = {} as { server: TestServer; planId: string; viewer: string; lead: string };
  beforeAll(async () => {
    s.server = await startTestServer(env);
    s.viewer = await s.server.login('viewer.sales-north@example.com');
    s.lead = await s.server.login('lead.marketing@example.com');
    [{ id: s.planId }] = await s.server.sql(`SELECT id FROM budget_plan`);
  }, 60_000);
  afterAll(() => s.server?.stop());
  return s;
}

type Env = ReturnType<typeof usingServer>;

const post = async (env: Env, path: string, token: string, body: Buffer | string, type: string) => {
  const res = await fetch(`${env.server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, json: (await res.json()) as any };
};
const dryRun = (env: Env, token: string, body: Buffer) => post(env, `/import/budget-lines?planId=${env.planId}&dryRun=true`, token, body, XLSX);
const exported = async (env: Env, unit: string, token: string) => {
  const res = await fetch(`${env.server.url}/export/budget-lines.xlsx?planId=${env.planId}&businessUnitCode=${unit}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
};

/** `workbook` with its (only) worksheet's XML and its workbook.xml edited. */
async function edited(workbook: Buffer, edit: { sheet?: (xml: string) => string | Buffer; book?: (xml: string) => string }): Promise<Buffer> {
  const zip = await JSZip.loadAsync(workbook);
  const sheetPath = Object.keys(zip.files).find((name) => /^xl\/worksheets\/sheet\d+\.xml$/.test(name))!;
  if (edit.sheet) zip.file(sheetPath, edit.sheet(await zip.file(sheetPath)!.async('string')));
  if (edit.book) zip.file('xl/workbook.xml', edit.book(await zip.file('xl/workbook.xml')!.async('string')));
  return Buffer.from(await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
}

/** Meanwhile, someone else: an edit, a CSV import, an xlsx import and /healthz, all answered as ever. */
async function othersCarryOn(env: Env, amount: number): Promise<void> {
  const { server, planId, lead } = env;
  const [line] = await server.sql(`SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'MARKETING' ORDER BY l.position LIMIT 1`);
  const edit = await server.gql(`mutation($id: ID!, $amount: Float!) { updateBudgetLine(id: $id, input: { budgetAmount: $amount }) { budgetAmount } }`, { id: line.id, amount }, lead);
  expect(edit.errors).toBeUndefined();
  expect(edit.data.updateBudgetLine.budgetAmount).toBe(amount);
  const csv = await post(env, `/import/budget-lines?planId=${planId}`, lead, `Line id,Budget amount\r\n${line.id},${amount + 1}\r\n`, 'text/csv');
  expect([csv.status, csv.json.applied]).toEqual([200, 1]);
  const honest = await dryRun(env, lead, await exported(env, 'MARKETING', lead));
  expect(honest.status, JSON.stringify(honest.json)).toBe(200);
  expect(honest.json.rejected).toEqual([]);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  expect((await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [line.id]))[0].budget_amount).toBe(amount + 1);
}

describe('xlsx parts that exceljs expands into one object per cell or column', () => {
  const env = usingServer();

  it('are ignored, or (merges) bounded: a workbook with each over the whole sheet imports as without it, or is refused, while others carry on', async () => {
    const { viewer } = env;
    const own = await exported(env, 'SALES_NORTH', viewer);
    const whole = 'A1:XFD1048576';
    const crafted = {
      columns: await edited(own, { sheet: (xml) => xml.replace(/<cols>.*?<\/cols>|(?=<sheetData)/, '<cols><col min="1" max="1000000000" width="9"/></cols>') }),
      validations: await edited(own, {
        sheet: (xml) => xml.replace(/(<\/sheetData>)/, `$1<dataValidations count="1"><dataValidation type="whole" allowBlank="1" sqref="${whole}"><formula1>0</formula1></dataValidation></dataValidations>`),
      }),
      definedNames: await edited(own, {
        book: (xml) => xml.replace(/<definedNames>.*?<\/definedNames>|(?=<calcPr)/, `<definedNames><definedName name="everything">'Budget lines'!$A$1:$XFD$1048576</definedName></definedNames>`),
      }),
    };
    for (const [name, file] of Object.entries(crafted)) {
      expect(file.length, name).toBeLessThan(100 * 1024);
      expect(file.equals(own), name).toBe(false);
    }
    expect(await (await JSZip.loadAsync(crafted.definedNames)).file('xl/workbook.xml')!.async('string')).toContain('$XFD$1048576');

    const untouched = await dryRun(env, viewer, own);
    expect(untouched.status, JSON.stringify(untouched.json)).toBe(200);
    // All at once, with the merges (more than the two readers), then all again: each answered as the untouched
    // workbook is. Each from another person who may read the unit: a person's workbooks are read one at a time.
    const readers = await Promise.all(
      ['planner.sales-north@example.com', 'lead.sales-north@example.com', 'analyst@example.com', 'admin@example.com', 'viewer.finance@example.com'].map((email) =>
        env.server.login(email),
      ),
    );
    const [planner, leadNorth, analyst, admin, otherViewer] = readers;
    const all = (tokens: string[], suffix: string) =>
      Object.entries(crafted).map(async ([name, file], i) => [`${name}${suffix}`, await dryRun(env, tokens[i], file)] as const);
    const answers = all([viewer, planner, leadNorth], '');
    // Merges are kept (each cell of one reads its first cell's value, as ever), up to MAX_MERGED_CELLS.
    const merges = dryRun(env, otherViewer, await edited(own, { sheet: (xml) => xml.replace(/(<\/sheetData>)/, `$1<mergeCells count="1"><mergeCell ref="${whole}"/></mergeCells>`) }));
    await othersCarryOn(env, 4321);
    const first = await Promise.all(answers);
    const again = await Promise.all(all([analyst, admin, viewer], ' again'));
    for (const [name, answer] of [...first, ...again]) {
      expect([name, answer.status, answer.json], name).toEqual([name, 200, untouched.json]);
    }
    const merged = await merges;
    expect(merged.status, JSON.stringify(merged.json)).toBe(400);
    expect(merged.json.error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(merged.json.error.message).toBe(
      `The worksheet xl/worksheets/sheet1.xml merges more than ${MAX_MERGED_CELLS.toLocaleString('en-US')} cells: unmerge them, or copy the values to a new workbook`,
    );
  }, 300_000);

  it('refuses a row with cells far right (column XFD) with BAD_USER_INPUT naming the row, while others carry on', async () => {
    const { viewer } = env;
    // 20,000 rows of one number at column XFD (16,384): read as every row's 16,384 cells, 2.6 GB.
    const rows: string[] = [];
    for (let r = 1000; r < 21_000; r++) rows.push(`<row r="${r}"><c r="XFD${r}"><v>${r}</v></c></row>`);
    const wide = await edited(await exported(env, 'SALES_NORTH', viewer), { sheet: (xml) => xml.replace('</sheetData>', `${rows.join('')}</sheetData>`) });
    expect(wide.length).toBeLessThan(1024 * 1024);
    const refused = dryRun(env, viewer, wide);
    await othersCarryOn(env, 5321);
    const answer = await refused;
    expect(answer.status, JSON.stringify(answer.json)).toBe(400);
    expect(answer.json.error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(answer.json.error.message).toBe(`Row 1000 of the worksheet "Budget lines" has cells beyond column ${MAX_SHEET_COLUMNS}: delete the columns after the last one you use`);
  }, 300_000);

  it('refuses a part that unpacks to more than MAX_PACKING_RATIO times its packed size (a zip bomb) before reading it', async () => {
    const { viewer } = env;
    // 3 million times the same empty cell, 42 MB that deflate packs about 1,000 times: 3 million cell objects.
    const bomb = await edited(await exported(env, 'SALES_NORTH', viewer), {
      sheet: (xml) => xml.replace('</sheetData>', `<row r="1000">${'<c r="A1000"/>'.repeat(3_000_000)}</row></sheetData>`),
    });
    expect(bomb.length).toBeLessThan(100 * 1024);
    const answer = await dryRun(env, viewer, bomb);
    expect(answer.status, JSON.stringify(answer.json)).toBe(400);
    expect(answer.json.error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(answer.json.error.message).toContain(`more than ${MAX_PACKING_RATIO} times its packed size`);
    expect((await dryRun(env, viewer, await exported(env, 'SALES_NORTH', viewer))).status).toBe(200);
  }, 300_000);
});

describe('an xlsx import that needs more memory than the worker may take', () => {
  // A lower cap than the default (1,536 MB), so that an honest file reaches it: once the parts exceljs expands are
  // dropped, no small upload needs 1.5 GB any more (a 5 MB one of a 280-million-character cell takes about 1 GB).
  const memoryMb = 128;
  const env = usingServer({ XLSX_READER_MEMORY_MB: String(memoryMb) });

  it('answers 400 BAD_USER_INPUT naming the memory it needs, while others carry on, and the server stays up', async () => {
    const { server, viewer } = env;
    // The viewer's own export with one comment 80 million characters long (one of them outside Latin-1, so that
    // the engine holds it two bytes a character): random letters every 500, so that it packs about 50 times.
    // Built as bytes: as a string, this process would hold it two bytes a character too.
    const text = Buffer.alloc(80_000_000, 'a');
    for (let at = 0; at + 8 <= text.length; at += 508) text.write(randomBytes(6).toString('base64'), at);
    const big = await edited(await exported(env, 'SALES_NORTH', viewer), {
      sheet: (xml) => {
        const [before, after] = xml.split('</sheetData>');
        return Buffer.concat([Buffer.from(`${before}<row r="1000"><c r="I1000" t="inlineStr"><is><t>`), text, Buffer.from(`€</t></is></c></row></sheetData>${after}`)]);
      },
    });
    expect(big.length).toBeLessThan(10 * 1024 * 1024);

    const refused = dryRun(env, viewer, big);
    await othersCarryOn(env, 6321);
    const answer = await refused;
    expect(answer.status, JSON.stringify(answer.json)).toBe(400);
    expect(answer.json.error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(answer.json.error.message).toContain(`more than ${memoryMb} MB of memory`);

    // Afterwards: the same server (not a restarted one) still reads workbooks and answers.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const again = await dryRun(env, viewer, await exported(env, 'SALES_NORTH', viewer));
    expect(again.status, JSON.stringify(again.json)).toBe(200);
  }, 300_000);
});
