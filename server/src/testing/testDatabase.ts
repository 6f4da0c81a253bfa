/**
 * Databases for tests on the test PostgreSQL server: a fresh, empty one, for tests that need a database but not a
 * whole Plansync, and a seeded one, for a whole Plansync on the demo data (harness.ts). Importing this loads no part
 * of the application; the seeded template loads the schema's migrations and the seed when it is first made.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { ensureDatabase } from '../db/orm.js';

export interface TestDatabase {
  url: string;
  /** Removes it, closing what is still connected. */
  drop(): Promise<void>;
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('postgresServerUrl') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function newDatabaseName(): string {
  return `plansync_test_${randomBytes(6).toString('hex')}`;
}

function testDatabase(name: string): TestDatabase {
  const url = new URL(inject('postgresServerUrl'));
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    drop: () => onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A fresh, empty database on the test PostgreSQL server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = newDatabaseName();
  await ensureDatabase(inject('postgresServerUrl'), name);
  return testDatabase(name);
}

/**
 * The database a Plansync started with `env` finds on a first start: seeded (a copy of the template) unless
 * SEED_DEMO turns the demo data off (config.ts's spellings of false), then empty.
 */
export function createDatabaseFor(env: Record<string, string | undefined>): Promise<TestDatabase> {
  const demoDataOff = ['0', 'false', 'no', 'off'].includes(env.SEED_DEMO?.trim().toLowerCase() ?? '');
  return demoDataOff ? createTestDatabase() : createSeededTestDatabase();
}

/** Held on the server's own database while a run's seeded template is made: one worker makes it, the others wait. */
const TEMPLATE_LOCK_KEY = 7_305_120_411;

/**
 * A database as a fresh Plansync leaves it after its first start on the demo data (migrated, seeded): a copy of
 * this run's template (globalSetup.ts names it, and drops it at the end), which the first caller of the run makes
 * with the product's own migrations and seed. A server started on it runs both again and finds nothing to do,
 * as every restart does. Copying takes a tenth of migrating and seeding, which each test file's server did
 * before (a fresh database's first start is process.test.ts's and the SEED_DEMO=false tests').
 */
export async function createSeededTestDatabase(): Promise<TestDatabase> {
  const template = inject('seededTemplateDatabase');
  await onServer(async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (!rowCount) await makeSeededTemplate(client, template);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
  const name = newDatabaseName();
  await onServer((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return testDatabase(name);
}

/** Migrates and seeds under a name of its own, then renames it: the template exists only once it is whole. */
async function makeSeededTemplate(client: pg.Client, template: string): Promise<void> {
  const { openOrm } = await import('../db/orm.js');
  const { entities } = await import('../entities.js');
  const { seedDemoData } = await import('../seed.js');
  const building = testDatabase(newDatabaseName());
  const name = new URL(building.url).pathname.slice(1);
  await ensureDatabase(inject('postgresServerUrl'), name);
  try {
    const orm = await openOrm(building.url, entities);
    try {
      await seedDemoData(orm.em.fork());
    } finally {
      await orm.close(true);
    }
    // A closed pool's connections may not have left the server yet; a database being renamed or copied has none.
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    await client.query(`ALTER DATABASE "${name}" RENAME TO "${template}"`);
  } catch (err) {
    await building.drop();
    throw err;
  }
  // Nobody works in the template itself: a connection to it would make every copy fail.
  await client.query(`ALTER DATABASE "${template}" WITH ALLOW_CONNECTIONS false`);
}
