/**
 * Unpacking and parsing an uploaded xlsx workbook in a process of its own, never on the event loop.
 *
 * exceljs's `xlsx.load` parses every part of the workbook in one chain of promises that never gives the event
 * loop a turn (its streams are already full when it reads them): a 9 MB upload of small cells (90 MB of sheet XML,
 * well inside MAX_UNPACKED_BYTES) held every request, GraphQL, grid socket and /healthz of the process for about
 * 9 s, and took 1 GB and more of its heap, and anyone who may import (a VIEWER's dryRun included) could send one
 * after another (found in a security QA pass). Here the workbook is loaded by a child process (the "worker") with
 * a heap limit of its own (XLSX_READER_MEMORY_MB) and a time limit (WORKER_TIME_LIMIT_SECONDS): the event loop
 * carries on, and a workbook that needs more than that ends the worker, not the server.
 *
 * Before exceljs reads the workbook, the worker drops every part, and every element of a sheet, that the import
 * does not read (see `valuesOnly`): exceljs expands merges, validations, column ranges and defined names into one
 * object per cell or column, which let a 6 KB file take a worker's whole heap and half a minute.
 *
 * The worker is code of its own (a CommonJS script, `-e`), not a module of ours: the tests run the server from
 * its TypeScript sources, which plain node cannot load. It only unpacks: every worksheet's rows as exceljs
 * reads them, its values reduced to what `sheetCell` (sheetReaders.ts) looks at, so that they cross to this
 * process by structured clone. What they mean stays decided in sheetReaders.ts.
 */
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { MAX_COLUMNS } from './csv.js';

/** A cell's value as exceljs reads it, reduced to plain data (see WORKER_SOURCE's `plain`). */
export type PlainCellValue = null | number | string | boolean | Date | { [key: string]: unknown };

export interface UnpackedWorksheet {
  rowCount: number;
  /** The sheet's non-empty rows, numbered as in the file; `values` 1-based as exceljs's `row.values` (0 unused). */
  rows: { row: number; values: PlainCellValue[] }[];
}

/** Thrown when exceljs cannot read the workbook (or not within its heap and WORKER_TIME_LIMIT_SECONDS): the import answers 400 with this text. */
export class UnreadableWorkbook extends Error {}


