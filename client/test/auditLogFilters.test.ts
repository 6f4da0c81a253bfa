/**
 * The audit log's filter bar in a browser against a real server: an admin reaches the Audit log from the top
 * bar, filters by unit and person, sees only those people's changes in that unit, the filters are in the
 * address, a reload keeps them, the CSV export holds what is shown, and Clear brings everything back; a link
 * to one line's entries shows that line only, with a way back to every line; a plan filter shows one plan's
 * changes only (every plan has the same units and lines).
 */
import fs from 'node:fs/promises';
import type { Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

describe.skipIf(!hasChromium)('audit log filters', () => {
  const world = browserWorld();

  it('an admin filters by unit and person, and a reload keeps the filter from the address', async () => {
    const { server } = world;
    const adminToken = await server.login('admin@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, adminToken)).data.budgetPlans[0].id;
    const linesOf = async (unit: string) =>
      (await server.gql('query($p: ID!, $u: String!) { budgetLines(planId: $p, businessUnitCode: $u) { id } }', { p: planId, u: unit }, adminToken)).data.budgetLines as { id: string }[];
    const north = await linesOf('SALES_NORTH');
    const south = await linesOf('SALES_SOUTH');
    const edits: [string, string, number][] = [
      ['lead.sales-north@example.com', north[0].id, 101],
      ['planner.sales-north@example.com', north[1].id, 202],
      ['lead.sales-north@example.com', north[2].id, 303],
      ['lead.sales-south@example.com', south[0].id, 404],
      ['admin@example.com', north[3].id, 505],
    ];
    for (const [email, id, budgetAmount] of edits) {
      const res = await server.gql('mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id } }', { id, input: { budgetAmount } }, await server.login(email));
      expect(res.errors).toBeUndefined();
    }
    const expectedIds = (
      await server.sql<{ id: string }>(
        `select c.id::text from cell_change c join app_user u on u.id = c.user_id join business_unit b on b.id = c.business_unit_id
         where b.code = 'SALES_NORTH' and u.email = 'lead.sales-north@example.com' order by c.id desc`,
      )
    ).map((r) => r.id);
    expect(expectedIds).toHaveLength(2);

    const admin = await world.signIn('admin@example.com', '/');
    const { page } = admin;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log', exact: true }).click();
    const table = page.getByRole('table', { name: 'Cell changes, newest first' });
    const shownIds = () => table.locator('tr[data-entry]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-entry')));
    await expect.poll(async () => (await shownIds()).length).toBe(edits.length);

    const form = page.getByRole('search', { name: 'Filter the audit log' });
    await form.getByLabel('Unit').selectOption({ label: 'Sales North' });
    await form.getByLabel('Person (email)').fill('lead.sales-north@example.com');
    await form.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(shownIds).toEqual(expectedIds);
    const url = new URL(page.url());
    expect(url.pathname).toBe('/admin/audit');
    expect(url.searchParams.get('unit')).toBe('SALES_NORTH');
    expect(url.searchParams.get('person')).toBe('lead.sales-north@example.com');
    for (const row of await table.locator('tbody tr').all()) {
      const cells = await row.locator('td').allTextContents();
      expect(cells[1]).toContain('lead.sales-north@example.com');
      expect(cells[2]).toBe('FY2027 Budget');
      expect(cells[3]).toBe('Sales North');
    }
    await screenshot(page, 'audit-log-filtered');

    // The export holds what the filters show.
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Export CSV/ }).click()]);
    const csv = (await fs.readFile(await file.path(), 'utf8')).replace(/^\ufeff/, '').trimEnd().split('\r\n');
    expect(csv.slice(1).map((row) => row.split(',').slice(1, 3).join(','))).toEqual(expectedIds.map(() => 'lead.sales-north@example.com,SALES_NORTH'));

    // A reload (or the link shared) shows the same filtered view, with the form saying so.
    await page.reload();
    await expect.poll(shownIds).toEqual(expectedIds);
    await expect.poll(() => form.getByLabel('Unit').inputValue()).toBe('SALES_NORTH');
    expect(await form.getByLabel('Person (email)').inputValue()).toBe('lead.sales-north@example.com');
    await screenshot(page, 'audit-log-filtered-reloaded');

    await form.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(async () => (await shownIds()).length).toBe(edits.length);
    expect(new URL(page.url()).search).toBe('');

    // Arriving with a line (a link from elsewhere): that line's entries only, said above the table.
    await page.goto(`/admin/audit?line=${north[1].id}`);
    const lineOnly = (await server.sql<{ id: string }>('select id::text from cell_change where line_id = $1 order by id desc', [north[1].id])).map((r) => r.id);
    expect(lineOnly).toHaveLength(1);
    await expect.poll(shownIds).toEqual(lineOnly);
    await expect.poll(() => page.locator('.filter-chips').textContent()).toContain('One line: Sales North · ');
    await screenshot(page, 'audit-log-one-line');
    await page.getByRole('button', { name: 'Show every line' }).click();
    await expect.poll(async () => (await shownIds()).length).toBe(edits.length);
    expectNoProblems(admin);
  });

  it('narrows the log to one plan, kept in the address', async () => {
    const { server } = world;
    const adminToken = await server.login('admin@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, adminToken)).data.budgetPlans[0].id;
    const created = await server.gql(
      'mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id } }',
      { i: { name: 'FY2028 Budget', fiscalYear: 2028, copyFromPlanId: planId } },
      adminToken,
    );
    expect(created.errors).toBeUndefined();
    const nextPlanId = created.data.createBudgetPlan.id;
    // The same line in both plans, edited in each: by unit alone the two entries look alike.
    for (const plan of [planId, nextPlanId]) {
      const [line] = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: plan }, adminToken)).data.budgetLines;
      const res = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "plan filter" }) { id } }', { id: line.id }, adminToken);
      expect(res.errors).toBeUndefined();
    }
    const inNextPlan = (await server.sql<{ id: string }>('select id::text from cell_change where plan_id = $1 order by id desc', [nextPlanId])).map((r) => r.id);
    expect(inNextPlan).toHaveLength(1);

    const admin = await world.signIn('admin@example.com', '/admin/audit');
    const { page } = admin;
    const table = page.getByRole('table', { name: 'Cell changes, newest first' });
    const shownIds = () => table.locator('tr[data-entry]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-entry')));
    await expect.poll(async () => (await shownIds()).length).toBeGreaterThan(inNextPlan.length);
    const form = page.getByRole('search', { name: 'Filter the audit log' });
    await form.getByLabel('Plan').selectOption({ label: 'FY2028 Budget' });
    await form.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(shownIds).toEqual(inNextPlan);
    expect(new URL(page.url()).searchParams.get('plan')).toBe(nextPlanId);
    expect((await table.locator('tbody tr td').allTextContents())[2]).toBe('FY2028 Budget');
    await page.reload();
    await expect.poll(shownIds).toEqual(inNextPlan);
    await expect.poll(() => form.getByLabel('Plan').inputValue()).toBe(nextPlanId);
    await screenshot(page, 'audit-log-one-plan');
    expectNoProblems(admin);
  });

  // Regression (this file flaked under load with 0 rows: the page was on /grid/FINANCE): signed in at '/', the grid
  // is the home view and puts its first unit in the address once it knows the units. A click on Audit log before
  // that keeps the grid on screen while the audit view's code loads (the router's navigations are transitions),
  // and the grid's late replace took the person back to the grid.
  it('keeps the view the person opened while the grid was still loading', async () => {
    // Signed in on a page that loads no grid: the only grid below is the one opened at '/'.
    const admin = await world.signIn('admin@example.com', '/account');
    const { page } = admin;
    const address = () => page.evaluate(() => window.location.pathname);
    // Held: the grid's first query (so it learns the units only after the click), and the audit view's code (so
    // the grid is still on screen when it does).
    let setupHeld!: (route: Route) => void;
    const setup = new Promise<Route>((resolve) => (setupHeld = resolve));
    await page.route('**/graphql', (route) =>
      route.request().postDataJSON()?.operationName === 'GridSetup' ? setupHeld(route) : route.continue(),
    );
    let chunkHeld!: (route: Route) => void;
    const chunk = new Promise<Route>((resolve) => (chunkHeld = resolve));
    await page.route(/\/assets\/AuditLogPage-[^/]*\.js$/, (route) => chunkHeld(route));

    await page.goto('/');
    const setupRoute = await setup;
    expect(await address()).toBe('/grid');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log', exact: true }).click();
    const chunkRoute = await chunk;
    expect(await address()).toBe('/admin/audit');
    // The grid learns the units now and draws its first unit (it asks for that unit's lines).
    const linesAsked = page.waitForRequest((request) => request.postDataJSON()?.operationName === 'GridLines');
    await setupRoute.continue();
    await linesAsked;
    expect(await address()).toBe('/admin/audit');
    await chunkRoute.continue();

    await page.getByRole('table', { name: 'Cell changes, newest first' }).waitFor();
    expect(await address()).toBe('/admin/audit');
    expectNoProblems(admin);
  });
});
