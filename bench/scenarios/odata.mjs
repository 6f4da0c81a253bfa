// Scenario 11, OData full read: 100,000 budget lines (a plan of their own, inserted by SQL) read through the OData
// feed as Excel or Power BI would, `GET /odata/BudgetLines?$filter=PlanId eq <plan>` with Basic (any user name, a
// sign-in token as the password), following @odata.nextLink page after page (ODATA_PAGE_SIZE, 5,000 by default).
// Reported: rows/s (wall) and the server's resident memory over the read, sampled every 20 ms (peak minus the level
// before the read): the feed writes each page as it reads it, 1,000 rows a statement, so it should stay flat.
//
// Reference, in the same run: the same rows with the same columns read by ONE plain SQL query through `pg` and
// turned into one JSON text with JSON.stringify, in a node process of its own (its peak RSS is its own maxRSS, minus
// the RSS of the same process before the query). No scoping, no paging, no HTTP: the lower bound in time, and what
// "buffering everything" costs in memory. Ratios: Plansync / reference.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { cpuSample, fmt, log, login, median, monoMicros, now, plansyncDatabase, ratio, sleep } from '../lib/common.mjs';

const LINES = 100_000;

/** The columns of an OData BudgetLine, as the feed reads them (server/src/odata/entitySets.ts). */
const REFERENCE_SQL = `SELECT l.id AS "Id", l.plan_id AS "PlanId", bp.name AS "PlanName", bp.fiscal_year AS "FiscalYear",
       bu.code AS "BusinessUnitCode", bu.name AS "BusinessUnitName", l.product_category AS "ProductCategory",
       l.region AS "Region", l.quarter AS "Quarter", l.prior_year_actual AS "PriorYearActual",
       l.budget_amount AS "BudgetAmount", l.forecast_sales AS "ForecastSales", l.comment AS "Comment",
       l.version AS "Version", to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "UpdatedAt",
       ua.email AS "UpdatedBy"
  FROM budget_line l JOIN budget_plan bp ON bp.id = l.plan_id JOIN business_unit bu ON bu.id = l.business_unit_id
  LEFT JOIN app_user ua ON ua.id = l.updated_by_id
 WHERE l.plan_id = $1 ORDER BY l.id`;

/** The reference process: connects, measures its RSS, reads and stringifies, reports on stdout. */
const REFERENCE_SCRIPT = `
const pg = require('pg');
(async () => {
  const c = new pg.Client(JSON.parse(process.env.BENCH_DB));
  await c.connect();
  await c.query('SELECT 1');
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const { rows } = await c.query(process.env.BENCH_SQL, [process.env.BENCH_PLAN]);
  const json = JSON.stringify({ value: rows });
  const wallMs = performance.now() - t0;
  await c.end();
  process.stdout.write(JSON.stringify({ rows: rows.length, bytes: Buffer.byteLength(json), wallMs, rssBefore, maxRss: process.resourceUsage().maxRSS * 1024 }));
})();`;

