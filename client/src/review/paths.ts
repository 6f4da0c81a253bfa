/** Where the reviewer's diff view of a unit's submission lives. */
export const reviewPathOf = (planId: string, unitCode: string) => `/review/${encodeURIComponent(planId)}/${encodeURIComponent(unitCode)}`;

/** The diff view of a budget_submission run (its input names the plan and the unit), or null for any other run. */
export function reviewPath(execution: { definitionKey: string; input?: unknown }): string | null {
  if (execution.definitionKey !== 'budget_submission') return null;
  const input = (execution.input ?? {}) as { planId?: unknown; businessUnitCode?: unknown };
  return typeof input.planId === 'string' && typeof input.businessUnitCode === 'string' ? reviewPathOf(input.planId, input.businessUnitCode) : null;
}
