/// <reference lib="dom" />
/**
 * The grid must show the document's content on every open, however the sync and the grid's own start-up
 * interleave. A unit's budget is filled (every budget, forecast and comment cell), then a leader and a viewer
 * open and reload its grid many times; after each open every cell must match GraphQL `budgetLines`.
 *
 * GRID_OPENS sets the number of opens per person (default 6, so 12 in `npm test`); more finds rarer races.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, synced, eventually } from '../../server/src/testing/gridClients.js';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn } from './browser.js';

const OPENS = Number(process.env.GRID_OPENS ?? 6);
const UNIT = 'SALES_NORTH';

interface Shown {
  budgetAmount: string;
  forecastSales: string;
  comment: string;
}

/** Every row the grid shows, by line id: the three editable cells as text (amounts without separators). */
function readGrid(page: Page): Promise<Record<string, Shown>> {
  return page.evaluate(() => {
    // A row is drawn once per container (pinned and centre columns): merge what each one holds.
    const rows: Record<string, Shown> = {};
    for (const row of Array.from(document.querySelectorAll('[data-testid=budget-grid] .ag-row[row-id]'))) {
      const shown = (rows[row.getAttribute('row-id')!] ??= { budgetAmount: '?', forecastSales: '?', comment: '?' });
      for (const column of ['budgetAmount', 'forecastSales', 'comment'] as const) {
        const cell = row.querySelector(`.ag-cell[col-id="${column}"]`);
        if (!cell) continue;
        const copy = cell.cloneNode(true) as HTMLElement;
        copy.querySelectorAll('.presence-tag').forEach((tag) => tag.remove());
        const text = copy.textContent ?? '';
        shown[column] = column === 'comment' ? text : text.replace(/[^\d.]/g, '');
      }
    }
    return rows;
  });
}

describe.skipIf(!hasChromium)('a grid that opens blank (the first sync landing before AG Grid is ready)', () => {
  let server: TestServer;
  let browser: Browser;
  let expected: Record<string, Shown>;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    // Fill every editable cell of the unit, as a leader's grid client would.
    const token = await server.login('lead.sales-north@example.com');
    const { data } = await server.gql('{ budgetPlans { id } }', {}, token);
    const planId = data.budgetPlans[0].id;
    const linesQuery = `query($planId: ID!, $unit: String!) { budgetLines(planId: $planId, businessUnitCode: $unit) { id position budgetAmount forecastSales comment } }`;
    const before = await server.gql(linesQuery, { planId, unit: UNIT }, token);
    const writer = connectGrid(server.url, `budget:${planId}:${UNIT}`, token);
    await synced(writer);
    writer.doc.transact(() => {
      for (const line of before.data.budgetLines) {
        writer.cells.set(`${line.id}/budgetAmount`, 1000 + line.position);
        writer.cells.set(`${line.id}/forecastSales`, 2000 + line.position * 3);
        writer.cells.set(`${line.id}/comment`, `note ${line.position}`);
      }
    });
    // GraphQL is the reference: wait until its rows carry every value, then read them from there.
    type Line = { id: string; budgetAmount: number | null; forecastSales: number | null; comment: string | null };
    const lines = (await eventually(async () => {
      const res = await server.gql(linesQuery, { planId, unit: UNIT }, token);
      const all = res.data.budgetLines as Line[];
      return all.every((l) => l.budgetAmount !== null && l.forecastSales !== null && l.comment) ? all : undefined;
    }, 'the rows to carry the values', 60_000))!;
    writer.destroy();
    expected = Object.fromEntries(
      lines.map((l) => [l.id, { budgetAmount: String(l.budgetAmount), forecastSales: String(l.forecastSales), comment: l.comment ?? '' }]),
    );
    expect(Object.keys(expected)).toHaveLength(120);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it.each([
    ['a leader', 'lead.sales-north@example.com'],
    ['a viewer', 'viewer.sales-north@example.com'],
  ])('shows every cell as GraphQL has it on each of many opens, as %s', async (_who, email) => {
    const person = await signIn(browser, server.url, email);
    // Tall enough for all 120 rows to be rendered (AG Grid draws only the rows in view).
    await person.page.setViewportSize({ width: 1440, height: 4800 });
    const blank: string[] = [];
    for (let open = 0; open < OPENS; open++) {
      if (open === 0) await person.page.goto(`/grid/${UNIT}`);
      else await person.page.reload();
      await expect.poll(() => person.page.getByTestId('connection').textContent(), { timeout: 20_000 }).toBe('Live');
      try {
        // A blank grid stayed blank until a reload: a generous wait costs nothing when the grid is right.
        await expect.poll(() => readGrid(person.page), { timeout: 15_000 }).toEqual(expected);
        await expect.poll(() => person.page.getByTestId('totals').textContent(), { timeout: 15_000 }).toMatch(/Lines with a budget120 of 120/);
      } catch {
        const shown = await readGrid(person.page);
        const wrong = Object.keys(expected).filter((id) => JSON.stringify(shown[id]) !== JSON.stringify(expected[id]));
        blank.push(`open ${open + 1}: ${wrong.length} of 120 rows differ, e.g. ${JSON.stringify(shown[wrong[0]])}`);
        await screenshot(person.page, `grid-open-wrong-${email.split('@')[0]}-${open + 1}`);
      }
    }
    expect(blank, `${blank.length} of ${OPENS} opens`).toEqual([]);
    expectNoProblems(person);
    await person.context.close();
  }, 30_000 + OPENS * 40_000);
});
