/**
 * The events a webhook can take (CONTRACT.md v1.1, "Tools and scripts"), and what each one's `data` holds.
 * The rows of the outbox are written by database triggers in the transaction of the change itself
 * (migrations/Migration20261203160200_Webhooks.ts), so every path that makes the change emits the event:
 * - `submission.status_changed`: a unit's submission changed status (submitted, approved, rejected, withdrawn,
 *   reopened). data: submissionId, planId, planName, businessUnit { id code name }, status, previousStatus,
 *   executionId.
 * - `workflow.step_failed`, `workflow.step_awaiting_input`, `workflow.execution_completed`,
 *   `workflow.execution_failed`: a `workflow_event` row (the workflow's own event log). data: executionId,
 *   definitionKey, stepKey (null for the execution's), status, executionStatus, organizationId, businessUnitId,
 *   eventCursor (the position in `workflowEvents`).
 * - `plan.created`: a PLAN_CREATED activity entry. data: planId, name, fiscalYear, copyFromPlanId, createdBy.
 * - `budget.values_imported`: a VALUES_IMPORTED activity entry, which the spreadsheet import (issue 15) writes
 *   with its import in one transaction: the event comes with it, nothing else to wire. data: subject (the
 *   plan's name as the entry names it), details (the entry's details as the import records them), importedBy.
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
