#!/usr/bin/env node
// Start-up time of the built server (server/dist) with its embedded PostgreSQL, from spawning
// `node server/dist/server/src/main.js` to the first 200 from /healthz:
//   fresh     a new DATA_DIR (initdb, migrations, demo seed)
//   warm      a DATA_DIR already initialised, after a clean stop
//   recovery  a DATA_DIR whose previous process was killed with SIGKILL (its postgres is stopped first)
// Also prints the server's own `startupMs` (from the "Plansync is listening" log line, which leaves out
// Node's start and module loading). Usage: node scripts/measure-startup.mjs [runs=3]. Build first
// (`npm run build -w server`). Everything listens on 127.0.0.1 and the temporary folders are removed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'server/dist/server/src/main.js');
const runs = Number(process.argv[2] ?? 3);
if (!existsSync(entry)) {
  console.error(`${entry} is missing: run \`npm run build -w server\` first`);
  process.exit(1);
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|DATA_DIR|DATABASE_URL|SEED_DEMO|REDIS_URL|LOG_LEVEL)$/.test(k)));

/** Starts the server on dataDir, returns { child, exited, ms, startupMs } once /healthz answers 200. */
async function start(dataDir) {
  const port = await freePort();
  const begin = performance.now();
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`server exited before it was healthy:\n${out}`);
    if (performance.now() - begin > 60_000) throw new Error(`not healthy after 60 s:\n${out}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - begin;
  const listening = out.split('\n').find((l) => l.includes('"Plansync is listening"'));
  return { child, exited, ms, startupMs: listening ? JSON.parse(listening).startupMs : NaN };
}

async function stop(server, signal = 'SIGTERM') {
  server.child.kill(signal);
  await server.exited;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Stops a postgres a SIGKILLed run left behind (or anything else still holding the folder). */
async function stopPostgres(dataDir) {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postgres/postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 300; i++) {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch {
    // no pid file, or stopped
  }
}

const results = { fresh: [], warm: [], recovery: [] };
const dirs = [];
try {
  for (let i = 0; i < runs; i++) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-measure-'));
    dirs.push(dir);
    const s = await start(dir);
    results.fresh.push(s);
    await stop(s);
  }
  const warmDir = dirs[0];
  for (let i = 0; i < runs; i++) {
    const s = await start(warmDir);
    results.warm.push(s);
    await stop(s);
  }
  for (let i = 0; i < runs; i++) {
    const killed = await start(warmDir);
    await stop(killed, 'SIGKILL');
    const s = await start(warmDir);
    results.recovery.push(s);
    await stop(s);
  }
} finally {
  for (const dir of dirs) {
    await stopPostgres(dir);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

console.log(`Start-up to the first 200 from /healthz, ${runs} runs each (node ${process.version}, ${os.cpus().length} CPUs):`);
for (const [name, list] of Object.entries(results)) {
  const wall = list.map((r) => Math.round(r.ms));
  const own = list.map((r) => r.startupMs);
  console.log(
    `  ${name.padEnd(9)} median ${String(median(wall)).padStart(5)} ms  (runs: ${wall.join(', ')} ms; server's startupMs median ${median(own)} ms)`,
  );
}
