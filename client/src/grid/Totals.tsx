/** Totals of the rows shown (after filters): per column, and per quarter, with the variance against last year. */
import type { GridRow } from './BudgetGrid';
import { formatAmount, formatPercent } from './cells';

function sum(rows: GridRow[], pick: (r: GridRow) => number | null): number {
  return rows.reduce((total, r) => total + (pick(r) ?? 0), 0);
}

/** Budget against last year, over the lines that have a budget (an empty line is not a 100% cut). */
function variance(rows: GridRow[]): string {
  const budgeted = rows.filter((r) => r.budgetAmount !== null);
  if (budgeted.length === 0) return '—';
  const b = sum(budgeted, (r) => r.budgetAmount);
  const p = sum(budgeted, (r) => r.priorYearActual);
  return `${b - p >= 0 ? '+' : ''}${formatAmount(b - p)}${p ? ` (${formatPercent((b - p) / p)})` : ''}`;
}

export function Totals({ rows }: { rows: GridRow[] }) {
  const budget = sum(rows, (r) => r.budgetAmount);
  const prior = sum(rows, (r) => r.priorYearActual);
  const forecast = sum(rows, (r) => r.forecastSales);
  const filled = rows.filter((r) => r.budgetAmount !== null).length;
  const quarters = [...new Set(rows.map((r) => r.quarter))].sort();
  return (
    <div aria-label="Totals">
      <div className="totals" data-testid="totals">
        <Total label="Budget amount" value={formatAmount(budget)} />
        <Total label="Prior year actual" value={formatAmount(prior)} />
        <Total label="Variance vs PY (budgeted lines)" value={variance(rows)} />
        <Total label="Forecast sales" value={formatAmount(forecast)} />
        <Total label="Lines with a budget" value={`${filled} of ${rows.length}`} />
      </div>
      {quarters.length > 1 && (
        <table className="data" style={{ marginTop: '0.75rem' }} aria-label="Totals per quarter">
          <thead>
            <tr>
              <th>Quarter</th>
              <th className="num">Budget amount</th>
              <th className="num">Prior year actual</th>
              <th className="num">Variance (budgeted lines)</th>
              <th className="num">Forecast sales</th>
            </tr>
          </thead>
          <tbody>
            {quarters.map((q) => {
              const inQuarter = rows.filter((r) => r.quarter === q);
              const v = variance(inQuarter);
              return (
                <tr key={q}>
                  <td>{q}</td>
                  <td className="num">{formatAmount(sum(inQuarter, (r) => r.budgetAmount))}</td>
                  <td className="num">{formatAmount(sum(inQuarter, (r) => r.priorYearActual))}</td>
                  <td className={`num ${v.startsWith('-') ? 'cell-negative' : v.startsWith('+') ? 'cell-positive' : ''}`}>{v}</td>
                  <td className="num">{formatAmount(sum(inQuarter, (r) => r.forecastSales))}</td>
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
