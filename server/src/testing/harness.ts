/**
 * Real servers for tests: `startTestServer()` creates a fresh database on the test PostgreSQL server,
 * starts a whole Plansync on a free port against it (migrations, demo seed, HTTP, websockets) and gives
 * small helpers to talk to it over real HTTP. Nothing is mocked; `stop()` tears it all down.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startPlansync, type Plansync } from '../app.js';
import { loadConfig } from '../config.js';
import { DEMO_PASSWORD } from '../seed.js';
import { createLogger } from '../log.js';
import { createDatabaseFor, createTestDatabase } from './testDatabase.js';

export { createDatabaseFor, createTestDatabase };

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown }; path?: string[] }[];
}

export interface TestServer {
  app: Plansync;
  url: string;
  databaseUrl: string;
  /** POSTs a GraphQL operation; `token` becomes the bearer token. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
  /** Signs a demo user in (password plansync-demo) and returns the token. */
  login(email: string, password?: string): Promise<string>;
  /** Runs SQL directly against the test database (for assertions on stored state). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database = await createDatabaseFor(env);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const app = await startPlansync(config, createLogger(config.logLevel));
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // pool.end() resolves before its connections have closed; DROP DATABASE ... WITH (FORCE) in stop() then
  // terminates them, and an idle connection's error would otherwise be an unhandled 'error' event.
  pool.on('error', () => undefined);

  const gql: TestServer['gql'] = async (query, variables, token) => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as GraphQLResponse;
    return { ...body, status: res.status };
  };

  return {
    app,
    url: app.url,
    databaseUrl: database.url,
    gql,
    async login(email, password = DEMO_PASSWORD) {
      const res = await gql<{ login: { token: string } }>(
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: email, p: password },
      );
      if (!res.data?.login) throw new Error(`login ${email} failed: ${JSON.stringify(res.errors)}`);
      return res.data.login.token;
    },
    async sql(text, params) {
      return (await pool.query(text, params as unknown[])).rows;
    },
    async stop() {
      await app.stop();
      await pool.end();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The code of the first error of a response, for terse assertions. */
export function errorCode(res: GraphQLResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}
