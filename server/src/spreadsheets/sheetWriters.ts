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
import { exportableText } from '../db/storableText.js';
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
          neutraliseFormula(exportableText(r.unit_code)),
          neutraliseFormula(exportableText(r.product_category)),
          neutraliseFormula(exportableText(r.region)),
          neutraliseFormula(exportableText(r.quarter)),
          r.prior_year_actual,
          r.budget_amount,
          r.forecast_sales,
          neutraliseFormula(exportableText(r.comment)),
          r.version,
          new Date(r.updated_at).toISOString(),
          r.updated_by === null ? null : neutraliseFormula(exportableText(r.updated_by)),
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
            exportableText(r.unit_code),
            exportableText(r.product_category),
            exportableText(r.region),
            exportableText(r.quarter),
            r.prior_year_actual,
            r.budget_amount,
            r.forecast_sales,
            exportableText(r.comment),
            r.version,
            new Date(r.updated_at),
            exportableText(r.updated_by),
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
