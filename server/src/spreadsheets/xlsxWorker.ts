/**
 * Unpacking and parsing an uploaded xlsx workbook on a worker thread, never on the event loop.
 *
 * exceljs's `xlsx.load` parses every part of the workbook in one chain of promises that never gives the event
 * loop a turn (its streams are already full when it reads them): a 9 MB upload of small cells (90 MB of sheet XML,
 * well inside MAX_UNPACKED_BYTES) held every request, GraphQL, grid socket and /healthz of the process for about
 * 9 s, and took 1 GB and more of its heap, and anyone who may import (a VIEWER's dryRun included) could send one
 * after another (found in a security QA pass). Here the workbook is loaded by a worker thread with a heap limit of
 * its own: the event loop carries on, and a workbook that needs more memory than that ends the worker, not the
 * server.
 *
 * The worker is code of its own (a CommonJS script, `eval`), not a module of ours: the tests run the server from
 * its TypeScript sources, which a worker thread cannot load. It only unpacks: every worksheet's rows as exceljs
 * reads them, its values reduced to what `sheetCell` (sheetReaders.ts) looks at, so that they cross to this
 * thread by structured clone. What they mean stays decided in sheetReaders.ts.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A cell's value as exceljs reads it, reduced to plain data (see WORKER_SOURCE's `plain`). */
export type PlainCellValue = null | number | string | boolean | Date | { [key: string]: unknown };

export interface UnpackedWorksheet {
  rowCount: number;
  /** The sheet's non-empty rows, numbered as in the file; `values` 1-based as exceljs's `row.values` (0 unused). */
  rows: { row: number; values: PlainCellValue[] }[];
}

/** Thrown when exceljs cannot read the workbook: the import answers 400 with this text. */
export class UnreadableWorkbook extends Error {}

/** The heap a worker may take for one workbook: beyond, it is ended and the upload refused. */
export const WORKER_HEAP_MB = 1536;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ExcelJS = require(workerData.exceljs);
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
(async () => {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(workerData.data);
  } catch (err) {
    parentPort.postMessage({ unreadable: err instanceof Error ? err.message.slice(0, 200) : 'unreadable' });
    return;
  }
  const sheets = workbook.worksheets.map((sheet) => {
    const rows = [];
    if (sheet.rowCount <= workerData.maxRows) {
      sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
        const values = row.values;
        const cells = [null];
        for (let i = 1; i < values.length; i++) cells.push(plain(values[i]));
        rows.push({ row: rowNumber, values: cells });
      });
    }
    return { rowCount: sheet.rowCount, rows };
  });
  parentPort.postMessage({ sheets });
})().catch((err) => parentPort.postMessage({ failed: err instanceof Error ? err.message : String(err) }));
`;

const exceljsPath = createRequire(import.meta.url).resolve('exceljs');

/**
 * Every worksheet of the workbook in `data`, in tab order, read by exceljs on a worker thread (the rows of a sheet
 * over `maxRows` rows are left out; its rowCount says so). Rejects with UnreadableWorkbook when exceljs cannot read
 * it or needs more than WORKER_HEAP_MB to.
 */
export async function unpackWorkbook(data: Buffer, maxRows: number): Promise<UnpackedWorksheet[]> {
  await turn();
  try {
    return await unpackOnWorker(data, maxRows);
  } finally {
    leave();
  }
}

/**
 * At most this many workbooks are read at once by a process; more wait their turn. Each worker may take
 * WORKER_HEAP_MB: without a bound, a few uploads at once would take the machine's memory between them.
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

function unpackOnWorker(data: Buffer, maxRows: number): Promise<UnpackedWorksheet[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { data, exceljs: exceljsPath, maxRows },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (message: { sheets?: UnpackedWorksheet[]; unreadable?: string; failed?: string }) => {
      if (message.sheets) settle(() => resolve(message.sheets!));
      else if (message.unreadable !== undefined) settle(() => reject(new UnreadableWorkbook(message.unreadable)));
      else settle(() => reject(new Error(`reading the workbook failed: ${message.failed}`)));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') settle(() => reject(new UnreadableWorkbook(`it needs more than ${WORKER_HEAP_MB} MB of memory to read`)));
      else settle(() => reject(err));
    });
    worker.on('exit', (code) => settle(() => reject(new Error(`the workbook reader stopped (exit code ${code}) without an answer`))));
  });
}
