/**
 * Prior-year actuals loaded from Power BI in a browser: an admin opens the Plans page of a server configured with
 * a semantic model (a local fake of the Power BI REST API and of the Entra authority; the server runs as a child
 * process so that it trusts their certificate), sees what the load would do in the confirmation, loads it, and a
 * leader's open grid shows the new prior-year actual without a reload.
 */
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../../server/src/testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../../server/src/testing/fakeEntraAuthority.js';
import { startFakeMicrosoftApis, type FakeMicrosoftApis } from '../../server/src/testing/fakeMicrosoftApis.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn, type Person } from './browser.js';
import { openGrid, valueOf } from './gridPage.js';

const GROUP_ID = randomUUID();
const DATASET_ID = randomUUID();

describe.skipIf(!hasChromium)('prior-year actuals from Power BI on the Plans page', () => {
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let server: ChildServer;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    authority = await startFakeEntraAuthority({});
    apis = await startFakeMicrosoftApis({
      authority,
      teams: [],
      powerBi: { groupId: randomUUID(), datasetId: randomUUID(), table: 'BudgetLines' },
      queryableModels: [{ groupId: GROUP_ID, datasetId: DATASET_ID }],
    });
    server = await startChildServer({
      ...authority.env('https://plansync.example/auth/microsoft/callback'),
      NODE_EXTRA_CA_CERTS: apis.caFile,
      POWERBI_ACTUALS_GROUP_ID: GROUP_ID,
      POWERBI_ACTUALS_DATASET_ID: DATASET_ID,
      POWERBI_ACTUALS_DAX: 'EVALUATE FILTER(Actuals, Actuals[Year] = {fiscalYear})',
      POWERBI_API_URL: apis.powerBiUrl,
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const p of people) await p.context.close();
    await browser?.close();
    await server?.stop();
    await apis?.close();
    await authority?.close();
  });

  it('previews the load in the confirmation, loads it, and an open grid shows the new value', async () => {
    apis.queryResult = {
      rows: [
        { 'Actuals[BusinessUnitCode]': 'FINANCE', 'Actuals[ProductCategory]': 'Laptops', 'Actuals[Region]': 'North America', 'Actuals[Quarter]': 'Q1', '[Amount]': 4000 },
        { 'Actuals[BusinessUnitCode]': 'FINANCE', 'Actuals[ProductCategory]': 'Laptops', 'Actuals[Region]': 'North America', 'Actuals[Quarter]': 'Q1', '[Amount]': 242 },
        { 'Actuals[BusinessUnitCode]': 'FINANCE', 'Actuals[ProductCategory]': 'Hardware', 'Actuals[Region]': 'EMEA', 'Actuals[Quarter]': 'Q5', '[Amount]': 1 },
      ],
    };
    const lead = await signIn(browser, server.url, 'lead.finance@example.com');
    people.push(lead);
    await openGrid(lead, 'FINANCE');
    await expect.poll(() => valueOf(lead.page, 0, 'productCategory')).toBe('Laptops');
    expect(await valueOf(lead.page, 0, 'priorYearActual')).not.toContain('4,242');

    const admin = await signIn(browser, server.url, 'admin@example.com');
    people.push(admin);
    const page = admin.page;
    await page.goto('/admin/plans');
    await page.getByRole('button', { name: 'Load prior-year actuals into FY2027 Budget' }).click();
    const dialog = page.getByRole('dialog', { name: 'Load prior-year actuals into FY2027 Budget?' });
    await expect.poll(() => dialog.textContent()).toContain('1 line would get a new prior-year actual');
    expect(await dialog.textContent()).toContain('FINANCE / Hardware / EMEA / Q5: no such line in this plan');
    expect(await dialog.textContent()).toContain('The query for 2026 returned 3 rows');
    await screenshot(page, 'prior-year-actuals-preview');
    expect(await page.getByText('4,242', { exact: true }).count()).toBe(0);
    // The preview wrote nothing.
    expect(await valueOf(lead.page, 0, 'priorYearActual')).not.toContain('4,242');

    await dialog.getByRole('button', { name: 'Load actuals' }).click();
    await expect.poll(() => page.getByText('Loaded prior-year actuals into FY2027 Budget: 1 line updated.').count()).toBe(1);
    await expect.poll(() => dialog.count()).toBe(0);
    // The page's list of the plan's lines (FY2027, Finance) shows it too.
    await expect.poll(() => page.getByText('4,242', { exact: true }).count()).toBe(1);
    // Live in the leader's grid.
    await expect.poll(() => valueOf(lead.page, 0, 'priorYearActual'), { timeout: 10_000 }).toContain('4,242');
    await screenshot(lead.page, 'prior-year-actuals-grid');
    expectNoProblems(admin);
    expectNoProblems(lead);
  });
});
