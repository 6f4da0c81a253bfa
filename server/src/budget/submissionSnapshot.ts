/**
 * A unit's submission as plain data, shaped like the GraphQL BudgetSubmission type: what
 * `submissionStatusChanged` events carry, so dashboards get it without a query per subscriber.
 */
import type { BudgetSubmission, SubmissionStatus } from './BudgetSubmission.js';

type PersonSnapshot = { id: string; email: string; displayName: string; role: string };

export interface SubmissionSnapshot {
  id: string;
  planId: string;
  businessUnit: { id: string; code: string; name: string };
  status: SubmissionStatus;
  submittedAt: Date | null;
  submittedBy: PersonSnapshot | null;
  executionId: string | null;
  version: number;
  reviewComment: string | null;
  reviewedBy: PersonSnapshot | null;
  reviewedAt: Date | null;
}

function person(by: BudgetSubmission['submittedBy']): PersonSnapshot | null {
  return by ? { id: by.id, email: by.email, displayName: by.displayName, role: by.role } : null;
}

/** Needs `businessUnit`, `submittedBy` and `reviewedBy` loaded. */
export function snapshotSubmission(row: BudgetSubmission): SubmissionSnapshot {
  return {
    id: row.id,
    planId: row.plan.id,
    businessUnit: { id: row.businessUnit.id, code: row.businessUnit.code, name: row.businessUnit.name },
    status: row.status,
    submittedAt: row.submittedAt,
    submittedBy: person(row.submittedBy),
    executionId: row.executionId,
    version: row.version,
    reviewComment: row.reviewComment,
    reviewedBy: person(row.reviewedBy),
    reviewedAt: row.reviewedAt,
  };
}
