/**
 * The events a webhook can take (CONTRACT.md v1.1, "Tools and scripts"), and what each one's `data` holds.
 * The rows of the outbox are written by database triggers in the transaction of the change itself
 * (migrations/Migration20261203160200_Webhooks.ts), so every path that makes the change emits the event:
 * - `submission.status_changed`: a unit's submission changed status (submitted, approved, rejected, withdrawn,
 *   reopened). data: submissionId, planId, planName, businessUnit { id code name }, status, previousStatus,
 *   executionId, version, reviewComment, reviewedAt, reviewedBy (an email; the review of the current version).
 * - `workflow.step_failed`, `workflow.step_awaiting_input`, `workflow.execution_completed`,
 *   `workflow.execution_failed`: a `workflow_event` row (the workflow's own event log). data: executionId,
 *   definitionKey, stepKey (null for the execution's), status, executionStatus, organizationId, businessUnitId,
 *   eventCursor (the position in `workflowEvents`).
 * - `plan.created`: a PLAN_CREATED activity entry. data: planId, name, fiscalYear, copyFromPlanId, createdBy.
 * - `budget.values_imported`: a VALUES_IMPORTED activity entry. The spreadsheet import (spreadsheets/importLines.ts)
 *   writes it once its cells are in (they go through the grid's write path, in transactions of their own), when it
 *   applied any; the prior-year actuals load (workflow/priorYearActuals.ts) in the transaction of its writes.
 *   data: subject (the plan's name), details (what the writer records; the import: planId, businessUnitCodes,
 *   applied, unchanged, rejected, format), importedBy.
 * Payloads carry what an admin may read and never a secret: webhooks are admins' integrations.
 */
export const WEBHOOK_EVENTS = [
  'submission.status_changed',
  'workflow.step_failed',
  'workflow.step_awaiting_input',
  'workflow.execution_completed',
  'workflow.execution_failed',
  'plan.created',
  'budget.values_imported',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export function isWebhookEvent(name: string): name is WebhookEvent {
  return (WEBHOOK_EVENTS as readonly string[]).includes(name);
}

export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
