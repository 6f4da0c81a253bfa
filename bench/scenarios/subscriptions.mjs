// Scenario 5, subscriptions: workflowEvents fan-out to 1,000 then 5,000 subscribers (one per socket), the
// events from new_partner executions started meanwhile. The reference (bench/reference-graphql-ws.mjs: a bare
// graphql-ws server with an in-memory pub/sub) replays the events Plansync published, grouped as they were, at
// the same offsets, and so does the floor (bench/subscription-floor-server.mjs: a server that only writes, one
// system call per socket per group), to show what the writes themselves take on this machine.
import WebSocket from 'ws';
import { busyShare, concatFloat64, cpuSample, distribution, fmt, graphql, log, login, machineCpu, monoMicros, now, ratio, serverMemory, sleep, startScript, started, stopProcess } from '../lib/common.mjs';
import { split, startWorker, stopWorkers } from '../lib/workers.mjs';
import { drain, memoryDelta, settle } from './shared.mjs';

/** The subscription every subscriber (and the recorder) holds. */
const SUBSCRIPTION = 'subscription { workflowEvents { cursor executionId stepKey status at execution { id status } } }';

/** One graphql-ws subscription held by this process: every event with its arrival time. */
async function openRecorder(server, token) {
  const ws = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  const events = [];
  const recorder = {
    events,
    close: async () => {
      started.closers.delete(recorder.close);
      ws.close(1000);
    },
  };
  started.closers.add(recorder.close);
  await new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const message = JSON.parse(data);
      if (message.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: 'recorder', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
        resolve();
      } else if (message.type === 'next') {
        const e = message.payload?.data?.workflowEvents;
        if (e) events.push({ arrived: Date.now(), at: Date.parse(e.at), executionId: e.executionId, stepKey: e.stepKey, status: e.status, executionStatus: e.execution.status });
      } else if (message.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    });
  });
  return recorder;
}

/**
 * Starts a new_partner execution every periodMs until `until` (wall clock): each start is one transaction with
 * three events (execution RUNNING, first step AWAITING_INPUT, execution AWAITING_INPUT). With `drive`, each
 * execution also gets its manual input, so its seven automatic steps run (about 17 more events, paced by
 * SIMULATED_STEP_MS). `url`: Plansync's.
 */
async function driveWorkflows(url, token, periodMs, until, tag, drive = false) {
  const errors = [];
  const runs = [];
  let n = 0;
  const t0 = Date.now();
  while (t0 + n * periodMs < until) {
    await sleep(t0 + n * periodMs - Date.now());
    n += 1;
    runs.push(
      (async () => {
        const { startWorkflow } = await graphql(
          url,
          'mutation($input: JSON) { startWorkflow(definitionKey: "new_partner", input: $input) { id } }',
          { input: { organizationName: `Bench partner ${tag} ${n}` } },
          token,
        );
        if (!drive) return;
        await graphql(
          url,
          'mutation($id: ID!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: "input_studio_companies", input: $input) { id } }',
          { id: startWorkflow.id, input: { companies: [{ name: `Bench studio ${tag} ${n}`, environment: 'test' }] } },
          token,
        );
      })().catch((err) => errors.push(String(err.message ?? err).slice(0, 300))),
    );
  }
  await Promise.all(runs);
  return { executions: n, errors };
}

