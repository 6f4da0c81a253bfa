#!/usr/bin/env node
// The event-loop stall of keep-alive at many GraphQL sockets (issue 16): opens N graphql-transport-ws sockets
// (acknowledged, answering pings) to a Plansync server, then asks GET /healthz every few milliseconds for a
// while, one request at a time, and prints the latency distribution and the slowest answers with when they came.
// A sweep that pings every socket at once shows as one slow answer per keep-alive interval (12 s); a sweep in
// slices (internals/keepaliveSweep.ts) should not. Not part of the suite.
//
//   node bench/keepalive-stall.mjs [--sockets=5000] [--seconds=30] [--entry=PATH (another build's main.js)]
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { distribution, fmt, log, runMain, sleep, startPlansync, stopProcess } from './lib/common.mjs';

const option = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

function healthz(url) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(`${url}/healthz`, { agent: keepAlive }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t0));
      })
      .on('error', reject);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });

await runMain(async () => {
  const count = Number(option('sockets', '5000'));
  const seconds = Number(option('seconds', '30'));
  const entry = option('entry', null);
  const server = await startPlansync({ name: 'plansync', ...(entry ? { entry: path.resolve(entry) } : {}) });
  const login = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation { login(email: "admin@example.com", password: "plansync-demo") { token } }' }),
  }).then((r) => r.json());
  const token = login.data.login.token;
  const sockets = [];
  const wsUrl = server.url.replace(/^http/, 'ws') + '/graphql';
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, async () => {
        const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
        ws.on('error', () => undefined);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        const acked = new Promise((resolve) => ws.once('message', resolve));
        ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
        await acked;
        sockets.push(ws);
      }),
    );
  }
  log(`${sockets.length} GraphQL sockets open; asking /healthz for ${seconds} s`);
  await sleep(1000);
  const samples = [];
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    const at = performance.now() - start;
    samples.push({ at, ms: await healthz(server.url) });
    await sleep(2);
  }
  const d = distribution(Float64Array.from(samples.map((s) => s.ms)));
  const slowest = [...samples].sort((a, b) => b.ms - a.ms).slice(0, 6);
  console.log(`${entry ?? 'server/dist'}: ${samples.length} answers; p50 ${fmt(d.p50)} p99 ${fmt(d.p99)} max ${fmt(d.max)} ms; over 20 ms: ${samples.filter((s) => s.ms > 20).length}; slowest: ${slowest.map((s) => `${fmt(s.ms)} ms at ${fmt(s.at / 1000)} s`).join(', ')}`);
  for (const ws of sockets) ws.terminate();
  await stopProcess(server);
});
