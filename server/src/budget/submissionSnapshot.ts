/**
 * A unit's submission as plain data, shaped like the GraphQL BudgetSubmission type: what
 * `submissionStatusChanged` events carry, so dashboards get it without a query per subscriber.
 */
import type { BudgetSubmission, SubmissionStatus } from './BudgetSubmission.js';

export interface SubmissionSnapshot {
  id: string;
  planId: string;
  businessUnit: { id: string; code: string; name: string };
  status: SubmissionStatus;
  submittedAt: Date | null;
  submittedBy: { id: string; email: string; displayName: string; role: string } | null;
  executionId: string | null;
}

/** Needs `businessUnit` and `submittedBy` loaded. */
export function snapshotSubmission(row: BudgetSubmission): SubmissionSnapshot {
  const by = row.submittedBy;
  return {
    id: row.id,
    planId: row.plan.id,
    businessUnit: { id: row.businessUnit.id, code: row.businessUnit.code, name: row.businessUnit.name },
    status: row.status,
    submittedAt: row.submittedAt,
    submittedBy: by ? { id: by.id, email: by.email, displayName: by.displayName, role: by.role } : null,
    executionId: row.executionId,
  };
}
