/// <reference lib="dom" />
/**
 * What the grid keeps in the browser. Offline edits survive closing the tab: a leader edits while offline, closes
 * the tab before the connection comes back, opens the grid again once online, and the edit is there and reaches
 * the server as theirs (validated there like any other change). Signing out deletes the copy kept in the browser.
 * The person's column widths and filters are still theirs after a reload.
 */
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

const LEAD = 'lead.sales-north@example.com';

describe.skipIf(!hasChromium)('offline edits', () => {
  const world = browserWorld();

  it('keeps an offline edit through closing the tab, sends it on return, and forgets the copy at sign-out', async () => {
    const { server } = world;
    const lead = await world.signIn(LEAD);
    await openGrid(lead, 'SALES_NORTH');
    const [plan] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
    const copyName = `plansync-grid:${LEAD}:budget:${plan.id}:SALES_NORTH`;
    const copies = (page = lead.page) => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
    await expect.poll(() => copies()).toContain(copyName);
    const [line] = await server.sql<{ id: string; budget_amount: number | null }>(
      `SELECT l.id, l.budget_amount FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
        WHERE u.code = 'SALES_NORTH' AND l.plan_id = $1 ORDER BY l.position LIMIT 1`,
      [plan.id],
    );

    await lead.context.setOffline(true);
    await expect.poll(() => lead.page.getByTestId('connection').textContent()).toMatch(/Offline/);
    await typeInto(lead.page, 0, 'budgetAmount', '98765');
    await expect.poll(() => valueOf(lead.page, 0, 'budgetAmount')).toContain('98,765');
    // Stored in the browser, not on the server.
    await lead.page.waitForTimeout(500);
    expect((await server.sql('SELECT budget_amount FROM budget_line WHERE id = $1', [line.id]))[0].budget_amount).toBe(line.budget_amount);
    await lead.page.close();

    await lead.context.setOffline(false);
    const page = await lead.context.newPage();
    await page.goto('/grid/SALES_NORTH');
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toContain('98,765');
    await expect.poll(async () => (await server.sql('SELECT budget_amount FROM budget_line WHERE id = $1', [line.id]))[0].budget_amount, { timeout: 10_000 }).toBe(98765);
    const [audit] = await server.sql<{ email: string }>(
      `SELECT u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id WHERE c.line_id = $1 ORDER BY c.id DESC LIMIT 1`,
      [line.id],
    );
    expect(audit.email).toBe(LEAD);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expect.poll(() => copies(page)).not.toContain(copyName);
    expectNoProblems({ ...lead, page }, [/WebSocket|ERR_INTERNET_DISCONNECTED|Failed to load resource/]);
  });
  it("keeps the person's column widths and filters through a reload", async () => {
    const planner = await world.signIn('planner.sales-north@example.com');
    const { page } = planner;
    await openGrid(planner, 'SALES_NORTH');
    await page.getByRole('combobox', { name: 'Region' }).selectOption('Europe');
    const header = page.locator('[data-testid=budget-grid] .ag-header-cell[col-id="budgetAmount"]');
    const before = (await header.boundingBox())!;
    const handle = (await header.locator('.ag-header-cell-resize').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2 + 80, handle.y + handle.height / 2, { steps: 8 });
    await page.mouse.up();
    await expect.poll(async () => (await header.boundingBox())!.width).toBeGreaterThan(before.width + 60);
    const resized = (await header.boundingBox())!.width;

    await page.reload();
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
    expect(await page.getByRole('combobox', { name: 'Region' }).inputValue()).toBe('Europe');
    // Only Europe's rows are shown.
    const regionCells = page.locator('[data-testid=budget-grid] .ag-cell[col-id="region"]');
    await expect.poll(() => regionCells.count()).toBeGreaterThan(0);
    await expect.poll(async () => [...new Set(await regionCells.allTextContents())]).toEqual(['Europe']);
    await expect.poll(async () => Math.round((await header.boundingBox())!.width)).toBe(Math.round(resized));
    expectNoProblems(planner);
  });
});
