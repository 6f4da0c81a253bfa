/** Each unit's budget total against last year's actuals, from the dashboard's lines (the chart and the table). */

export interface UnitTotals {
  /** Sum of the budget amounts entered. */
  budget: number;
  /** Sum of last year's actuals over the unit's lines. */
  priorYear: number;
  /** budget - priorYear, and as a share of priorYear (null when there is no last year to compare with). */
  variance: number;
  variancePct: number | null;
}

export function unitTotals(lines: readonly { businessUnit: { code: string }; budgetAmount?: number | null; priorYearActual?: number | null }[]): Map<string, UnitTotals> {
  const sums = new Map<string, { budget: number; priorYear: number }>();
  for (const line of lines) {
    const sum = sums.get(line.businessUnit.code) ?? { budget: 0, priorYear: 0 };
    sum.budget += line.budgetAmount ?? 0;
    sum.priorYear += line.priorYearActual ?? 0;
    sums.set(line.businessUnit.code, sum);
  }
  return new Map(
    [...sums].map(([code, { budget, priorYear }]) => [code, { budget, priorYear, variance: budget - priorYear, variancePct: priorYear ? (budget - priorYear) / priorYear : null }]),
  );
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** "1.2M": short enough for a chart label. */
export const formatCompact = (value: number) => compact.format(value);
