/**
 * Each unit's budget total beside last year's actuals: two bars per unit on one scale (inline SVG, no library),
 * with the total and the variance in words at the right. The SVG is one image with a text description of the
 * same figures; the table under it has every detail.
 */
import { formatPercent } from '../grid/cells';
import { formatCompact, type UnitTotals } from './unitTotals';
import './review.css';

const ROW = 46;
const LABEL = 160;
const VALUE = 290;
const WIDTH = 900;
const BAR = 14;

export interface ChartUnit {
  code: string;
  name: string;
  totals: UnitTotals;
  /** Lines with a budget, out of the unit's lines: a partial budget's variance says so. */
  filled: number;
  lines: number;
}

/** The variance in words: "+4.2% vs last year", "no budget yet". */
export function varianceText({ totals, filled }: Pick<ChartUnit, 'totals' | 'filled'>): string {
  if (filled === 0) return 'no budget yet';
  if (totals.variancePct === null) return 'no last year';
  return `${formatPercent(totals.variancePct)} vs last year`;
}

/** Under it: last year's figure, and how much of the budget is in ("12 of 120 lines budgeted"). */
const priorText = ({ totals, filled, lines }: ChartUnit) =>
  `${formatCompact(totals.priorYear)} last year${filled > 0 && filled < lines ? ` · ${filled} of ${lines} lines budgeted` : ''}`;

const tone = (u: ChartUnit) => {
  const pct = u.totals.variancePct;
  return u.filled === 0 || pct === null ? 'none' : pct > 0 ? 'up' : pct < 0 ? 'down' : 'none';
};

export function describeTotals(units: readonly ChartUnit[]): string {
  return units
    .map((u) => (u.filled > 0 ? `${u.name}: budget ${formatCompact(u.totals.budget)}, ${varianceText(u)}; ${priorText(u)}.` : `${u.name}: ${varianceText(u)}; ${priorText(u)}.`))
    .join(' ');
}

export function VarianceChart({ units }: { units: readonly ChartUnit[] }) {
  const max = Math.max(1, ...units.flatMap((u) => [u.totals.budget, u.totals.priorYear]));
  const span = WIDTH - LABEL - VALUE - 10;
  const length = (value: number) => (value > 0 ? Math.max(2, (value / max) * span) : 0);
  const height = units.length * ROW + 4;
  return (
    <figure className="variance-chart" data-testid="variance-chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="variance-title variance-desc">
        <title id="variance-title">Budget total against last year's actuals per business unit</title>
        <desc id="variance-desc">{describeTotals(units)}</desc>
        {units.map((unit, index) => {
          const { code, name, totals } = unit;
          const y = index * ROW + 4;
          return (
            <g key={code} data-unit={code} transform={`translate(0 ${y})`}>
              <text className="unit" x={0} y={BAR + 4}>{name}</text>
              <line className="axis" x1={LABEL} x2={LABEL} y1={0} y2={2 * BAR + 4} />
              <rect className="bar-budget" x={LABEL} y={0} width={length(totals.budget)} height={BAR} rx={3} />
              <rect className="bar-prior" x={LABEL} y={BAR + 4} width={length(totals.priorYear)} height={BAR} rx={3} />
              {/* No budget yet is a dash, as in the grid and the consolidated view: "0" would read as a budget of nothing. */}
              <text x={WIDTH - VALUE + 10} y={BAR - 2}>{unit.filled > 0 ? formatCompact(totals.budget) : '—'}</text>
              <text x={WIDTH - VALUE + 60} y={BAR - 2} className={tone(unit)}>{varianceText(unit)}</text>
              <text x={WIDTH - VALUE + 10} y={2 * BAR + 2} className="none">{priorText(unit)}</text>
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        <span><span className="swatch budget" />Budget total</span>
        <span><span className="swatch prior" />Last year's actuals</span>
      </figcaption>
    </figure>
  );
}
