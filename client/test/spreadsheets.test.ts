/// <reference lib="dom" />
/**
 * The grid page's spreadsheet round trip in a browser: a leader exports the unit as CSV (a real download),
 * edits it as Excel would, imports it, sees the refused cell in the preview with nothing applied yet, applies,
 * and the grid shows the values; a file over 10 MB is refused before it is sent; a viewer gets Export only.
 */
import fs from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';
import { openGrid, valueOf } from './gridPage.js';

const HEADER = [
  'Line id', 'Business unit', 'Product category', 'Region', 'Quarter', 'Prior-year actual', 'Budget amount',
  'Forecast sales', 'Comment', 'Version', 'Updated at', 'Updated by',
];
const BUDGET = HEADER.indexOf('Budget amount');
const FORECAST = HEADER.indexOf('Forecast sales');

describe.skipIf(!hasChromium)('spreadsheet export and import on the grid page', () => {
  const world = browserWorld();

  it('exports CSV and Excel, previews an edited file with its refused cell, applies it, and the grid shows the values', async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    await openGrid(lead, 'SALES_NORTH');
    const { page } = lead;

    await page.locator('summary', { hasText: 'Export' }).click();
    await screenshot(page, 'spreadsheets-export-menu');
    const exportRequest = page.waitForRequest((r) => r.url().includes('/export/budget-lines.csv'));
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'CSV (.csv)' }).click();
    const download = await downloading;
    const planId = new URL((await exportRequest).url()).searchParams.get('planId');
    const [plan] = await world.server.sql(`SELECT name FROM budget_plan WHERE id = $1`, [planId]);
    expect(download.suggestedFilename()).toBe(`budget-lines-${plan.name}-SALES_NORTH.csv`);
    const text = await fs.readFile((await download.path())!, 'utf8');
    const [header, ...rows] = parse(text, { bom: true }) as string[][];
    expect(header).toEqual(HEADER);
    const [{ n }] = await world.server.sql(
      `SELECT count(*)::int AS n FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE l.plan_id = $1 AND u.code = 'SALES_NORTH'`,
      [planId],
    );
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['SALES_NORTH']));
    await expect.poll(() => page.getByTestId('notices').textContent()).toContain(`Exported ${download.suggestedFilename()}`);

    // Excel too: an xlsx file (a zip) under the server's name; the menu closes on Escape, even pressed at once
    // (in the same task as the click, before the menu's toggle event has come: what a busy machine makes of a quick
    // Escape, which CI saw leave the menu open).
    await page.locator('summary', { hasText: 'Export' }).evaluate((summary: HTMLElement) => {
      summary.click();
      summary.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    });
    await expect.poll(() => page.getByRole('button', { name: 'Excel (.xlsx)' }).isVisible()).toBe(false);
    await page.locator('summary', { hasText: 'Export' }).click();
    const xlsxDownloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Excel (.xlsx)' }).click();
    const xlsx = await xlsxDownloading;
    expect(xlsx.suggestedFilename()).toBe(`budget-lines-${plan.name}-SALES_NORTH.xlsx`);
    expect((await fs.readFile((await xlsx.path())!)).subarray(0, 2).toString('latin1')).toBe('PK');

    // Two cells edited, and a negative amount, which the import refuses (file row 4: the header is row 1).
    rows[0][BUDGET] = '4321';
    rows[1][FORECAST] = '8765';
    rows[2][BUDGET] = '-50';
    const edited = Buffer.from(`\uFEFF${stringify([header, ...rows], { record_delimiter: 'windows' })}`);
    const valuesOf = (ids: string[]) =>
      world.server.sql(`SELECT id, budget_amount, forecast_sales FROM budget_line WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
    const touched = [rows[0][0], rows[1][0], rows[2][0]];
    const before = await valuesOf(touched);

    await page.getByRole('button', { name: 'Import…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import from a spreadsheet' });
    await dialog.getByLabel('File').setInputFiles({ name: 'north-edited.csv', mimeType: 'text/csv', buffer: edited });
    const preview = dialog.getByTestId('import-preview');
    await expect.poll(() => preview.textContent().catch(() => '')).toMatch(/2 cells would change, 357 cells unchanged, 1 cell refused/);
    const refused = await dialog.getByRole('table', { name: 'Refused cells' }).locator('tbody tr').allTextContents();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^4Budget amount.*negative/);
    await screenshot(page, 'spreadsheets-import-preview');
    // The preview applied nothing.
    expect(await valuesOf(touched)).toEqual(before);
    expect(await valueOf(page, 0, 'budgetAmount')).toBe('');

    await dialog.getByRole('button', { name: 'Apply 2 changes' }).click();
    await expect.poll(() => dialog.getByTestId('import-result').textContent().catch(() => '')).toMatch(
      /north-edited\.csv is imported: 2 cells changed, 357 cells unchanged, 1 cell refused/,
    );
    await screenshot(page, 'spreadsheets-import-result');
    const after = new Map((await valuesOf(touched)).map((l) => [l.id, l]));
    expect(Number(after.get(rows[0][0]).budget_amount)).toBe(4321);
    expect(Number(after.get(rows[1][0]).forecast_sales)).toBe(8765);
    expect(after.get(rows[2][0]).budget_amount).toBe(before.find((l) => l.id === rows[2][0]).budget_amount);
    // The open grid shows the applied values through its own connection (export and grid are in position order).
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toContain('4,321');
    await expect.poll(() => valueOf(page, 1, 'forecastSales')).toContain('8,765');
    expect(await valueOf(page, 2, 'budgetAmount')).toBe('');
    await expect.poll(() => page.getByTestId('notices').textContent()).toMatch(/Imported north-edited\.csv: 2 cells changed, 1 cell refused/);
    await screenshot(page, 'spreadsheets-grid-after-import');

    // The import is one step to undo: both cells go back, in the database and in the grid.
    await dialog.getByRole('button', { name: 'Undo this import' }).click();
    await dialog.getByTestId('import-undone').waitFor();
    await expect.poll(() => valuesOf(touched)).toEqual(before);
    await expect.poll(() => valueOf(page, 0, 'budgetAmount')).toBe('');
    await expect.poll(() => page.getByTestId('notices').textContent()).toMatch(/Import of north-edited\.csv undone: 2 lines back as they were\./);
    // The audit says what happened: the import's cells, then their restore (it said API, as if typed in again).
    const audit = await world.server.sql(`SELECT source::text FROM cell_change WHERE line_id = ANY($1::uuid[]) ORDER BY id`, [touched]);
    expect(audit.map((e: { source: string }) => e.source)).toEqual(['IMPORT', 'IMPORT', 'RESTORE', 'RESTORE']);
    await dialog.getByRole('button', { name: 'Close' }).click();
    expectNoProblems(lead);
  });

  it('refuses a file over 10 MB before sending it, and shows why the server refuses an unreadable one', async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    await openGrid(lead, 'SALES_NORTH');
    const imports: string[] = [];
    lead.page.on('request', (r) => void (r.url().includes('/import/') && imports.push(r.url())));
    await lead.page.getByRole('button', { name: 'Import…' }).click();
    const dialog = lead.page.getByRole('dialog', { name: 'Import from a spreadsheet' });
    const big = Buffer.alloc(10.5 * 1024 * 1024, 'a');
    await dialog.getByLabel('File').setInputFiles({ name: 'huge.csv', mimeType: 'text/csv', buffer: big });
    await expect.poll(() => dialog.getByRole('alert').textContent().catch(() => '')).toMatch(/huge\.csv is 10\.5 MB, more than the import takes \(10 MB\)/);
    expect(imports).toEqual([]);
    expect(await dialog.getByTestId('import-preview').count()).toBe(0);
    await screenshot(lead.page, 'spreadsheets-import-too-large');
    // A file the server cannot read: its reason, in the dialog, and nothing to apply.
    await dialog.getByLabel('File').setInputFiles({ name: 'renamed.xlsx', mimeType: 'application/octet-stream', buffer: Buffer.from('not a workbook') });
    await expect.poll(() => dialog.getByRole('alert').textContent().catch(() => '')).toMatch(/not an xlsx workbook \(it is no zip archive\)/);
    expect(imports).toHaveLength(1);
    expect(await dialog.getByTestId('import-preview').count()).toBe(0);
    // The browser logs the refusal it was asked to provoke.
    expectNoProblems(lead, [/status of 400 \(Bad Request\)/]);
    // Done with this page: one less live grid for the machine to keep up (closing again at the end is harmless).
    await lead.context.close();
  });

  it('shows a slow upload’s progress, and Stop ends it with nothing applied', async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    await openGrid(lead, 'SALES_NORTH');
    // A slow line (Chromium's network emulation) so that the upload is seen under way.
    const cdp = await lead.context.newCDPSession(lead.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 64 * 1024 });
    const versions = () => world.server.sql(`SELECT sum(version)::int AS v FROM budget_line`);
    const before = await versions();
    await lead.page.getByRole('button', { name: 'Import…' }).click();
    const dialog = lead.page.getByRole('dialog', { name: 'Import from a spreadsheet' });
    const rows = Array.from({ length: 20_000 }, (_, i) => `,SALES_NORTH,Laptops,Europe,Q1,,${i},,a comment of some length to fill the file up,,,\r\n`);
    const file = Buffer.from(`${HEADER.join(',')}\r\n${rows.join('')}`);
    await dialog.getByLabel('File').setInputFiles({ name: 'slow.csv', mimeType: 'text/csv', buffer: file });
    const bar = dialog.locator('progress');
    await expect.poll(() => bar.evaluate((p: HTMLProgressElement) => p.value).catch(() => 0)).toBeGreaterThan(0);
    expect(await bar.evaluate((p: HTMLProgressElement) => p.value < p.max)).toBe(true);
    await expect.poll(() => dialog.textContent()).toMatch(/Sending \d+\.\d MB of 1\.7 MB \(\d+%\)…/);
    await screenshot(lead.page, 'spreadsheets-import-progress');
    await dialog.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => bar.count()).toBe(0);
    expect(await dialog.getByRole('alert').count()).toBe(0);
    expect(await dialog.getByTestId('import-preview').count()).toBe(0);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    expect(await versions()).toEqual(before);
    expectNoProblems(lead);
    await lead.context.close();
  });

  it('offers a viewer Export but not Import', async () => {
    const viewer = await world.signIn('viewer.sales-north@example.com');
    await openGrid(viewer, 'SALES_NORTH');
    await viewer.page.getByText('You can read this budget but not change it.').waitFor();
    await viewer.page.locator('summary', { hasText: 'Export' }).waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Import…' }).count()).toBe(0);
    expectNoProblems(viewer);
  });
});
