/**
 * One PostgreSQL server for the whole test run: TEST_DATABASE_URL when given (any server the tests may
 * create databases on), otherwise an embedded cluster under a temporary folder, exactly as `npm start`
 * would run one. Each test file then creates databases of its own on it (see harness.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embeddedPostgres.js';

let embedded: EmbeddedDatabase | undefined;
let dataDir: string | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    postgresServerUrl: string;
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
}

export async function teardown() {
  await embedded?.stop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
}
