// Scenario 6, GraphQL reads: budgetLines(planId, businessUnitCode) for one unit, POSTed by 16 closed-loop
// clients on keep-alive connections (bench/http-load-worker.mjs). The reference (bench/reference-graphql-http.mjs)
// is graphql-js alone on node:http, its resolver reading the same PostgreSQL.
import { busyShare, cpuSample, distribution, fmt, graphql, log, login, machineCpu, monoMicros, now, ratio, sleep } from '../lib/common.mjs';
import { startWorker, stopWorkers } from '../lib/workers.mjs';

/** The query both servers answer: the contract's fields of one unit's 120 lines. */
const READ_QUERY = `query($planId: ID!, $unit: String) { budgetLines(planId: $planId, businessUnitCode: $unit) {
  id businessUnit { code } productCategory region quarter priorYearActual budgetAmount forecastSales comment version updatedAt updatedBy { email } } }`;

/**
 * Measures, per server: requests/s, latency (p50 to max), errors, bytes per answer, server CPU per request,
 * PostgreSQL's CPU, whether both answered the same lines, and the ratios Plansync / reference.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const token = await login(servers.plansync.url, 'admin@example.com');
  const { budgetPlans } = await graphql(servers.plansync.url, '{ budgetPlans { id } }', {}, token);
  const body = JSON.stringify({ query: READ_QUERY, variables: { planId: budgetPlans[0].id, unit: 'SALES_NORTH' } });
  const { concurrency, warmupMs, durationMs } = options.reads;
  const runs = {};
  const answers = {};
  for (const name of ['plansync', 'reference']) {
    const server = name === 'plansync' ? servers.plansync : servers.referenceHttp;
    log(`reads: budgetLines, ${concurrency} concurrent clients -> ${name}...`);
    const worker = startWorker('http-load-worker.mjs');
    try {
      await worker.request({ type: 'hello' }, 'hello');
      const t0 = now();
      const done = worker.request(
        { type: 'run', url: `${server.url}/graphql`, body, headers: name === 'plansync' ? { authorization: `Bearer ${token}` } : {}, concurrency, warmupMs, durationMs },
        'done',
        durationMs + warmupMs + 60_000,
      );
      await sleep(t0 + warmupMs - now());
      const cpu0 = cpuSample(server.pid);
      const db0 = cpuSample(servers.plansync.pid);
      const m0 = machineCpu();
      const mono0 = monoMicros();
      await sleep(t0 + warmupMs + durationMs - now());
      const cpu1 = cpuSample(server.pid);
      const db1 = cpuSample(servers.plansync.pid);
      const m1 = machineCpu();
      const mono1 = monoMicros();
      markWindow('reads', name === 'plansync' ? 'plansync' : 'referenceHttp', mono0, mono1);
      const r = await done;
      const lines = JSON.parse(r.sample ?? '{}')?.data?.budgetLines ?? null;
      answers[name] = lines;
      runs[name] = {
        requests: r.requests,
        errors: r.errors,
        statuses: r.statuses,
        requestsPerSecond: r.requests / r.seconds,
        latencyMs: distribution(r.latencies),
        bytesPerResponse: r.requests ? r.bytes / r.requests : null,
        linesPerResponse: lines?.length ?? null,
        serverCpuSeconds: cpu1.ownSeconds - cpu0.ownSeconds,
        databaseCpuSeconds: db1.childSeconds - db0.childSeconds,
        serverCpuMsPerRequest: r.requests ? (1000 * (cpu1.ownSeconds - cpu0.ownSeconds)) / r.requests : null,
        clientCpuSeconds: r.cpuSeconds,
        machineBusy: busyShare(m0, m1),
      };
      log(`  ${fmt(runs[name].requestsPerSecond, 0)} requests/s, p50 ${fmt(runs[name].latencyMs.p50)} ms, p99 ${fmt(runs[name].latencyMs.p99)} ms, ${r.errors} errors`);
    } finally {
      await stopWorkers([worker]);
    }
    await sleep(pause);
  }
  const same =
    answers.plansync && answers.reference && answers.plansync.length === answers.reference.length
      ? answers.plansync.every((l, i) => JSON.stringify(l) === JSON.stringify(answers.reference[i]))
      : false;
  return {
    query: READ_QUERY.replace(/\s+/g, ' '),
    concurrency,
    warmupMs,
    durationMs,
    sameAnswer: same,
    ...runs,
    ratio: { throughput: ratio(runs.plansync.requestsPerSecond, runs.reference.requestsPerSecond), p99: ratio(runs.plansync.latencyMs.p99, runs.reference.latencyMs.p99) },
  };
}
