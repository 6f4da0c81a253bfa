/**
 * A horizontal bar chart of the units, drawn as SVG: how much of each unit's budget is filled (the bar,
 * coloured by submission status) and how far its review workflow has gone (the thin bar under it). The
 * SVG carries a text description of the same figures; the table beside it has every detail.
 */
import { humanStatus } from '../common/format';
import type { UnitProgress } from './submissionProgress';

const ROW = 58;
const LABEL_WIDTH = 150;
const BAR_WIDTH = 440;
const WIDTH = LABEL_WIDTH + BAR_WIDTH + 150;
const TOP = 8;

const percent = (done: number, total: number) => (total > 0 ? done / total : 0);

export function SubmissionChart({ units }: { units: UnitProgress[] }) {
  const height = TOP + units.length * ROW;
  const description = units
    .map(({ submission, filled, lines, review }) =>
      `${submission.businessUnit.name}: ${humanStatus(submission.status)}, ${filled} of ${lines} budget lines filled` +
      (review ? `, review ${review.done} of ${review.total} steps done.` : '.'),
    )
    .join(' ');
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMinYMin meet">
        <title id="chart-title">Budget lines filled and review progress per business unit</title>
        <desc id="chart-desc">{description}</desc>
        {units.map(({ submission, filled, lines, review }, i) => {
          const y = TOP + i * ROW;
          return (
            <g key={submission.id} transform={`translate(0 ${y})`} data-unit={submission.businessUnit.code}>
              <text x={0} y={18} className="chart-label">{submission.businessUnit.name}</text>
              <text x={0} y={36} className={`chart-status status-${submission.status.toLowerCase()}`}>{humanStatus(submission.status)}</text>
              <rect x={LABEL_WIDTH} y={4} width={BAR_WIDTH} height={20} rx={4} className="chart-track" />
              <rect x={LABEL_WIDTH} y={4} width={Math.max(filled > 0 ? 3 : 0, BAR_WIDTH * percent(filled, lines))} height={20} rx={4}
                className={`chart-bar status-${submission.status.toLowerCase()}`} />
              <text x={LABEL_WIDTH + BAR_WIDTH + 10} y={19} className="chart-value">{filled} / {lines} lines</text>
              {review && (
                <>
                  <rect x={LABEL_WIDTH} y={30} width={BAR_WIDTH} height={7} rx={3} className="chart-track" />
                  <rect x={LABEL_WIDTH} y={30} width={BAR_WIDTH * percent(review.done, review.total)} height={7} rx={3} className="chart-review" />
                  <text x={LABEL_WIDTH + BAR_WIDTH + 10} y={38} className="chart-value small">review {review.done}/{review.total}</text>
                </>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {['DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED'].map((status) => (
          <span key={status}><span className={`swatch status-${status.toLowerCase()}`} />{humanStatus(status)}</span>
        ))}
        <span><span className="swatch review" />Review steps done</span>
      </figcaption>
    </figure>
  );
}
