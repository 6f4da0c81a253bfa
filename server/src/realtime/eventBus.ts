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

/** A person's role, units or organisation changed: their open sockets must not keep the old rights. */
export interface UserAccessChangedEvent {
  userId: string;
}

export function createEventBus() {
  return createPubSub<BusTopics>();
}

export type EventBus = ReturnType<typeof createEventBus>;

type TopicPayload<K extends keyof BusTopics> = BusTopics[K][0];
type BusTopics = {
  BUDGET_LINE_CHANGED: [BudgetLineChangedEvent];
  SUBMISSION_STATUS_CHANGED: [SubmissionStatusChangedEvent];
  WORKFLOW_EVENT: [WorkflowEventRecord];
  USER_ACCESS_CHANGED: [UserAccessChangedEvent];
};

/**
 * Calls `handler` for every event of `topic` from now on (for server-side listeners such as the grid
 * server, not subscriptions); returns the function that stops listening.
 */
export function onEvent<K extends keyof BusTopics>(bus: EventBus, topic: K, handler: (event: TopicPayload<K>) => void): () => void {
  const iterator = (bus.subscribe as (t: K) => AsyncIterable<TopicPayload<K>>)(topic)[Symbol.asyncIterator]();
  let running = true;
  // The first next() attaches the listener (the subscription is a lazy Repeater), synchronously.
  let next = iterator.next();
  void (async () => {
    while (running) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      try {
        handler(result.value);
      } catch {
        // A failing listener must not stop the others, nor this loop.
      }
    }
  })();
  return () => {
    running = false;
    void iterator.return?.();
  };
}
