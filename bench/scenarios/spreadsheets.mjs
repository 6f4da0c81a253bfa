// Scenario 12, spreadsheets in and out (issue 15): exports of 100,000 budget lines as CSV and as xlsx, and an
// import of 10,000 lines.
//
// Export: `GET /export/budget-lines.csv|xlsx?planId=<plan>` of a plan of 100,000 lines (and of 50,000, to show
// that memory does not grow with the rows), Bearer with a sign-in token, the body read and dropped as it comes.
// Reported: rows/s (wall) and the server's resident memory over the download, sampled every 20 ms (peak minus the
// level before). Reference for the CSV: the same rows read by ONE plain SQL query through `pg` and written as CSV
// text in a node process of its own (its maxRSS minus its RSS before the query): no scope, no chunks, no
// formula neutralising, every row in memory at once.
//
// Import: a plan of 10,000 lines (2,000 in each of the 5 units) exported as CSV, every budget amount changed, then
// POSTed to /import/budget-lines: wall time and CPU per cell (server and PostgreSQL), audited as IMPORT, seen by
// open grids. The first import also loads the 5 grid documents; the median of the runs after it is reported.
// Reference: the same 10,000 changes through updateBudgetLines (two calls of 5,000, the API's limit), the write
// path an import uses, without the file.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { cpuSample, fmt, graphql, log, login, median, monoMicros, now, plansyncDatabase, ratio, sleep } from '../lib/common.mjs';

const EXPORT_LINES = [50_000, 100_000];
const IMPORT_LINES = 10_000;

const REFERENCE_SQL = `SELECT l.id, u.code, l.product_category, l.region, l.quarter, l.prior_year_actual, l.budget_amount,
       l.forecast_sales, l.comment, l.version, l.updated_at, p.email
  FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id LEFT JOIN app_user p ON p.id = l.updated_by_id
 WHERE l.plan_id = $1 ORDER BY u.code, l.position, l.id`;

const REFERENCE_SCRIPT = `
const pg = require('pg');
const field = (v) => v === null ? '' : typeof v === 'number' ? String(v) : v instanceof Date ? v.toISOString() : /[",\\r\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
(async () => {
  const c = new pg.Client(JSON.parse(process.env.BENCH_DB));
  await c.connect();
  await c.query('SELECT 1');
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const { rows } = await c.query(process.env.BENCH_SQL, [process.env.BENCH_PLAN]);
  let csv = '';
  for (const r of rows) csv += Object.values(r).map(field).join(',') + '\\r\\n';
  const wallMs = performance.now() - t0;
  await c.end();
  process.stdout.write(JSON.stringify({ rows: rows.length, bytes: Buffer.byteLength(csv), wallMs, rssBefore, maxRss: process.resourceUsage().maxRSS * 1024 }));
})();`;

/**
 * A plan made by createBudgetPlan (as an admin would), its layout lines replaced by `lines` lines spread over the 5 demo
 * units (named: other scenarios of a full run add units of their own, 42 for batch writes, which would multiply the lines).
 */
async function planWith(url, token, db, lines, year) {
  const made = await graphql(url, `mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id } }`, { i: { name: `Bench sheets ${year}: ${lines} lines`, fiscalYear: year } }, token);
  const planId = made.createBudgetPlan.id;
  const client = new pg.Client(db);
  await client.connect();
  try {
    await client.query(`DELETE FROM budget_line WHERE plan_id = $1`, [planId]);
    await client.query(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, prior_year_actual, budget_amount, comment)
       SELECT gen_random_uuid(), $1, u.id, 'Bench ' || n, 'North America', 'Q' || (1 + n % 4), n, n * 10, n * 11, 'line ' || n
         FROM generate_series(1, $2::int / 5) n, business_unit u
        WHERE u.code IN ('SALES_NORTH', 'SALES_SOUTH', 'MARKETING', 'OPERATIONS', 'FINANCE')`,
      [planId, lines],
    );
    await client.query('ANALYZE budget_line');
  } finally {
    await client.end();
  }
  return planId;
}

function rssSampler(pid) {
  const before = cpuSample(pid);
  let peak = before.rssMb;
  let sampling = true;
  const done = (async () => {
    while (sampling) {
      peak = Math.max(peak, cpuSample(pid).rssMb);
      await sleep(20);
    }
  })();
  return async () => {
    sampling = false;
    await done;
    const after = cpuSample(pid);
    return {
      rssBeforeMb: before.rssMb,
      peakRssGrowthMb: peak - before.rssMb,
      serverCpuSeconds: after.ownSeconds - before.ownSeconds,
      databaseCpuSeconds: after.childSeconds - before.childSeconds,
    };
  };
}

async function exportOnce(url, pid, token, planId, format, lines) {
  const stop = rssSampler(pid);
  const t0 = now();
  const mono0 = monoMicros();
  const res = await fetch(`${url}/export/budget-lines.${format}?planId=${planId}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`export: ${res.status} ${await res.text()}`);
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  const wallMs = now() - t0;
  const mono1 = monoMicros();
  return { lines, format, bytes, wallMs, rowsPerSecond: (1000 * lines) / wallMs, ...(await stop()), window: [mono0, mono1] };
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
      if (code !== 0) return reject(new Error(`spreadsheets reference exited with ${code}`));
      const r = JSON.parse(out);
      resolve({ rows: r.rows, bytes: r.bytes, wallMs: r.wallMs, rowsPerSecond: (1000 * r.rows) / r.wallMs, peakRssGrowthMb: (r.maxRss - r.rssBefore) / 1024 / 1024 });
    });
  });
}

