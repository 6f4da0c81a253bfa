/// <reference lib="dom" />
/**
 * A grid page opened cold (a reload, a bookmark) asks for everything it needs at once instead of one request after
 * another: the person's profile (Me), the plans and units (GridSetup) and the unit's lines (GridLines) all leave
 * before any of them is answered, and the unit's document socket opens beside them and is the one the page then
 * uses (grid/prefetch.ts, useGridDocument's openEarly). Before, each waited for the previous answer: Me, then
 * GridSetup, then GridLines with the socket. A wrong guess of the plan costs a request, nothing else.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

const PAGE_QUERIES = ['Me', 'GridSetup', 'GridLines'];

/** What the page asks for and when it is answered, in order, and the grid sockets it opens. */
function record(page: Page) {
  const events: string[] = [];
  const sockets: { url: string; closed: boolean }[] = [];
  const operation = (request: { url(): string; postDataJSON(): { operationName?: string } | null }) =>
    request.url().endsWith('/graphql') ? (request.postDataJSON()?.operationName ?? '?') : null;
  page.on('request', (request) => {
    const op = operation(request);
    if (op) events.push(`ask ${op}`);
  });
  page.on('response', (response) => {
    const op = operation(response.request());
    if (op) events.push(`answer ${op}`);
  });
  page.on('websocket', (socket) => {
    if (!socket.url().includes('/yjs/')) return;
    const entry = { url: socket.url(), closed: false };
    sockets.push(entry);
    socket.on('close', () => (entry.closed = true));
  });
  return { events, sockets };
}

describe.skipIf(!hasChromium)('a grid page opened cold', () => {
  const world = browserWorld();

  it('asks for the profile, the plans and units and the lines at once, with the document socket beside them', async () => {
    const lead = await world.signIn('lead.sales-north@example.com', '/account');
    // Once, so that this browser knows the plan its grid shows (the guess for the lines and the socket).
    await openGrid(lead, 'SALES_NORTH');

    const page = await lead.context.newPage();
    const { events, sockets } = record(page);
    await openGrid({ ...lead, page }, 'SALES_NORTH');
    const firstAnswer = events.findIndex((e) => PAGE_QUERIES.some((op) => e === `answer ${op}`));
    expect(firstAnswer).toBeGreaterThan(0);
    for (const op of PAGE_QUERIES) expect(events.slice(0, firstAnswer), `asked for ${op} before any answer`).toContain(`ask ${op}`);
    // Each asked once (the page's own queries joined the early ones or found their answers in the cache).
    for (const op of PAGE_QUERIES) expect(events.filter((e) => e === `ask ${op}`)).toHaveLength(1);
    // One grid socket: the one opened early, taken over by the page.
    expect(sockets).toHaveLength(1);

    // It works as any: an edit goes through it and is stored.
    await typeInto(page, 0, 'budgetAmount', '6543');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toMatch(/^6,?543$/);
    const [{ id: planId }] = await world.server.sql<{ id: string }>('SELECT id FROM budget_plan');
    const amounts = async () =>
      (await world.server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { budgetAmount } }', { p: planId }, await world.server.login('admin@example.com'))).data
        .budgetLines.map((l: { budgetAmount: number | null }) => l.budgetAmount);
    await expect.poll(amounts).toContain(6543);
    expectNoProblems(lead);
    await page.close();
  });

  it('opens the right plan when the guess is wrong: the early socket is closed and the page opens its own', async () => {
    const lead = await world.signIn('lead.sales-north@example.com', '/account');
    await lead.page.evaluate(() => localStorage.setItem('plansync.grid.lastPlan', '00000000-0000-4000-8000-000000000000'));
    const page = await lead.context.newPage();
    const { sockets } = record(page);
    await openGrid({ ...lead, page }, 'SALES_NORTH');
    const [{ id: planId }] = await world.server.sql<{ id: string }>('SELECT id FROM budget_plan');
    await expect.poll(() => sockets.filter((s) => !s.closed).map((s) => s.url.includes(planId))).toEqual([true]);
    await typeInto(page, 1, 'budgetAmount', '3456');
    await expect.poll(() => valueOf(page, 1, 'budgetAmount')).toMatch(/^3,?456$/);
    // The next cold open guesses the plan shown.
    expect(await page.evaluate(() => localStorage.getItem('plansync.grid.lastPlan'))).toBe(planId);
    expectNoProblems(lead);
    await page.close();
  });
});
