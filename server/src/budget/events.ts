/**
 * The budget's live events: a line changed (from the grid, the API or a relay), a unit's submission changed
 * status. They carry what subscription filters need (plan, unit) and the row as the GraphQL type shows it,
 * so fan-out never queries the database.
 */
import type { SubmissionStatus } from './BudgetSubmission.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';
import type { SubmissionSnapshot } from './submissionSnapshot.js';

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

export type BudgetTopics = {
  BUDGET_LINE_CHANGED: BudgetLineChangedEvent;
  SUBMISSION_STATUS_CHANGED: SubmissionStatusChangedEvent;
};

/** Both cross to the other instances. */
export const BUDGET_CLUSTER_TOPICS = ['BUDGET_LINE_CHANGED', 'SUBMISSION_STATUS_CHANGED'] as const satisfies readonly (keyof BudgetTopics)[];
