/**
 * The one event bus of the process: every live event (budget line changes now; workflow and submission
 * events later) is published here once and fanned out to subscribers. In memory today; a Redis-backed
 * event target slots in here for several instances without touching publishers or subscribers.
 *
 * Events carry what subscription filters need (plan, unit), so fan-out never queries the database.
 */
import { createPubSub } from '@graphql-yoga/subscription';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { BudgetLineSnapshot } from '../budget/lineSnapshot.js';
import type { SubmissionSnapshot } from '../budget/submissionSnapshot.js';
import type { WorkflowEventRecord } from '../workflow/transitions.js';

export interface BudgetLineChangedEvent {
  planId: string;
  unitId: string;
  line: BudgetLineSnapshot;
}

/** A unit's submission changed status: open grid connections of the unit re-check their rights. */
export interface SubmissionStatusChangedEvent {
  planId: string;
  unitId: string;
  status: SubmissionStatus;
  submission: SubmissionSnapshot;
}

export function createEventBus() {
  return createPubSub<{
    BUDGET_LINE_CHANGED: [BudgetLineChangedEvent];
    SUBMISSION_STATUS_CHANGED: [SubmissionStatusChangedEvent];
    WORKFLOW_EVENT: [WorkflowEventRecord];
  }>();
}

export type EventBus = ReturnType<typeof createEventBus>;
