/// <reference lib="dom" />
/**
 * The consolidated view's CSV holds the sums a finance team reads, not floating-point noise. Found in a finance
 * controller's QA pass: budgets of 0.1 and 0.2 (and 99.995 + 1100 + …) downloaded as "0.30000000000000004" and
 * "1200.0050000000006", the page showing 0.3 and 1,200.01.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';

describe.skipIf(!hasChromium)('consolidated view CSV', () => {
  const world = browserWorld();

  it('writes sums of decimal amounts as the decimals they are', async () => {
    const { server } = world;
    const [plan] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
    const lines = await server.sql<{ id: string }>(
      `SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        WHERE u.code = 'SALES_NORTH' AND l.plan_id = $1 AND l.product_category = 'Laptops' ORDER BY l.position LIMIT 2`,
      [plan.id],
    );
    const lead = await server.login('lead.sales-north@example.com');
    const set = await server.gql(
      'mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { rejected { id } } }',
      { c: [{ id: lines[0].id, input: { budgetAmount: 0.1 } }, { id: lines[1].id, input: { budgetAmount: 0.2 } }] },
      lead,
    );
    expect(set.errors).toBeUndefined();
    expect(0.1 + 0.2).not.toBe(0.3); // what the file used to say

    const analyst = await world.signIn('analyst@example.com', '/consolidated?by=unit&then=productCategory');
    const { page } = analyst;
    await expect.poll(() => page.getByTestId('consolidated-total').textContent()).toContain('0.3');
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download this view (CSV)' }).click();
    const text = fs.readFileSync((await (await downloading).path())!, 'utf8').replace(/^\uFEFF/, '');
    const [header, ...rows] = text.trim().split(/\r?\n/).map((row) => row.split(','));
    const budget = header.indexOf('Budget amount');
    // Sales North's Laptops, the only budgeted group, and the total.
    expect(rows.filter((r) => r[1] === 'Laptops' && r[budget] !== '').map((r) => r[budget])).toEqual(['0.3']);
    expect(rows.find((r) => r[0] === 'Total')![budget]).toBe('0.3');
    expect(text).not.toMatch(/\d\.\d*0000000\d/);
    expectNoProblems(analyst);
  });
});
