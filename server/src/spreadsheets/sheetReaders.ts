/**
 * An imported file as rows of cells, numbered as the file shows them (the header is row 1), whatever its format.
 *
 * - CSV (csv.ts): every cell text; a text our export neutralised (a leading apostrophe before `=`, `+`, `-`,
 *   `@`) is read back without that apostrophe, so an exported file imports unchanged.
 * - xlsx (exceljs, in a worker process: xlsxWorker.ts): the first worksheet (in tab order) whose first row is the header of budget lines, else the
 *   first worksheet (whose header the import then refuses, naming what it has); numbers stay numbers, a formula
 *   is read as the value Excel saved with it (a formula without one is refused: nothing here evaluates
 *   formulas), rich text as its text, a date as its ISO text, an error value (#DIV/0!) as such, which the
 *   import refuses for that cell.
 *
 * An xlsx file is a zip archive: before exceljs unpacks it, the sizes its directory declares are added up, and
 * an archive that would unpack to more than MAX_UNPACKED_BYTES is refused (a "zip bomb" of a few MB would
 * otherwise take the process's memory). Those sizes are the sender's word: each entry is then inflated and
 * counted (never kept), off the event loop and never past the size it declares, and an archive whose entries
 * unpack to other sizes, or whose directory JSZip would read otherwise than this check, is refused. exceljs
 * (JSZip) unpacks an entry whole before it compares its size, so one declaring 1 KB and holding 1 GB of deflated
 * spaces (a 1 MB upload) took a gigabyte of memory, and a 10 MB one ten. An entry that unpacks to more than
 * MAX_PACKING_RATIO times its packed size is refused too: no spreadsheet program writes one.
 */
import zlib from 'node:zlib';
import type { CellValue } from 'exceljs';
import { MalformedFile, parseCsvInTurns } from './csv.js';
import type { SheetCell, SheetRow } from './importLines.js';
import { KEY_HEADERS, locateHeaders, restoreNeutralised } from './sheetColumns.js';
import { unpackWorkbook, UnreadableWorkbook, WorkbookTooLarge, type UnpackedWorksheet } from './xlsxWorker.js';

/** What an xlsx upload may unpack to: far above what 10 MB of budget lines unpack to (about 10 times). */
export const MAX_UNPACKED_BYTES = 300 * 1024 * 1024;

/**
 * How many times its packed size a part of an xlsx upload may unpack to, once it unpacks to more than
 * PACKING_RATIO_FROM_BYTES. The XML of spreadsheets packs 5 to 15 times, rows of nothing but styled empty cells
 * about 30 times; a part packed 1,000 times (deflate's limit) is a zip bomb: 300 MB of `<c/>` in 300 KB, whose
 * millions of cells exceljs takes a worker's whole memory and minutes to read.
 */
export const MAX_PACKING_RATIO = 100;
export const PACKING_RATIO_FROM_BYTES = 1024 * 1024;

/** The most rows a sheet may have: beyond, it is not an export of budget lines (100,000 lines take 100,001). */
export const MAX_ROWS = 1_000_000;

export interface ReadSheet {
  rows: SheetRow[];
  /** A `;`-separated CSV, where amounts may have a decimal comma. */
  decimalComma: boolean;
}

export async function readCsvSheet(text: string): Promise<ReadSheet> {
  const { delimiter, rows } = await parseCsvInTurns(text, MAX_ROWS);
  return {
    rows: rows.map((r) => ({ row: r.row, cells: r.cells.map(restoreNeutralised) })),
    decimalComma: delimiter === ';',
  };
}

/** One entry of a zip archive's central directory: how it is packed, and where its bytes start. */
interface ZipEntry {
  method: number;
  packed: number;
  declared: number;
  /** Where the entry's data starts: after its local header's name and extra field, as JSZip reads it. */
  start: number;
}

const ZIP_END = 0x06054b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_LOCAL = 0x04034b50;

/**
 * The central directory of a zip archive, or null when `data` is no zip archive whose directory this reads exactly
 * as JSZip (exceljs) does. JSZip reads headers for as long as their signature follows, whatever count the end record
 * gives, and moves every offset when the directory does not end where the end record starts: an archive that
 * relies on either (or on zip64, which no xlsx of budget lines needs) could show this check one directory and JSZip
 * another, so it is refused.
 */
function zipDirectory(data: Buffer): ZipEntry[] | null {
  // The end of central directory record: its signature within the last 65,557 bytes (22 + a comment up to 65,535).
  const from = Math.max(0, data.length - 65_557);
  let eocd = -1;
  for (let i = data.length - 22; i >= from; i--) {
    if (data.readUInt32LE(i) === ZIP_END) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = data.readUInt16LE(eocd + 10);
  const size = data.readUInt32LE(eocd + 12);
  const offset = data.readUInt32LE(eocd + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff || offset + size !== eocd) return null;
  const entries: ZipEntry[] = [];
  let at = offset;
  while (at + 46 <= eocd && data.readUInt32LE(at) === ZIP_CENTRAL) {
    const local = data.readUInt32LE(at + 42);
    if (local + 30 > data.length || data.readUInt32LE(local) !== ZIP_LOCAL) return null;
    const entry = {
      method: data.readUInt16LE(at + 10),
      packed: data.readUInt32LE(at + 20),
      declared: data.readUInt32LE(at + 24),
      start: local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28),
    };
    if (entry.start + entry.packed > data.length) return null;
    entries.push(entry);
    at += 46 + data.readUInt16LE(at + 28) + data.readUInt16LE(at + 30) + data.readUInt16LE(at + 32);
  }
  return at === eocd && entries.length === count ? entries : null;
}

