/// <reference lib="dom" />
/**
 * A person at work is never sent to sign in mid-edit: while they keep editing the grid, the page renews its
 * token before it expires (renewSession), the grid and subscription sockets move to the new token without a
 * reload, and every edit lands. Tokens last 12 s here so that two renewals happen within the test; the idle
 * case (no renewal, signed out at expiry) is signIn.test.ts's.
 */
import type { Browser, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, signIn } from './browser.js';
import { cell, EDITOR, openGrid, typeInto, valueOf } from './gridPage.js';

const TTL_SECONDS = 12;

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { iat: number; exp: number; auth_time: number };

describe.skipIf(!hasChromium)('session renewal in the browser', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ JWT_TTL_SECONDS: String(TTL_SECONDS) });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('renews the token of someone editing, keeps the grid live and open, and every edit lands', async () => {
    const lead = await signIn(browser, server.url, 'lead.sales-north@example.com');
    const { page } = lead;
    const tokenOf = () => page.evaluate(() => localStorage.getItem('plansync.token'));
    const first = await tokenOf();
    await openGrid(lead, 'SALES_NORTH');
    const [{ id: planId }] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
    // Signs in for each read: tokens here outlive a few seconds only.
    const amounts = async () =>
      (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { budgetAmount } }', { p: planId }, await server.login('admin@example.com'))).data
        .budgetLines.map((l: { budgetAmount: number | null }) => l.budgetAmount);

    // Edit for two token lifetimes, a cell every second or two.
    const started = Date.now();
    let value = 4200;
    while (Date.now() - started < 2 * TTL_SECONDS * 1000) {
      value += 1;
      await typeInto(page, 0, 'budgetAmount', String(value));
      await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toMatch(String(value).slice(0, 1));
      await page.waitForTimeout(500);
    }

    // Still signed in, on the same page (never reloaded: the grid kept its document), live, with a newer token.
    expect(await page.getByText('Your session has expired').count()).toBe(0);
    expect(page.url()).toMatch(/\/grid\/SALES_NORTH/);
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 10_000 }).toBe('Live');
    const latest = await tokenOf();
    expect(latest).not.toBe(first);
    expect(claims(latest!).exp).toBeGreaterThan(claims(first!).exp + TTL_SECONDS / 2);
    // The session is the same sign-in: the renewed token says when it was.
    expect(claims(latest!).auth_time).toBe(claims(first!).iat);

    // The last edit, made after the first token had expired, reached the server as this person's.
    await expect.poll(amounts, { timeout: 10_000 }).toContain(value);
    const [audit] = await server.sql<{ email: string }>(
      `SELECT u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id WHERE c.new_value = $1 ORDER BY c.id DESC LIMIT 1`,
      [String(value)],
    );
    expect(audit?.email).toBe('lead.sales-north@example.com');
    expectNoProblems(lead);
    await lead.context.close();
  });

  // Regression: a renewal used to reconnect the grid's socket at once, and the page redrew around the cell being
  // edited, which closed its editor ("element was detached from the DOM") and lost what was being typed.
  it('keeps an open cell editor and what is typed in it through a renewal and the grid socket moving to the new token', async () => {
    const lead = await signIn(browser, server.url, 'lead.sales-north@example.com');
    const { page } = lead;
    const tokenOf = async () => (await page.evaluate(() => localStorage.getItem('plansync.token')))!;
    // The grid's sockets (the token is in their address), and the GraphQL requests still waiting for an answer.
    const gridSockets: { url: string; closed: boolean }[] = [];
    page.on('websocket', (socket) => {
      if (!socket.url().includes('/yjs/')) return;
      const entry = { url: socket.url(), closed: false };
      gridSockets.push(entry);
      socket.on('close', () => (entry.closed = true));
    });
    const requestsInFlight = new Set<Request>();
    page.on('request', (request) => request.url().endsWith('/graphql') && requestsInFlight.add(request));
    const settled = (request: Request) => requestsInFlight.delete(request);
    page.on('requestfinished', settled);
    page.on('requestfailed', settled);
    /**
     * Waits until the page's token is due for renewal (useSessionRenewal: a quarter of its lifetime before it
     * ends), then does `activity`, which the page answers by renewing it; returns the new token.
     */
    const renewThrough = async (activity: () => Promise<void>) => {
      const before = await tokenOf();
      const { iat, exp } = claims(before);
      const dueAt = exp * 1000 - ((exp - iat) * 1000) / 4;
      await page.waitForTimeout(Math.max(0, dueAt - Date.now()) + 200);
      await activity();
      await expect.poll(tokenOf).not.toBe(before);
      return tokenOf();
    };

    await openGrid(lead, 'SALES_NORTH');
    const [{ id: planId }] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
    // A first renewal (a key pressed outside the grid) starts a token lifetime now: the edit below fits in it.
    await renewThrough(() => page.keyboard.press('Shift'));
    // An edit of another row: the lines the page reads again after reconnecting differ from the ones it has.
    await typeInto(page, 1, 'budgetAmount', '815');
    await expect.poll(() => valueOf(page, 1, 'budgetAmount')).toMatch(/^815$/);

    await cell(page, 0, 'budgetAmount').dblclick();
    const editor = page.locator(EDITOR);
    await editor.fill('47');
    const input = await editor.elementHandle();
    // The next key typed in the editor is the activity that renews the token.
    const renewed = await renewThrough(() => page.keyboard.type('1'));
    // The grid is back on a socket opened with the renewed token (by the time the old one ended, at the latest),
    // live, and what followed from reconnecting (the page reads its lines again) is over.
    await expect.poll(() => gridSockets.some((s) => s.url.includes(renewed) && !s.closed), { timeout: 20_000 }).toBe(true);
    await expect.poll(() => page.getByTestId('connection').textContent()).toBe('Live');
    await expect.poll(() => requestsInFlight.size).toBe(0);

    // The same editor is still open, with what was typed, and the rest goes in.
    expect(await input!.evaluate((element) => element.isConnected)).toBe(true);
    expect(await editor.inputValue()).toBe('471');
    await page.keyboard.type('1');
    await editor.press('Enter');
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toMatch(/^4,?711$/);
    // Stored, as this person's edit.
    const amounts = async () =>
      (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { budgetAmount } }', { p: planId }, await server.login('admin@example.com'))).data
        .budgetLines.map((l: { budgetAmount: number | null }) => l.budgetAmount);
    await expect.poll(amounts).toContain(4711);
    const [audit] = await server.sql<{ email: string }>(
      `SELECT u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id WHERE c.new_value = '4711' ORDER BY c.id DESC LIMIT 1`,
    );
    expect(audit?.email).toBe('lead.sales-north@example.com');
    expect(await page.getByText('Your session has expired').count()).toBe(0);
    expectNoProblems(lead);
    await lead.context.close();
  });
});
