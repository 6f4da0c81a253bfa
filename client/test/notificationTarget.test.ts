/**
 * Where a notification takes the person, without a browser: the grid of the plan it is about. Without `?plan=`
 * the grid shows the latest fiscal year's plan, so with FY2027 and FY2028 both in the app a review of FY2027 (or a
 * cell of it overwritten) opened FY2028's grid, where that unit was something else and that line did not exist.
 */
import { describe, expect, it } from 'vitest';
import type { NotificationItemFragment as NotificationItem } from '../src/graphql/generated.js';
import { notificationTarget } from '../src/notifications/notificationTarget.js';

const base = { id: '1', at: '2026-12-07T08:00:00Z', read: false, message: 'm', column: null, line: null, actor: null, execution: null } as const;

describe('notificationTarget', () => {
  it("opens the grid of the review's plan", () => {
    const n = { ...base, kind: 'SUBMISSION_REVIEWED', execution: { id: 'e', businessUnit: { code: 'SALES_NORTH' }, input: { planId: 'p-2027', businessUnitCode: 'SALES_NORTH' } } };
    expect(notificationTarget(n as unknown as NotificationItem)).toBe('/grid/SALES_NORTH?plan=p-2027');
  });

  it("opens the overwritten cell in its line's plan", () => {
    const n = {
      ...base,
      kind: 'CELL_OVERWRITTEN',
      column: 'budgetAmount',
      line: { id: 'l1', productCategory: 'Laptops', region: 'Europe', quarter: 'Q1', businessUnit: { code: 'SALES_NORTH' }, plan: { id: 'p-2027' } },
    };
    expect(notificationTarget(n as unknown as NotificationItem)).toBe('/grid/SALES_NORTH?plan=p-2027&line=l1&column=budgetAmount');
  });

  it('without a plan in the execution input, the unit alone', () => {
    const n = { ...base, kind: 'SUBMISSION_REVIEWED', execution: { id: 'e', businessUnit: { code: 'OPS' }, input: null } };
    expect(notificationTarget(n as unknown as NotificationItem)).toBe('/grid/OPS');
  });
});
