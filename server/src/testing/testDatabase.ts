/**
 * A fresh, empty database on the test PostgreSQL server, for tests that need a database but not a whole
 * Plansync (harness.ts starts one on top of it). Importing this loads no part of the application.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { ensureDatabase } from '../db/orm.js';

/** A fresh, empty database on the test PostgreSQL server; `drop()` removes it, closing what is still connected. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = inject('postgresServerUrl');
  const name = `plansync_test_${randomBytes(6).toString('hex')}`;
  const url = await ensureDatabase(serverUrl, name);
  return {
    url,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