async function setUp(db) {
  const client = new pg.Client(db);
  await client.connect();
  try {
    const { rows } = await client.query(`INSERT INTO budget_plan (id, name, fiscal_year) VALUES (gen_random_uuid(), 'Bench OData', 2099) RETURNING id`);
    const planId = rows[0].id;
    await client.query(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, prior_year_actual, budget_amount, comment)
       SELECT gen_random_uuid(), $1, u.id, 'Bench ' || n, 'North America', 'Q' || (1 + n % 4), n, n * 10, n * 11, 'line ' || n
         FROM generate_series(1, $2::int) n, (SELECT id FROM business_unit WHERE code = 'SALES_NORTH') u`,
      [planId, LINES],
    );
    await client.query('ANALYZE budget_line');
    return planId;
  } finally {
    await client.end();
  }
}

/** Reads every page; samples the server's RSS meanwhile. */
async function readFeed(url, pid, token, planId) {
  const authorization = `Basic ${Buffer.from(`excel:${token}`).toString('base64')}`;
  const before = cpuSample(pid);
  let peakRss = before.rssMb;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, cpuSample(pid).rssMb);
      await sleep(20);
    }
  })();
  const t0 = now();
  const mono0 = monoMicros();
  let next = `${url}/odata/BudgetLines?$filter=${encodeURIComponent(`PlanId eq ${planId}`)}`;
  let rows = 0;
  let pages = 0;
  let bytes = 0;
  while (next) {
    const res = await fetch(next, { headers: { authorization } });
    if (res.status !== 200) throw new Error(`odata: ${res.status} ${await res.text()}`);
    const text = await res.text();
    bytes += Buffer.byteLength(text);
    const page = JSON.parse(text);
    rows += page.value.length;
    pages++;
    next = page['@odata.nextLink'];
  }
  const wallMs = now() - t0;
  const mono1 = monoMicros();
  sampling = false;
  await sampler;
  const after = cpuSample(pid);
  if (rows !== LINES) throw new Error(`odata: read ${rows} rows, expected ${LINES}`);
  return {
    rows,
    pages,
    bytes,
    wallMs,
    rowsPerSecond: (1000 * rows) / wallMs,
    rssBeforeMb: before.rssMb,
    peakRssGrowthMb: peakRss - before.rssMb,
    serverCpuSeconds: after.ownSeconds - before.ownSeconds,
    databaseCpuSeconds: after.childSeconds - before.childSeconds,
    window: [mono0, mono1],
  };
}

function runReference(db, planId) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', REFERENCE_SCRIPT], {
      env: { ...process.env, BENCH_DB: JSON.stringify(db), BENCH_SQL: REFERENCE_SQL, BENCH_PLAN: planId },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`odata reference exited with ${code}`));
      const r = JSON.parse(out);
      resolve({ rows: r.rows, bytes: r.bytes, wallMs: r.wallMs, rowsPerSecond: (1000 * r.rows) / r.wallMs, peakRssGrowthMb: (r.maxRss - r.rssBefore) / 1024 / 1024 });
    });
  });
}

/**
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const { url, pid, dataDir } = servers.plansync;
  const db = plansyncDatabase(dataDir);
  log(`odata: inserting ${LINES.toLocaleString('en')} lines...`);
  const planId = await setUp(db);
  const token = await login(url, 'admin@example.com');
  const runs = options.odata.runs;
  const plansyncRuns = [];
  for (let i = 0; i <= runs; i++) {
    const run = await readFeed(url, pid, token, planId);
    if (i > 0) {
      plansyncRuns.push(run);
      markWindow('odata', 'plansync', ...run.window);
    }
    log(`  plansync ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, ${fmt(run.rowsPerSecond, 0)} rows/s, ${run.pages} pages, RSS +${fmt(run.peakRssGrowthMb, 1)} MB`);
    await sleep(pause);
  }
  const referenceRuns = [];
  for (let i = 0; i <= runs; i++) {
    const run = await runReference(db, planId);
    if (i > 0) referenceRuns.push(run);
    log(`  reference ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, ${fmt(run.rowsPerSecond, 0)} rows/s, RSS +${fmt(run.peakRssGrowthMb, 1)} MB`);
  }
  const pick = (list, key) => median(list.map((r) => r[key]));
  const plansync = {
    runs: plansyncRuns.map(({ window: _w, ...r }) => r),
    wallMs: pick(plansyncRuns, 'wallMs'),
    rowsPerSecond: pick(plansyncRuns, 'rowsPerSecond'),
    peakRssGrowthMb: pick(plansyncRuns, 'peakRssGrowthMb'),
    pages: plansyncRuns[0].pages,
    bytes: plansyncRuns[0].bytes,
  };
  const reference = {
    runs: referenceRuns,
    wallMs: pick(referenceRuns, 'wallMs'),
    rowsPerSecond: pick(referenceRuns, 'rowsPerSecond'),
    peakRssGrowthMb: pick(referenceRuns, 'peakRssGrowthMb'),
    bytes: referenceRuns[0].bytes,
  };
  return {
    lines: LINES,
    runs,
    plansync,
    reference,
    ratio: { rowsPerSecond: ratio(plansync.rowsPerSecond, reference.rowsPerSecond), peakRss: ratio(plansync.peakRssGrowthMb, reference.peakRssGrowthMb) },
  };
}
