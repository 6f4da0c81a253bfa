/** Each unit's budget total against last year's actuals, from the dashboard's lines (the chart and the table). */

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
  // The variance compares the budget with last year over the lines that have a budget, as the grid's totals and
  // the consolidated view do: 12 of 120 lines budgeted is not an 84% cut.
  const sums = new Map<string, { budget: number; priorYear: number; priorOfBudgeted: number }>();
  for (const line of lines) {
    const sum = sums.get(line.businessUnit.code) ?? { budget: 0, priorYear: 0, priorOfBudgeted: 0 };
    sum.budget += line.budgetAmount ?? 0;
    sum.priorYear += line.priorYearActual ?? 0;
    if (line.budgetAmount !== null && line.budgetAmount !== undefined) sum.priorOfBudgeted += line.priorYearActual ?? 0;
    sums.set(line.businessUnit.code, sum);
  }
  return new Map(
    [...sums].map(([code, { budget, priorYear, priorOfBudgeted }]) => [
      code,
      { budget, priorYear, variance: budget - priorOfBudgeted, variancePct: priorOfBudgeted ? (budget - priorOfBudgeted) / priorOfBudgeted : null },
    ]),
  );
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
/** "1.2M": short enough for a chart label. */
export const formatCompact = (value: number) => compact.format(value);