/** Waits until the recorder has heard nothing for quietMs (at most maxMs). */
async function recorderQuiet(recorder, quietMs = 1000, maxMs = 60_000) {
  const until = Date.now() + maxMs;
  let count = recorder.events.length;
  let since = Date.now();
  while (Date.now() < until) {
    await sleep(100);
    if (recorder.events.length !== count) {
      count = recorder.events.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** Groups of events published together (the events of one transaction reach the recorder in one burst). */
function scheduleOf(events, t0) {
  const groups = [];
  let previous = -Infinity;
  for (const e of events) {
    if (e.arrived - previous > 1 || !groups.length) groups.push({ offsetMs: e.at - t0, events: [] });
    groups[groups.length - 1].events.push({ executionId: e.executionId, stepKey: e.stepKey, status: e.status, executionStatus: e.executionStatus });
    previous = e.arrived;
  }
  return groups;
}

/**
 * Measures, per server and subscriber count: delivery latency (delivery time - the event's `at`), deliveries,
 * server CPU per delivery, memory per idle subscription (one per socket, and 50 per socket), and the ratios
 * Plansync / reference.
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ servers, options, pause, markWindow }) {
  const token = await login(servers.plansync.url, 'admin@example.com');
  const { counts, perSocket, warmupMs, measureMs } = options.subscriptions;
  const out = { plansync: { runs: [] }, reference: { runs: [] }, floor: { runs: [] } };
  const schedules = {};
  const floor = await startScript('subscription-floor', 'subscription-floor-server.mjs', { probe: true });
  for (const name of ['plansync', 'reference', 'floor']) {
    const server = name === 'plansync' ? servers.plansync : name === 'floor' ? floor : servers.referenceWs;
    const wsUrl = server.url.replace(/^http/, 'ws') + '/graphql';
    const recorder = await openRecorder(server, token);
    const workers = Array.from({ length: options.workers }, () => startWorker('gql-subscriber-worker.mjs'));
    try {
      await settle(server, options.quick);
      const base = await serverMemory(server, options.memorySamples);
      let connected = 0;
      for (const count of counts) {
        log(`subscriptions: ${count} subscribers -> ${name}...`);
        const sizes = split(count - connected, workers.length);
        const t0 = now();
        const replies = await Promise.all(workers.map((w, i) => (sizes[i] > 0 ? w.request({ type: 'connect', url: wsUrl, token, sockets: Math.ceil(sizes[i] / perSocket), perSocket, query: SUBSCRIPTION, concurrency: 20 }, 'ready', 300_000) : null)));
        const failed = replies.reduce((a, r) => a + (r?.failed ?? 0), 0);
        connected += replies.reduce((a, r) => a + (r?.subscriptions ?? 0), 0);
        const connectMs = now() - t0;
        if (failed) log(`  ${failed} sockets failed (close codes ${[...new Set(replies.flatMap((r) => r?.closeCodes ?? []))].join(', ')})`);
        await settle(server, options.quick);
        await sleep(pause);
        const idle = await serverMemory(server, options.memorySamples);

        // Events: Plansync's from workflows driven now; the reference replays them, at the same offsets.
        const tStart = Date.now() + 300;
        const measureStart = tStart + warmupMs;
        const measureEnd = measureStart + measureMs;
        for (const w of workers) w.send({ type: 'start', measureStart, measureEnd });
        const firstEvent = recorder.events.length;
        let driven = null;
        if (name === 'plansync') {
          await sleep(tStart - Date.now());
          driven = driveWorkflows(servers.plansync.url, token, options.subscriptions.periodMs[count] ?? 1000, measureEnd - 200, `${Date.now().toString(36)}-${count}`);
        } else {
          const res = await fetch(`${server.url}/publish`, { method: 'POST', body: JSON.stringify({ groups: schedules[count].map((g) => ({ ...g, offsetMs: g.offsetMs + (tStart - Date.now()) })) }) });
          if (!res.ok) throw new Error(`${name} /publish: ${res.status}`);
        }
        await sleep(measureStart - Date.now());
        const cpu0 = cpuSample(server.pid);
        const m0 = machineCpu();
        const mono0 = monoMicros();
        await sleep(measureEnd - Date.now());
        const cpu1 = cpuSample(server.pid);
        const m1 = machineCpu();
        const mono1 = monoMicros();
        // The floor is not profiled (nor is it a server anyone runs): no window of its own.
        if (name !== 'floor') markWindow(`subscriptions ${count}`, name === 'plansync' ? 'plansync' : 'referenceWs', mono0, mono1);
        const drivenResult = driven ? await driven : null;
        await recorderQuiet(recorder, options.subscriptions.quietMs);
        await drain(workers, 'count', 'count', options.subscriptions.quietMs);
        const reports = await Promise.all(workers.map((w) => w.request({ type: 'report' }, 'report')));
        const heard = recorder.events.slice(firstEvent);
        if (name === 'plansync') schedules[count] = scheduleOf(heard, tStart);
        const inWindow = heard.filter((e) => e.at >= measureStart && e.at < measureEnd).length;
        const latencies = concatFloat64(reports.map((r) => r.latencies));
        const serverCpu = cpu1.ownSeconds - cpu0.ownSeconds;
        const dbCpu = name === 'plansync' ? cpu1.childSeconds - cpu0.childSeconds : null;
        const run = {
          subscribers: connected,
          connectMs: Math.round(connectMs),
          failedSockets: failed,
          events: inWindow,
          eventsPerSecond: inWindow / (measureMs / 1000),
          executions: drivenResult?.executions ?? null,
          driveErrors: drivenResult?.errors.slice(0, 3) ?? [],
          expected: inWindow * connected,
          delivered: latencies.length,
          latencyMs: distribution(latencies),
          serverCpuSeconds: serverCpu,
          databaseCpuSeconds: dbCpu,
          cpuMicrosPerDelivery: latencies.length ? (1e6 * serverCpu) / latencies.length : null,
          memoryPerIdleSubscription: memoryDelta(idle, base, connected),
          serverRssMb: cpu1.rssMb,
          clientCpuSeconds: reports.reduce((a, r) => a + (r.cpuSeconds ?? 0), 0),
          machineBusy: busyShare(m0, m1),
          errors: reports.reduce((a, r) => a + r.errors, 0),
          errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 3),
          closes: reports.reduce((a, r) => a + r.closes, 0),
        };
        out[name].runs.push(run);
        log(
          `  ${run.events} events in the window (${fmt(run.eventsPerSecond, 1)}/s); p50 ${fmt(run.latencyMs.p50)} ms, p99 ${fmt(run.latencyMs.p99)} ms; ${run.delivered}/${run.expected} delivered; ${fmt(
            run.memoryPerIdleSubscription.retainedKb,
          )} KB per idle subscription`,
        );
        if (run.errors) log(`  ${run.errors} error messages, e.g. ${run.errorSamples[0]}`);
        if (run.driveErrors.length) log(`  driving workflows: ${run.driveErrors[0]}`);
      }
    } finally {
      await stopWorkers(workers);
      await recorder.close();
    }
    // Several subscriptions on one socket (up to the cap of 50): what a subscription costs without its socket.
    if (perSocket > 1 || name === 'floor') continue;
    await sleep(1000);
    await settle(server, options.quick);
    const before = await serverMemory(server, options.memorySamples);
    const shared = startWorker('gql-subscriber-worker.mjs');
    try {
      const reply = await shared.request({ type: 'connect', url: wsUrl, token, sockets: 20, perSocket: 50, query: SUBSCRIPTION, concurrency: 20 }, 'ready');
      await settle(server, options.quick);
      await sleep(500);
      const after = await serverMemory(server, options.memorySamples);
      out[name].sharedSocket = { sockets: reply.sockets, subscriptions: reply.subscriptions, memoryPerIdleSubscription: memoryDelta(after, before, reply.subscriptions) };
    } finally {
      await stopWorkers([shared]);
    }
    await sleep(pause);
  }
  await stopProcess(floor);
  const ratios = counts.map((count, i) => ({
    subscribers: count,
    p50: ratio(out.plansync.runs[i]?.latencyMs.p50, out.reference.runs[i]?.latencyMs.p50),
    p99: ratio(out.plansync.runs[i]?.latencyMs.p99, out.reference.runs[i]?.latencyMs.p99),
    p99ToFloor: ratio(out.plansync.runs[i]?.latencyMs.p99, out.floor.runs[i]?.latencyMs.p99),
    referenceP99ToFloor: ratio(out.reference.runs[i]?.latencyMs.p99, out.floor.runs[i]?.latencyMs.p99),
    memory: ratio(out.plansync.runs[i]?.memoryPerIdleSubscription.retainedKb, out.reference.runs[i]?.memoryPerIdleSubscription.retainedKb),
  }));
  return {
    query: SUBSCRIPTION,
    perSocket,
    periodMs: options.subscriptions.periodMs,
    warmupMs,
    measureMs,
    ...out,
    ratio: ratios,
  };
}
