/**
 * A horizontal bar chart of the units, drawn by recharts (the charting library every chart of ours uses):
 * how much of each unit's budget is filled (the bar, coloured by submission status) and how far its review
 * workflow has gone (the thin bar under it). The SVG is one image for assistive technology, with a text
 * description of the same figures; the table beside it has every detail.
 *
 * recharts is loaded with the submissions page only (Shell loads that page with React.lazy), so the sign-in
 * and grid pages do not carry it. Colours come from styles.css (the `status-*` classes), not from here.
 *
 * Out of scope: tooltips and keyboard exploration (the table is the accessible way through the details).
 */
import { Bar, BarChart, Rectangle, XAxis, YAxis, type BarShapeProps, type YAxisTickContentProps } from 'recharts';
import { humanStatus } from '../common/format';
import type { UnitProgress } from './submissionProgress';

/** Height of one unit's row, and the widths of the labels left and right of the bars, in pixels. */
const ROW = 58;
const LABEL_WIDTH = 150;
const VALUE_WIDTH = 150;
const MAX_WIDTH = 740;
const MARGIN = { top: 8, right: 0, bottom: 0, left: 0 };

const share = (done: number, total: number) => (total > 0 ? done / total : 0);

/** One bar of the chart: a unit's figures as shares of its totals, keyed by the unit's code. */
interface ChartRow {
  code: string;
  progress: UnitProgress;
  filledShare: number;
  /** Null hides the review bar and its track: the unit has no review the person may see. */
  reviewShare: number | null;
}

export function chartRows(units: readonly UnitProgress[]): ChartRow[] {
  return units.map((progress) => ({
    code: progress.submission.businessUnit.code,
    progress,
    filledShare: share(progress.filled, progress.lines),
    reviewShare: progress.review ? share(progress.review.done, progress.review.total) : null,
  }));
}

/** The chart's figures as sentences, for the SVG's <desc> (what a screen reader says for the image). */
export function describeProgress(units: readonly UnitProgress[]): string {
  return units
    .map(({ submission, filled, lines, review }) =>
      `${submission.businessUnit.name}: ${humanStatus(submission.status)}, ${filled} of ${lines} budget lines filled` +
      (review ? `, review ${review.done} of ${review.total} steps done.` : '.'),
    )
    .join(' ');
}

const statusClass = (progress: UnitProgress) => `status-${progress.submission.status.toLowerCase()}`;

export function SubmissionChart({ units }: { units: UnitProgress[] }) {
  const rows = chartRows(units);
  const byCode = new Map(rows.map((row) => [row.code, row.progress]));
  const height = MARGIN.top + rows.length * ROW;

  /** Left of the bars: the unit's name, and its status under it. */
  const unitTick = ({ y, payload }: YAxisTickContentProps) => {
    const progress = byCode.get(String(payload.value));
    if (!progress) return null;
    return (
      <g transform={`translate(0 ${Number(y) - ROW / 2})`} data-unit={progress.submission.businessUnit.code}>
        <text x={0} y={22} className="chart-label">{progress.submission.businessUnit.name}</text>
        <text x={0} y={40} className={`chart-status ${statusClass(progress)}`}>{humanStatus(progress.submission.status)}</text>
      </g>
    );
  };

  /** Right of the bars: the figures behind them. */
  const valueTick = ({ x, y, payload }: YAxisTickContentProps) => {
    const progress = byCode.get(String(payload.value));
    if (!progress) return null;
    return (
      <g transform={`translate(${Number(x) + 10} ${Number(y) - ROW / 2})`}>
        <text x={0} y={23} className="chart-value">{progress.filled} / {progress.lines} lines</text>
        {progress.review && (
          <text x={0} y={42} className="chart-value small">review {progress.review.done}/{progress.review.total}</text>
        )}
      </g>
    );
  };

  /** The filled bar, coloured by the unit's status through its class. */
  const filledBar = (props: BarShapeProps) => (
    <Rectangle {...props} className={`chart-bar ${statusClass((props.payload as ChartRow).progress)}`} />
  );
  /** The review bar and its track only where there is a review. */
  const reviewBar = (className: string) => (props: BarShapeProps) =>
    (props.payload as ChartRow).reviewShare === null ? <g /> : <Rectangle {...props} className={className} />;

  return (
    <figure className="chart">
      <BarChart
        data={rows}
        layout="vertical"
        responsive
        style={{ width: '100%', maxWidth: MAX_WIDTH, height }}
        margin={MARGIN}
        barGap={6}
        role="img"
        title="Budget lines filled and review progress per business unit"
        desc={describeProgress(units)}
        accessibilityLayer={false}
      >
        <XAxis type="number" domain={[0, 1]} hide />
        <YAxis yAxisId="units" type="category" dataKey="code" width={LABEL_WIDTH} axisLine={false} tickLine={false} tick={unitTick} />
        <YAxis yAxisId="values" orientation="right" type="category" dataKey="code" width={VALUE_WIDTH} axisLine={false} tickLine={false} tick={valueTick} />
        <Bar yAxisId="units" dataKey="filledShare" barSize={20} radius={4} isAnimationActive={false}
          minPointSize={(value) => (Number(value) > 0 ? 3 : 0)}
          background={{ className: 'chart-track', radius: 4 }} shape={filledBar} />
        <Bar yAxisId="units" dataKey="reviewShare" barSize={7} radius={3} isAnimationActive={false}
          background={reviewBar('chart-track')} shape={reviewBar('chart-review')} />
      </BarChart>
      <figcaption className="legend">
        {['DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED'].map((status) => (
          <span key={status}><span className={`swatch status-${status.toLowerCase()}`} />{humanStatus(status)}</span>
        ))}
        <span><span className="swatch review" />Review steps done</span>
      </figcaption>
    </figure>
  );
}
