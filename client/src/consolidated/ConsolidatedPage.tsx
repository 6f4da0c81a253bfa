/**
 * The consolidated view (read-only): every unit's budget of a plan that the person may read, summed by business
 * unit, product category or region, and within each by a second of them, with the budget per quarter, the year,
 * last year, the variance and how many lines have a budget. The totals row stays in sight at the bottom. It
 * follows edits live (budgetLineChanged for the whole plan), so an analyst watching the cycle sees units fill in.
 *
 * Why a table of our own rather than the grid: AG Grid's row grouping and aggregation are Enterprise features,
 * and a grouped summary of a few hundred rows needs neither virtual scrolling nor editing. The grouping itself
 * is grouping.ts.
 */
import { useEffect, useMemo, useState } from 'react';
import { useQuery, useSubscription } from '@apollo/client/react';
import { Link, useSearchParams } from 'react-router';
import {
  ConsolidatedLinesDocument,
  ConsolidatedLineChangedDocument,
  ConsolidatedPlansDocument,
  ConsolidatedStructureChangedDocument,
} from '../graphql/generated';
import { useFreshRefetch } from '../common/freshRefetch';
import { ErrorMessage, Loading } from '../common/Status';
import { PlanPicker, usePlanChoice } from '../common/planChoice';
import { download, toCsv } from '../common/csv';
import { consolidate, DIMENSION_LABEL, variance, type Dimension, type Figures, type LineFigures } from './grouping';
import { FigureCells, FigureHeaders, TotalsFoot } from './figures';

const DIMENSIONS = Object.keys(DIMENSION_LABEL) as Dimension[];
const isDimension = (value: string | null): value is Dimension => value !== null && (DIMENSIONS as string[]).includes(value);

interface Grouping {
  first: Dimension;
  second: Dimension | null;
}

/** The grouping an address asks for: by unit then product category unless it says otherwise. */
function groupingOf(params: URLSearchParams): Grouping {
  const by = params.get('by');
  const first: Dimension = isDimension(by) ? by : 'unit';
  const then = params.get('then');
  const second: Dimension | null = then === 'none' ? null : isDimension(then) && then !== first ? then : first === 'productCategory' ? 'region' : 'productCategory';
  return { first, second };
}

export function ConsolidatedPage() {
  const plans = useQuery(ConsolidatedPlansDocument);
  const { plan, choose } = usePlanChoice(plans.data?.budgetPlans ?? []);
  const [params, setParams] = useSearchParams();
  // The grouping is in the address, so that a link or a reload shows the same view.
  const { first, second } = groupingOf(params);
  /**
   * Changes the grouping from the one in the address as it is now, not as this render saw it: a second choice made
   * before the page has drawn the first one (the address changes first) keeps the first.
   */
  const regroup = (change: (current: Grouping) => Grouping) =>
    setParams((current) => {
      const { first: by, second: then } = change(groupingOf(current));
      const next = new URLSearchParams(current);
      next.set('by', by);
      next.set('then', then ?? 'none');
      return next;
    });

  if (plans.error) return <ErrorMessage error={plans.error} retry={() => void plans.refetch()} />;
  if (!plans.data) return <Loading what="the plans" />;
  if (!plan) return <section className="panel">There is no budget plan yet.</section>;
  return (
    <section className="panel consolidated">
      <h1>Consolidated budget</h1>
      <div className="grid-toolbar">
        <PlanPicker plans={plans.data.budgetPlans} current={plan.id} onPick={choose} />
        <label>
          Group by
          <select
            value={first}
            onChange={(e) => {
              const by = e.target.value as Dimension;
              regroup((current) => ({ first: by, second: current.second === by ? null : current.second }));
            }}
          >
            {DIMENSIONS.map((d) => <option key={d} value={d}>{DIMENSION_LABEL[d]}</option>)}
          </select>
        </label>
        <label>
          then by
          <select
            value={second ?? 'none'}
            onChange={(e) => {
              const then = e.target.value === 'none' ? null : (e.target.value as Dimension);
              regroup((current) => ({ first: current.first, second: then === current.first ? null : then }));
            }}
          >
            <option value="none">Nothing</option>
            {DIMENSIONS.filter((d) => d !== first).map((d) => <option key={d} value={d}>{DIMENSION_LABEL[d]}</option>)}
          </select>
        </label>
      </div>
      <ConsolidatedTable planId={plan.id} planName={plan.name} first={first} second={second} />
    </section>
  );
}

