/**
 * A Plansync process that a test can kill and start again on the same port, database and DATA_DIR, so
 * that clients reconnect to it by themselves and tokens stay valid. It runs the built server
 * (`server/dist`, which `npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { eventually } from './gridClients.js';
import { createDatabaseFor, createTestDatabase, type GraphQLResponse } from './harness.js';

const MAIN = fileURLToPath(new URL('../../dist/server/src/main.js', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface RestartableServer {
  url: string;
  databaseUrl: string;
  /** The JSON log lines it printed (at LOG_LEVEL, warn unless `env` says otherwise), across restarts. */
  logs: Record<string, any>[];
  start(): Promise<void>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  login(email: string): Promise<string>;
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  /** Stops it if running and removes its database and folder. */
  destroy(): Promise<void>;
}

/**
 * `env` is added to the server's environment. Its database: `databaseUrl`'s, shared with the server that owns it;
 * else an empty one with `emptyDatabase` (its first start migrates and seeds it); else one as a first start on
 * `env` leaves it (testDatabase.ts).
 */
export async function restartableServer(
  env: Record<string, string> = {},
  { databaseUrl, emptyDatabase = false }: { databaseUrl?: string; emptyDatabase?: boolean } = {},
): Promise<RestartableServer> {
  const database = databaseUrl
    ? { url: databaseUrl, drop: async () => undefined }
    : emptyDatabase
      ? await createTestDatabase()
      : await createDatabaseFor(env);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-restartable-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  pool.on('error', () => undefined);
  let child: ChildProcess | undefined;
  const logs: Record<string, any>[] = [];

  const gql: RestartableServer['gql'] = async (query, variables, token) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { ...((await res.json()) as GraphQLResponse), status: res.status };
  };

  const server: RestartableServer = {
    url,
    databaseUrl: database.url,
    logs,
    async start() {
      child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      readline.createInterface({ input: child.stdout! }).on('line', (text) => {
        try {
          logs.push(JSON.parse(text));
        } catch {
          // not a log line
        }
      });
      const proc = child;
      try {
        await eventually(async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return true;
          return (await fetch(`${url}/healthz`)).ok;
        }, 'the server to listen', 60_000);
      } catch (err) {
        // Say what the server was doing: its last log lines (warn and above, unless env says otherwise).
        throw new Error(`${(err as Error).message}\nits last log lines:\n${logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`);
      }
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`the server exited (${proc.exitCode ?? proc.signalCode}) before listening; its last log lines:\n${logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`);
      }
    },
    async stop(signal) {
      const proc = child;
      if (!proc || proc.exitCode !== null) return proc?.exitCode ?? null;
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill(signal);
      const code = await exited;
      child = undefined;
      return code;
    },
    gql,
    async login(email) {
      const res = await gql<{ login: { token: string } }>(
        'mutation($e: String!) { login(email: $e, password: "plansync-demo") { token } }',
        { e: email },
      );
      if (!res.data?.login) throw new Error(`login ${email} failed: ${JSON.stringify(res.errors)}`);
      return res.data.login.token;
    },
    async sql(text, params) {
      return (await pool.query(text, params as unknown[])).rows;
    },
    async destroy() {
      await server.stop('SIGTERM');
      await pool.end();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