/**
 * The uncompressed size a zip archive declares for its entries (its central directory), or null when `data` is
 * no zip archive we can read. Zip64 archives declare 0xFFFFFFFF: counted as that much, which refuses them (an
 * xlsx of budget lines is never one).
 */
export function declaredUnpackedBytes(data: Buffer): number | null {
  const entries = zipDirectory(data);
  return entries === null ? null : entries.reduce((total, entry) => total + entry.declared, 0);
}

/** Whether a part of the archive unpacks to more than MAX_PACKING_RATIO times its packed size (and is not small). */
export function packedBeyondReason(data: Buffer): boolean {
  return (zipDirectory(data) ?? []).some((entry) => entry.declared > PACKING_RATIO_FROM_BYTES && entry.declared > entry.packed * MAX_PACKING_RATIO);
}

/** Zip compression methods an xlsx workbook uses (the only ones JSZip reads). */
const STORED = 0;
const DEFLATED = 8;

/**
 * How many bytes deflated `data` unpacks to, counted as zlib's thread pool inflates it and dropped as counted; null
 * once past `most` (inflating stops there) or when it is not deflate data.
 */
function inflatedLength(data: Buffer, most: number): Promise<number | null> {
  return new Promise((resolve) => {
    const inflate = zlib.createInflateRaw();
    let length = 0;
    inflate.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > most) {
        inflate.destroy();
        resolve(null);
      }
    });
    inflate.on('end', () => resolve(length));
    inflate.on('error', () => resolve(null));
    inflate.end(data);
  });
}

/**
 * Whether every entry of the archive unpacks to exactly the size its directory declares. Deflated entries are
 * inflated and counted, never kept, and no further than their declared size: a lying entry costs no more than an
 * honest one of the size it claims.
 */
export async function entriesUnpackAsDeclared(data: Buffer): Promise<boolean> {
  const entries = zipDirectory(data);
  if (entries === null) return false;
  for (const { method, packed, declared, start } of entries) {
    if (method === STORED ? packed !== declared : method !== DEFLATED || (await inflatedLength(data.subarray(start, start + packed), declared)) !== declared) {
      return false;
    }
  }
  return true;
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
function holdsLines(sheet: UnpackedWorksheet): boolean {
  const first = sheet.rows[0];
  const header = first?.row === 1 ? (first.values as ExcelValue[]) : [];
  const texts = header.map((v) => sheetCell(v ?? null)).map((c) => (typeof c === 'string' ? c : ''));
  const columns = locateHeaders(texts);
  return columns.has('Line id') || KEY_HEADERS.every((h) => columns.has(h));
}

/** The heap a worker reading a workbook may take when the caller does not say (XLSX_READER_MEMORY_MB's default). */
const DEFAULT_READER_MEMORY_MB = 1536;

export async function readXlsxSheet(data: Buffer, readerMemoryMb = DEFAULT_READER_MEMORY_MB): Promise<ReadSheet> {
  const unpacked = declaredUnpackedBytes(data);
  if (unpacked === null) throw new MalformedFile('The file is not an xlsx workbook (it is no zip archive): save it as "Excel Workbook (.xlsx)"');
  if (unpacked > MAX_UNPACKED_BYTES) throw new MalformedFile(`The workbook unpacks to more than ${MAX_UNPACKED_BYTES / (1024 * 1024)} MB`);
  if (packedBeyondReason(data)) {
    throw new MalformedFile(`A part of the workbook unpacks to more than ${MAX_PACKING_RATIO} times its packed size, which no spreadsheet program writes: save it again in Excel`);
  }
  if (!(await entriesUnpackAsDeclared(data))) {
    throw new MalformedFile('The file is not an xlsx workbook we can read: its entries do not unpack to the sizes it declares');
  }
  // In a worker process (xlsxWorker.ts): exceljs's load never gives the event loop a turn.
  let worksheets: UnpackedWorksheet[];
  try {
    worksheets = await unpackWorkbook(data, MAX_ROWS, readerMemoryMb);
  } catch (err) {
    if (err instanceof UnreadableWorkbook) throw new MalformedFile(`The file is not an xlsx workbook exceljs can read: ${err.message}`);
    if (err instanceof WorkbookTooLarge) throw new MalformedFile(err.message);
    throw err;
  }
  const sheet = worksheets.find(holdsLines) ?? worksheets[0];
  if (!sheet) throw new MalformedFile('The workbook has no worksheet');
  if (sheet.rowCount > MAX_ROWS) throw new MalformedFile(`The worksheet has more than ${MAX_ROWS} rows`);
  const rows: SheetRow[] = sheet.rows.map(({ row, values }) => {
    const cells: SheetCell[] = [];
    // values is 1-based as exceljs's row.values (index 0 unused), sparse where cells are empty.
    for (let i = 1; i < values.length; i++) cells.push(sheetCell(values[i] as ExcelValue));
    return { row, cells };
  });
  // The header must be the sheet's first row, as the contract numbers rows (header = 1).
  if (rows.length > 0 && rows[0].row !== 1) rows.unshift({ row: 1, cells: [] });
  return { rows, decimalComma: false };
}
