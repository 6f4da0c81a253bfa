/// <reference lib="dom" />
/**
 * The web client by keyboard and with a screen reader, as a first-time leader and admin use it: where the focus
 * goes, and what the page says to someone who does not see it. Found in a QA pass (helper).
 */
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../../server/src/testing/harness.js';
import { browserWorld, expectNoProblems, hasChromium, launchBrowser, screenshot } from './browser.js';
import { cell, openGrid, valueOf } from './gridPage.js';

/** The focused element, told as a screen reader would name it. */
const focused = (page: import('playwright-core').Page) =>
  page.evaluate(() => {
    const element = document.activeElement;
    return element ? `${element.tagName} ${(element.getAttribute('aria-label') ?? element.textContent ?? '').trim()}` : '';
  });

describe.skipIf(!hasChromium)('the web client by keyboard and screen reader', () => {
  const world = browserWorld();

  it('gives the focus back to the button that opened a dialog when Escape closes it', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    for (const opener of ['Submit for review', 'Import…']) {
      await page.getByRole('button', { name: opener, exact: true }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => Boolean(document.activeElement?.closest('dialog[open]')))).toBe(true);
      await page.keyboard.press('Escape');
      await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
      // Before: the focus fell to the page's body, and a keyboard user started again from the top.
      await expect.poll(() => focused(page)).toBe(`BUTTON ${opener}`);
    }
    expectNoProblems(lead);
  });

  it('shows which page is open in a colour that reads at 4.5:1 or more, in the top bar and the admin row', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const contrastOf = (selector: string) =>
      admin.page.locator(selector).first().evaluate((link) => {
        const rgb = (css: string) => (css.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = ([r, g, b]: number[]) => {
          const channel = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
          return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        };
        // The first ancestor (or the link itself) with a background that is not transparent.
        let element: Element | null = link;
        let background = [255, 255, 255];
        for (; element; element = element.parentElement) {
          const color = rgb(getComputedStyle(element).backgroundColor);
          if (color.length === 3 || (color.length === 4 && color[3] > 0)) {
            background = color.slice(0, 3);
            break;
          }
        }
        const [light, dark] = [luminance(rgb(getComputedStyle(link).color)), luminance(background)].sort((a, b) => b - a);
        return (light + 0.05) / (dark + 0.05);
      });
    await admin.page.locator('.admin-nav a.active').first().waitFor();
    // Before: 3.88 and 4.35.
    expect(await contrastOf('.topbar nav a.active, .topbar nav a[aria-current="true"]')).toBeGreaterThanOrEqual(4.5);
    expect(await contrastOf('.admin-nav a.active')).toBeGreaterThanOrEqual(4.5);
    expectNoProblems(admin);
  });

  it('says which columns take input by more than their tint: a pencil, "editable" for a screen reader, and a notice when typing elsewhere', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    const header = (column: string) => page.locator(`[data-testid=budget-grid] .ag-header-cell[col-id="${column}"] .range-header-label`);
    // What a screen reader reads for the column header (the visually hidden part included), and what shows.
    for (const column of ['budgetAmount', 'forecastSales', 'comment']) {
      expect(await header(column).textContent()).toMatch(/^✎.+, editable$/);
      expect(await header(column).locator('.range-header-editable').isVisible()).toBe(true);
    }
    for (const column of ['productCategory', 'region', 'quarter', 'priorYearActual', 'variance', 'variancePct']) {
      expect(await header(column).textContent()).not.toMatch(/✎|editable/);
    }
    // Typing into a read-only cell: before, nothing happened and nothing was said.
    const before = await valueOf(page, 0, 'priorYearActual');
    await cell(page, 0, 'priorYearActual').click();
    await page.keyboard.type('5');
    await expect.poll(() => page.getByTestId('notices').textContent()).toContain('is read-only. You can type in Budget amount, Forecast sales, Comment');
    await screenshot(page, 'grid-editable-columns');
    expect(await valueOf(page, 0, 'priorYearActual')).toBe(before);
    // Once per cell and burst of keys, not once per keystroke.
    await page.keyboard.type('55');
    expect(await page.getByTestId('notices').locator('.toast').count()).toBe(1);
    // An editable cell takes the keys as ever.
    await cell(page, 0, 'forecastSales').click();
    await page.keyboard.type('7');
    await expect.poll(() => page.locator('[data-testid=budget-grid] .ag-cell-inline-editing input').count()).toBe(1);
    await page.keyboard.press('Escape');
    expectNoProblems(lead);
  });

  it('tells a viewer that a read-only budget takes no typing', async () => {
    const viewer = await world.signIn('viewer.marketing@example.com');
    const { page } = viewer;
    await openGrid(viewer, 'MARKETING');
    expect(await page.locator('[data-testid=budget-grid] .range-header-editable').count()).toBe(0);
    await cell(page, 0, 'budgetAmount').click();
    await page.keyboard.type('9');
    await expect.poll(() => page.getByTestId('notices').textContent()).toContain('This budget is read-only');
    expectNoProblems(viewer);
  });

  it('lets a keyboard user leave the grid, and tells a screen reader how on entering it', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    const inGrid = () => page.evaluate(() => Boolean(document.activeElement?.closest('[data-testid=budget-grid]')));
    // The grid describes itself with its keys: what a screen reader says after its name on entering it.
    const description = await page.evaluate(() => {
      const grid = document.querySelector('[data-testid=budget-grid] [role="grid"], [data-testid=budget-grid] [role="treegrid"]');
      const ids = grid?.getAttribute('aria-describedby')?.split(/\s+/) ?? [];
      return ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
    });
    expect(description).toContain('Ctrl+End then Tab leaves the grid');
    expect(description).toContain('Enter, F2 or type to edit');
    // The way out it names: from any cell, the last cell, then the next control of the page. Tab alone moves
    // from cell to cell, as in Excel, so without it a keyboard user would Tab through every cell of the unit.
    await cell(page, 0, 'budgetAmount').click();
    await page.keyboard.press('Control+End');
    expect(await inGrid()).toBe(true);
    await page.keyboard.press('Tab');
    await expect.poll(inGrid).toBe(false);
    await expect.poll(() => page.evaluate(() => document.activeElement !== document.body && document.activeElement !== null)).toBe(true);
    expectNoProblems(lead);
  });

  it('gives the focus back to the Export menu when Escape closes it from one of its choices', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    await page.locator('details.menu summary').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('details.menu[open]').count()).toBe(1);
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(() => Boolean(document.activeElement?.closest('.menu-items')))).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('details.menu[open]').count()).toBe(0);
    // Before: the focus fell to the page's body.
    await expect.poll(() => focused(page)).toBe('SUMMARY Export');
    expectNoProblems(lead);
  });

  it('"Submit for review" says it is checking, not submitting, while it asks whether the plan requires a complete budget', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    // The readiness question held until the button has been read.
    let held!: (route: import('playwright-core').Route) => void;
    const readiness = new Promise<import('playwright-core').Route>((resolve) => (held = resolve));
    await page.route('**/graphql', (route) => (route.request().postDataJSON()?.operationName === 'SubmitReadiness' ? held(route) : route.continue()));
    await page.getByRole('button', { name: 'Submit for review', exact: true }).click();
    const route = await readiness;
    // Before: "Submitting…", while nothing was being submitted.
    await expect.poll(() => page.getByRole('button', { name: 'Checking…', exact: true }).count()).toBe(1);
    await route.continue();
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(1);
    await page.keyboard.press('Escape');
    expectNoProblems(lead);
  });

  it('names each view in the tab title, so that a screen reader says which page a tab holds', async () => {
    const lead = await world.signIn('lead.marketing@example.com');
    const { page } = lead;
    await openGrid(lead, 'MARKETING');
    // Before: "Plansync" on every page.
    await expect.poll(() => page.title()).toBe('MARKETING budget – Plansync');
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await expect.poll(() => page.title()).toBe('Access tokens – Plansync');
    await page.getByTestId('me').click();
    await expect.poll(() => page.title()).toBe('Your account – Plansync');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect.poll(() => page.title()).toBe('Sign in – Plansync');
    expectNoProblems(lead);
  });
});

describe.skipIf(!hasChromium)('signing in while the server is out of reach', () => {
  it('says Plansync cannot be reached, not the browser\'s "Failed to fetch"', async () => {
    const server = await startTestServer();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ baseURL: server.url });
      await page.goto('/');
      await page.getByLabel('Email').fill('lead.marketing@example.com');
      await page.getByLabel('Password').fill('plansync-demo');
      await server.stop();
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe('Plansync cannot be reached: check your connection, then try again in a moment.');
    } finally {
      await browser.close();
    }
  });
});
