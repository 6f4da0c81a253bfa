// Scenario 3, grid cost: server memory after a forced GC (the servers run with --expose-gc and
// bench/lib/memory-probe.mjs) per idle grid connection (2,000 of them, 3 rounds) and per open document of 120 and of
// 10,000 filled lines; the 10,000 lines are inserted into PostgreSQL as a unit of their own. The reference
// holds the same document content: Plansync's state, sent to it by a client.
import { fmt, log, ratio, serverMemory, sleep } from '../lib/common.mjs';
import { gridTarget } from '../lib/grid.mjs';
import { stopWorkers } from '../lib/workers.mjs';
import { connectObservers, memoryDelta, settle, withDatabase } from './shared.mjs';

/** Measured rounds of idle connections (each as many connections, opened, measured and closed); the median is reported. */
const IDLE_ROUNDS = 3;

/** MARKETING's and OPERATIONS's 120 lines get both amounts; a new unit BENCH_10K gets 10,000 lines with both amounts. */
async function prepareCostDocuments(dataDir, planId, bigLines) {
  return withDatabase(dataDir, async (db) => {
    await db.query(
      `UPDATE budget_line SET budget_amount = 1000 + position, forecast_sales = 2000 + position
        WHERE plan_id = $1 AND business_unit_id IN (SELECT id FROM business_unit WHERE code IN ('MARKETING', 'OPERATIONS'))`,
      [planId],
    );
    await db.query('BEGIN');
    const {
      rows: [unit],
    } = await db.query(`INSERT INTO business_unit (id, code, name) VALUES (gen_random_uuid(), 'BENCH_10K', 'Bench: 10,000 lines') RETURNING id`);
    await db.query(`INSERT INTO budget_submission (id, plan_id, business_unit_id) VALUES (gen_random_uuid(), $1, $2)`, [planId, unit.id]);
    await db.query(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position, prior_year_actual, budget_amount, forecast_sales)
       SELECT gen_random_uuid(), $1, $2, 'Category ' || (i / 20), 'Region ' || (i % 5), 'Q' || (1 + i % 4), i, 500 + i, 1000 + i, 2000 + i
         FROM generate_series(0, $3 - 1) AS i`,
      [planId, unit.id, bigLines],
    );
    await db.query('COMMIT');
  });
}

/**
 * Memory of one open document with one connection (delta from before it was opened, after forced GCs). For the
 * reference, the client sends it Plansync's state of the same document. Returns the figures and the connection
 * (its load process), which the caller closes. `quick` and `memorySamples` come from the suite's options.
 */
async function measureDocument({ quick, memorySamples }, server, name, target, states, key) {
  await settle(server, quick);
  const before = await serverMemory(server, memorySamples);
  const one = await connectObservers(server, target, 1, 1, { keepState: name === 'plansync' });
  if (name === 'plansync') states[key] = one.state;
  else await one.workers[0].request({ type: 'push', update: states[key] }, 'pushed');
  await settle(server, quick);
  const after = await serverMemory(server, memorySamples);
  return { ...memoryDelta(after, before), openMs: Math.round(one.connectMs), stateBytes: states[key]?.length ?? null, open: one };
}

/**
 * Measures, per server, as memory deltas after forced GCs (heap, external, retained, RSS): one idle grid
 * connection, an open document of 120 filled lines, and one of 10,000; with the ratios Plansync / reference.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options }) {
  const small = await gridTarget(servers.plansync.url, { email: 'admin@example.com', unitCode: 'MARKETING' });
  await prepareCostDocuments(servers.plansync.dataDir, small.planId, options.cost.bigLines);
  const warmup = { ...small, unitCode: 'OPERATIONS', docName: `budget:${small.planId}:OPERATIONS` };
  const big = { ...small, unitCode: 'BENCH_10K', docName: `budget:${small.planId}:BENCH_10K` };
  const n = options.cost.idleConnections;
  const out = {};
  const states = {};
  for (const name of ['plansync', 'reference']) {
    const server = servers[name];
    const r = {};
    log(`cost: ${name}: open document of 120 lines, ${n} idle connections, document of ${options.cost.bigLines} lines...`);
    const held = [];
    try {
      // Warm-up: another document of 120 filled lines, opened first and held to the end (so that code compiled
      // on first use, and one-time caches, are not counted in what follows).
      const first = await measureDocument(options, server, name, warmup, states, 'warmup');
      held.push(first.open);
      // A document of 120 filled lines, with one connection; then idle connections to it.
      const doc = await measureDocument(options, server, name, small, states, 'small');
      held.push(doc.open);
      delete doc.open;
      r.document120 = doc;
      // A first round of as many connections, closed again, is not counted: the connection path's code is
      // optimised (and its optimised code kept) during the first hundreds of connections, a few KB a
      // connection if counted, which is the JIT's and not what a connection holds.
      const warmRound = await connectObservers(server, small, n, options.workers);
      await stopWorkers(warmRound.workers);
      await settle(server, options.quick);
      await sleep(300);
      // Then IDLE_ROUNDS measured rounds of as many connections, each closed before the next, and the median round
      // reported: the heap moves by a megabyte or so between probes for reasons of its own (V8 flushing the
      // bytecode of functions not run lately, among others), which over 500 connections in one round moved the
      // figure by up to 2 KB a connection, as much as the two servers differ.
      const rounds = [];
      for (let round = 0; round < IDLE_ROUNDS; round++) {
        if (round > 0) {
          await settle(server, options.quick);
          await sleep(300);
        }
        const withDoc = await serverMemory(server, options.memorySamples);
        const idle = await connectObservers(server, small, n, options.workers);
        try {
          await settle(server, options.quick);
          await sleep(500);
          const withIdle = await serverMemory(server, options.memorySamples);
          rounds.push({ connections: idle.connected, connectMs: Math.round(idle.connectMs), connectMsPerConnection: idle.connectMs / n, ...memoryDelta(withIdle, withDoc, idle.connected) });
        } finally {
          await stopWorkers(idle.workers);
        }
      }
      const judged = (round) => round.dataKb ?? round.retainedKb;
      const sorted = [...rounds].sort((a, b) => judged(a) - judged(b));
      r.idleConnection = { ...sorted[Math.floor(sorted.length / 2)], rounds: rounds.map((round) => ({ retainedKb: round.retainedKb, dataKb: round.dataKb, rssKb: round.rssKb })) };
      // A document of 10,000 filled lines, with one connection.
      await sleep(500);
      const large = await measureDocument(options, server, name, big, states, 'big');
      held.push(large.open);
      delete large.open;
      r.document10k = large;
    } finally {
      await stopWorkers(held.flatMap((h) => h.workers));
    }
    out[name] = r;
    log(
      `  ${name}: per idle connection ${fmt(r.idleConnection.retainedKb)} KB retained (${fmt(r.idleConnection.rssKb)} KB RSS); document 120 lines ${fmt(r.document120.retainedKb, 0)} KB; 10,000 lines ${fmt(
        r.document10k.retainedKb,
        0,
      )} KB`,
    );
  }
  return {
    idleConnections: n,
    clients: 'light y-protocols clients (no awareness, no Y.Doc), bench/grid-observer-worker.mjs',
    ...out,
    ratio: {
      idleConnection: ratio(out.plansync.idleConnection.retainedKb, out.reference.idleConnection.retainedKb),
      idleConnectionRss: ratio(out.plansync.idleConnection.rssKb, out.reference.idleConnection.rssKb),
      document120: ratio(out.plansync.document120.retainedKb, out.reference.document120.retainedKb),
      document10k: ratio(out.plansync.document10k.retainedKb, out.reference.document10k.retainedKb),
    },
  };
}
