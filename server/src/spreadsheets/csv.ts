/**
 * CSV as spreadsheets write and read it (RFC 4180): fields separated by a delimiter, records by CRLF (LF or a
 * lone CR read too), a field quoted with `"` when it holds a delimiter, a quote or a line break, a quote inside
 * written twice. Written with a UTF-8 byte order mark, which is how Excel knows the file is UTF-8; read with or
 * without one. The delimiter read is the header row's most frequent of `,` `;` and tab: Excel writes `;` where
 * the decimal separator is a comma.
 *
 * Small enough to own, and fuzzed (spreadsheets.fuzz.test.ts); exceljs is for xlsx.
 */

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

/**
 * Every record of `text`, numbered from 1. An empty line is a record of one empty field (a spreadsheet shows it
 * as an empty row, and counts it); the line break after the last record does not start another.
 */
export function parseCsv(input: string): ParsedCsv {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const delimiter = detectDelimiter(text);
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  const endRecord = () => {
    cells.push(field);
    field = '';
    if (cells.length > MAX_COLUMNS) throw new MalformedFile(`Row ${rows.length + 1} has more than ${MAX_COLUMNS} columns`);
    rows.push({ row: rows.length + 1, cells });
    cells = [];
  };
  while (i < n) {
    const c = text[i];
    if (c === '"' && field === '') {
      // A quoted field: up to the quote that is not doubled.
      const start = i + 1;
      let j = start;
      let value = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) throw new MalformedFile(`Row ${rows.length + 1}: a quoted value is never closed (a " is missing)`);
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      const after = text[i];
      if (i < n && after !== delimiter && after !== '\r' && after !== '\n') {
        throw new MalformedFile(`Row ${rows.length + 1}: a quoted value must be followed by a ${delimiterName(delimiter)} or the end of the line`);
      }
      // Marks the field as quoted-and-done: an empty quoted field is still a field.
      field = value;
      if (i >= n) break;
      continue;
    }
    if (c === delimiter) {
      cells.push(field);
      field = '';
      if (cells.length > MAX_COLUMNS) throw new MalformedFile(`Row ${rows.length + 1} has more than ${MAX_COLUMNS} columns`);
      i += 1;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    // Unquoted text up to the next delimiter, quote-free or not (a quote inside an unquoted field is text, as
    // spreadsheets read it).
    let j = i;
    while (j < n && text[j] !== delimiter && text[j] !== '\r' && text[j] !== '\n') j++;
    field += text.slice(i, j);
    i = j;
  }
  // The last record, unless the text ended with its line break (or is empty).
  if (field !== '' || cells.length > 0 || (n > 0 && text[n - 1] === '"')) endRecord();
  return { delimiter, rows };
}

function delimiterName(delimiter: string): string {
  return delimiter === ',' ? 'comma' : delimiter === ';' ? 'semicolon' : 'tab';
}
