/**
 * What a subscription's context carries besides GraphQLContext when it runs over graphql-ws: where its
 * results go, and the fanouts that send them (realtime/fanout.ts).
 */
import type { GraphQLContext } from '../graphql/context.js';
import type { WorkflowEventRecord } from '../workflow/transitions.js';
import type { BudgetLineChangedEvent, SubmissionStatusChangedEvent } from './eventBus.js';
import type { LiveDelivery, TopicFanout } from './fanout.js';

/** One fanout per bus topic that subscriptions follow, by the topic. */
export interface LiveFanouts {
  WORKFLOW_EVENT_ORDERED: TopicFanout<WorkflowEventRecord>;
  BUDGET_LINE_CHANGED: TopicFanout<BudgetLineChangedEvent>;
  SUBMISSION_STATUS_CHANGED: TopicFanout<SubmissionStatusChangedEvent>;
}

export interface SubscriptionContext extends GraphQLContext {
  live?: { delivery: LiveDelivery; fanouts: LiveFanouts };
}

/** The subscription's delivery; subscriptions are only served over graphql-ws, which sets it. */
export function liveOf(ctx: GraphQLContext): NonNullable<SubscriptionContext['live']> {
  const live = (ctx as SubscriptionContext).live;
  if (!live) throw new Error('Subscriptions are served over graphql-ws (/graphql websocket) only');
  return live;
}
