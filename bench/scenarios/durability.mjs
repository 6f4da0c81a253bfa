// Scenario 4, grid durability: the grid writers again, on Plansync only, while PostgreSQL is polled every
// 20 ms: how long from an edit to its value in budget_line, and what storing every edit costs in CPU beyond
// the reference y-websocket server, which stores nothing (its CPU from the grid runs of scenario 1).
import pg from 'pg';
import { distribution, epoch, fmt, log, now, plansyncDatabase, ratio, sleep } from '../lib/common.mjs';
import { gridTarget, openKeeper, runGridScenario } from '../lib/grid.mjs';

/**
 * Polls the unit's budget_line rows in the `plansync` database of `dataDir`; for each value sent inside the
 * window, when it became visible.
 */
function rowPoller(dataDir, planId, unitCode, pollMs) {
  let client;
  let stopped = false;
  let window = null;
  let loop;
  const last = new Map();
  const visible = [];
  const updatedAt = [];
  let polls = 0;
  const poll = async () => {
    const issued = now();
    const offset = Date.now() - (performance.timeOrigin + performance.now());
    const { rows } = await client.query(
      `SELECT l.id, l.budget_amount, l.forecast_sales, extract(epoch from l.updated_at) * 1000 AS updated_ms
         FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE l.plan_id = $1 AND u.code = $2`,
      [planId, unitCode],
    );
    polls += 1;
    for (const row of rows) {
      for (const column of ['budget_amount', 'forecast_sales']) {
        const key = `${row.id}/${column}`;
        const value = row[column];
        if (last.get(key) === value) continue;
        last.set(key, value);
        if (!window || value === null || value < window.measureStart || value >= window.measureEnd) continue;
        visible.push(issued - value);
        updatedAt.push(Number(row.updated_ms) - offset - epoch - value);
      }
    }
  };
  return {
    async open() {
      client = new pg.Client(plansyncDatabase(dataDir));
      await client.connect();
      await poll(); // the values before the run
    },
    start(w) {
      window = w;
      loop = (async () => {
        while (!stopped) {
          const t = now();
          await poll();
          await sleep(pollMs - (now() - t));
        }
      })();
    },
    async stop() {
      stopped = true;
      await loop;
      await poll();
      await client.end();
      return { polls, rowsSeen: visible.length, visibleMs: distribution(visible), updatedAtMs: distribution(updatedAt) };
    },
  };
}

/**
 * Measures, per writer count: delay from each edit's send time to its value in budget_line (and to the row's
 * updatedAt), propagation meanwhile, and Plansync's CPU (server + PostgreSQL) beyond the reference's from the
 * grid runs (`suite.results.grid`), also beyond what each burns idle (`suite.warmup`).
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure(suite) {
  const { servers, options, pause } = suite;
  if (!suite.gridTarget) {
    suite.gridTarget = await gridTarget(servers.plansync.url);
    suite.keepers = { plansync: await openKeeper(servers.plansync, suite.gridTarget) };
  }
  const target = suite.gridTarget;
  const runs = [];
  for (const writers of options.durability.writers) {
    log(`durability: ${writers} writer(s) -> plansync, polling budget_line every ${options.durability.pollMs} ms...`);
    const poller = rowPoller(servers.plansync.dataDir, target.planId, target.unitCode, options.durability.pollMs);
    await poller.open();
    const run = await runGridScenario(servers.plansync, target, writers, {
      ...options.grid,
      workers: options.workers,
      hooks: { onStart: (w) => poller.start(w), onDone: () => poller.stop() },
    });
    delete run.window;
    const rows = run.extra;
    // Plansync's extra CPU: from the grid runs (no poller there), Plansync and its PostgreSQL minus the reference.
    const grid = suite.results.grid?.scenarios.find((s) => s.writers === writers);
    // What each server burns with no client at all (timers, job polling), over a window of the same length.
    const idle = suite.warmup?.idle;
    const windowSeconds = options.grid.measureMs / 1000;
    const idlePlansync = idle ? ((idle.plansync.cpuSeconds + idle.plansync.databaseCpuSeconds) / idle.plansync.seconds) * windowSeconds : 0;
    const idleReference = idle ? (idle.reference.cpuSeconds / idle.reference.seconds) * windowSeconds : 0;
    const extra = grid
      ? {
          idlePlansyncCpuSeconds: idle ? idlePlansync : null,
          idleReferenceCpuSeconds: idle ? idleReference : null,
          extraCpuMsPerWriteBeyondIdle:
            idle && grid.plansync.sent > 0
              ? (1000 * (grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - idlePlansync - (grid.reference.serverCpuSeconds - idleReference))) / grid.plansync.sent
              : null,
          plansyncCpuSeconds: grid.plansync.serverCpuSeconds,
          databaseCpuSeconds: grid.plansync.databaseCpuSeconds,
          referenceCpuSeconds: grid.reference.serverCpuSeconds,
          extraCpuSeconds: grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - grid.reference.serverCpuSeconds,
          extraCpuMsPerWrite: grid.plansync.sent > 0 ? (1000 * (grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds - grid.reference.serverCpuSeconds)) / grid.plansync.sent : null,
          ratio: ratio(grid.plansync.serverCpuSeconds + grid.plansync.databaseCpuSeconds, grid.reference.serverCpuSeconds),
          referenceLatencyMs: grid.reference.latencyMs,
        }
      : null;
    runs.push({
      writers,
      sent: run.sent,
      rowsSeen: rows.rowsSeen,
      polls: rows.polls,
      editToRowMs: rows.visibleMs,
      editToUpdatedAtMs: rows.updatedAtMs,
      propagationMs: run.latencyMs,
      serverCpuSeconds: run.serverCpuSeconds,
      databaseCpuSeconds: run.databaseCpuSeconds,
      machineBusy: run.machineBusy,
      benchBusy: run.benchBusy,
      cpuVsReference: extra,
    });
    log(`  edit to row p50 ${fmt(rows.visibleMs.p50)} ms, p99 ${fmt(rows.visibleMs.p99)} ms (${rows.rowsSeen}/${run.sent} writes seen)`);
    await sleep(pause);
  }
  return { pollMs: options.durability.pollMs, runs };
}
