/**
 * A whole Plansync as its own process, for tests that need process-wide settings the test runner cannot
 * give an in-process server: mostly NODE_EXTRA_CA_CERTS, which Node reads once at start-up. Entra tests
 * need it because msal-node 7 and jose both fetch with Node's built-in fetch, which has no per-call CA
 * option and only trusts the system store plus that file; running the server exactly as production does
 * keeps every test hook out of the server code.
 *
 * It runs the built server (`server/dist`, which `npm test` builds first) against a fresh test database,
 * on a free port it learns from the "Plansync is listening" log line.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabaseFor, type GraphQLResponse } from './harness.js';

const MAIN = fileURLToPath(new URL('../../dist/server/src/main.js', import.meta.url));

export interface ChildServer {
  url: string;
  /** The test database it runs against (dropped by `stop`). */
  databaseUrl: string;
  /** Every JSON log line the server printed so far. */
  logs: Record<string, any>[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startChildServer(env: Record<string, string>): Promise<ChildServer> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build -w server\` first (npm test does)`);
  const database = await createDatabaseFor(env);
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'plansync-child-'));
  const child = spawn(process.execPath, [MAIN], {
    // A clean environment: nothing of the runner's (NODE_OPTIONS, ENTRA_*) leaks into the server.
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));

  const logs: Record<string, any>[] = [];
  const waiters: { match: (line: Record<string, any>) => boolean; resolve: (line: Record<string, any>) => void }[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, any>;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    logs.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const waitForLog: ChildServer['waitForLog'] = (match) => {
    const seen = logs.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
  };

  const listening = await Promise.race([
    waitForLog((l) => l.msg === 'Plansync is listening'),
    exited.then((code) => {
      throw new Error(`Plansync exited with ${code} before listening:\n${stderr}\n${JSON.stringify(logs.slice(-5))}`);
    }),
  ]);
  const url: string = listening.url;
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });

  return {
    url,
    databaseUrl: database.url,
    logs,
    waitForLog,
    async gql(query, variables, token) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { ...((await res.json()) as GraphQLResponse), status: res.status };
    },
    async sql(text, params) {
      return (await pool.query(text, params as unknown[])).rows;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await pool.end();
      await database.drop();
      await fsp.rm(dataDir, { recursive: true, force: true });
    },
  };
}
