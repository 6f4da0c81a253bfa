/**
 * What is incomplete in a unit's budget before it is submitted, computed from the grid's rows as the person
 * sees them (the live document), so the submit dialog can say it in words and offer to show those lines.
 *
 * Two findings: lines without a budget amount, and lines whose budget is far from last year's actual (more
 * than FAR_FROM_PRIOR_YEAR either way) with no comment explaining why. Neither stops a submission by itself;
 * a plan that requires completeness is the server's rule (submitBudget refuses), and the dialog only mirrors it.
 */

/** What readiness reads of a grid row (BudgetGrid's GridRow has these and more). */
export interface GridRow {
  id: string;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
  budgetAmount: number | null;
  comment: string;
}

/** A budget this far from last year's actual, as a share of it (0.5: below 50% or above 150%), wants a comment. */
export const FAR_FROM_PRIOR_YEAR = 0.5;

export interface Readiness<R extends GridRow = GridRow> {
  lines: number;
  /** Lines with no budget amount. */
  missingBudget: R[];
  /** Lines whose budget differs from last year's actual by more than FAR_FROM_PRIOR_YEAR, without a comment. */
  farWithoutComment: R[];
  /** Sum of the budget amounts entered, and of last year's actuals over those same lines (budgeted lines only). */
  totalBudget: number;
  budgetedPriorYear: number;
}

/** Whether a line's budget is far from last year's (only when both are known and last year's is not zero). */
export function isFarFromPriorYear(row: Pick<GridRow, 'budgetAmount' | 'priorYearActual'>): boolean {
  const { budgetAmount: budget, priorYearActual: prior } = row;
  if (budget === null || prior === null || prior === 0) return false;
  return Math.abs(budget - prior) / Math.abs(prior) > FAR_FROM_PRIOR_YEAR;
}

export function readinessOf<R extends GridRow>(rows: readonly R[]): Readiness<R> {
  const missingBudget: R[] = [];
  const farWithoutComment: R[] = [];
  let totalBudget = 0;
  let budgetedPriorYear = 0;
  for (const row of rows) {
    if (row.budgetAmount === null) missingBudget.push(row);
    else {
      totalBudget += row.budgetAmount;
      budgetedPriorYear += row.priorYearActual ?? 0;
    }
    if (isFarFromPriorYear(row) && row.comment.trim() === '') farWithoutComment.push(row);
  }
  return { lines: rows.length, missingBudget, farWithoutComment, totalBudget, budgetedPriorYear };
}

export const isComplete = (r: Readiness) => r.missingBudget.length === 0 && r.farWithoutComment.length === 0;

const plural = (n: number, one: string, many: string) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** "108 of 120 lines have no budget." */
export function describeMissing(r: Pick<Readiness, 'lines' | 'missingBudget'>): string {
  const n = r.missingBudget.length;
  return `${n.toLocaleString()} of ${plural(r.lines, 'line', 'lines')} ${n === 1 ? 'has' : 'have'} no budget.`;
}

/** "3 lines are more than 50% away from last year's actual and have no comment." */
export function describeFar(r: Pick<Readiness, 'farWithoutComment'>): string {
  const n = r.farWithoutComment.length;
  return `${plural(n, 'line is', 'lines are')} more than ${FAR_FROM_PRIOR_YEAR * 100}% away from last year's actual and ${n === 1 ? 'has' : 'have'} no comment.`;
}

/** A line in words: "Hardware, North, Q3". */
export const lineLabel = (l: { productCategory: string; region: string; quarter: string }) => `${l.productCategory}, ${l.region}, ${l.quarter}`;
