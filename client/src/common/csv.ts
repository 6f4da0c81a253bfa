/**
 * CSV files people open in Excel, written by csv-stringify (its browser build, so no Node stream in the
 * bundle): RFC 4180 quoting, CRLF line ends, a BOM so accents survive, and text that a spreadsheet would run
 * as a formula neutralised; and the text offered as a download.
 *
 * Out of scope: parsing CSV, and streaming (an export is the rows already loaded in the page).
 */
import { stringify, type Options } from 'csv-stringify/browser/esm/sync';

/**
 * The export's settings. `escape_formulas` is OWASP's "CSV injection" advice, as the library implements it: a
 * text cell that starts like a formula (= + - @, a tab or a carriage return, which some importers strip
 * before reading what follows, and their full-width look-alikes, which Apple Numbers folds into them) gets a
 * leading apostrophe, which the spreadsheet hides and which makes the rest plain text. Numbers are numbers,
 * never formulas, and stay as they are (-3 is not prefixed).
 * `quote_record_delimiter`: the library stops quoting a lone \n or \r once `record_delimiter` is given; a
 * comment typed over two lines must stay one cell.
 */
const EXPORT: Options = { bom: true, record_delimiter: 'windows', quote_record_delimiter: true, escape_formulas: true };

/**
 * One text as the export writes it, without the quoting: the same rule as the export's cells (the library's,
 * applied with quote and escape characters switched off), for callers and tests that check one value.
 */
export function neutraliseFormula(value: string): string {
  return stringify([[value]], { escape_formulas: true, quote: '', escape: '', eof: false });
}

/**
 * Characters the server's exports write as U+FFFD (server/src/db/storableText.ts `exportableText`): C0 controls but
 * tab and line breaks, U+FFFE, U+FFFF, unpaired surrogates. The rules refuse them in new comments, but an audit
 * entry keeps the text of its day, and the audit CSV should read as the xlsx, CSV and OData exports of it do.
 */
// eslint-disable-next-line no-control-regex
const NOT_EXPORTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu;

/** A header row and rows as CSV text; null and undefined cells are empty. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map((cell) => (typeof cell === 'string' ? cell.replace(NOT_EXPORTABLE, '\uFFFD') : cell)));
  return stringify(cells as unknown[][], EXPORT);
}

/** Offers a text as a file download, without a round trip to the server. */
export function download(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