const WORKER_SOURCE = String.raw`
let workerData;
process.once('message', (data) => {
  workerData = data;
  read();
});
function answer(message) {
  process.send(message);
}
// Only what sheetReaders.ts's sheetCell reads of a value, as plain data (exceljs's objects may hold more).
function plain(value) {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || value instanceof Date) return value;
  const out = {};
  if ('error' in value) out.error = String(value.error);
  if ('richText' in value) out.richText = (value.richText || []).map((part) => ({ text: String(part.text ?? '') }));
  if ('formula' in value) out.formula = String(value.formula);
  if ('sharedFormula' in value) out.sharedFormula = String(value.sharedFormula);
  if ('result' in value) out.result = plain(value.result);
  if ('hyperlink' in value) out.hyperlink = String(value.hyperlink);
  if ('text' in value) out.text = plain(value.text);
  return out;
}
// The text of the first <name> element of xml (up to the first </name>, or its own "/>"), '' when there is none.
// Cut by text, not parsed: a file that hides "<name" or "</name>" in a comment or CDATA is cut where the text says,
// which leaves either the element itself or XML that exceljs refuses, never more than that one element.
function element(xml, name) {
  const open = new RegExp('<' + name + '(?=[\\s/>])').exec(xml);
  if (!open) return '';
  const end = xml.indexOf('>', open.index);
  if (end < 0) return '';
  if (xml[end - 1] === '/') return xml.slice(open.index, end + 1);
  const close = new RegExp('</' + name + '\\s*>', 'g');
  close.lastIndex = end;
  const found = close.exec(xml);
  return found ? xml.slice(open.index, close.lastIndex) : '';
}
// A part's root element holding only the named children (in that order). exceljs reads a known child element
// whatever its root is called: a part without the root element is refused, not passed on.
function only(name, xml, root, children) {
  const open = new RegExp('<' + root + '(?=[\\s>])[^>]*>').exec(xml);
  if (!open) throw new Error('its part ' + name + ' holds no <' + root + '> element');
  return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + open[0] + children.map((name) => element(xml, name)).join('') + '</' + root + '>';
}
// The parts of the workbook the import reads, and of those only what it reads: exceljs expands much else of a
// workbook into one object per cell or column it names (a <col max="1000000000">, a <mergeCell>, a
// <dataValidation> or a defined name over A1:XFD1048576: a 6 KB upload took a worker's 1.5 GB and half a minute,
// found in a security QA pass). The import reads cell values only: the sheets and their order (workbook.xml and its
// rels), the cells (a worksheet's <sheetData>), shared strings, and the styles that tell a date from a number.
// Merges, validations, column widths, conditional formats, hyperlinks (a linked cell keeps its text), comments,
// drawings, tables, themes, defined names and document properties do not change what a cell holds, so they go.
// Merges are kept, but bounded: exceljs gives each cell of a merge its first cell's value, and the import always
// read them so (a comment merged over two columns fills both). Beyond MAX_MERGED_CELLS, exceljs would create every
// cell of A1:XFD1048576 one by one: refused.
class Refused extends Error {}
// Counted over the whole workbook; a merge whose range this does not read as Excel writes it counts as too many.
let merged = 0;
function mergedCells(name, xml) {
  for (const [tag] of element(xml, 'mergeCells').matchAll(/<mergeCell(?![\w:.-])[^>]*>/g)) {
    const ref = /\sref="([^"]*)"/.exec(tag);
    const range = ref && /^\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?$/.exec(ref[1]);
    if (!range) {
      merged = Infinity;
      break;
    }
    const [, c1, r1, c2 = c1, r2 = r1] = range;
    merged += (Math.abs(column(c2) - column(c1)) + 1) * (Math.abs(Number(r2) - Number(r1)) + 1);
  }
  if (merged > workerData.maxMergedCells) {
    throw new Refused('The worksheet ' + name + ' merges more than ' + workerData.maxMergedCells.toLocaleString('en-US') + ' cells: unmerge them, or copy the values to a new workbook');
  }
  return merged;
}
function column(letters) {
  let n = 0;
  for (const letter of letters) n = n * 26 + letter.charCodeAt(0) - 64;
  return n;
}
const KEPT_PARTS = new Set(['_rels/.rels', 'xl/_rels/workbook.xml.rels', 'xl/sharedStrings.xml', 'xl/styles.xml']);
let JSZip;
async function valuesOnly(data) {
  const zip = await JSZip.loadAsync(data);
  const out = new JSZip();
  for (const entry of Object.values(zip.files)) {
    if (entry.dir) continue;
    // As exceljs names an entry (it strips one leading slash); it takes a worksheet wherever its name holds
    // xl/worksheets/sheetN.xml, here only one named exactly that is kept.
    const name = entry.name[0] === '/' ? entry.name.slice(1) : entry.name;
    if (KEPT_PARTS.has(name)) {
      out.file(name, await entry.async('nodebuffer'));
    } else if (name === 'xl/workbook.xml') {
      out.file(name, only(name, await entry.async('string'), 'workbook', ['workbookPr', 'sheets']));
    } else if (/^xl\/worksheets\/sheet\d+\.xml$/.test(name)) {
      const xml = await entry.async('string');
      mergedCells(name, xml);
      out.file(name, only(name, xml, 'worksheet', ['sheetData', 'mergeCells']));
    }
  }
  // Stored, not deflated: exceljs unpacks it again at once, and deflating would only cost time.
  return out.generateAsync({ type: 'nodebuffer', compression: 'STORE' });
}
async function read() {
  const ExcelJS = require(workerData.exceljs);
  JSZip = require(workerData.jszip);
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(await valuesOnly(workerData.data));
  } catch (err) {
    if (err instanceof Refused) return answer({ refused: err.message });
    answer({ unreadable: err instanceof Error ? err.message.slice(0, 200) : 'unreadable' });
    return;
  }
  let tooWide = null;
  const sheets = workbook.worksheets.map((sheet) => {
    const rows = [];
    if (sheet.rowCount <= workerData.maxRows && tooWide === null) {
      sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
        // A cell far right (column XFD is 16,384) would make every row that many cells here and on the server's
        // own thread: a few MB of such rows, gigabytes. The import reads a dozen columns; a CSV may have 1,000.
        if (tooWide !== null) return;
        if (row.cellCount > workerData.maxColumns) {
          tooWide = { sheet: sheet.name, row: rowNumber };
          return;
        }
        const values = row.values;
        const cells = [null];
        for (let i = 1; i < values.length; i++) cells.push(plain(values[i]));
        rows.push({ row: rowNumber, values: cells });
      });
    }
    return { rowCount: sheet.rowCount, rows };
  });
  if (tooWide !== null) {
    answer({ refused: 'Row ' + tooWide.row + ' of the worksheet "' + tooWide.sheet + '" has cells beyond column ' + workerData.maxColumns + ': delete the columns after the last one you use' });
  }
  else answer({ sheets });
}
process.on('unhandledRejection', (err) => answer({ failed: err instanceof Error ? err.message : String(err) }));
`;

