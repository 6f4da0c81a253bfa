/**
 * What a subscription's context carries besides GraphQLContext when it runs over graphql-ws: where its
 * results go, and the fanouts that send them (realtime/fanout.ts), one per bus topic that some subscription
 * follows. The transport knows no topic: each capability's subscription names its own (`liveTopics`).
 */
import type { GraphQLContext } from '../graphql/context.js';
import type { TopicMap } from './eventBus.js';
import type { LiveDelivery, TopicFanout } from './fanout.js';

export interface LiveSubscriptions {
  delivery: LiveDelivery;
  /** The fanout of a bus topic, made on first use and shared by every socket of this server. */
  fanout(topic: string): TopicFanout<object>;
}

export interface SubscriptionContext extends GraphQLContext {
  live?: LiveSubscriptions;
}

/** The subscription's delivery; subscriptions are only served over graphql-ws, which sets it. */
export function liveOf(ctx: GraphQLContext): LiveSubscriptions {
  const live = (ctx as SubscriptionContext).live;
  if (!live) throw new Error('Subscriptions are served over graphql-ws (/graphql websocket) only');
  return live;
}

/** The live side of a subscription typed by a capability's own topics: `liveTopics<BudgetTopics>(ctx).fanout('BUDGET_LINE_CHANGED')`. */
export function liveTopics<T extends TopicMap>(ctx: GraphQLContext) {
  const live = liveOf(ctx);
  return {
    delivery: live.delivery,
    fanout: <K extends keyof T & string>(topic: K) => live.fanout(topic) as unknown as TopicFanout<T[K] & object>,
  };
}
