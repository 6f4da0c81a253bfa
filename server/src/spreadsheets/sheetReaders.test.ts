/**
 * Reading an uploaded xlsx workbook off the event loop (xlsxWorker.ts). exceljs's load parses the whole workbook
 * in one chain of promises that never gives the event loop a turn: a 9 MB upload of small cells held every request
 * of the process (GraphQL, grid sockets, /healthz) for about 9 s, and anyone who may import, a VIEWER's dry run
 * included, could send one after another (found in a security QA pass).
 */
import { createRequire } from 'node:module';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { HEADERS } from './sheetColumns.js';
import { readXlsxSheet } from './sheetReaders.js';

/** The XML parser exceljs uses, as exceljs itself loads it (the same module, so the same prototype). */
const { SaxesParser } = createRequire(createRequire(import.meta.url).resolve('exceljs'))('saxes') as {
  SaxesParser: { prototype: { write(chunk: string): unknown } };
};

async function workbook(rows: number): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.addWorksheet('Notes').addRow(['Read me first']);
  const sheet = book.addWorksheet('Budget lines');
  sheet.addRow([...HEADERS]);
  for (let i = 0; i < rows; i++) {
    sheet.addRow([`id-${i}`, 'SALES_NORTH', 'Laptops', 'Europe', 'Q1', 1, i, { formula: 'G2*2', result: i * 2 }, { richText: [{ text: 'a ' }, { text: 'b' }] }, 1, new Date(Date.UTC(2026, 0, 2)), 'x@example.com']);
  }
  return Buffer.from(await book.xlsx.writeBuffer());
}

describe('readXlsxSheet', () => {
  it('parses the workbook in a worker process: no XML of it is parsed on the event loop, which carries on meanwhile', async () => {
    const data = await workbook(3000);
    const write = SaxesParser.prototype.write;
    let parsedHere = 0;
    SaxesParser.prototype.write = function (this: unknown, chunk: string) {
      parsedHere += 1;
      return write.call(this, chunk);
    };
    let reading = true;
    let servedWhileReading = false;
    setImmediate(() => (servedWhileReading = reading));
    let sheet;
    try {
      sheet = await readXlsxSheet(data);
    } finally {
      SaxesParser.prototype.write = write;
      reading = false;
    }
    expect(parsedHere).toBe(0);
    expect(servedWhileReading).toBe(true);
    // What it reads is what exceljs read here before: the sheet of budget lines, values as sheetCell makes them.
    expect(sheet.rows).toHaveLength(3001);
    expect(sheet.rows[0].cells).toEqual([...HEADERS]);
    expect(sheet.rows[5].cells).toEqual(['id-4', 'SALES_NORTH', 'Laptops', 'Europe', 'Q1', 1, 4, 8, 'a b', 1, '2026-01-02T00:00:00.000Z', 'x@example.com']);
  });

  it('refuses a file exceljs cannot read as the import always did', async () => {
    const broken = await workbook(1);
    // A zip whose parts are fine but whose workbook part is not XML.
    const JSZip = createRequire(createRequire(import.meta.url).resolve('exceljs'))('jszip') as typeof import('jszip');
    const zip = await JSZip.loadAsync(broken);
    zip.file('xl/workbook.xml', '<workbook');
    const data = Buffer.from(await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
    await expect(readXlsxSheet(data)).rejects.toThrow(/The file is not an xlsx workbook exceljs can read/);
  });

  it('reads a workbook with merges, validations, column widths, conditional formats, links, notes and names as exceljs reads its cells', async () => {
    // What the worker drops before exceljs reads a workbook (xlsxWorker.ts, valuesOnly) changes no value read.
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Notes').addRow(['Read me first']);
    const sheet = book.addWorksheet('Budget lines');
    sheet.addRow([...HEADERS]);
    sheet.addRow(['id-1', 'SALES_NORTH', 'Laptops', 'Europe', 'Q1', 1, 2.5, { formula: 'G2*2', result: 5 }, { text: 'see', hyperlink: 'https://example.com/' }, 1, new Date(Date.UTC(2026, 0, 2)), 'x@example.com']);
    sheet.addRow(['id-2', 'SALES_NORTH', 'Laptops', 'Europe', 'Q2', 1, 3, 4, 'merged', 1, null, null]);
    sheet.columns.forEach((column) => (column.width = 20));
    sheet.mergeCells('I3:L3');
    sheet.getCell('G2').dataValidation = { type: 'decimal', operator: 'greaterThan', formulae: [0], allowBlank: true };
    sheet.getCell('G2').note = 'a note';
    sheet.addConditionalFormatting({ ref: 'G2:G3', rules: [{ type: 'cellIs', operator: 'greaterThan', formulae: [1], priority: 1, style: { font: { bold: true } } }] });
    book.definedNames.add("'Budget lines'!$G$2:$G$3", 'amounts');
    const data = Buffer.from(await book.xlsx.writeBuffer());
    const zip = await (createRequire(createRequire(import.meta.url).resolve('exceljs'))('jszip') as typeof import('jszip')).loadAsync(data);
    const xml = await zip.file('xl/worksheets/sheet2.xml')!.async('string');
    for (const part of ['<cols>', '<mergeCells', '<dataValidations', '<conditionalFormatting', '<hyperlinks>']) expect(xml).toContain(part);
    expect(await zip.file('xl/workbook.xml')!.async('string')).toContain('<definedNames>');

    const read = await readXlsxSheet(data);
    expect(read.rows.map((row) => row.cells)).toEqual([
      [...HEADERS],
      ['id-1', 'SALES_NORTH', 'Laptops', 'Europe', 'Q1', 1, 2.5, 5, 'see', 1, '2026-01-02T00:00:00.000Z', 'x@example.com'],
      // Each cell of a merge reads its first cell's value, as exceljs always read it.
      ['id-2', 'SALES_NORTH', 'Laptops', 'Europe', 'Q2', 1, 3, 4, 'merged', 'merged', 'merged', 'merged'],
    ]);
  });
});
