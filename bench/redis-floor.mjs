#!/usr/bin/env node
// The floor of relaying grid changes through Redis on this machine (issue 16's two-instance target; see the
// scale-out section of bench/results.md): CPU of a publishing process per PUBLISH and of a subscribed process per
// message received, with ioredis as Plansync uses it, at 50 messages a second spaced 20 ms apart (each message its
// own wake-up, as in the grid runs at 50 writers), minus the same processes idle. `raw` as the first argument
// publishes on a connection Redis does not answer (CLIENT REPLY OFF), as Plansync's publisher does.
//
//   node bench/redis-floor.mjs [raw]        (needs a Redis on 127.0.0.1:6379)
import { fork } from 'node:child_process';
import { Redis } from 'ioredis';
const role = ['sub', 'pub'].includes(process.argv[2]) ? process.argv[2] : 'main';
const url = 'redis://127.0.0.1:6379';
const channel = 'floor-' + (process.argv[3] ?? 'x');
const seconds = 10;
if (role === 'sub') {
  const sub = new Redis(url);
  let n = 0;
  sub.on('messageBuffer', (c, m) => { if (m.length > 0) n++; });
  await sub.subscribe(channel);
  process.send('ready');
  process.on('message', (msg) => {
    if (msg === 'start') { this_start = process.cpuUsage(); n = 0; }
    if (msg === 'stop') { const u = process.cpuUsage(this_start); process.send({ n, cpuUs: u.user + u.system }); setTimeout(() => process.exit(0), 50); }
  });
  var this_start;
} else if (role === 'pub') {
  const raw = process.argv[4] === 'raw';
  const net = await import('node:net');
  let pub = new Redis(url);
  await pub.ping();
  if (raw) {
    // The same publishes written as RESP to a connection that Redis does not answer (CLIENT REPLY OFF).
    const socket = net.connect(6379, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n');
    const head = (ch, len) => Buffer.from(`*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(ch)}\r\n${ch}\r\n$${len}\r\n`);
    const crlf = Buffer.from('\r\n');
    pub = { publish: (ch, m) => { socket.write(Buffer.concat([head(ch, m.length), m, crlf])); return Promise.resolve(); }, ping: () => Promise.resolve() };
  }
  const payload = Buffer.alloc(120, 7);
  // Warm-up: the code paths on both sides JIT-compiled before anything is measured.
  for (let i = 0; i < 5000; i++) { pub.publish(channel, payload).catch(() => {}); if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2)); }
  await pub.ping();
  await new Promise((r) => setTimeout(r, 500));
  process.send('ready');
  process.on('message', async (msg) => {
    if (msg.start) {
      const start = process.cpuUsage();
      let n = 0;
      const rate = msg.rate;
      const until = Date.now() + seconds * 1000;
      await new Promise((resolve) => {
        const tick = () => {
          if (Date.now() >= until) return resolve();
          if (rate > 0) { pub.publish(channel, payload).catch(() => {}); n++; }
          setTimeout(tick, 20);
        };
        tick();
      });
      const u = process.cpuUsage(start);
      process.send({ n, cpuUs: u.user + u.system });
      setTimeout(() => process.exit(0), 50);
    }
  });
} else {
  const run = async (rate) => {
    const tag = Math.random().toString(36).slice(2);
    const sub = fork(new URL(import.meta.url).pathname, ['sub', tag]);
    const pub = fork(new URL(import.meta.url).pathname, ['pub', tag, process.argv[2] === 'raw' ? 'raw' : 'ioredis']);
    await new Promise((r) => sub.once('message', r));
    await new Promise((r) => pub.once('message', r));
    sub.send('start');
    pub.send({ start: true, rate });
    const p = await new Promise((r) => pub.once('message', r));
    await new Promise((r) => setTimeout(r, 200));
    sub.send('stop');
    const s = await new Promise((r) => sub.once('message', r));
    return { rate, published: p.n, received: s.n, pubCpuMs: p.cpuUs / 1000, subCpuMs: s.cpuUs / 1000 };
  };
  for (let i = 0; i < 2; i++) {
    const idle = await run(0);
    const busy = await run(50);
    console.log(JSON.stringify({ idle, busy }));
    console.log(`publish: ${((busy.pubCpuMs - idle.pubCpuMs) * 1000 / busy.published).toFixed(0)} us CPU per message; receive: ${((busy.subCpuMs - idle.subCpuMs) * 1000 / busy.received).toFixed(0)} us CPU per message (load ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
  }
}
