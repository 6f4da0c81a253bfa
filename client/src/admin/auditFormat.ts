/** How audit entries read, on screen and in the CSV export (one place, so both say the same). */
import { toCsv } from '../common/csv';
import type { AuditEntry } from './useAuditLog';

const COLUMN_LABELS: Record<string, string> = { budgetAmount: 'Budget', forecastSales: 'Forecast', comment: 'Comment', priorYearActual: 'Prior-year actual' };
export const columnLabel = (column: string) => COLUMN_LABELS[column] ?? column;

const SOURCE_LABELS: Record<string, string> = { GRID: 'Grid', API: 'API', IMPORT: 'Import', RESTORE: 'Restore' };
/** How an entry came: the grid, a mutation, a spreadsheet import, or a restore of an earlier value. */
export const sourceLabel = (source: string) => SOURCE_LABELS[source] ?? source;

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** Amounts as numbers with separators; comments as they are; nothing as an em dash. */
export function formatValue(column: string, value: string | null): string {
  if (value === null || value === '') return '—';
  if (column !== 'comment' && Number.isFinite(Number(value))) return numberFormat.format(Number(value));
  return value;
}

export function auditCsv(entries: readonly AuditEntry[]): string {
  return toCsv(
    // The plan last: columns a script reads by position keep their place.
    ['at', 'user', 'business_unit', 'product_category', 'region', 'quarter', 'column', 'old_value', 'new_value', 'source', 'plan'],
    entries.map((e) => [
      e.at, e.user?.email ?? '', e.line.businessUnit.code, e.line.productCategory, e.line.region, e.line.quarter,
      e.column, e.oldValue, e.newValue, e.source, e.line.plan.name,
    ]),
  );
}
