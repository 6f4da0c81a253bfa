/// <reference lib="dom" />
/**
 * Two things a person meets at the edges of a session and a screen: signing out on purpose from a live view
 * brings the sign-in page without the "no longer valid" notice (the server closing the signed-out token's
 * sockets with CloseCode.Unauthorized is the sign-out itself, not a refusal), and on a phone, where the pinned columns do not all
 * fit, the row number and the category stay pinned while the region and the quarter scroll.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../schema/codes.js';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid } from './gridPage.js';

/** The header's columns in the order shown, and the last of those pinned to the left. */
const headerOrder = (page: Page) =>
  page.evaluate(() => Array.from(document.querySelectorAll('[data-testid=budget-grid] .ag-header-cell[col-id]')).map((e) => e.getAttribute('col-id')).slice(0, 5));
const lastPinned = (page: Page) => page.locator('[data-testid=budget-grid] .ag-header-cell-last-left-pinned').first().getAttribute('col-id');

describe.skipIf(!hasChromium)('signing out from a live view; the grid on a phone', () => {
  const world = browserWorld();

  it('signs out from the monitor, the account page and the grid without saying the session is no longer valid', async () => {
    for (const path of ['/workflows', '/account', '/grid/SALES_NORTH']) {
      const person = await world.signIn('admin@example.com', path);
      const { page } = person;
      if (path.startsWith('/grid')) await openGrid(person, 'SALES_NORTH');
      else await page.getByRole('heading', { level: 1 }).waitFor();
      // The live views' sockets are open (the bell's subscription on every page).
      await page.waitForTimeout(1000);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      // The server ends the token and closes its sockets (CloseCode.Unauthorized) a moment later: the page still says nothing of a refusal.
      await page.waitForTimeout(2000);
      expect(await page.getByText('no longer valid').count(), `signing out from ${path}`).toBe(0);
      expect(await page.evaluate(() => localStorage.getItem('plansync.token'))).toBeNull();
      expectNoProblems(person, [new RegExp(`${CloseCode.Unauthorized}|WebSocket|Failed to load resource`)]);
    }
  });

  it('keeps the row number and the category pinned on a phone; the region and the quarter scroll with the amounts', async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    await lead.page.setViewportSize({ width: 390, height: 844 });
    await openGrid(lead, 'SALES_NORTH');
    await expect.poll(() => lastPinned(lead.page)).toBe('productCategory');
    expect(await headerOrder(lead.page)).toEqual(['rowNumber', 'productCategory', 'region', 'quarter', 'priorYearActual']);
    expectNoProblems(lead);
  });
});
