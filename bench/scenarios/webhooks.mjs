// Scenario 10, webhook deliveries: how many signed deliveries a second one instance sends to a receiver that
// answers at once (204), from events already in the outbox to every delivery SUCCEEDED in the log. Each passes the
// whole durable path: outbox row -> delivery row + pg-boss job (one transaction per 100 events), a worker takes the
// job, resolves and checks the address, decrypts the secret, signs with standardwebhooks, POSTs, and writes the
// outcome (one transaction). Its own Plansync (WEBHOOK_ALLOW_INSECURE, for the receiver on 127.0.0.1), so the
// suite's server keeps its settings.
//
// Reference, in the same run: the lower bound of the same work without durability, this process signing each
// body with standardwebhooks and POSTing it to the same receiver with the same parallelism (2 requests in flight,
// as the server's 2 workers), nothing stored. Reported: deliveries/s both sides, and the server's CPU per delivery.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { cpuSample, fmt, graphql, log, login, now, ratio, sleep, startPlansync, stopProcess } from '../lib/common.mjs';
import { withDatabase } from './shared.mjs';

const CONCURRENCY = 2;

function startReceiver() {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count += 1;
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/hook`, count: () => count })));
}

/** Signs and POSTs `n` bodies, CONCURRENCY at a time, keeping connections as the server does not (agent: false). */
async function reference(url, secret, n) {
  const signer = new Webhook(secret);
  let next = 0;
  const one = (i) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ type: 'plan.created', timestamp: new Date().toISOString(), data: { n: i } });
      const id = `msg_${i}`;
      const at = new Date();
      const req = http.request(url, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signer.sign(id, at, body) },
      });
      req.on('response', (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', reject);
      req.end(body);
    });
  const worker = async () => {
    while (next < n) await one(next++);
  };
  const t0 = now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return now() - t0;
}

/**
 * @param {import('./shared.mjs').Suite} suite
 */
export async function measure({ options, pause }) {
  const n = options.webhooks.deliveries;
  const receiver = await startReceiver();
  const server = await startPlansync({ env: { WEBHOOK_ALLOW_INSECURE: 'true' }, name: 'plansync-webhooks' });
  try {
    const token = await login(server.url, 'admin@example.com');
    const created = await graphql(server.url, 'mutation($u: String!) { createWebhook(url: $u, events: ["plan.created"]) { secret webhook { id } } }', { u: receiver.url }, token);
    const { secret } = created.createWebhook;
    log(`webhooks: ${n} events into the outbox, waiting for every delivery...`);
    const result = await withDatabase(server.dataDir, async (db) => {
      const cpu0 = cpuSample(server.pid);
      const t0 = now();
      await db.query(`INSERT INTO webhook_outbox (event, data) SELECT 'plan.created', jsonb_build_object('n', g) FROM generate_series(1, $1::int) g`, [n]);
      for (;;) {
        const { rows } = await db.query(`SELECT count(*)::int AS done FROM webhook_delivery WHERE status = 'SUCCEEDED'`);
        if (rows[0].done >= n) break;
        await sleep(50);
      }
      const wallMs = now() - t0;
      const cpu1 = cpuSample(server.pid);
      return { wallMs, serverCpuSeconds: cpu1.ownSeconds - cpu0.ownSeconds, databaseCpuSeconds: cpu1.childSeconds - cpu0.childSeconds };
    });
    const plansync = { ...result, deliveriesPerSecond: (1000 * n) / result.wallMs, cpuMicrosPerDelivery: (1e6 * (result.serverCpuSeconds + result.databaseCpuSeconds)) / n };
    log(`  plansync: ${fmt(plansync.deliveriesPerSecond, 0)} deliveries/s, ${fmt(plansync.cpuMicrosPerDelivery, 0)} us CPU (server + PostgreSQL) each`);
    await sleep(pause);
    await reference(receiver.url, secret, Math.min(100, n)); // warm-up
    const referenceMs = await reference(receiver.url, secret, n);
    const ref = { wallMs: referenceMs, deliveriesPerSecond: (1000 * n) / referenceMs };
    log(`  reference: ${fmt(ref.deliveriesPerSecond, 0)} deliveries/s`);
    return { deliveries: n, concurrency: CONCURRENCY, plansync, reference: ref, ratio: { throughput: ratio(plansync.deliveriesPerSecond, ref.deliveriesPerSecond) } };
  } finally {
    await stopProcess(server);
    receiver.server.close();
  }
}
