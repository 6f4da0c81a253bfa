/**
 * The consolidated view's arithmetic: lines of many units summed by one or two dimensions (unit, product
 * category, region), with budget per quarter, the year, last year, the variance and how complete it is. Pure, so
 * that what the table shows is what this says.
 *
 * The variance compares the budget with last year over the lines that have a budget, as the grid's totals do: a
 * line nobody has budgeted yet is not a 100% cut.
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
  /** Last year over the lines that have a budget: what the variance compares with. */
  priorOfBudgeted: number;
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
  return { budgetByQuarter: {}, budget: 0, prior: 0, priorOfBudgeted: 0, forecast: 0, forecasted: 0, lines: 0, budgeted: 0 };
}

function add(figures: Figures, line: LineFigures): void {
  figures.lines += 1;
  figures.prior += line.priorYearActual ?? 0;
  if (line.forecastSales !== null) {
    figures.forecasted += 1;
    figures.forecast += line.forecastSales;
  }
  if (line.budgetAmount !== null) {
    figures.budgeted += 1;
    figures.budget += line.budgetAmount;
    figures.priorOfBudgeted += line.priorYearActual ?? 0;
    figures.budgetByQuarter[line.quarter] = (figures.budgetByQuarter[line.quarter] ?? 0) + line.budgetAmount;
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

/** Budget minus last year over the budgeted lines, and that as a share of last year (null when not defined). */
export function variance(figures: Figures): { amount: number; share: number | null } | null {
  if (figures.budgeted === 0) return null;
  const amount = figures.budget - figures.priorOfBudgeted;
  return { amount, share: figures.priorOfBudgeted ? amount / figures.priorOfBudgeted : null };
}
