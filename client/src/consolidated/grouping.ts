/**
 * The consolidated view's arithmetic: lines of many units summed by one or two dimensions (unit, product
 * category, region), with budget per quarter, the year, last year, the variance and how complete it is. Pure, so
 * that what the table shows is what this says.
 *
 * The variance compares the budget with last year over the lines that have both a budget and a prior-year actual,
 * as the grid's row variance does: a line nobody has budgeted yet is not a 100% cut, and a line without last year
 * (a new plan not yet loaded with actuals, a category added this year) is not a 100% increase. Counting those with
 * last year as 0 showed a new plan's whole budget as "variance" while every row's variance cell was empty.
 */
export type Dimension = 'unit' | 'productCategory' | 'region';

export const DIMENSION_LABEL: Record<Dimension, string> = {
  unit: 'Business unit',
  productCategory: 'Product category',
  region: 'Region',
};

export interface LineFigures {
  unit: string;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual: number | null;
  budgetAmount: number | null;
  forecastSales: number | null;
}

export interface Figures {
  budgetByQuarter: Record<string, number>;
  budget: number;
  prior: number;
  /** Lines with a prior-year actual: none is no last year (shown as a dash), not a last year of zero. */
  priorLines: number;
  /** The budget and last year over the lines that have both: what the variance compares. */
  budgetCompared: number;
  priorCompared: number;
  compared: number;
  forecast: number;
  /** Lines with a forecast: none is no forecast yet (shown as a dash), not a forecast of zero. */
  forecasted: number;
  lines: number;
  budgeted: number;
}

export interface GroupRow extends Figures {
  /** The group's values, outermost first: one for a first-level group, two for a second-level one. */
  path: string[];
  level: 0 | 1;
}

export interface Consolidation {
  quarters: string[];
  rows: GroupRow[];
  total: Figures;
}

function empty(): Figures {
  return { budgetByQuarter: {}, budget: 0, prior: 0, priorLines: 0, budgetCompared: 0, priorCompared: 0, compared: 0, forecast: 0, forecasted: 0, lines: 0, budgeted: 0 };
}

function add(figures: Figures, line: LineFigures): void {
  figures.lines += 1;
  figures.prior += line.priorYearActual ?? 0;
  if (line.priorYearActual !== null) figures.priorLines += 1;
  if (line.forecastSales !== null) {
    figures.forecasted += 1;
    figures.forecast += line.forecastSales;
  }
  if (line.budgetAmount !== null) {
    figures.budgeted += 1;
    figures.budget += line.budgetAmount;
    figures.budgetByQuarter[line.quarter] = (figures.budgetByQuarter[line.quarter] ?? 0) + line.budgetAmount;
    if (line.priorYearActual !== null) {
      figures.compared += 1;
      figures.budgetCompared += line.budgetAmount;
      figures.priorCompared += line.priorYearActual;
    }
  }
}

const byText = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** Rows grouped by `first`, each followed by its sub-groups by `second` (when given), and the grand total. */
export function consolidate(lines: readonly LineFigures[], first: Dimension, second: Dimension | null): Consolidation {
  const total = empty();
  const groups = new Map<string, { figures: Figures; children: Map<string, Figures> }>();
  const quarters = new Set<string>();
  for (const line of lines) {
    quarters.add(line.quarter);
    add(total, line);
    const outer = line[first];
    let group = groups.get(outer);
    if (!group) groups.set(outer, (group = { figures: empty(), children: new Map() }));
    add(group.figures, line);
    if (second) {
      const inner = line[second];
      let child = group.children.get(inner);
      if (!child) group.children.set(inner, (child = empty()));
      add(child, line);
    }
  }
  const rows: GroupRow[] = [];
  for (const outer of [...groups.keys()].sort(byText)) {
    const group = groups.get(outer)!;
    rows.push({ ...group.figures, path: [outer], level: 0 });
    for (const inner of [...group.children.keys()].sort(byText)) rows.push({ ...group.children.get(inner)!, path: [outer, inner], level: 1 });
  }
  return { quarters: [...quarters].sort(byText), rows, total };
}

/**
 * Budget minus last year over the lines that have both, and that as a share of last year; null when no line has
 * both (nothing to compare: shown as a dash, as each such row's variance is).
 */
export function variance(figures: Pick<Figures, 'compared' | 'budgetCompared' | 'priorCompared'>): { amount: number; share: number | null } | null {
  if (figures.compared === 0) return null;
  const amount = figures.budgetCompared - figures.priorCompared;
  return { amount, share: figures.priorCompared ? amount / figures.priorCompared : null };
}

/** The variance of lines as `variance` computes it for a group: over the lines that have a budget and last year. */
export function linesVariance(lines: readonly { budgetAmount: number | null; priorYearActual: number | null }[]): { amount: number; share: number | null } | null {
  const figures = { compared: 0, budgetCompared: 0, priorCompared: 0 };
  for (const line of lines) {
    if (line.budgetAmount === null || line.priorYearActual === null) continue;
    figures.compared += 1;
    figures.budgetCompared += line.budgetAmount;
    figures.priorCompared += line.priorYearActual;
  }
  return variance(figures);
}
