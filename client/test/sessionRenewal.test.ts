/// <reference lib="dom" />
/**
 * A person at work is never sent to sign in mid-edit: while they keep editing the grid, the page renews its
 * token before it expires (renewSession), the grid and subscription sockets move to the new token without a
 * reload, and every edit lands. Tokens last 12 s here so that two renewals happen within the test; the idle
 * case (no renewal, signed out at expiry) is signIn.test.ts's.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, signIn } from './browser.js';
import { openGrid, typeInto, valueOf } from './gridPage.js';

const TTL_SECONDS = 12;

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
    const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
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
});
