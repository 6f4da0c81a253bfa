/**
 * The budget's live events: a line changed (from the grid, the API or a relay), a unit's submission changed
 * status, a plan was closed or reopened. They carry what subscription filters need (plan, unit) and the row as the GraphQL type shows it,
 * so fan-out never queries the database.
 */
import type { PlanStatus } from './BudgetPlan.js';
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

/** A plan was closed or reopened (setBudgetPlanStatus): open grid connections of the plan re-check their rights. */
export interface PlanStatusChangedEvent {
  planId: string;
  status: PlanStatus;
}

/**
 * Lines were added to or removed from one unit of a plan (addBudgetLines, removeBudgetLines; planLines.ts), once
 * committed: open grid documents of the unit accept the new lines' cells and drop the removed ones'
 * (collab/GridServer.ts), and `budgetLinesStructureChanged` tells the unit's readers, whose grids add and drop
 * the rows. One event per unit, so that the subscription's filter is the unit's, like `budgetLineChanged`'s.
 */
export interface LinesRestructuredEvent {
  planId: string;
  unitId: string;
  unit: { id: string; code: string; name: string };
  /** The new lines, as `budgetLines` shows them. */
  added: BudgetLineSnapshot[];
  removedLineIds: string[];
}

export type BudgetTopics = {
  BUDGET_LINE_CHANGED: BudgetLineChangedEvent;
  SUBMISSION_STATUS_CHANGED: SubmissionStatusChangedEvent;
  PLAN_STATUS_CHANGED: PlanStatusChangedEvent;
  BUDGET_LINES_RESTRUCTURED: LinesRestructuredEvent;
};

/** All cross to the other instances. */
export const BUDGET_CLUSTER_TOPICS = ['BUDGET_LINE_CHANGED', 'SUBMISSION_STATUS_CHANGED', 'PLAN_STATUS_CHANGED', 'BUDGET_LINES_RESTRUCTURED'] as const satisfies readonly (keyof BudgetTopics)[];
