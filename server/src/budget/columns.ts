/**
 * The editable columns of a budget line and their rules: one definition shared by the GraphQL mutation, the
 * grid's validation and the projection, so the three can never disagree on what a valid cell is.
 */
import { unstorableTextProblem } from '../db/storableText.js';

export const EDITABLE_COLUMNS = ['budgetAmount', 'forecastSales', 'comment'] as const;
export type EditableColumn = (typeof EDITABLE_COLUMNS)[number];
export type CellValue = number | string | null;

export const MAX_AMOUNT = 1e12;
export const MAX_COMMENT_LENGTH = 2000;

/**
 * The columns the audit log records: the editable ones, and priorYearActual, which only the Power BI actuals load
 * writes (workflow/priorYearActuals.ts).
 */
export const AUDITED_COLUMNS = [...EDITABLE_COLUMNS, 'priorYearActual'] as const;

export function isAuditedColumn(name: string): name is (typeof AUDITED_COLUMNS)[number] {
  return (AUDITED_COLUMNS as readonly string[]).includes(name);
}

export function isEditableColumn(name: string): name is EditableColumn {
  return (EDITABLE_COLUMNS as readonly string[]).includes(name);
}

/**
 * Control characters a comment may not hold: every C0 control but tab, line feed and carriage return (which
 * Excel puts in a pasted cell), DEL and the C1 controls. None is typed on purpose; they are invisible in the
 * grid and break what reads the comments later (CSV and Excel exports, terminals, log lines). U+0000 and
 * unpaired surrogates are refused anyway: PostgreSQL cannot store them (db/storableText.ts).
 */
const FORBIDDEN_CONTROL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/**
 * U+FFFE and U+FFFF, the two noncharacters of the BMP that XML 1.0 does not allow: an xlsx export of a unit with
 * one in a comment was not well-formed (Excel offered to repair it; our own import refused it, "disallowed
 * character"), for everyone exporting that unit, and the OData and CSV readers pass it on. Nobody types them.
 */
const XML_NONCHARACTER = /[\uFFFE\uFFFF]/;

/**
 * Why a value cannot go into a column, or null when it can. `null` clears an amount; a comment is cleared
 * with the empty string (the column is never null).
 */
export function cellValueProblem(column: EditableColumn, value: unknown): string | null {
  if (column === 'comment') {
    if (typeof value !== 'string') return 'comment must be a string';
    if (value.length > MAX_COMMENT_LENGTH) return `comment must be at most ${MAX_COMMENT_LENGTH} characters`;
    const unstorable = unstorableTextProblem(value);
    if (unstorable) return `comment ${unstorable}`;
    if (FORBIDDEN_CONTROL.test(value)) return 'comment must not contain control characters (tabs and line breaks are fine)';
    if (XML_NONCHARACTER.test(value)) return 'comment must not contain the noncharacters U+FFFE or U+FFFF';
    return null;
  }
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${column} must be a finite number`;
  if (value < 0) return `${column} must not be negative`;
  if (value > MAX_AMOUNT) return `${column} must be at most ${MAX_AMOUNT}`;
  return null;
}

/** How a cell value is written into the audit log: amounts as their decimal text, comments as they are. */
export function auditText(value: CellValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'number' ? String(value) : value;
}
