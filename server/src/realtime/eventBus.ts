/**
 * The one event bus of the process: every live event (budget line changes now; workflow and submission
 * events later) is published here once and fanned out to subscribers. In memory today; a Redis-backed
 * event target slots in here for several instances without touching publishers or subscribers.
 *
 * Events carry what subscription filters need (plan, unit), so fan-out never queries the database.
 */
import { createPubSub } from '@graphql-yoga/subscription';
import type { BudgetLineSnapshot } from '../budget/lineSnapshot.js';

export interface BudgetLineChangedEvent {
  planId: string;
  unitId: string;
  line: BudgetLineSnapshot;
}

export interface Topics {
  BUDGET_LINE_CHANGED: [BudgetLineChangedEvent];
  [topic: string]: [unknown] | [string, unknown];
}

export function createEventBus() {
  return createPubSub<{ BUDGET_LINE_CHANGED: [BudgetLineChangedEvent] }>();
}

export type EventBus = ReturnType<typeof createEventBus>;