const exceljsPath = createRequire(import.meta.url).resolve('exceljs');
/** exceljs's own JSZip, which unpacks the workbook in the worker before exceljs reads it (see `valuesOnly`). */
const jszipPath = createRequire(exceljsPath).resolve('jszip');

/** The most cells the merges of a worksheet may cover (exceljs creates each): as many as rows a sheet may have. */
export const MAX_MERGED_CELLS = 1_000_000;

/** The most columns a row of a worksheet may use: as many as a CSV row may have. */
export const MAX_SHEET_COLUMNS = MAX_COLUMNS;

/**
 * How long a worker may take to read one workbook: an honest 10 MB upload (our export of 100,000 lines) takes
 * about 10 s. Beyond, the worker is ended and the upload refused, so that no file holds one of the MAX_WORKERS
 * places, and every other xlsx import of the process waiting behind it, for longer.
 */
export const WORKER_TIME_LIMIT_SECONDS = 60;

/** Thrown when a workbook is readable but beyond what the import takes: the import answers 400 with this text. */
export class WorkbookTooLarge extends Error {}

/**
 * Every worksheet of the workbook in `data`, in tab order, read by exceljs in a worker process (the rows of a sheet
 * over `maxRows` rows are left out; its rowCount says so). Rejects with UnreadableWorkbook when exceljs cannot read
 * it, needs more than `heapMb` (XLSX_READER_MEMORY_MB) of memory or WORKER_TIME_LIMIT_SECONDS to, and with
 * WorkbookTooLarge when a row has cells beyond MAX_SHEET_COLUMNS.
 */
export async function unpackWorkbook(data: Buffer, maxRows: number, heapMb: number): Promise<UnpackedWorksheet[]> {
  await turn();
  try {
    return await unpackOnWorker(data, maxRows, heapMb);
  } finally {
    leave();
  }
}

/**
 * At most this many workbooks are read at once by a process; more wait their turn. Each worker may take
 * XLSX_READER_MEMORY_MB: without a bound, a few uploads at once would take the machine's memory between them.
 */
export const MAX_WORKERS = 2;
let running = 0;
const waiting: (() => void)[] = [];

function turn(): Promise<void> {
  if (running < MAX_WORKERS) {
    running += 1;
    return Promise.resolve();
  }
  return new Promise((resolve) => waiting.push(resolve));
}

/** Hands the place on to the next in line (running stays the same), or frees it. */
function leave(): void {
  const next = waiting.shift();
  if (next) next();
  else running -= 1;
}

function unpackOnWorker(data: Buffer, maxRows: number, heapMb: number): Promise<UnpackedWorksheet[]> {
  return new Promise((resolve, reject) => {
    // A process of its own, not a worker thread: past a worker's heap limit, Node grants it 16 MB more while it
    // ends it, and a string larger than that allocated at that moment (exceljs holds each part as one string)
    // aborts the whole process. With a cap of 128 MB, one workbook holding a long cell did so: every user's
    // requests and sockets gone. Here only the reader goes.
    const reader = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '-e', WORKER_SOURCE], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: {},
    });
    let stderr = '';
    reader.stderr!.setEncoding('utf8');
    reader.stderr!.on('data', (chunk: string) => {
      if (stderr.length < 10_000) stderr += chunk;
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      reader.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => settle(() => reject(new UnreadableWorkbook(`it takes more than ${WORKER_TIME_LIMIT_SECONDS} s to read`))),
      WORKER_TIME_LIMIT_SECONDS * 1000,
    );
    reader.on('message', (message: { sheets?: UnpackedWorksheet[]; refused?: string; unreadable?: string; failed?: string }) => {
      if (message.sheets) settle(() => resolve(message.sheets!));
      else if (message.refused !== undefined) settle(() => reject(new WorkbookTooLarge(message.refused)));
      else if (message.unreadable !== undefined) settle(() => reject(new UnreadableWorkbook(message.unreadable)));
      else settle(() => reject(new Error(`reading the workbook failed: ${message.failed}`)));
    });
    reader.on('error', (err) => settle(() => reject(err)));
    reader.on('close', (code, signal) => {
      // V8 reports running out of its heap on stderr, then aborts ('close': once stderr is read to its end).
      if (/heap out of memory|Reached heap limit/i.test(stderr)) settle(() => reject(new UnreadableWorkbook(`it needs more than ${heapMb} MB of memory to read`)));
      else settle(() => reject(new Error(`the workbook reader stopped (${signal ?? `exit code ${code}`}) without an answer: ${stderr.slice(0, 500)}`)));
    });
    reader.send({ data, exceljs: exceljsPath, jszip: jszipPath, maxRows, maxColumns: MAX_SHEET_COLUMNS, maxMergedCells: MAX_MERGED_CELLS });
  });
}
