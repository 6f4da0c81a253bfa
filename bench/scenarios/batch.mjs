// Scenario 9, batch writes: `updateBudgetLines` with 5,000 changes (one budgetAmount each) in one HTTP call, over
// 5,000 lines of 42 units of their own (42 grid documents). Each call goes through the one write path: every change
// judged (rights, submission, plan, value, version), applied to its unit's grid document in one transaction per
// document, projected into the rows with one audit entry per cell, and published as budgetLineChanged.
//
// Reference, in the same run: the lower bound of that write, the same 5,000 rows updated and their 5,000 audit
// entries inserted by ONE plain SQL statement through `pg` (an UPDATE ... FROM unnest(...) and an INSERT in one
// WITH statement), without any check, document or event. 5,000 single updateBudgetLine calls are no fair reference:
// they measure 5,000 HTTP round trips and 5,000 turns of a document's edit chain, the very cost a batch exists to
// avoid (and a script would not do it). Reported: wall time and CPU (server process, PostgreSQL) per cell, and the
// ratios Plansync / reference.
import pg from 'pg';
import { cpuSample, fmt, graphql, log, login, median, monoMicros, now, plansyncDatabase, ratio, sleep } from '../lib/common.mjs';

const CELLS = 5000;
const UNITS = 42; // 120 lines a unit (the grid layout): 42 units hold the 5,000 lines
const BATCH = `mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { updated { id version } rejected { id code message } } }`;

/** The reference: the rows and their audit entries, as one statement. */
const REFERENCE_SQL = `
  WITH v AS (SELECT * FROM unnest($1::uuid[], $2::float8[]) AS v(id, amount)),
  updated AS (
    UPDATE budget_line l SET budget_amount = v.amount, version = l.version + 1, updated_at = now(), updated_by_id = $3::uuid
      FROM v WHERE l.id = v.id
    RETURNING l.id, l.business_unit_id, l.plan_id, v.amount
  )
  INSERT INTO cell_change (line_id, business_unit_id, plan_id, column_name, old_value, new_value, user_id, source, at)
  SELECT id, business_unit_id, plan_id, 'budgetAmount', NULL, amount::text, $3::uuid, 'API', now() FROM updated`;

/** The 5,000 lines, in 42 new units (created once per run of the suite). */
async function setUp(url, token) {
  const layout = await graphql(url, '{ budgetPlans { id } }', {}, token);
  const planId = layout.budgetPlans[0].id;
  const { budgetLines } = await graphql(url, 'query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { productCategory region quarter } }', { p: planId }, token);
  const units = Array.from({ length: UNITS }, (_, i) => `BENCH_BATCH_${String(i).padStart(2, '0')}`);
  for (const code of units) await graphql(url, 'mutation($c: String!) { createBusinessUnit(code: $c, name: $c) { code } }', { c: code }, token);
  const lines = units.flatMap((unit) => budgetLines.map((l) => ({ businessUnitCode: unit, productCategory: l.productCategory, region: l.region, quarter: l.quarter }))).slice(0, CELLS);
  const added = await graphql(url, 'mutation($p: ID!, $l: [NewBudgetLineInput!]!) { addBudgetLines(planId: $p, lines: $l) { id } }', { p: planId, l: lines }, token);
  return added.addBudgetLines.map((l) => l.id);
}

/** One measured write: wall ms, and CPU seconds of the server process and of PostgreSQL (its children). */
async function timed(pid, write) {
  const cpu0 = cpuSample(pid);
  const self0 = process.cpuUsage();
  const t0 = now();
  await write();
  const wallMs = now() - t0;
  const cpu1 = cpuSample(pid);
  const self = process.cpuUsage(self0);
  return {
    wallMs,
    serverCpuSeconds: cpu1.ownSeconds - cpu0.ownSeconds,
    databaseCpuSeconds: cpu1.childSeconds - cpu0.childSeconds,
    clientCpuSeconds: (self.user + self.system) / 1e6,
  };
}

function summary(runs) {
  const pick = (key) => median(runs.map((r) => r[key]));
  const wallMs = pick('wallMs');
  const serverCpu = pick('serverCpuSeconds');
  const databaseCpu = pick('databaseCpuSeconds');
  return {
    runs,
    wallMs,
    wallMicrosPerCell: (1000 * wallMs) / CELLS,
    serverCpuMicrosPerCell: (1e6 * serverCpu) / CELLS,
    databaseCpuMicrosPerCell: (1e6 * databaseCpu) / CELLS,
    cpuMicrosPerCell: (1e6 * (serverCpu + databaseCpu)) / CELLS,
  };
}

/**
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const { url, pid, dataDir } = servers.plansync;
  const token = await login(url, 'admin@example.com');
  log(`batch: adding ${CELLS} lines in ${UNITS} units...`);
  const ids = await setUp(url, token);
  const runs = options.batch.runs;
  let round = 0;
  const values = () => {
    round += 1;
    return ids.map((_, i) => round * 100_000 + i);
  };

  // Plansync: the first call loads the 42 documents (seeded from the rows); the next ones follow at once, while the
  // documents are still open (GRID_IDLE_UNLOAD_MS), as a script's successive calls would find them.
  const plansyncRuns = [];
  let first = null;
  for (let i = 0; i <= runs; i++) {
    const amounts = values();
    const body = { c: ids.map((id, j) => ({ id, input: { budgetAmount: amounts[j] } })) };
    let answer;
    const mono0 = monoMicros();
    const run = await timed(pid, async () => (answer = await graphql(url, BATCH, body, token)));
    if (i > 0) markWindow('batch', 'plansync', mono0, monoMicros());
    const result = answer.updateBudgetLines;
    if (result.updated.length !== CELLS || result.rejected.length) throw new Error(`batch: ${result.updated.length} updated, ${result.rejected.length} rejected`);
    if (i === 0) first = run;
    else plansyncRuns.push(run);
    log(`  plansync ${i === 0 ? '(documents loading)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, server CPU ${fmt(run.serverCpuSeconds)} s, PostgreSQL CPU ${fmt(run.databaseCpuSeconds)} s`);
  }
  await sleep(pause);

  // The reference, last: it writes the same rows behind the documents' back, which nothing reads afterwards.
  const db = plansyncDatabase(dataDir);
  const client = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
  await client.connect();
  const referenceRuns = [];
  try {
    const { rows } = await client.query(`SELECT id FROM app_user WHERE email = 'admin@example.com'`);
    const adminId = rows[0].id;
    for (let i = 0; i <= runs; i++) {
      const amounts = values();
      const run = await timed(pid, () => client.query({ name: 'bench_batch_reference', text: REFERENCE_SQL, values: [ids, amounts, adminId] }));
      if (i > 0) referenceRuns.push(run); // the first one prepares the statement and warms the cache
      log(`  reference ${i === 0 ? '(warm-up)' : `run ${i}`}: ${fmt(run.wallMs, 0)} ms, PostgreSQL CPU ${fmt(run.databaseCpuSeconds)} s`);
    }
  } finally {
    await client.end();
  }
  const plansync = { firstCall: first, ...summary(plansyncRuns) };
  const reference = summary(referenceRuns);
  return {
    cells: CELLS,
    documents: UNITS,
    runs,
    query: BATCH,
    plansync,
    reference,
    ratio: { wall: ratio(plansync.wallMs, reference.wallMs), cpu: ratio(plansync.cpuMicrosPerCell, reference.cpuMicrosPerCell) },
  };
}
