/**
 * Totals of the rows shown (after filters): per column, and per quarter, with the variance against last year;
 * and subtotals by category, by region or both, with the budget per quarter (AG Grid Community has no row
 * grouping, so they are a table under the grid, computed as the consolidated view does: consolidated/grouping.ts).
 */
import { useState } from 'react';
import type { GridRow } from './BudgetGrid';
import { formatAmount, formatPercent, withUnit } from './cells';
import { consolidate, DIMENSION_LABEL, linesVariance, type Dimension } from '../consolidated/grouping';
import { FigureCells, FigureHeaders, TotalsFoot } from '../consolidated/figures';

type Subtotals = 'none' | 'productCategory' | 'region' | 'productCategory+region' | 'region+productCategory';
const SUBTOTALS: { value: Subtotals; label: string }[] = [
  { value: 'productCategory', label: 'Category' },
  { value: 'region', label: 'Region' },
  { value: 'productCategory+region', label: 'Category, then region' },
  { value: 'region+productCategory', label: 'Region, then category' },
  { value: 'none', label: 'None' },
];
const SUBTOTALS_KEY = 'plansync.grid.subtotals';

function sum(rows: GridRow[], pick: (r: GridRow) => number | null): number {
  return rows.reduce((total, r) => total + (pick(r) ?? 0), 0);
}

/**
 * The sum of a column as shown: a dash when no row has a value, as the subtotals and the consolidated view show
 * it (a budget or forecast nobody entered is work left, not a zero).
 */
function shownSum(rows: GridRow[], pick: (r: GridRow) => number | null): string {
  return rows.some((r) => pick(r) !== null) ? formatAmount(sum(rows, pick)) : '—';
}

/**
 * Budget against last year, over the lines that have both (consolidated/grouping.ts): an empty line is not a 100%
 * cut, and a line without last year is not a 100% increase (its row's variance is empty too).
 */
function variance(rows: GridRow[]): string {
  const v = linesVariance(rows);
  if (v === null) return '—';
  return `${v.amount >= 0 ? '+' : ''}${formatAmount(v.amount)}${v.share !== null ? ` (${formatPercent(v.share)})` : ''}`;
}

export function Totals({ rows }: { rows: GridRow[] }) {
  const filled = rows.filter((r) => r.budgetAmount !== null).length;
  const quarters = [...new Set(rows.map((r) => r.quarter))].sort();
  return (
    <div aria-label="Totals">
      <div className="totals" data-testid="totals">
        <Total label={withUnit('Budget amount')} value={shownSum(rows, (r) => r.budgetAmount)} />
        <Total label={withUnit('Prior year actual')} value={shownSum(rows, (r) => r.priorYearActual)} />
        <Total label={withUnit('Variance vs PY (budgeted lines)')} value={variance(rows)} />
        <Total label={withUnit('Forecast sales')} value={shownSum(rows, (r) => r.forecastSales)} />
        <Total label="Lines with a budget" value={`${filled} of ${rows.length}`} />
      </div>
      <SubtotalsTable rows={rows} />
      {quarters.length > 1 && (
        <table className="data" style={{ marginTop: '0.75rem' }} aria-label="Totals per quarter">
          <thead>
            <tr>
              <th>Quarter</th>
              <th className="num">{withUnit('Budget amount')}</th>
              <th className="num">{withUnit('Prior year actual')}</th>
              <th className="num">{withUnit('Variance (budgeted lines)')}</th>
              <th className="num">{withUnit('Forecast sales')}</th>
            </tr>
          </thead>
          <tbody>
            {quarters.map((q) => {
              const inQuarter = rows.filter((r) => r.quarter === q);
              const v = variance(inQuarter);
              return (
                <tr key={q}>
                  <td>{q}</td>
                  <td className="num">{shownSum(inQuarter, (r) => r.budgetAmount)}</td>
                  <td className="num">{shownSum(inQuarter, (r) => r.priorYearActual)}</td>
                  <td className={`num ${v.startsWith('-') ? 'cell-negative' : v.startsWith('+') ? 'cell-positive' : ''}`}>{v}</td>
                  <td className="num">{shownSum(inQuarter, (r) => r.forecastSales)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Total({ label, value }: { label: string; value: string }) {
  return (
    <div className="total">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}

/** Subtotals of the rows shown, grouped as the person chose last (kept in this browser). */
function SubtotalsTable({ rows }: { rows: GridRow[] }) {
  const [by, setBy] = useState<Subtotals>(() => {
    const saved = localStorage.getItem(SUBTOTALS_KEY);
    return SUBTOTALS.some((o) => o.value === saved) ? (saved as Subtotals) : 'productCategory';
  });
  const choose = (value: Subtotals) => {
    setBy(value);
    localStorage.setItem(SUBTOTALS_KEY, value);
  };
  const [first, second] = by === 'none' ? [null, null] : (by.split('+') as [Dimension, Dimension | undefined]);
  const result = first ? consolidate(rows.map((r) => ({ ...r, unit: '' })), first, second ?? null) : null;
  return (
    <div className="subtotals">
      <label className="inline">
        Subtotals by
        <select value={by} onChange={(e) => choose(e.target.value as Subtotals)} aria-label="Subtotals by">
          {SUBTOTALS.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
        </select>
      </label>
      {result && result.rows.length > 0 && (
        <table className="data" aria-label="Subtotals">
          <thead>
            <tr>
              <th>{DIMENSION_LABEL[first!]}{second ? ` / ${DIMENSION_LABEL[second]}` : ''}</th>
              <FigureHeaders quarters={result.quarters} />
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row) => (
              <tr key={row.path.join('\u0000')} data-level={row.level} className={row.level === 0 && second ? 'group' : undefined}>
                <th scope="row">{row.level === 0 ? row.path[0] : <span className="indent">{row.path[1]}</span>}</th>
                <FigureCells figures={row} quarters={result.quarters} />
              </tr>
            ))}
          </tbody>
          <TotalsFoot total={result.total} quarters={result.quarters} />
        </table>
      )}
    </div>
  );
}
