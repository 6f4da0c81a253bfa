/**
 * Files as finance teams' Excel saves them, imported into a real server and database (found in a QA pass running
 * a budget cycle): a `;`-separated CSV from a decimal-comma Excel whose amounts carry a dot for thousands ("1.234"
 * is 1234 there; it was read as 1.234, silently a thousand times too small), a workbook with a sheet of notes in
 * front of the exported one (the first worksheet was read and the file refused), and "-0" typed or imported
 * (accepted, as it is not below 0, and shown as "-0" by every open grid).
 */
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) {
  id productCategory region quarter budgetAmount forecastSales comment version } }`;

interface Line {
  id: string;
  productCategory: string;
  region: string;
  quarter: string;
  budgetAmount: number | null;
  forecastSales: number | null;
}

describe('importing files as Excel saves them', () => {
  let server: TestServer;
  let planId: string;
  let lead: string;
  let lines: Line[];
  const grids: GridClient[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    lead = await server.login('lead.marketing@example.com');
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
    lines = (await server.gql(LINES, { p: planId, u: 'MARKETING' }, lead)).data.budgetLines;
  }, 60_000);
  afterEach(() => {
    while (grids.length) grids.pop()!.destroy();
  });
  afterAll(() => server?.stop());

  async function importFile(body: Buffer, type = 'text/csv') {
    const res = await fetch(`${server.url}/import/budget-lines?planId=${planId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lead}`, 'content-type': type },
      body: new Uint8Array(body),
    });
    return { status: res.status, json: await res.json() };
  }
  const amountOf = async (id: string) => (await server.sql(`SELECT budget_amount FROM budget_line WHERE id = $1`, [id]))[0].budget_amount;

  it('refuses "1.234" in a ;-separated file with decimal commas, where the dot separates thousands, and reads the rest', async () => {
    const [a, b, c] = lines;
    const csv = [
      'Line id;Budget amount',
      `${a.id};1.234`, // Excel's "#.##0" in a decimal-comma locale: one thousand two hundred and thirty-four
      `${b.id};1234,5`,
      `${c.id};0.500`, // no thousands separator writes a leading 0: a decimal point
    ].join('\r\n');
    const answer = await importFile(Buffer.from(`\uFEFF${csv}\r\n`));
    expect(answer.status).toBe(200);
    expect(answer.json.applied).toBe(2);
    expect(answer.json.rejected).toEqual([
      { row: 2, column: 'Budget amount', reason: expect.stringMatching(/"1\.234" is ambiguous .*write 1234 or 1,234/) },
    ]);
    expect(await amountOf(a.id)).toBeNull();
    expect(await amountOf(b.id)).toBe(1234.5);
    expect(await amountOf(c.id)).toBe(0.5);
    // In a comma-separated file the comma cannot be a decimal separator: "1.234" is one and a bit, as before.
    const comma = await importFile(Buffer.from(`Line id,Budget amount\r\n${a.id},1.234\r\n`));
    expect(comma.json).toMatchObject({ applied: 1, rejected: [] });
    expect(await amountOf(a.id)).toBe(1.234);
  });

  it('reads amounts with thousands separators as Excel saves an exported workbook to CSV ("#,##0.00"), where they cannot mean anything else', async () => {
    // Found in a finance QA pass: the xlsx export formats amounts "#,##0.00", and Excel's "Save as CSV" writes each
    // cell as it shows it: every amount from 1,000 up came back "1,234.57" and was refused.
    const [a, b, c, d] = lines;
    const comma = [
      'Line id,Budget amount,Forecast sales',
      `${a.id},"1,234.57","1,000,000.00"`,
      `${b.id},"12,345,678",999.5`,
      `${c.id},"1,23",`, // not a thousands group: refused, as before
    ].join('\r\n');
    const answer = await importFile(Buffer.from(`${comma}\r\n`));
    expect(answer.status).toBe(200);
    expect(answer.json.rejected).toEqual([{ row: 4, column: 'Budget amount', reason: expect.stringMatching(/must be a number/) }]);
    expect(await amountOf(a.id)).toBe(1234.57);
    expect(await amountOf(b.id)).toBe(12345678);
    // A decimal-comma Excel (";"-separated) writes "1.234,57": read as such; a lone "1.234" stays ambiguous.
    const semi = ['Line id;Budget amount', `${c.id};1.234,57`, `${d.id};1.234.567`].join('\r\n');
    const second = await importFile(Buffer.from(`${semi}\r\n`));
    expect(second.json).toMatchObject({ rejected: [] });
    expect(await amountOf(c.id)).toBe(1234.57);
    expect(await amountOf(d.id)).toBe(1234567);
  });

  it('reads the exported sheet of a workbook that has another sheet in front of it', async () => {
    const exported = await fetch(`${server.url}/export/budget-lines.xlsx?planId=${planId}&businessUnitCode=MARKETING`, {
      headers: { authorization: `Bearer ${lead}` },
    });
    expect(exported.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await exported.arrayBuffer());
    const sheet = workbook.worksheets[0];
    const target = lines[10];
    let row = 0;
    sheet.eachRow((r, n) => {
      if (r.getCell(1).value === target.id) row = n;
    });
    expect(row).toBeGreaterThan(1);
    sheet.getRow(row).getCell(7).value = 777;
    // A sheet of notes, moved in front of the lines as people do.
    const notes = workbook.addWorksheet('Read me');
    notes.getCell('A1').value = 'FY2027 budget, Marketing: fill in column G';
    // exceljs orders tabs by orderNo, which its typings leave out.
    (notes as unknown as { orderNo: number }).orderNo = -1;
    const saved = Buffer.from(await workbook.xlsx.writeBuffer());
    const reread = new ExcelJS.Workbook();
    await reread.xlsx.load(saved as unknown as ArrayBuffer);
    expect(reread.worksheets.map((w) => w.name)).toEqual(['Read me', sheet.name]);

    const answer = await importFile(saved, XLSX);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ applied: 1, rejected: [] });
    expect(await amountOf(target.id)).toBe(777);

    // A workbook without any sheet of lines is still refused, naming what its first sheet has.
    const other = new ExcelJS.Workbook();
    other.addWorksheet('Read me').getCell('A1').value = 'Nothing here';
    const refused = await importFile(Buffer.from(await other.xlsx.writeBuffer()), XLSX);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/Nothing here/);
  });

  it('stores -0 from the API or a file as 0, so that no grid shows "-0"', async () => {
    const [viaApi, viaFile] = [lines[20], lines[21]];
    const grid = connectGrid(server.url, `budget:${planId}:MARKETING`, lead);
    grids.push(grid);
    await synced(grid);
    const set = await server.gql(
      `mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: -0 }) { id } }`,
      { id: viaApi.id },
      lead,
    );
    expect(set.errors).toBeUndefined();
    const imported = await importFile(Buffer.from(`Line id,Budget amount\r\n${viaFile.id},-0\r\n`));
    expect(imported.json).toMatchObject({ applied: 1, rejected: [] });
    for (const line of [viaApi, viaFile]) {
      const key = `${line.id}/budgetAmount`;
      await eventually(() => grid.cells.has(key), 'the value in the grid');
      expect(Object.is(grid.cells.get(key), 0)).toBe(true);
      const [stored] = await server.sql<{ negative: boolean }>(`SELECT budget_amount::text = '-0' AS negative FROM budget_line WHERE id = $1`, [line.id]);
      expect(stored.negative).toBe(false);
    }
  });

  it('exports a well-formed workbook whatever text is stored: characters XML does not allow are written as U+FFFD', async () => {
    // Stored before comments refused them (budget/columns.ts), or in a dimension an admin added: the export was
    // not well-formed XML, a workbook Excel repairs and our own import refused ("disallowed character").
    const [a, b] = lines;
    await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [a.id, 'before \uFFFE after']);
    await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [b.id, 'end \uFFFF']);
    const exported = await fetch(`${server.url}/export/budget-lines.xlsx?planId=${planId}&businessUnitCode=MARKETING`, {
      headers: { authorization: `Bearer ${lead}` },
    });
    expect(exported.status).toBe(200);
    const body = Buffer.from(await exported.arrayBuffer());
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(body as unknown as ArrayBuffer);
    const comments = new Map<string, unknown>();
    book.worksheets[0].eachRow((row) => comments.set(String(row.getCell(1).value), row.getCell(9).value));
    expect(comments.get(a.id)).toBe('before \uFFFD after');
    expect(comments.get(b.id)).toBe('end \uFFFD');
    const back = await fetch(`${server.url}/import/budget-lines?planId=${planId}&dryRun=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lead}`, 'content-type': XLSX },
      body: new Uint8Array(body),
    });
    expect(back.status).toBe(200);
  });
  it('writes stored text XML does not allow as U+FFFD in the CSV export too, and takes an untouched export back changing nothing', async () => {
    // Stored before the rules refused them (comments: U+FFFE, U+FFFF, C0 controls; categories: U+FFFE): the
    // CSV passed them on as they were, and importing that untouched file back refused the cell ("comment must
    // not contain the noncharacters U+FFFE or U+FFFF"), or refused it for a submitted unit as a change.
    const [, , c, d, e] = lines;
    const stored: Record<string, string> = { [c.id]: 'old \uFFFE note', [d.id]: 'bell\u0007 and \uFFFF', [e.id]: '=1+\uFFFE' };
    for (const [id, comment] of Object.entries(stored)) await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [id, comment]);
    await server.sql(`UPDATE budget_line SET product_category = product_category || '\uFFFE' WHERE id = $1`, [c.id]);
    const exportAs = async (format: 'csv' | 'xlsx') => {
      const res = await fetch(`${server.url}/export/budget-lines.${format}?planId=${planId}&businessUnitCode=MARKETING`, { headers: { authorization: `Bearer ${lead}` } });
      expect(res.status).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const csv = await exportAs('csv');
    const text = csv.toString('utf8');
    expect(text).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/);
    const rowOf = (id: string) => text.split('\r\n').find((r) => r.startsWith(id))!;
    expect(rowOf(c.id)).toContain(`${c.productCategory}\uFFFD,`);
    expect(rowOf(c.id)).toContain(',old \uFFFD note,');
    expect(rowOf(d.id)).toContain(',bell\uFFFD and \uFFFD,');
    expect(rowOf(e.id)).toContain(",'=1+\uFFFD,");
    // The same text in the workbook.
    const book = new ExcelJS.Workbook();
    const xlsx = await exportAs('xlsx');
    await book.xlsx.load(xlsx as unknown as ArrayBuffer);
    const comments = new Map<string, unknown>();
    book.worksheets[0].eachRow((row) => comments.set(String(row.getCell(1).value), row.getCell(9).value));
    expect(comments.get(d.id)).toBe('bell\uFFFD and \uFFFD');
    // Either file, imported back untouched: nothing refused, nothing changed, the stored text kept.
    for (const [file, type] of [[csv, 'text/csv'], [xlsx, XLSX]] as const) {
      const back = await importFile(file, type);
      expect(back.status, JSON.stringify(back.json)).toBe(200);
      expect(back.json.rejected).toEqual([]);
      expect(back.json.applied).toBe(0);
    }
    for (const [id, comment] of Object.entries(stored)) {
      expect((await server.sql(`SELECT comment FROM budget_line WHERE id = $1`, [id]))[0].comment).toBe(comment);
    }
  });
});