function ConsolidatedTable({ planId, planName, first, second }: { planId: string; planName: string; first: Dimension; second: Dimension | null }) {
  const query = useQuery(ConsolidatedLinesDocument, { variables: { planId } });
  const { data, error, refetch } = query;
  const structureChanged = useFreshRefetch(query.observable, query.loading);
  // Changed lines update the cache by id; added or removed ones need the plan read again.
  useSubscription(ConsolidatedLineChangedDocument, { variables: { planId } });
  useSubscription(ConsolidatedStructureChangedDocument, { variables: { planId }, onData: () => void structureChanged() });
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => setCollapsed(new Set()), [first, second]);

  const lines: LineFigures[] = useMemo(
    () =>
      (data?.budgetLines ?? []).map((l) => ({
        unit: l.businessUnit.code,
        productCategory: l.productCategory,
        region: l.region,
        quarter: l.quarter,
        priorYearActual: l.priorYearActual ?? null,
        budgetAmount: l.budgetAmount ?? null,
        forecastSales: l.forecastSales ?? null,
      })),
    [data],
  );
  const unitNames = useMemo(() => new Map((data?.budgetLines ?? []).map((l) => [l.businessUnit.code, l.businessUnit.name])), [data]);
  const result = useMemo(() => consolidate(lines, first, second), [lines, first, second]);

  if (error) return <ErrorMessage error={error} retry={() => void refetch()} />;
  if (!data) return <Loading what="the plan's lines" />;
  if (lines.length === 0) return <p className="muted">This plan has no lines you may read.</p>;

  const label = (dimension: Dimension, value: string) => (dimension === 'unit' ? `${unitNames.get(value) ?? value} (${value})` : value);
  const toggle = (key: string) =>
    setCollapsed((current) => {
      const next = new Set(current);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const shown = result.rows.filter((row) => row.level === 0 || !collapsed.has(row.path[0]));

  /**
   * A sum as the file says it: without the binary noise of adding decimal amounts in floating point (0.1 + 0.2 was
   * written "0.30000000000000004", 1100.0000000000002 for 1,100), rounded at the sixth decimal, far below a cent and
   * above that noise for any amount up to 1e12; the amounts entered keep their own decimals.
   */
  const sumText = (value: number | null) => (value === null ? null : Number(value.toFixed(6)));

  function exportCsv() {
    const header = [DIMENSION_LABEL[first], ...(second ? [DIMENSION_LABEL[second]] : []), ...result.quarters.map((q) => `Budget ${q}`),
      'Budget amount', 'Prior-year actual', 'Variance (budgeted lines)', 'Forecast sales', 'Lines', 'Lines with a budget'];
    const figures = (f: Figures) => {
      const v = variance(f);
      // Empty where nothing is budgeted or forecast, as on the page: a zero would read as a decision.
      return [...result.quarters.map((q) => sumText(f.budgetByQuarter[q] ?? null)), sumText(f.budgeted > 0 ? f.budget : null), sumText(f.priorLines > 0 ? f.prior : null),
        sumText(v ? v.amount : null), sumText(f.forecasted > 0 ? f.forecast : null), f.lines, f.budgeted];
    };
    const rows = result.rows.map((row) => [row.path[0], ...(second ? [row.path[1] ?? ''] : []), ...figures(row)]);
    rows.push(['Total', ...(second ? [''] : []), ...figures(result.total)]);
    download(`consolidated-${planName}-by-${first}${second ? `-${second}` : ''}.csv`, toCsv(header, rows));
  }

  return (
    <>
      <p className="muted small">
        {lines.length.toLocaleString()} lines of {unitNames.size} {unitNames.size === 1 ? 'unit' : 'units'}, live. Read-only: open a unit's grid to change it.{' '}
        <button type="button" className="link" onClick={exportCsv}>Download this view (CSV)</button>
      </p>
      <div className="consolidated-table">
        <table className="data" aria-label="Consolidated budget">
          <thead>
            <tr>
              <th>{DIMENSION_LABEL[first]}{second ? ` / ${DIMENSION_LABEL[second]}` : ''}</th>
              <FigureHeaders quarters={result.quarters} />
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => {
              const key = row.path.join('\u0000');
              const open = !collapsed.has(row.path[0]);
              return (
                <tr key={key} className={row.level === 0 ? 'group' : 'subgroup'} data-level={row.level}>
                  <th scope="row">
                    {row.level === 0 ? (
                      <>
                        {second && (
                          <button type="button" className="link toggle" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${label(first, row.path[0])}`} onClick={() => toggle(row.path[0])}>
                            {open ? '▾' : '▸'}
                          </button>
                        )}
                        {first === 'unit' ? <Link to={`/grid/${encodeURIComponent(row.path[0])}?plan=${encodeURIComponent(planId)}`}>{label(first, row.path[0])}</Link> : label(first, row.path[0])}
                      </>
                    ) : (
                      <span className="indent">{label(second!, row.path[1])}</span>
                    )}
                  </th>
                  <FigureCells figures={row} quarters={result.quarters} />
                </tr>
              );
            })}
          </tbody>
          <TotalsFoot total={result.total} quarters={result.quarters} testId="consolidated-total" />
        </table>
      </div>
    </>
  );
}
