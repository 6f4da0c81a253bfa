// One load process of bench/run.mjs (forked by it, never run by hand): a closed-loop HTTP load generator.
// `concurrency` loops, each on its own keep-alive connection, send the same POST again as soon as the
// previous answer has been read completely. Requests that complete inside the measurement window count;
// latency is from the request's start to its last byte.
//
// Messages from the parent (IPC, advanced serialization):
//   { type: 'hello' } -> { type: 'hello' }   (loaded and listening)
//   { type: 'run', url, body, headers, concurrency, warmupMs, durationMs }
//        -> { type: 'done', requests, errors, statuses, bytes, latencies, seconds, cpuSeconds, sample }
import http from 'node:http';

function post(agent, url, body, headers) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), ms: performance.now() - started, end: performance.now() }));
      res.on('error', () => resolve({ status: 0, body: null, ms: performance.now() - started, end: performance.now() }));
    });
    req.on('error', () => resolve({ status: 0, body: null, ms: performance.now() - started, end: performance.now() }));
    req.end(body);
  });
}

process.on('message', async (message) => {
  if (message.type === 'close') process.exit(0);
  if (message.type === 'hello') return void process.send({ type: 'hello' });
  if (message.type !== 'run') return;
  const { url, body, headers = {}, concurrency, warmupMs, durationMs } = message;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + durationMs;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let bytes = 0;
  const statuses = {};
  let sample = null;
  let cpuAtStart;
  let cpuInWindow;
  setTimeout(() => (cpuAtStart = process.cpuUsage()), warmupMs);
  setTimeout(() => (cpuInWindow = process.cpuUsage(cpuAtStart)), warmupMs + durationMs);
  const loop = async () => {
    while (performance.now() < windowEnd) {
      const r = await post(agent, url, body, headers);
      if (sample === null && r.body) sample = r.body.toString('utf8');
      if (r.end < windowStart || r.end >= windowEnd) continue;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status !== 200) {
        errors += 1;
        continue;
      }
      bytes += r.body.length;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = r.ms;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
  process.send({
    type: 'done',
    requests: count,
    errors,
    statuses,
    bytes,
    latencies: latencies.slice(0, count),
    seconds: durationMs / 1000,
    cpuSeconds: cpuInWindow ? (cpuInWindow.user + cpuInWindow.system) / 1e6 : null,
    sample,
  });
});

process.on('disconnect', () => process.exit(0));
