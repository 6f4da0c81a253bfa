/**
 * CSV files people open in Excel: RFC 4180 quoting, CRLF line ends, a BOM so accents survive, and text that a
 * spreadsheet would run as a formula neutralised.
 */

/**
 * What makes Excel, LibreOffice or Google Sheets read a cell as a formula (or a DDE command): its first
 * character. Tab and carriage return count too, since some importers strip them and read what follows.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell as a spreadsheet shows it, never runs it (OWASP's "CSV injection" advice): one that starts like a
 * formula gets a leading apostrophe, which the spreadsheet hides and which makes the rest plain text. Numbers
 * are numbers, never formulas, and stay as they are.
 */
export function neutraliseFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const cell = (value: string | number | null | undefined) => {
    const text = value === null || value === undefined ? '' : typeof value === 'number' ? String(value) : neutraliseFormula(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return '\ufeff' + [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
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
