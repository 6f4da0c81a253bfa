/**
 * The variance in the totals (grid totals, subtotals, consolidated view, submissions dashboard) against the rows'
 * own variance. Found in a finance controller's QA pass on a new FY2028 plan: no line had a prior-year actual yet,
 * every row's "Variance vs PY" was empty, yet the totals said "+1,000,000,002,434.88" (the whole budget) and the
 * consolidated view's prior-year column said 0 where the grid said "—": a line without last year was counted as a
 * last year of zero. Pure functions: what the tables show is what these say.
 */
import { describe, expect, it } from 'vitest';
import { consolidate, variance, type LineFigures } from '../src/consolidated/grouping.js';
import { unitTotals } from '../src/review/unitTotals.js';

const line = (quarter: string, budgetAmount: number | null, priorYearActual: number | null): LineFigures => ({
  unit: 'SALES_NORTH',
  productCategory: 'Laptops',
  region: 'Europe',
  quarter,
  budgetAmount,
  priorYearActual,
  forecastSales: null,
});

describe('variance over the lines that have a budget and a prior-year actual', () => {
  it('has no variance when no budgeted line has last year (a new plan), and no prior-year total of 0', () => {
    const { total } = consolidate([line('Q1', 1200, null), line('Q2', 600, null)], 'unit', null);
    expect(variance(total)).toBeNull();
    expect(total.priorLines).toBe(0);
    const totals = unitTotals([1200, 600].map((budgetAmount) => ({ businessUnit: { code: 'SALES_NORTH' }, budgetAmount, priorYearActual: null })));
    expect(totals.get('SALES_NORTH')).toMatchObject({ variance: 0, variancePct: null });
  });

  it('adds up what the rows show: lines without last year (a category added this year) do not count as +100%', () => {
    // Rows: +120 (1320 against 1200), empty (no last year), empty (no budget).
    const lines = [line('Q1', 1320, 1200), line('Q2', 5200, null), line('Q3', null, 800)];
    const { total } = consolidate(lines, 'unit', null);
    expect(variance(total)).toEqual({ amount: 120, share: 0.1 });
    expect(total.prior).toBe(2000);
    const totals = unitTotals(lines.map((l) => ({ businessUnit: { code: 'SALES_NORTH' }, budgetAmount: l.budgetAmount, priorYearActual: l.priorYearActual })));
    expect(totals.get('SALES_NORTH')).toMatchObject({ budget: 6520, variance: 120, variancePct: 0.1 });
  });
});
