/**
 * The admin views in a browser against a real server: Users (an admin changes a role and units, with a
 * confirmation and the server's refusal shown; a partner admin reads their organisation), the Audit log
 * (API edits appear live, paged, and export as CSV) and the Submission dashboard (a unit filled, submitted
 * and approved, followed live, with its review opening in the monitor).
 */
import fs from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn, type Person } from './browser.js';
import { openAdminSection, offeredAdminSections } from './adminNav.js';

const userRow = (page: Page, email: string) => page.locator(`tr[data-user="${email}"]`);

describe.skipIf(!hasChromium)('admin views', () => {
  let server: TestServer;
  let browser: Browser;
  let planId: string;
  const people: Person[] = [];
  const tokens: Record<string, string> = {};

  const token = async (email: string) => (tokens[email] ??= await server.login(email));
  const person = async (email: string, path: string) => {
    const p = await signIn(browser, server.url, email, path);
    people.push(p);
    return p;
  };
  const linesOf = async (unit: string) =>
    (await server.gql('query($p: ID!, $u: String!) { budgetLines(planId: $p, businessUnitCode: $u) { id productCategory region quarter } }', { p: planId, u: unit }, await token('admin@example.com')))
      .data.budgetLines as { id: string; productCategory: string; region: string; quarter: string }[];
  const edit = async (email: string, lineId: string, input: Record<string, unknown>) => {
    const res = await server.gql('mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id } }', { id: lineId, input }, await token(email));
    expect(res.errors).toBeUndefined();
  };

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '50' });
    browser = await launchBrowser();
    planId = (await server.gql('{ budgetPlans { id } }', {}, await token('admin@example.com'))).data.budgetPlans[0].id;
  });
  afterAll(async () => {
    await Promise.all(people.map((p) => p.context.close()));
    await browser?.close();
    await server?.stop();
  });

  it('Users: an admin changes a role and units after confirming, sees a refusal, and reads the sign-ins; a partner admin reads their organisation', async () => {
    const admin = await person('admin@example.com', '/admin/users');
    const page = admin.page;
    const viewer = userRow(page, 'viewer.sales-north@example.com');
    await expect.poll(() => viewer.locator('[data-role]').textContent()).toBe('Viewer');

    await page.getByRole('button', { name: 'Change access of Sales North Viewer' }).click();
    const editor = page.getByRole('group', { name: 'Access of Sales North Viewer' });
    await editor.getByLabel('Role').selectOption('BU_LEADER');
    await editor.getByLabel('Marketing').check();
    await editor.getByRole('button', { name: 'Review change…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change Sales North Viewer’s access?' });
    await expect.poll(() => dialog.textContent()).toContain('Viewer → BU leader');
    await expect.poll(() => dialog.textContent()).toContain('Sales North → Marketing, Sales North');
    await screenshot(page, 'users-confirm');
    await dialog.getByRole('button', { name: 'Confirm change' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved' }).textContent()).toBe('Saved Sales North Viewer’s access.');
    await expect.poll(() => viewer.locator('[data-role]').textContent()).toBe('BU leader');
    await expect.poll(() => viewer.textContent()).toContain('Marketing, Sales North');
    const stored = await server.sql('SELECT role FROM app_user WHERE email = $1', ['viewer.sales-north@example.com']);
    expect(stored).toEqual([{ role: 'BU_LEADER' }]);

    // The server refuses to demote the last admin: the dialog says why, and nothing changes.
    await page.getByRole('button', { name: 'Change access of Ada Admin' }).click();
    const own = page.getByRole('group', { name: 'Access of Ada Admin' });
    await own.getByLabel('Role').selectOption('VIEWER');
    await own.getByRole('button', { name: 'Review change…' }).click();
    const refusal = page.getByRole('dialog');
    await refusal.getByRole('button', { name: 'Confirm change' }).click();
    await expect.poll(() => refusal.getByRole('alert').textContent()).toMatch(/last admin/);
    await screenshot(page, 'users-refused');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await own.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => userRow(page, 'admin@example.com').locator('[data-role]').textContent()).toBe('Admin');

    await screenshot(page, 'users');
    // The sign-in log has its own page now (client/test/signInsPage.test.ts tests it in full).
    await openAdminSection(page, 'Sign-ins');
    const signIns = page.getByRole('table', { name: 'Sign-ins, newest first' });
    await expect.poll(() => signIns.textContent()).toContain('admin@example.com');
    await screenshot(page, 'users-sign-ins');
    expectNoProblems(admin);

    const partner = await person('partner.admin@acme.example', '/admin/users');
    const rows = partner.page.locator('tr[data-user]');
    await expect.poll(() => rows.evaluateAll((r) => r.map((row) => row.getAttribute('data-user')))).toEqual(['partner.admin@acme.example']);
    expect(await partner.page.getByRole('button', { name: /Change access/ }).count()).toBe(0);
    expect(await offeredAdminSections(partner.page)).not.toContain('Sign-ins');
    await screenshot(partner.page, 'users-partner-admin');
    expectNoProblems(partner);
  });

  it('Audit log: API edits appear live, newest first, every one once across pages, and export as CSV', async () => {
    const admin = await person('admin@example.com', '/admin/audit');
    const page = admin.page;
    const table = page.getByRole('table', { name: 'Cell changes, newest first' });
    await table.waitFor();
    await expect.poll(() => page.getByTestId('live-state').textContent()).toBe('Live');
    const shownIds = () => table.locator('tr[data-entry]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-entry')));
    const before = (await shownIds()).length;

    const [line] = await linesOf('SALES_SOUTH');
    await edit('lead.sales-south@example.com', line.id, { budgetAmount: 1234.5 });
    const top = table.locator('tbody tr').first();
    await expect.poll(() => top.textContent()).toContain('Sales South Lead');
    const cells = await top.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual([
      'Sales South Leadlead.sales-south@example.com', 'FY2027 Budget', 'Sales South', `${line.productCategory} · ${line.region} · ${line.quarter}`,
      'Budget', '— → 1,234.5', 'API',
    ]);

    // A burst larger than a page (55 edits) still arrives whole; "Load more" brings the rest, with no duplicate.
    const lines = await linesOf('FINANCE');
    for (let i = 0; i < 55; i++) await edit('admin@example.com', lines[i].id, { forecastSales: 1000 + i });
    await expect.poll(() => top.textContent()).toContain('1,054');
    while ((await page.getByRole('button', { name: 'Load more' }).count()) > 0) {
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Loading…' }).count()).toBe(0);
    }
    const all = (await server.gql('{ auditLog(first: 500) { edges { node { id } } } }', {}, await token('admin@example.com'))).data.auditLog.edges.map((e: any) => e.node.id);
    expect(all).toHaveLength(before + 56);
    await expect.poll(shownIds).toEqual(all);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'audit-log');

    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export CSV/ }).click()]);
    expect(file.suggestedFilename()).toMatch(/^plansync-audit-\d{12}\.csv$/);
    const csv = (await fs.readFile(await file.path(), 'utf8')).replace(/^\ufeff/, '').trimEnd().split('\r\n');
    expect(csv[0]).toBe('at,user,business_unit,product_category,region,quarter,column,old_value,new_value,source,plan');
    expect(csv).toHaveLength(all.length + 1);
    expect(csv.at(-1 - before)).toMatch(new RegExp(`,lead\\.sales-south@example\\.com,SALES_SOUTH,${line.productCategory},${line.region},${line.quarter},budgetAmount,,1234\\.5,API,FY2027 Budget$`));
    // Each entry names its plan (every plan has the same units and lines: a finance QA pass could not tell FY2027's
    // changes from FY2028's), on the page and in the CSV.
    expect(await page.locator('tr[data-entry]').first().locator('td').nth(2).textContent()).toBe('FY2027 Budget');
    expectNoProblems(admin);
  });

  it('Submission dashboard: a unit is filled, submitted and approved live, and its review opens in the monitor', async () => {
    const admin = await person('admin@example.com', '/admin/submissions');
    const page = admin.page;
    const row = page.locator('tr[data-unit="OPERATIONS"]');
    await expect.poll(() => row.getAttribute('data-status')).toBe('DRAFT');
    await expect.poll(() => row.locator('[data-filled]').textContent()).toBe('0 / 120');
    await expect.poll(() => page.locator('.chart svg[role="img"] desc').textContent()).toContain('Operations: Draft, 0 of 120 budget lines filled.');

    const lines = await linesOf('OPERATIONS');
    for (const line of lines.slice(0, 3)) await edit('lead.operations@example.com', line.id, { budgetAmount: 500 });
    await expect.poll(() => row.locator('[data-filled]').textContent()).toBe('3 / 120');

    const submitted = await server.gql(
      'mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "OPERATIONS") { status execution { id } } }',
      { p: planId },
      await token('lead.operations@example.com'),
    );
    expect(submitted.errors).toBeUndefined();
    const executionId = submitted.data.submitBudget.execution.id;
    await expect.poll(() => row.getAttribute('data-status')).toBe('SUBMITTED');
    await expect.poll(() => row.textContent()).toContain('Operations Lead');
    // The review waits for Finance after validating and locking: 2 of 5 steps.
    await expect.poll(() => row.locator(`a[data-execution="${executionId}"]`).textContent()).toBe('2 of 5 steps');
    await expect.poll(() => row.locator('.review-cell').textContent()).toBe('2 of 5 stepsAwaiting input');
    await screenshot(page, 'submissions-submitted');

    // The analyst approves from the review's form in the monitor, in another browser.
    const analyst = await person('analyst@example.com', `/workflows/${executionId}`);
    const form = analyst.page.getByRole('region', { name: 'Input for Finance review' });
    await form.getByLabel('Decision').selectOption({ label: 'Approve' });
    await form.getByLabel('Comment').fill('Fine');
    await screenshot(analyst.page, 'workflow-monitor-finance-review');
    await form.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => analyst.page.getByTestId('execution-detail').getAttribute('data-status'), { timeout: 30_000 }).toBe('COMPLETED');
    expectNoProblems(analyst);
    await expect.poll(() => row.getAttribute('data-status')).toBe('APPROVED');
    // A reviewed submission reads as its outcome, not just Completed.
    await expect.poll(() => row.locator('.review-cell').textContent()).toBe('5 of 5 stepsApproved');
    await expect.poll(() => page.locator('.chart svg[role="img"] desc').textContent()).toContain('Operations: Approved, 3 of 120 budget lines filled, review 5 of 5 steps done.');
    await screenshot(page, 'submissions');

    await row.locator(`a[data-execution="${executionId}"]`).click();
    await page.waitForURL(`**/workflows/${executionId}`);
    await expect.poll(() => page.getByTestId('execution-detail').getAttribute('data-status')).toBe('COMPLETED');
    expectNoProblems(admin);
  });
});
