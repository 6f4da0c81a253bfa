/**
 * The grid's range actions as plain data (client/src/grid/ranges/range.ts) and Excel's clipboard text
 * (client/src/grid/paste.ts): what each action writes, cell by cell. Pure functions: no browser needed; the
 * browser test (gridRanges.test.ts) drives the same actions through the page.
 */
import { describe, expect, it } from 'vitest';
import { parseBlock } from '../src/grid/paste.js';
import { boundsOf, planClear, planFill, planFillDown, planPercent, planSetValue, planSpread, toTsv, type View } from '../src/grid/ranges/range.js';

const COLUMNS = ['productCategory', 'region', 'quarter', 'priorYearActual', 'budgetAmount', 'variance', 'forecastSales', 'comment'];
const lines = ['Q1', 'Q2', 'Q3', 'Q4'].flatMap((quarter, q) => [
  { id: `a${q}`, productCategory: 'Laptops', region: 'Europe', quarter, priorYearActual: [90, 95, 100, 125][q] },
  { id: `b${q}`, productCategory: 'Laptops', region: 'Asia', quarter, priorYearActual: q === 2 ? null : 10 },
]);
// Displayed: the Europe lines then the Asia lines, each in quarter order.
const shown = [...lines.filter((l) => l.region === 'Europe'), ...lines.filter((l) => l.region === 'Asia')];
const values = new Map<string, unknown>([
  ['a0/budgetAmount', 100],
  ['a1/budgetAmount', 200],
  ['a0/forecastSales', 300],
  ['a0/comment', 'tab\there, "quoted"'],
]);
const view: View = {
  rowIds: shown.map((l) => l.id),
  columnIds: COLUMNS,
  value: (row, column) => {
    const line = shown[row] as Record<string, unknown>;
    return column in line ? line[column] : values.get(`${line.id}/${column}`);
  },
};
const col = (name: string) => COLUMNS.indexOf(name);
const range = (r1: number, c1: string, r2: number, c2: string) => boundsOf({ anchor: { row: r1, col: col(c1) }, focus: { row: r2, col: col(c2) } });

describe('range actions', () => {
  it('copies raw values as Excel reads them, and reads back what Excel writes', () => {
    const text = toTsv(view, range(0, 'priorYearActual', 1, 'comment'));
    expect(text).toBe('90\t100\t\t300\t"tab\there, ""quoted"""\r\n95\t200\t\t\t\r\n');
    expect(parseBlock(text)).toEqual([
      ['90', '100', '', '300', 'tab\there, "quoted"'],
      ['95', '200', '', '', ''],
    ]);
    expect(parseBlock('1\t2\n3\t4\n')).toEqual([['1', '2'], ['3', '4']]);
    expect(parseBlock('"a\nb"\tc')).toEqual([['a\nb', 'c']]);
  });

  it('clears, fills down and fills by the handle only in editable columns', () => {
    const clear = planClear(view, range(0, 'priorYearActual', 0, 'forecastSales'));
    expect([...clear.changes]).toEqual([['a0/budgetAmount', null], ['a0/forecastSales', null]]);
    const down = planFillDown(view, range(0, 'budgetAmount', 2, 'budgetAmount'));
    expect([...down.changes]).toEqual([['a1/budgetAmount', 100], ['a2/budgetAmount', 100]]);
    // One row: the row above comes down, as in Excel.
    expect([...planFillDown(view, range(1, 'budgetAmount', 1, 'budgetAmount')).changes]).toEqual([['a1/budgetAmount', 100]]);
    // The fill handle repeats the selected rows.
    const handle = planFill(view, range(0, 'budgetAmount', 1, 'budgetAmount'), [0, 1], [2, 4]);
    expect([...handle.changes]).toEqual([['a2/budgetAmount', 100], ['a3/budgetAmount', 200], ['b0/budgetAmount', 100]]);
  });

  it('sets a value per column as typing would, and refuses what typing would refuse', () => {
    const set = planSetValue(view, range(0, 'budgetAmount', 0, 'comment'), '1,5');
    expect([...set.changes]).toEqual([['a0/budgetAmount', 1.5], ['a0/forecastSales', 1.5], ['a0/comment', '1,5']]);
    const refused = planSetValue(view, range(0, 'budgetAmount', 0, 'budgetAmount'), '-3');
    expect(refused.changes.size).toBe(0);
    expect(refused.refused[0]).toMatch(/cannot be negative/);
  });

  it('adds a percentage to the amounts that have one, rounded to cents', () => {
    const plus = planPercent(view, range(0, 'budgetAmount', 2, 'comment'), 10);
    expect([...plus.changes]).toEqual([['a0/budgetAmount', 110], ['a0/forecastSales', 330], ['a1/budgetAmount', 220]]);
    expect(planPercent(view, range(0, 'budgetAmount', 0, 'budgetAmount'), 0.333).changes.get('a0/budgetAmount')).toBe(100.33);
    expect([...planPercent(view, range(0, 'budgetAmount', 0, 'budgetAmount'), -100).changes]).toEqual([['a0/budgetAmount', 0]]);
  });

  it('spreads a year over the quarters of each category and region touched, evenly or by last year, adding up exactly', () => {
    const current = (id: string, column: string) => (values.get(`${id}/${column}`) as number | undefined) ?? null;
    const even = planSpread(view, range(1, 'budgetAmount', 1, 'budgetAmount'), lines, current, 100, 'even');
    expect(even.groups).toBe(1);
    expect([...even.changes]).toEqual([['a0/budgetAmount', 25], ['a1/budgetAmount', 25], ['a2/budgetAmount', 25], ['a3/budgetAmount', 25]]);
    // Thirds of 100: the cent left over lands on the last quarter.
    const seasonal = planSpread(view, range(0, 'budgetAmount', 0, 'budgetAmount'), lines, current, 1000, 'seasonal');
    const europe = [...seasonal.changes.values()] as number[];
    expect(europe).toEqual([219.51, 231.71, 243.9, 304.88]);
    expect(Math.round(europe.reduce((a, b) => a + b) * 100) / 100).toBe(1000);
    // Asia has a quarter without last year's actual: spread evenly, and said so. Two groups, empty figure: their totals again.
    const both = planSpread(view, range(0, 'budgetAmount', 4, 'budgetAmount'), lines, current, null, 'seasonal');
    expect(both.groups).toBe(2);
    expect(both.evenFallback).toBe(1);
    expect(both.changes.get('a0/budgetAmount')).toBe(65.85); // 300 * 90/410
    expect(both.changes.get('b0/budgetAmount')).toBe(0);
  });
});
