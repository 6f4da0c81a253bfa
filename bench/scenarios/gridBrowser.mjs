// Scenario 13, the grid in the browser (issue 15): the budget grid page (AG Grid Community, the chosen grid) of a
// unit of 10,000 lines in headless Chromium (playwright-core, /usr/bin/chromium or CHROMIUM_PATH), against the same
// page on a unit of the usual 120 lines as the reference (what 10,000 lines add).
//
// Per run, a fresh browser context signed in as the admin (the token put where the sign-in page keeps it):
//  - load: from the navigation to /grid/<unit>?plan=<plan> to the first rows drawn with the document's values in
//    them (the first row's budget cell filled, the connection Live), in the page's clock (performance.now);
//  - memory: the page's JS heap after a forced GC (CDP HeapProfiler.collectGarbage, Runtime.getHeapUsage);
//  - scrolling: up to 100 steps of 128 px down the grid's body (the 120 lines end after about 25), each waited for
//    two animation frames: main-thread task time per step (CDP Performance.getMetrics TaskDuration) and wall time.
// Median of `runs` after a warm-up run. The client must be built (npm run build -w client); the page is served
// by the bench's Plansync from client/dist.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { fmt, graphql, log, login, median, plansyncDatabase, ratio, root } from '../lib/common.mjs';

const BIG = 10_000;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A plan of its own with `lines` lines in MARKETING and the plan's layout (120 lines) elsewhere, amounts filled. */
export async function planWithUnit(url, token, db, lines) {
  const made = await graphql(url, `mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id } }`, { i: { name: `Bench grid: ${lines} lines`, fiscalYear: 2400 } }, token);
  const planId = made.createBudgetPlan.id;
  const client = new pg.Client(db);
  await client.connect();
  try {
    await client.query(`DELETE FROM budget_line WHERE plan_id = $1 AND business_unit_id = (SELECT id FROM business_unit WHERE code = 'MARKETING')`, [planId]);
    await client.query(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, prior_year_actual, budget_amount, forecast_sales, comment)
       SELECT gen_random_uuid(), $1, u.id, 'Category ' || (n / 20), 'Region ' || ((n / 4) % 5), 'Q' || (1 + n % 4), n, 1000 + n, 1100 + n, 1200 + n, CASE WHEN n % 10 = 0 THEN 'line ' || n ELSE '' END
         FROM generate_series(0, $2::int - 1) n, business_unit u WHERE u.code = 'MARKETING'`,
      [planId, lines],
    );
    // The reference unit's lines (the plan's layout) get amounts too, so both pages show values.
    await client.query(`UPDATE budget_line SET budget_amount = 1100 + position, forecast_sales = 1200 + position WHERE plan_id = $1 AND budget_amount IS NULL`, [planId]);
    await client.query('ANALYZE budget_line');
  } finally {
    await client.end();
  }
  return planId;
}

async function measurePage(browser, url, token, planId, unit) {
  const context = await browser.newContext({ baseURL: url, viewport: { width: 1440, height: 900 } });
  try {
    await context.addInitScript((t) => localStorage.setItem('plansync.token', t), token);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await page.goto(`/grid/${unit}?plan=${planId}`);
    const loadMs = await page
      .waitForFunction(
        () => {
          const first = document.querySelector('[data-testid=budget-grid] .ag-row[row-index="0"] .ag-cell[col-id="budgetAmount"]');
          const live = document.querySelector('[data-testid=connection]')?.textContent === 'Live';
          return first && first.textContent.trim() !== '' && live ? performance.now() : false;
        },
        null,
        { polling: 'raf', timeout: 120_000 },
      )
      .then((h) => h.jsonValue());
    const rows = await page.evaluate(() => document.querySelectorAll('[data-testid=budget-grid] .ag-cell[col-id="budgetAmount"]').length);
    await cdp.send('HeapProfiler.collectGarbage');
    const heapMb = (await cdp.send('Runtime.getHeapUsage')).usedSize / 1048576;
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const before = await metrics();
    // Steps that move (a short grid reaches its end sooner: only the steps that scrolled count).
    const scrolled = await page.evaluate(async (n) => {
      // The grid's vertically scrolling element (its class names change between AG Grid versions).
      const body = [...document.querySelectorAll('[data-testid=budget-grid] *')]
        .filter((e) => e.scrollHeight > e.clientHeight + 200 && /auto|scroll/.test(getComputedStyle(e).overflowY))
        .sort((x, y) => y.scrollHeight - x.scrollHeight)[0];
      const t = performance.now();
      let steps = 0;
      for (let i = 0; i < n; i++) {
        const top = body.scrollTop;
        body.scrollTop += 128;
        if (body.scrollTop === top) break;
        steps += 1;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      }
      return { steps, wallMs: performance.now() - t };
    }, 100);
    const after = await metrics();
    const steps = Math.max(1, scrolled.steps);
    const wallPerStepMs = scrolled.wallMs / steps;
    return { loadMs, heapMb, scrollTaskMsPerStep: ((after.TaskDuration - before.TaskDuration) * 1000) / steps, scrollWallMsPerStep: wallPerStepMs, scrollSteps: scrolled.steps, renderedRows: rows };
  } finally {
    await context.close();
  }
}

/** @param {import('./shared.mjs').Suite} suite */
export async function measure({ servers, options }) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  if (!fs.existsSync(path.join(root, 'client/dist/index.html'))) throw new Error('client/dist is missing: npm run build -w client');
  const { chromium } = await import('playwright-core');
  const { url, dataDir } = servers.plansync;
  const token = await login(url, 'admin@example.com');
  const runs = options.gridBrowser.runs;
  log(`grid in the browser: a plan with ${BIG.toLocaleString('en')} lines in one unit...`);
  const planId = await planWithUnit(url, token, plansyncDatabase(dataDir), BIG);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  const out = { lines: BIG, referenceLines: 120, runs };
  try {
    for (const [key, unit] of [['plansync', 'MARKETING'], ['reference', 'SALES_NORTH']]) {
      const list = [];
      for (let i = 0; i <= runs; i++) {
        const run = await measurePage(browser, url, token, planId, unit);
        if (i > 0) list.push(run);
        log(`  ${unit} ${i === 0 ? '(warm-up)' : `run ${i}`}: first rows in ${fmt(run.loadMs, 0)} ms, JS heap ${fmt(run.heapMb, 1)} MB, scroll ${fmt(run.scrollTaskMsPerStep, 1)} ms task / ${fmt(run.scrollWallMsPerStep, 1)} ms wall per step (${run.scrollSteps} steps), ${run.renderedRows} rows in the DOM`);
      }
      const pick = (k) => median(list.map((r) => r[k]));
      out[key] = { unit, loadMs: pick('loadMs'), heapMb: pick('heapMb'), scrollTaskMsPerStep: pick('scrollTaskMsPerStep'), scrollWallMsPerStep: pick('scrollWallMsPerStep'), scrollSteps: list[0].scrollSteps, renderedRows: list[0].renderedRows };
    }
  } finally {
    await browser.close();
  }
  out.ratio = { loadMs: ratio(out.plansync.loadMs, out.reference.loadMs), heapMb: ratio(out.plansync.heapMb, out.reference.heapMb) };
  return out;
}