/** The exported CSV with every budget amount set to `amount(n)` (n: the row's index). */
function editedCsv(text, amount) {
  return text
    .split('\r\n')
    .map((line, i) => {
      if (i === 0 || line === '') return line;
      const cells = line.split(',');
      cells[6] = String(amount(i));
      return cells.join(',');
    })
    .join('\r\n');
}

async function importOnce(url, pid, token, planId, body) {
  const stop = rssSampler(pid);
  const t0 = now();
  const mono0 = monoMicros();
  const res = await fetch(`${url}/import/budget-lines?planId=${planId}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body });
  const answer = await res.json();
  const wallMs = now() - t0;
  const mono1 = monoMicros();
  if (res.status !== 200 || answer.applied !== IMPORT_LINES) throw new Error(`import: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
  const m = await stop();
  return { wallMs, cells: answer.applied, ...m, cpuPerCellUs: (1e6 * (m.serverCpuSeconds + m.databaseCpuSeconds)) / answer.applied, wallPerCellUs: (1000 * wallMs) / answer.applied, window: [mono0, mono1] };
}

async function batchOnce(url, pid, token, ids, amount) {
  const stop = rssSampler(pid);
  const t0 = now();
  for (let i = 0; i < ids.length; i += 5000) {
    const changes = ids.slice(i, i + 5000).map((id, k) => ({ id, input: { budgetAmount: amount(i + k) } }));
    const res = await graphql(url, `mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { rejected { id } } }`, { c: changes }, token);
    if (res.updateBudgetLines.rejected.length) throw new Error(`updateBudgetLines: ${JSON.stringify(res).slice(0, 300)}`);
  }
  const wallMs = now() - t0;
  const m = await stop();
  return { wallMs, cells: ids.length, ...m, cpuPerCellUs: (1e6 * (m.serverCpuSeconds + m.databaseCpuSeconds)) / ids.length, wallPerCellUs: (1000 * wallMs) / ids.length };
}

/**
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const { url, pid, dataDir } = servers.plansync;
  const db = plansyncDatabase(dataDir);
  const token = await login(url, 'admin@example.com');
  const runs = options.spreadsheets.runs;
  const pick = (list, key) => median(list.map((r) => r[key]));

  const exports = {};
  let bigPlan;
  for (const [k, lines] of EXPORT_LINES.entries()) {
    log(`spreadsheets: a plan of ${lines.toLocaleString('en')} lines...`);
    const planId = await planWith(url, token, db, lines, 2200 + k);
    if (lines === Math.max(...EXPORT_LINES)) bigPlan = planId;
    for (const format of ['csv', 'xlsx']) {
      const list = [];
      for (let i = 0; i <= runs; i++) {
        const run = await exportOnce(url, pid, token, planId, format, lines);
        if (i > 0) {
          list.push(run);
          markWindow(`spreadsheets export ${format} ${lines}`, 'plansync', ...run.window);
        }
        log(`  export ${format} ${lines} ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, ${fmt(run.rowsPerSecond, 0)} rows/s, ${fmt(run.bytes / 1e6, 1)} MB, RSS +${fmt(run.peakRssGrowthMb, 1)} MB`);
        await sleep(pause);
      }
      exports[`${format}${lines}`] = { lines, format, wallMs: pick(list, 'wallMs'), rowsPerSecond: pick(list, 'rowsPerSecond'), peakRssGrowthMb: pick(list, 'peakRssGrowthMb'), bytes: list[0].bytes };
    }
  }
  const referenceRuns = [];
  for (let i = 0; i <= runs; i++) {
    const run = await runReference(db, bigPlan);
    if (i > 0) referenceRuns.push(run);
    log(`  reference CSV ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, ${fmt(run.rowsPerSecond, 0)} rows/s, RSS +${fmt(run.peakRssGrowthMb, 1)} MB`);
  }
  const reference = { wallMs: pick(referenceRuns, 'wallMs'), rowsPerSecond: pick(referenceRuns, 'rowsPerSecond'), peakRssGrowthMb: pick(referenceRuns, 'peakRssGrowthMb'), bytes: referenceRuns[0].bytes };

  log(`spreadsheets: import of ${IMPORT_LINES.toLocaleString('en')} lines...`);
  const importPlan = await planWith(url, token, db, IMPORT_LINES, 2300);
  const exported = await (await fetch(`${url}/export/budget-lines.csv?planId=${importPlan}`, { headers: { authorization: `Bearer ${token}` } })).text();
  const ids = exported.split('\r\n').slice(1).filter((l) => l !== '').map((l) => l.split(',')[0].replace(/^\uFEFF/, ''));
  const imports = [];
  const batches = [];
  let delta = 0;
  for (let i = 0; i <= runs; i++) {
    delta += 1;
    const d = delta;
    const run = await importOnce(url, pid, token, importPlan, editedCsv(exported, (n) => n * 11 + d));
    if (i > 0) {
      imports.push(run);
      markWindow('spreadsheets import', 'plansync', ...run.window);
    }
    log(`  import ${i === 0 ? '(warm-up, loads the documents)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, ${fmt(run.wallPerCellUs, 1)} us/cell wall, ${fmt(run.cpuPerCellUs, 1)} us/cell CPU, RSS +${fmt(run.peakRssGrowthMb, 1)} MB`);
    await sleep(pause);
    delta += 1;
    const e = delta;
    const batch = await batchOnce(url, pid, token, ids, (n) => (n + 1) * 11 + e);
    if (i > 0) batches.push(batch);
    log(`  updateBudgetLines reference ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(batch.wallMs, 0)} ms, ${fmt(batch.wallPerCellUs, 1)} us/cell wall, ${fmt(batch.cpuPerCellUs, 1)} us/cell CPU`);
    await sleep(pause);
  }
  const big = Math.max(...EXPORT_LINES);
  const small = Math.min(...EXPORT_LINES);
  const plansyncImport = { wallMs: pick(imports, 'wallMs'), wallPerCellUs: pick(imports, 'wallPerCellUs'), cpuPerCellUs: pick(imports, 'cpuPerCellUs'), peakRssGrowthMb: pick(imports, 'peakRssGrowthMb') };
  const referenceImport = { wallMs: pick(batches, 'wallMs'), wallPerCellUs: pick(batches, 'wallPerCellUs'), cpuPerCellUs: pick(batches, 'cpuPerCellUs') };
  return {
    runs,
    exportLines: EXPORT_LINES,
    importLines: IMPORT_LINES,
    exports,
    reference,
    import: { plansync: plansyncImport, reference: referenceImport },
    ratio: {
      csvRowsPerSecond: ratio(exports[`csv${big}`].rowsPerSecond, reference.rowsPerSecond),
      csvPeakRss: ratio(exports[`csv${big}`].peakRssGrowthMb, reference.peakRssGrowthMb),
      // Memory at 100,000 lines over memory at 10,000: about 1 when it does not grow with the rows.
      csvRssGrowthWithRows: ratio(exports[`csv${big}`].peakRssGrowthMb, Math.max(exports[`csv${small}`].peakRssGrowthMb, 1)),
      xlsxRssGrowthWithRows: ratio(exports[`xlsx${big}`].peakRssGrowthMb, Math.max(exports[`xlsx${small}`].peakRssGrowthMb, 1)),
      importWallPerCell: ratio(plansyncImport.wallPerCellUs, referenceImport.wallPerCellUs),
    },
  };
}
