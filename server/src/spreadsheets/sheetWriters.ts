/**
 * Writing an export to the response as its rows are read, in either format, with backpressure: a writer waits
 * for the response to drain before it takes more rows, so a slow download holds one chunk in memory, not the
 * plan.
 *
 * - CSV: UTF-8 with a byte order mark, CRLF, numbers as numbers, every text through `neutraliseFormula` (a
 *   spreadsheet opening a CSV file evaluates `=…`, `+…`, `-…`, `@…`; OWASP's CSV injection guidance).
 * - xlsx: exceljs's streaming WorkbookWriter (rows committed as written, inline strings: no shared-string
 *   table growing with the plan). Text is written as string cells, never as formulas, so nothing in it is
 *   evaluated; it is not prefixed, so what a person reads in Excel is the text itself.
 */
import type { Writable } from 'node:stream';
import { BOM, csvRecord } from './csv.js';
import { loadExcelJS } from './excel.js';
import type { ExportRow } from './lineReader.js';
import { HEADERS, neutraliseFormula } from './sheetColumns.js';
import { XLSX_TYPE, type SheetFormat } from './requestBody.js';

/** The Content-Type of an export: set before the writer exists, since an xlsx writer starts writing as it is made. */
export const SHEET_CONTENT_TYPES: Record<SheetFormat, string> = { csv: 'text/csv; charset=utf-8', xlsx: XLSX_TYPE };

export interface SheetWriter {
  addRows(rows: readonly ExportRow[]): Promise<void>;
  finish(): Promise<void>;
}

/** Waits until `out` takes more (or is gone: the caller then stops at its next write). */
function drained(out: Writable): Promise<void> {
  if (!out.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done).off('close', done);
      resolve();
    };
    out.on('drain', done).on('close', done);
  });
}

/** Rows per piece of CSV text (about 13 KB: see addRows). */
const PIECE_ROWS = 100;

function csvWriter(out: Writable): SheetWriter {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    out.write(BOM + csvRecord(HEADERS));
  };
  return {
    async addRows(rows) {
      start();
      // Written in pieces of PIECE_ROWS rows, corked into one write to the socket: a string of a whole chunk
      // (1,000 rows, 130 KB and more) would be a large object for V8, freed only by a full collection, so the
      // garbage of a long export would pile up until one; small pieces die young.
      out.cork();
      let text = '';
      let inPiece = 0;
      for (const r of rows) {
        if (inPiece === PIECE_ROWS) {
          out.write(text);
          text = '';
          inPiece = 0;
        }
        inPiece += 1;
        text += csvRecord([
          r.id,
          neutraliseFormula(r.unit_code),
          neutraliseFormula(r.product_category),
          neutraliseFormula(r.region),
          neutraliseFormula(r.quarter),
          r.prior_year_actual,
          r.budget_amount,
          r.forecast_sales,
          neutraliseFormula(r.comment),
          r.version,
          new Date(r.updated_at).toISOString(),
          r.updated_by === null ? null : neutraliseFormula(r.updated_by),
        ]);
      }
      if (text) out.write(text);
      out.uncork();
      await drained(out);
    },
    async finish() {
      start();
      await new Promise<void>((resolve) => out.end(resolve));
    },
  };
}

const AMOUNT_FORMAT = '#,##0.00';

/**
 * Characters XML 1.0 does not allow (C0 controls but tab and line breaks, U+FFFE, U+FFFF, unpaired surrogates),
 * which exceljs writes as they are. The rules refuse them in new comments (budget/columns.ts), but a text stored
 * before, or a dimension an admin added, made the whole workbook ill-formed: Excel offered to repair it and our
 * own import refused it. Written as U+FFFD, the replacement character, so every other cell stays readable.
 */
const NOT_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu;

function xmlText(text: string): string;
function xmlText(text: string | null): string | null;
function xmlText(text: string | null): string | null {
  return text === null ? null : text.replace(NOT_IN_XML, '\uFFFD');
}

async function xlsxWriter(out: Writable): Promise<SheetWriter> {
  const ExcelJS = await loadExcelJS();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  workbook.creator = 'Plansync';
  const sheet = workbook.addWorksheet('Budget lines', { views: [{ state: 'frozen', ySplit: 1 }] });
  const widths = [38, 16, 22, 18, 9, 18, 18, 18, 40, 9, 21, 28];
  sheet.columns = HEADERS.map((header, i) => ({ header, width: widths[i] }));
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();
  for (const column of [6, 7, 8]) sheet.getColumn(column).numFmt = AMOUNT_FORMAT;
  sheet.getColumn(11).numFmt = 'yyyy-mm-dd hh:mm:ss';
  return {
    async addRows(rows) {
      for (const r of rows) {
        sheet
          .addRow([
            r.id,
            xmlText(r.unit_code),
            xmlText(r.product_category),
            xmlText(r.region),
            xmlText(r.quarter),
            r.prior_year_actual,
            r.budget_amount,
            r.forecast_sales,
            xmlText(r.comment),
            r.version,
            new Date(r.updated_at),
            xmlText(r.updated_by),
          ])
          .commit();
      }
      await drained(out);
    },
    async finish() {
      sheet.commit();
      await workbook.commit();
    },
  };
}

export async function sheetWriter(format: SheetFormat, out: Writable): Promise<SheetWriter> {
  return format === 'csv' ? csvWriter(out) : await xlsxWriter(out);
}
