/**
 * The figures of a group as table cells, and their headers: shared by the consolidated view and the grid page's
 * subtotals (kept apart from the consolidated page so that the grid's bundle does not take its CSV library).
 */
import { formatAmount, formatPercent } from '../grid/cells';
import { variance, type Figures } from './grouping';

export function FigureHeaders({ quarters }: { quarters: string[] }) {
  return (
    <>
      {quarters.map((q) => <th key={q} className="num">Budget {q}</th>)}
      <th className="num">Budget amount</th>
      <th className="num">Prior-year actual</th>
      <th className="num">Variance (budgeted lines)</th>
      <th className="num">Forecast sales</th>
      <th className="num">Lines with a budget</th>
    </>
  );
}

export function FigureCells({ figures, quarters }: { figures: Figures; quarters: string[] }) {
  const v = variance(figures);
  return (
    <>
      {/* Nothing budgeted is a dash, not a zero: a zero budget is a decision, an empty one is work left. */}
      {quarters.map((q) => <td key={q} className="num">{q in figures.budgetByQuarter ? formatAmount(figures.budgetByQuarter[q]) : <span className="muted">—</span>}</td>)}
      <td className="num">{figures.budgeted > 0 ? formatAmount(figures.budget) : <span className="muted">—</span>}</td>
      {/* No line with last year is a dash, as the grid shows it, not a last year of zero. */}
      <td className="num">{figures.priorLines > 0 ? formatAmount(figures.prior) : <span className="muted">—</span>}</td>
      <td className={`num ${v ? (v.amount < 0 ? 'cell-negative' : 'cell-positive') : ''}`}>
        {v ? `${v.amount >= 0 ? '+' : ''}${formatAmount(v.amount)}${v.share !== null ? ` (${formatPercent(v.share)})` : ''}` : '—'}
      </td>
      <td className="num">{figures.forecasted > 0 ? formatAmount(figures.forecast) : <span className="muted">—</span>}</td>
      <td className="num">{figures.budgeted.toLocaleString()} of {figures.lines.toLocaleString()}</td>
    </>
  );
}

/** The table's foot: the totals of every row, in the same columns. */
export function TotalsFoot({ total, quarters, testId }: { total: Figures; quarters: string[]; testId?: string }) {
  return (
    <tfoot>
      <tr data-testid={testId}>
        <th scope="row">Total</th>
        <FigureCells figures={total} quarters={quarters} />
      </tr>
    </tfoot>
  );
}
