/**
 * The review loop's words, pure functions without a browser: what the submit dialog counts as incomplete, how a
 * budget_submission run's status and steps read in the monitor.
 */
import { describe, expect, it } from 'vitest';
import type { GridRow } from '../src/review/readiness.js';
import { describeFar, describeMissing, isFarFromPriorYear, readinessOf } from '../src/review/readiness.js';
import { describeStep, shownStatus } from '../src/review/outcome.js';

const row = (id: string, budgetAmount: number | null, priorYearActual: number | null, comment = ''): GridRow => ({
  id, productCategory: 'Laptops', region: 'Europe', quarter: 'Q1', priorYearActual, budgetAmount, comment,
});

describe('submit readiness', () => {
  it('counts lines without a budget, and lines over 50% from last year without a comment', () => {
    const r = readinessOf([row('a', null, 100), row('b', 100, 100), row('c', 151, 100), row('d', 49, 100, 'new shop'), row('e', 10, 0), row('f', 10, null)]);
    expect(r.missingBudget.map((x) => x.id)).toEqual(['a']);
    expect(r.farWithoutComment.map((x) => x.id)).toEqual(['c']);
    expect(describeMissing(r)).toBe('1 of 6 lines has no budget.');
    expect(describeFar(r)).toBe("1 line is more than 50% away from last year's actual and has no comment.");
    expect(r.totalBudget).toBe(320);
    expect(r.budgetedPriorYear).toBe(300); // the budgeted lines' last year only
    expect(isFarFromPriorYear({ budgetAmount: 150, priorYearActual: 100 })).toBe(false); // exactly 50% is not more
    expect(describeMissing(readinessOf(Array.from({ length: 120 }, (_, i) => row(String(i), i < 12 ? 1 : null, 1))))).toBe('108 of 120 lines have no budget.');
  });
});

describe('a budget submission in the monitor', () => {
  const step = (key: string, status: string, input: unknown, output: unknown) => ({ key, status, input, output }) as never;
  const run = (status: string, decision: string | null) => ({
    definitionKey: 'budget_submission',
    status,
    steps: [step('finance_review', decision ? 'SUCCEEDED' : 'AWAITING_INPUT', decision ? { decision, comment: 'too high in Q3' } : null, null)],
  }) as never;

  it('is Approved or Rejected once reviewed, unless it failed or was cancelled', () => {
    expect(shownStatus(run('COMPLETED', 'APPROVE'))).toEqual({ status: 'APPROVED', label: 'Approved' });
    expect(shownStatus(run('RUNNING', 'REJECT'))).toEqual({ status: 'REJECTED', label: 'Rejected' });
    expect(shownStatus(run('FAILED', 'APPROVE'))).toEqual({ status: 'FAILED' });
    expect(shownStatus(run('AWAITING_INPUT', null))).toEqual({ status: 'AWAITING_INPUT' });
  });

  it('says each step in words', () => {
    expect(describeStep(step('validate_budget', 'SUCCEEDED', null, { lines: 120, missingBudgetAmount: 108, totalBudgetAmount: 5000, totalPriorYearActual: 0 })))
      .toBe('120 lines, 108 without budget; budget total 5,000');
    expect(describeStep(step('finance_review', 'SUCCEEDED', { decision: 'REJECT', comment: 'too high in Q3' }, { providedBy: 'analyst@example.com' })))
      .toBe('Rejected by analyst@example.com: too high in Q3');
    expect(describeStep(step('finance_review', 'SUCCEEDED', { decision: 'APPROVE' }, { providedBy: 'a@example.com', providedByName: 'Ann Analyst' })))
      .toBe('Approved by Ann Analyst');
    expect(describeStep(step('publish_to_powerbi', 'SKIPPED', null, { reason: 'The budget was rejected' }))).toBe('Not published: the budget was rejected');
    expect(describeStep(step('publish_to_powerbi', 'SUCCEEDED', null, { rowsPushed: 120 }))).toBe('Published 120 lines to Power BI');
    expect(describeStep(step('lock_budget', 'SUCCEEDED', null, { versions: { a: 1, b: 2 } }))).toBe('Locked 2 lines');
  });
});
