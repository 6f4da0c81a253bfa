/**
 * An imported file as rows of cells, numbered as the file shows them (the header is row 1), whatever its format.
 *
 * - CSV (csv.ts): every cell text; a text our export neutralised (a leading apostrophe before `=`, `+`, `-`,
 *   `@`) is read back without that apostrophe, so an exported file imports unchanged.
 * - xlsx (exceljs): the first worksheet (in tab order) whose first row is the header of budget lines, else the
 *   first worksheet (whose header the import then refuses, naming what it has); numbers stay numbers, a formula
 *   is read as the value Excel saved with it (a formula without one is refused: nothing here evaluates
 *   formulas), rich text as its text, a date as its ISO text, an error value (#DIV/0!) as such, which the
 *   import refuses for that cell.
 *
 * An xlsx file is a zip archive: before exceljs unpacks it, the sizes its directory declares are added up, and
 * an archive that would unpack to more than MAX_UNPACKED_BYTES is refused (a "zip bomb" of a few MB would
 * otherwise take the process's memory).
 */
import type { CellValue, Worksheet } from 'exceljs';
import { MalformedFile, parseCsv } from './csv.js';
import type { SheetCell, SheetRow } from './importLines.js';
import { loadExcelJS } from './excel.js';
import { KEY_HEADERS, locateHeaders, restoreNeutralised } from './sheetColumns.js';

/** What an xlsx upload may unpack to: far above what 10 MB of budget lines unpack to (about 10 times). */
export const MAX_UNPACKED_BYTES = 300 * 1024 * 1024;

/** The most rows a sheet may have: beyond, it is not an export of budget lines (100,000 lines take 100,001). */
export const MAX_ROWS = 1_000_000;

export interface ReadSheet {
  rows: SheetRow[];
  /** A `;`-separated CSV, where amounts may have a decimal comma. */
  decimalComma: boolean;
}

export function readCsvSheet(text: string): ReadSheet {
  const { delimiter, rows } = parseCsv(text);
  if (rows.length > MAX_ROWS) throw new MalformedFile(`The file has more than ${MAX_ROWS} rows`);
  return {
    rows: rows.map((r) => ({ row: r.row, cells: r.cells.map(restoreNeutralised) })),
    decimalComma: delimiter === ';',
  };
}

/**
 * The uncompressed size a zip archive declares for its entries (its central directory), or null when `data` is
 * no zip archive we can read. Zip64 archives declare 0xFFFFFFFF: counted as that much, which refuses them (an
 * xlsx of budget lines is never one).
 */
export function declaredUnpackedBytes(data: Buffer): number | null {
  // The end of central directory record: its signature within the last 65,557 bytes (22 + a comment up to 65,535).
  const from = Math.max(0, data.length - 65_557);
  let eocd = -1;
  for (let i = data.length - 22; i >= from; i--) {
    if (data.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const entries = data.readUInt16LE(eocd + 10);
  let at = data.readUInt32LE(eocd + 16);
  let total = 0;
  for (let n = 0; n < entries; n++) {
    if (at + 46 > data.length || data.readUInt32LE(at) !== 0x02014b50) return null;
    total += data.readUInt32LE(at + 24);
    at += 46 + data.readUInt16LE(at + 28) + data.readUInt16LE(at + 30) + data.readUInt16LE(at + 32);
  }
  return total;
}

type ExcelValue = CellValue;

function sheetCell(value: ExcelValue): SheetCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString();
  if ('error' in value) return { error: String(value.error) };
  if ('richText' in value) return value.richText.map((part) => part.text).join('');
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as { result?: unknown }).result;
    if (result === undefined || result === null) return { error: 'of a formula without a saved value (save the file in Excel, or paste values)' };
    if (typeof result === 'object' && result !== null && 'error' in result) return { error: String((result as { error: unknown }).error) };
    return sheetCell(result as ExcelValue);
  }
  if ('hyperlink' in value) return sheetCell((value as { text?: ExcelValue }).text ?? null);
  return null;
}

/**
 * Whether a worksheet's first row is the header of budget lines (it names Line id, or the four key columns). People
 * add a sheet of notes or a pivot table in front of the exported one, or reorder the tabs: the first worksheet
 * would then be read, and refused for its header, although the lines are in the workbook.
 */
function holdsLines(sheet: Worksheet): boolean {
  const header = sheet.getRow(1).values as ExcelValue[];
  const texts = Array.isArray(header) ? header.map((v) => sheetCell(v)).map((c) => (typeof c === 'string' ? c : '')) : [];
  const columns = locateHeaders(texts);
  return columns.has('Line id') || KEY_HEADERS.every((h) => columns.has(h));
}

export async function readXlsxSheet(data: Buffer): Promise<ReadSheet> {
  const unpacked = declaredUnpackedBytes(data);
  if (unpacked === null) throw new MalformedFile('The file is not an xlsx workbook (it is no zip archive): save it as "Excel Workbook (.xlsx)"');
  if (unpacked > MAX_UNPACKED_BYTES) throw new MalformedFile(`The workbook unpacks to more than ${MAX_UNPACKED_BYTES / (1024 * 1024)} MB`);
  const { Workbook } = await loadExcelJS();
  const workbook = new Workbook();
  try {
    await workbook.xlsx.load(data as unknown as ArrayBuffer);
  } catch (err) {
    throw new MalformedFile(`The file is not an xlsx workbook exceljs can read: ${err instanceof Error ? err.message.slice(0, 200) : 'unreadable'}`);
  }
  const sheet = workbook.worksheets.find(holdsLines) ?? workbook.worksheets[0];
  if (!sheet) throw new MalformedFile('The workbook has no worksheet');
  if (sheet.rowCount > MAX_ROWS) throw new MalformedFile(`The worksheet has more than ${MAX_ROWS} rows`);
  const rows: SheetRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: SheetCell[] = [];
    // row.values is 1-based (index 0 unused), sparse where cells are empty.
    const values = row.values as ExcelValue[];
    for (let i = 1; i < values.length; i++) cells.push(sheetCell(values[i]));
    rows.push({ row: rowNumber, cells });
  });
  // The header must be the sheet's first row, as the contract numbers rows (header = 1).
  if (rows.length > 0 && rows[0].row !== 1) rows.unshift({ row: 1, cells: [] });
  return { rows, decimalComma: false };
}
