/**
 * CSV as spreadsheets write and read it (RFC 4180): fields separated by a delimiter, records by CRLF (LF or a
 * lone CR read too), a field quoted with `"` when it holds a delimiter, a quote or a line break, a quote inside
 * written twice. Written with a UTF-8 byte order mark, which is how Excel knows the file is UTF-8; read with or
 * without one. The delimiter read is the header row's most frequent of `,` `;` and tab: Excel writes `;` where
 * the decimal separator is a comma.
 *
 * Written here (a few lines); read by csv-parse. Fuzzed through the import (spreadsheets.fuzz.test.ts).
 */
import { parse as parseStream } from 'csv-parse';
import { CsvError, parse } from 'csv-parse/sync';

export const BOM = '\uFEFF';

/** A file we cannot read as CSV: the import answers 400 with this message. */
export class MalformedFile extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedFile';
  }
}

/** One field, quoted when it must be (numbers are written as they are, null as an empty field). */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  return /[",\r\n;\t]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRecord(values: readonly (string | number | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** A record of a file and its row number as a spreadsheet shows it (the header is row 1). */
export interface CsvRow {
  row: number;
  cells: string[];
}

export interface ParsedCsv {
  delimiter: string;
  rows: CsvRow[];
}

/** Columns in one record beyond which a file is not ours (ours has 12). */
export const MAX_COLUMNS = 1000;

/** The most frequent of the candidates outside quotes on the first line (comma when none appears). */
function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ',';
  for (const [c, n] of counts) if (n > counts.get(best)!) best = c;
  return best;
}

/** How csv-parse reads a file of ours, or one a spreadsheet wrote (see `parseCsv`). */
function readerOptions(delimiter: string) {
  return { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: false };
}

const malformed = (err: CsvError, delimiter: string) =>
  new MalformedFile(`The file cannot be read as CSV (${delimiterName(delimiter)}-separated): ${err.message}`);

/**
 * Every record of `text`, numbered from 1, read by csv-parse: RFC 4180 with the byte order mark dropped, CRLF, LF
 * or CR, rows of any length, and (as spreadsheets read them) quotes inside an unquoted value taken as text. An
 * empty line is a record of one empty field (a spreadsheet shows it as an empty row, and counts it); the line
 * break after the last record does not start another. A record's number is its place (csv-parse's `info` gives
 * the same at four times the cost).
 */
export function parseCsv(input: string): ParsedCsv {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const delimiter = detectDelimiter(text);
  let records: string[][];
  try {
    records = parse(text, readerOptions(delimiter)) as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw malformed(err, delimiter);
    throw err;
  }
  return { delimiter, rows: records.map((cells, i) => rowOf(cells, i + 1)) };
}

function rowOf(cells: string[], row: number): CsvRow {
  if (cells.length > MAX_COLUMNS) throw new MalformedFile(`Row ${row} has more than ${MAX_COLUMNS} columns`);
  return { row, cells };
}

/** Characters csv-parse is given at a time by `parseCsvInTurns`: a few milliseconds of its work. */
const TURN_CHARACTERS = 16 * 1024;

/**
 * As `parseCsv`, for an upload: read a piece at a time, giving the event loop a turn between pieces, and stopped
 * as soon as it has more than `maxRows` records. Read in one go, a 10 MB file of tiny rows held every other
 * request of every person for seconds before it was refused for its size.
 */
export async function parseCsvInTurns(input: string, maxRows: number): Promise<ParsedCsv> {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const delimiter = detectDelimiter(text);
  const parser = parseStream(readerOptions(delimiter));
  acceptRowsOfAnyLength(parser);
  const feeding = (async () => {
    let at = 0;
    while (at < text.length && !parser.destroyed) {
      let end = Math.min(text.length, at + TURN_CHARACTERS);
      // Never between the two halves of a surrogate pair (an emoji in a comment): each piece is text of its own.
      if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1])) end -= 1;
      parser.write(text.slice(at, end));
      at = end;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!parser.destroyed) parser.end();
  })();
  const rows: CsvRow[] = [];
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      rows.push(rowOf(cells, rows.length + 1));
      if (rows.length > maxRows) throw new MalformedFile(`The file has more than ${maxRows} rows`);
    }
  } catch (err) {
    parser.destroy();
    if (err instanceof CsvError) throw malformed(err, delimiter);
    throw err;
  } finally {
    await feeding;
  }
  return { delimiter, rows };
}

/** The part of csv-parse's stream parser that `acceptRowsOfAnyLength` reaches into (csv-parse 6, lib/api/index.js). */
interface ParserInternals {
  api?: { state?: { record?: unknown[]; expectedRecordLength?: number }; __onRecord?: (this: unknown, push: unknown) => unknown };
}

/**
 * Rows of another length than the first one cost nothing more than others. csv-parse, even with
 * `relax_column_count`, builds a CsvError for every such row (a captured stack, its options and the record copied
 * through JSON) and then drops it: about 15 µs a row, against under 1 µs for a row as long as the header. A 10 MB
 * upload of blank lines under a two-column header (one million one-field rows) held a core for 20 s, and the event
 * loop for up to a second at a time, for anyone allowed to import, even a VIEWER's dry run (found in a security QA
 * pass). Rows of any length are ours to take (`relax_column_count`), so before each record is checked, the length
 * it is checked against is made its own. Should a csv-parse release move these internals, nothing is patched and the
 * records read are the same, only slower again: csv.test.ts ("builds no error object ...") then fails.
 */
function acceptRowsOfAnyLength(parser: unknown): void {
  const api = (parser as ParserInternals).api;
  const onRecord = api?.__onRecord;
  if (!api || typeof onRecord !== 'function' || typeof api.state !== 'object' || api.state === null) return;
  const state = api.state;
  api.__onRecord = function (this: unknown, push: unknown) {
    if (Array.isArray(state.record)) state.expectedRecordLength = state.record.length;
    return onRecord.call(this, push);
  };
}

function delimiterName(delimiter: string): string {
  return delimiter === ',' ? 'comma' : delimiter === ';' ? 'semicolon' : 'tab';
}
