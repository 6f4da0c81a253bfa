/// <reference lib="dom" />
/**
 * Hostile presence against a person's open grid: stock y-websocket clients (as any script could run) set
 * awareness states of every wrong shape, from a leader's and a viewer's token. A presence name that was an
 * object made React throw and left the grid page blank for everyone on the unit. The page must keep working:
 * the grid shows and takes edits, the honest person still shows, nothing hostile is drawn.
 *
 * The server vouches for presence too (it may drop or rebuild these states before they reach the page); the
 * client's own reading is unit-tested in presenceState.test.ts with the same shapes.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, synced, type GridClient } from '../../server/src/testing/gridClients.js';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn } from './browser.js';

const UNIT = 'SALES_NORTH';

const cell = (page: Page, rowIndex: number, column: string) =>
  page.locator(`[data-testid=budget-grid] .ag-row[row-index="${rowIndex}"] .ag-cell[col-id="${column}"]`);

describe.skipIf(!hasChromium)('hostile presence states on an open grid', () => {
  let server: TestServer;
  let browser: Browser;
  const clients: GridClient[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await browser?.close();
    await server?.stop();
  });

  it('keeps the grid page working when presence names are objects, strings are huge, colours and cells are bad', async () => {
    const lead = await signIn(browser, server.url, 'lead.sales-north@example.com');
    await lead.page.goto(`/grid/${UNIT}`);
    await expect.poll(() => lead.page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');

    const leaderToken = await server.login('planner.sales-north@example.com');
    const viewerToken = await server.login('viewer.sales-north@example.com');
    const { data } = await server.gql('{ budgetPlans { id } }', {}, leaderToken);
    const docName = `budget:${data.budgetPlans[0].id}:${UNIT}`;
    const { data: lines } = await server.gql(
      'query($p: ID!, $u: String!) { budgetLines(planId: $p, businessUnitCode: $u) { id } }',
      { p: data.budgetPlans[0].id, u: UNIT },
      leaderToken,
    );
    const firstLine = lines.budgetLines[0].id as string;

    const honest = { name: 'Sales North Viewer', email: 'viewer.sales-north@example.com', color: '#30a46c' };
    const hostile: Record<string, unknown>[] = [
      { user: { ...honest, name: { evil: true, $$typeof: 'react.element' } }, cell: null },
      { user: { ...honest, name: ['an', 'array'], email: { nested: { deep: 1 } } }, cell: `${firstLine}/budgetAmount` },
      { user: { ...honest, name: 'H'.repeat(200_000), email: 'huge@example.com' }, cell: 'C'.repeat(200_000) },
      { user: { ...honest, name: 'Bad Colour', color: 'red; background-image: url(https://evil.example/t)' }, cell: null },
      { user: { ...honest, name: 'Bad Cell' }, cell: { line: firstLine } },
      { user: { ...honest, name: 'Read-only Column' }, cell: `${firstLine}/variance` },
      { user: 'just a string', cell: 12 },
      { user: null },
    ];
    for (const [i, state] of hostile.entries()) {
      const client = connectGrid(server.url, docName, i % 2 === 0 ? leaderToken : viewerToken);
      clients.push(client);
      client.provider.awareness.setLocalState(state);
      await synced(client);
    }
    const viewer = connectGrid(server.url, docName, viewerToken);
    clients.push(viewer);
    viewer.provider.awareness.setLocalState({ user: honest, cell: `${firstLine}/forecastSales` });
    await synced(viewer);

    // The page is still there (reads that do not wait: a blank page fails at once, with a picture).
    const shown = (selector: string) => lead.page.locator(selector).allTextContents().then((texts) => texts.join(' '));
    try {
      await expect.poll(() => shown('[data-testid=presence]')).toContain('Sales North Viewer');
    } finally {
      await screenshot(lead.page, 'grid-hostile-presence');
    }
    expect(await lead.page.getByTestId('budget-grid').count()).toBe(1);
    // The honest person shows, in the presence list and on the cell they selected.
    await expect.poll(() => shown(`[data-testid=budget-grid] .ag-row[row-index="0"] .ag-cell[col-id="forecastSales"]`)).toContain('Sales North Viewer');
    // Nothing hostile is drawn: every name shown is short plain text, every colour a colour.
    const chips = await lead.page.locator('[data-testid=presence] .person').evaluateAll((els) =>
      els.map((el) => ({ text: el.textContent ?? '', background: (el as HTMLElement).style.background })),
    );
    for (const chip of chips) {
      expect(chip.text.length).toBeLessThanOrEqual(120);
      expect(chip.text).not.toMatch(/object|H{121}/);
      if (!chip.text.startsWith('+')) expect(chip.background).toMatch(/^rgb\(\d+, \d+, \d+\)$/);
    }
    expect(await lead.page.locator('[data-testid=budget-grid] .presence-tag').allTextContents()).not.toContainEqual(expect.stringMatching(/object|H{121}/));
    expect(await lead.page.getByTestId('error-boundary').count()).toBe(0);

    // The grid still takes edits and they reach the others.
    await cell(lead.page, 2, 'budgetAmount').dblclick();
    const editor = lead.page.locator('[data-testid=budget-grid] .ag-cell-inline-editing input');
    await editor.fill('4321');
    await editor.press('Enter');
    await expect.poll(() => viewer.cells.get(`${lines.budgetLines[2].id}/budgetAmount`)).toBe(4321);
    expectNoProblems(lead);
    await lead.context.close();
  });

  it('shows a message in place of a part that fails to render, and the rest of the page keeps working', async () => {
    // Another unit than the test above edits: its budget total starts at 0.
    const leader = await signIn(browser, server.url, 'lead.operations@example.com');
    // A bug on purpose: formatting the amount 13 throws (it is the budget total once two cells hold 6.5).
    await leader.context.addInitScript(() => {
      const original = Object.getOwnPropertyDescriptor(Intl.NumberFormat.prototype, 'format')!.get!;
      Object.defineProperty(Intl.NumberFormat.prototype, 'format', {
        get() {
          const format = original.call(this) as (value: number) => string;
          return (value: number) => {
            if (value === 13) throw new Error('injected failure');
            return format(value);
          };
        },
      });
    });
    await leader.page.goto('/grid/OPERATIONS');
    await expect.poll(() => leader.page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
    for (const row of [10, 11]) {
      await cell(leader.page, row, 'budgetAmount').dblclick();
      const editor = leader.page.locator('[data-testid=budget-grid] .ag-cell-inline-editing input');
      await editor.fill('6.5');
      await editor.press('Enter');
    }
    try {
      await leader.page.getByText('Could not show the totals.').waitFor({ timeout: 10_000 });
    } finally {
      await screenshot(leader.page, 'grid-part-failed');
    }
    // The grid, its badge and the navigation are still there, and the grid still takes edits.
    expect(await leader.page.getByTestId('budget-grid').count()).toBe(1);
    expect(await leader.page.getByTestId('connection').textContent()).toBe('Live');
    await cell(leader.page, 12, 'budgetAmount').dblclick();
    const editor = leader.page.locator('[data-testid=budget-grid] .ag-cell-inline-editing input');
    await editor.fill('1');
    await editor.press('Enter');
    // The totals come back once their values change (the total is 14 now).
    await expect.poll(() => leader.page.locator('[data-testid=totals]').count()).toBe(1);
    await expect.poll(() => leader.page.getByTestId('totals').textContent()).toMatch(/Lines with a budget3 of 120/);
    expectNoProblems(leader, [/injected failure|Could not show the totals|The above error occurred/]);
    await leader.context.close();
  });

  it('leaves the grid page without an error while a colleague has a cell selected', async () => {
    const lead = await signIn(browser, server.url, 'lead.finance@example.com');
    await lead.page.goto('/grid/FINANCE');
    await expect.poll(() => lead.page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
    const token = await server.login('planner.finance@example.com');
    const { data } = await server.gql('{ budgetPlans { id } }', {}, token);
    const planId = data.budgetPlans[0].id as string;
    const { data: lines } = await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "FINANCE") { id } }', { p: planId }, token);
    const colleague = connectGrid(server.url, `budget:${planId}:FINANCE`, token);
    clients.push(colleague);
    colleague.provider.awareness.setLocalState({
      user: { name: 'Finance Planner', email: 'planner.finance@example.com', color: '#30a46c' },
      cell: `${lines.budgetLines[0].id}/budgetAmount`,
    });
    await synced(colleague);
    await expect.poll(() => lead.page.locator('[data-testid=budget-grid] .presence-tag').allTextContents()).toContain('Finance Planner');
    // Leaving closes the page's connection, which drops everyone's presence, which redrew the cells of a grid
    // already gone: "Cannot read properties of undefined (reading 'map')", and the error boundary's message.
    await lead.page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await expect.poll(() => lead.page.title()).toBe('Access tokens – Plansync');
    expect(await lead.page.getByTestId('error-boundary').count()).toBe(0);
    expectNoProblems(lead);
    await lead.context.close();
  });
});
