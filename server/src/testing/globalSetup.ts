/**
 * One PostgreSQL server for the whole test run: TEST_DATABASE_URL when given (any server the tests may
 * create databases on), otherwise an embedded cluster under a temporary folder, exactly as `npm start`
 * would run one. Each test file then creates databases of its own on it (see harness.ts).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embeddedPostgres.js';

let embedded: EmbeddedDatabase | undefined;
let dataDir: string | undefined;
let serverUrl: string | undefined;
// Of this run only: runs sharing a TEST_DATABASE_URL server, or a run after a code change, never share one.
const seededTemplate = `plansync_template_${randomBytes(6).toString('hex')}`;

declare module 'vitest' {
  export interface ProvidedContext {
    postgresServerUrl: string;
    /** This run's migrated and seeded database, copied for each test server (testDatabase.ts makes it). */
    seededTemplateDatabase: string;
  }
}

export async function setup(project: TestProject) {
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-test-pg-'));
    const quiet = { info: () => undefined, warn: (m: string) => console.warn(m) };
    embedded = await startEmbeddedPostgres(dataDir, quiet);
    url = embedded.url;
  }
  project.provide('postgresServerUrl', url);
  serverUrl = url;
  project.provide('seededTemplateDatabase', seededTemplate);
}

export async function teardown() {
  if (serverUrl && !embedded) {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${seededTemplate}" WITH (FORCE)`);
    await client.end();
  }
  await embedded?.stop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
}
