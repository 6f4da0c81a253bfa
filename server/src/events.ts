/**
 * The bus this process runs: every capability's topics together, and which of them cross to the other
 * instances. Each capability declares its own topics beside its code (budget/events.ts, workflow/events.ts,
 * realtime/sessionEvents.ts) and is typed against those only; this composition is the one place that
 * knows them all.
 */
import type { BudgetTopics } from './budget/events.js';
import { BUDGET_CLUSTER_TOPICS } from './budget/events.js';
import type { NotificationTopics } from './notifications/events.js';
import { createEventBus, type EventBus } from './realtime/eventBus.js';
import type { RedisLink } from './realtime/redisLink.js';
import { SESSION_CLUSTER_TOPICS, type SessionTopics } from './realtime/sessionEvents.js';
import { WORKFLOW_CLUSTER_TOPICS, type WorkflowTopics } from './workflow/events.js';

export type PlansyncTopics = BudgetTopics & WorkflowTopics & SessionTopics & NotificationTopics;

export type PlansyncBus = EventBus<PlansyncTopics>;

/** In memory without a link; shared with the other instances through Redis with one. */
export function createPlansyncBus(link?: RedisLink): PlansyncBus {
  return createEventBus<PlansyncTopics>({
    link,
    clusterTopics: [...BUDGET_CLUSTER_TOPICS, ...WORKFLOW_CLUSTER_TOPICS, ...SESSION_CLUSTER_TOPICS],
  });
}
