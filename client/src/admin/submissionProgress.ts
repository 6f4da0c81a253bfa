/** Where each unit stands, computed once from the dashboard's data for both the chart and the table. */
import type { SubmissionDashboardQuery } from '../graphql/generated';
import { stepProgress } from '../workflows/model';

export type Submission = SubmissionDashboardQuery['budgetSubmissions'][number];

export interface UnitProgress {
  submission: Submission;
  /** Lines with a budget amount, out of the unit's lines (120 in the demo plan). */
  filled: number;
  lines: number;
  /** The review workflow's steps done, when the person may see it. */
  review: { done: number; total: number } | null;
}

export function unitProgress(data: SubmissionDashboardQuery): UnitProgress[] {
  const counts = new Map<string, { filled: number; lines: number }>();
  for (const line of data.budgetLines) {
    const count = counts.get(line.businessUnit.code) ?? { filled: 0, lines: 0 };
    count.lines += 1;
    if (line.budgetAmount !== null) count.filled += 1;
    counts.set(line.businessUnit.code, count);
  }
  return [...data.budgetSubmissions]
    .sort((a, b) => a.businessUnit.name.localeCompare(b.businessUnit.name))
    .map((submission) => ({
      submission,
      ...(counts.get(submission.businessUnit.code) ?? { filled: 0, lines: 0 }),
      review: submission.execution ? stepProgress(submission.execution) : null,
    }));
}
