/// <reference lib="dom" />
/**
 * The review loop in two browsers: a leader submits (the dialog says what is incomplete and shows those lines),
 * withdraws, submits again; the analyst opens the diff view from the submissions dashboard and rejects with a
 * comment; the leader reads "Rejected by … : comment" on the grid page, changes two cells and resubmits; the
 * analyst's diff view shows exactly those two cells before and after, and approves; the monitor says Approved
 * and the review steps in words.
 */
import fs from 'node:fs';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

const SHOTS = '/tmp/shots';
const shot = async (page: Page, name: string) => {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
};

/** How many rows the grid shows (the pinned and the scrolling parts of a row count once). */
const shownRowCount = (page: Page) =>
  page.locator('[data-testid=budget-grid] .ag-row[row-index]').evaluateAll((rows) => new Set(rows.map((r) => r.getAttribute('row-index'))).size);

describe.skipIf(!hasChromium)('the review loop', () => {
  const world = browserWorld({ SIMULATED_STEP_MS: '20' });

  it('submit with the incompleteness dialog, withdraw, reject with a comment, change two cells, see exactly them, approve', async () => {
    const { server } = world;
    const leaderToken = await server.login('lead.sales-north@example.com');
    const [plan] = (await server.gql('{ budgetPlans { id } }', {}, leaderToken)).data.budgetPlans;
    const lines: { id: string; priorYearActual: number }[] = (
      await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id priorYearActual } }', { p: plan.id }, leaderToken)
    ).data.budgetLines;
    // Twelve lines filled over the API: eleven close to last year, one three times it without a comment.
    const filled = lines.slice(0, 12).map((l, i) => ({ id: l.id, input: { budgetAmount: i === 11 ? l.priorYearActual * 3 : l.priorYearActual } }));
    const update = await server.gql('mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { rejected { id } } }', { c: filled }, leaderToken);
    expect(update.data.updateBudgetLines.rejected).toEqual([]);

    const leader = await world.signIn('lead.sales-north@example.com');
    const lp = leader.page;
    await openGrid(leader, 'SALES_NORTH');
    await expect.poll(() => valueOf(lp, 0, 'budgetAmount')).not.toBe('');

    // The submit dialog says what is incomplete, and shows those lines in the grid.
    await lp.getByRole('button', { name: 'Submit for review' }).click();
    const dialog = lp.getByTestId('submit-dialog');
    await expect.poll(() => dialog.getByTestId('missing-budget').textContent()).toContain(`${lines.length - 12} of ${lines.length} lines have no budget.`);
    await expect.poll(() => dialog.getByTestId('far-without-comment').textContent()).toContain("1 line is more than 50% away from last year's actual and has no comment.");
    await shot(lp, 'submit-dialog');
    await dialog.getByTestId('far-without-comment').getByRole('button', { name: 'Show these lines' }).click();
    await expect.poll(() => lp.getByTestId('line-focus').textContent()).toContain('Showing 1 line more than 50% from last year without a comment.');
    await expect.poll(() => shownRowCount(lp)).toBe(1);
    await shot(lp, 'grid-line-focus');
    await lp.getByTestId('line-focus').getByRole('button', { name: 'Show all lines' }).click();
    await expect.poll(() => lp.locator('[data-testid=line-focus]').count()).toBe(0);

    // Submitted, then withdrawn before review: a draft again.
    await lp.getByRole('button', { name: 'Submit for review' }).click();
    await dialog.getByRole('button', { name: 'Submit for review' }).click();
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('SUBMITTED');
    await expect.poll(() => lp.getByTestId('review-outcome').textContent()).toContain("Waiting for Finance's review of version 1");
    await lp.getByTestId('review-outcome').getByRole('button', { name: 'Withdraw' }).click();
    await lp.getByRole('dialog').getByRole('button', { name: 'Withdraw' }).click();
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('DRAFT');
    await expect.poll(() => lp.locator('[data-testid=review-outcome]').count()).toBe(0);
    // Not "Submitted by …" next to DRAFT, as if it still were (a finance QA pass read it so).
    await expect.poll(() => lp.getByTestId('submitted-by').textContent()).toMatch(/^Last submitted by Sales North Lead on .*; a draft again since/);

    // Submitted again: version 2.
    await lp.getByRole('button', { name: 'Submit for review' }).click();
    await dialog.getByRole('button', { name: 'Submit for review' }).click();
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('SUBMITTED');

    // The analyst: the dashboard's totals and chart, then the diff view from its link.
    const analyst = await world.signIn('analyst@example.com', '/admin/submissions');
    const ap = analyst.page;
    const row = ap.locator('table[aria-label="Submissions by business unit"] tr[data-unit="SALES_NORTH"]');
    const expectedTotal = filled.reduce((sum, c) => sum + c.input.budgetAmount, 0);
    await expect.poll(() => row.locator('[data-total]').getAttribute('data-total')).toBe(String(expectedTotal));
    await ap.getByTestId('variance-chart').locator('[data-unit="SALES_NORTH"]').waitFor();
    // A unit nobody has budgeted shows a dash, not a budget of 0; one with a budget its total.
    expect(await ap.getByTestId('variance-chart').locator('[data-unit="FINANCE"]').textContent()).toMatch(/^Finance—no budget yet/);
    expect(await ap.getByTestId('variance-chart').locator('[data-unit="SALES_NORTH"]').textContent()).not.toContain('—');
    await shot(ap, 'dashboard');
    await row.locator('[data-review-link]').click();
    await ap.getByTestId('review-page').waitFor();
    await expect.poll(() => ap.locator('table[aria-label="Submitted versions"] tbody tr').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-version')}:${r.getAttribute('data-status')}`)))
      .toEqual(['2:SUBMITTED', '1:WITHDRAWN']);
    await expect.poll(() => ap.getByTestId('no-changes').textContent()).toBe('No cell changed since version 1.');
    // Version 1 has nothing before it: its values as submitted.
    await ap.locator('tr[data-version="1"]').getByRole('button', { name: 'Show changes' }).click();
    await expect.poll(() => ap.getByTestId('changes').locator('h2').textContent()).toBe('Version 1: the values as submitted');
    await expect.poll(() => ap.getByTestId('diff-table').locator('tbody tr').count()).toBe(12);
    await ap.locator('tr[data-version="2"]').getByRole('button', { name: 'Show changes' }).click();
    // The decision waits for the review step (after validation and locking).
    const decision = ap.getByRole('region', { name: 'Decision' });
    await decision.getByLabel('Comment for the unit (required to reject)').fill('Too high in Q3');
    await decision.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => ap.getByTestId('decision-outcome').textContent()).toMatch(/^Rejected by Ann Analyst on .+: Too high in Q3/);

    // The leader reads the outcome where they work, and the grid is editable again.
    await expect.poll(() => lp.getByTestId('review-outcome').textContent()).toMatch(/^Rejected by Ann Analyst on .+: Too high in Q3/);
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('REJECTED');
    await shot(lp, 'grid-rejected');
    await typeInto(lp, 0, 'budgetAmount', '1234');
    await typeInto(lp, 1, 'budgetAmount', '5678');
    const stored = () => server.sql(`SELECT id, budget_amount::float AS amount FROM budget_line WHERE id = ANY($1) ORDER BY position`, [[lines[0].id, lines[1].id]]);
    await expect.poll(async () => (await stored()).map((r: { amount: number }) => r.amount), { timeout: 15_000 }).toEqual([1234, 5678]);
    await lp.getByRole('button', { name: 'Submit for review' }).click();
    await dialog.getByRole('button', { name: 'Submit for review' }).click();
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('SUBMITTED');

    // The analyst's open diff view follows: version 3 against 2, exactly the two cells, with totals.
    await expect.poll(() => ap.getByTestId('changes').getAttribute('data-version'), { timeout: 15_000 }).toBe('3');
    const diffRows = () => ap.getByTestId('diff-table').locator('tbody tr').evaluateAll((rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent)));
    const amount = (n: number) => new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(n);
    await expect.poll(diffRows).toHaveLength(2);
    const shownRows = await diffRows();
    expect(shownRows.map((r) => [r[3], r[4], r[5]])).toEqual([
      ['Budget amount', amount(lines[0].priorYearActual), amount(1234)],
      ['Budget amount', amount(lines[1].priorYearActual), amount(5678)],
    ]);
    const newTotal = expectedTotal - lines[0].priorYearActual - lines[1].priorYearActual + 1234 + 5678;
    await expect.poll(() => ap.getByTestId('total-before').textContent()).toBe(amount(expectedTotal));
    await expect.poll(() => ap.getByTestId('total-after').textContent()).toBe(amount(newTotal));
    await decision.getByRole('button', { name: 'Approve' }).waitFor();
    await shot(ap, 'review-diff');
    await decision.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => ap.getByTestId('decision-outcome').textContent()).toMatch(/^Approved by Ann Analyst/);
    await expect.poll(() => lp.getByTestId('review-outcome').textContent()).toMatch(/^Approved by Ann Analyst/);

    // The monitor: Approved, not just Completed, and the steps in words.
    await ap.getByRole('link', { name: 'Open the workflow' }).click();
    const detail = ap.getByTestId('execution-detail');
    await expect.poll(() => detail.locator('.execution-status .badge').textContent()).toBe('Approved');
    await expect.poll(() => detail.getByTestId('summary-validate_budget').textContent()).toContain(`${lines.length} lines, ${lines.length - 12} without budget`);
    await expect.poll(() => detail.getByTestId('summary-finance_review').textContent()).toMatch(/^Approved by /);
    await expect.poll(() => detail.getAttribute('data-status'), { timeout: 15_000 }).toBe('COMPLETED');
    await shot(ap, 'monitor-approved');
    expectNoProblems(analyst);

    // An admin reopens the approved unit with a reason; the leader's open grid is a draft again.
    const admin = await world.signIn('admin@example.com', `/grid/SALES_NORTH?plan=${plan.id}`);
    const outcome = admin.page.getByTestId('review-outcome');
    await expect.poll(() => outcome.getAttribute('data-status')).toBe('APPROVED');
    await outcome.getByRole('button', { name: 'Reopen…' }).click();
    const reopen = admin.page.getByRole('dialog');
    await reopen.getByLabel('Reason').fill('Q4 plans changed');
    await reopen.getByRole('button', { name: 'Reopen' }).click();
    await expect.poll(() => lp.getByTestId('submission-status').textContent()).toBe('DRAFT');
    await expect.poll(() => lp.getByTestId('submitted-by').textContent()).toMatch(/^Last submitted by .* a draft again since \(withdrawn, or reopened by an administrator\)\.$/);
    // The leader is told who reopened it and why, on the grid page (it said nothing before).
    await expect.poll(() => lp.getByTestId('review-outcome').textContent()).toMatch(/^Reopened by Ada Admin on .*: Q4 plans changed/);
    await shot(lp, 'grid-reopened');

    // A plan that requires every line to have a budget: Submit is disabled, and the dialog says why.
    const adminToken = await server.login('admin@example.com');
    const required = await server.gql('mutation($p: ID!) { setBudgetPlanRequireCompleteSubmission(planId: $p, required: true) { id } }', { p: plan.id }, adminToken);
    expect(required.errors).toBeUndefined();
    await lp.getByRole('button', { name: 'Submit for review' }).click();
    await expect.poll(() => dialog.getByTestId('submit-blocked').textContent()).toContain('requires a budget on every line');
    expect(await dialog.getByRole('button', { name: 'Submit for review' }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Keep editing' }).click();
    expectNoProblems(leader);
    expectNoProblems(admin);
  }, 180_000);
});
