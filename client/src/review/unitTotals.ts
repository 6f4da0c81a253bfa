/** Each unit's budget total against last year's actuals, from the dashboard's lines (the chart and the table). */
import { linesVariance } from '../consolidated/grouping.js';

export interface UnitTotals {
  /** Sum of the budget amounts entered. */
  budget: number;
  /** Sum of last year's actuals over the unit's lines. */
  priorYear: number;
  /**
   * The budget against last year over the budgeted lines only, and as a share of that (null when those lines
   * had no last year to compare with).
   */
  variance: number;
  variancePct: number | null;
}

export function unitTotals(lines: readonly { businessUnit: { code: string }; budgetAmount?: number | null; priorYearActual?: number | null }[]): Map<string, UnitTotals> {
  // The variance compares the budget with last year over the lines that have both, as the grid's totals and the
  // consolidated view do (consolidated/grouping.ts): 12 of 120 lines budgeted is not an 84% cut, and a line without
  // last year is not a 100% increase.
  const sums = new Map<string, { budget: number; priorYear: number; compared: { budgetAmount: number | null; priorYearActual: number | null }[] }>();
  for (const line of lines) {
    const sum = sums.get(line.businessUnit.code) ?? { budget: 0, priorYear: 0, compared: [] };
    sum.budget += line.budgetAmount ?? 0;
    sum.priorYear += line.priorYearActual ?? 0;
    sum.compared.push({ budgetAmount: line.budgetAmount ?? null, priorYearActual: line.priorYearActual ?? null });
    sums.set(line.businessUnit.code, sum);
  }
  return new Map(
    [...sums].map(([code, { budget, priorYear, compared }]) => {
      const v = linesVariance(compared);
      return [code, { budget, priorYear, variance: v?.amount ?? 0, variancePct: v?.share ?? null }];
    }),
  );
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** "1.2M": short enough for a chart label. */
export const formatCompact = (value: number) => compact.format(value);
