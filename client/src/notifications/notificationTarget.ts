/**
 * Where a notification takes the person (the bell's links), without React or Apollo: a pure function, tested on its
 * own (client/test/notificationTarget.test.ts).
 */
import type { NotificationItemFragment as NotificationItem } from '../graphql/generated.js';

/** The plan a budget review's execution is of (its input names it), if it says. */
function planOfExecution(input: unknown): string | null {
  const planId = input && typeof input === 'object' ? (input as { planId?: unknown }).planId : null;
  return typeof planId === 'string' ? planId : null;
}

/**
 * Where a notification takes the person: the grid of the plan it is about (without `?plan=` the grid shows the
 * latest fiscal year's, so a review of FY2027 opened FY2028's grid, and a cell of FY2027 was not found there).
 */
export function notificationTarget(n: NotificationItem): string {
  switch (n.kind) {
    case 'CELL_OVERWRITTEN': {
      if (!n.line) return '/grid';
      const plan = `plan=${encodeURIComponent(n.line.plan.id)}&`;
      return `/grid/${encodeURIComponent(n.line.businessUnit.code)}?${plan}line=${encodeURIComponent(n.line.id)}${n.column ? `&column=${encodeURIComponent(n.column)}` : ''}`;
    }
    case 'SUBMISSION_REVIEWED': {
      if (!n.execution?.businessUnit) return '/grid';
      const planId = planOfExecution(n.execution.input);
      return `/grid/${encodeURIComponent(n.execution.businessUnit.code)}${planId ? `?plan=${encodeURIComponent(planId)}` : ''}`;
    }
    case 'STEP_AWAITING_INPUT':
    case 'STEP_FAILED':
      return n.execution ? `/workflows/${encodeURIComponent(n.execution.id)}` : '/workflows';
    default:
      return '/';
  }
}
