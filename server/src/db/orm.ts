/**
 * Opening the database: MikroORM over PostgreSQL, with migrations applied under an advisory lock (so that two
 * instances starting together never run them twice).
 *
 * Out of scope: which entities there are (entities.ts, handed in by the composition root) and the demo data
 * (seed.ts, run by app.ts after this, under a lock of its own).
 */
import { MikroORM, defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { migrationsList } from '../../../migrations/index.js';

export type Orm = MikroORM;

let ormLog: { debug(msg: string): void } | undefined;
/** Where MikroORM's messages go; set once by the composition root. */
export function setOrmLogger(log: { debug(msg: string): void }): void {
  ormLog = log;
}

/**
 * The advisory lock key that serialises schema changes across instances: migrations here, and pg-boss's queue
 * set-up (workflow/engine.ts). "plan" in ASCII. The demo seed takes a lock of its own (seed.ts).
 */
const SCHEMA_LOCK_KEY = 0x706c616e;

/** MikroORM's options for this database and these entities (the registry is `entities.ts`, beside `app.ts`). */
export function ormOptions(clientUrl: string, entities: Options['entities'], overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl,
    // MikroORM's own messages (the migrator's) go to our structured log at debug level.
    logger: (message) => ormLog?.debug(message.replace(/\u001b\[[0-9;]*m/g, '')),
    entities,
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, disableForeignKeys: false },
    forceUtcTimezone: true,
    // Entities here declare every type explicitly, so no TypeScript source is needed at run time.
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: 10 },
    allowGlobalContext: false,
    ...overrides,
  });
}

/** Creates `database` on the server of `serverUrl` when it does not exist yet, and returns its URL. */
export async function ensureDatabase(serverUrl: string, database: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (err) {
    // Two instances may race to create it; the loser sees a duplicate, which is fine.
    if ((err as { code?: string }).code !== '42P04' && (err as { code?: string }).code !== '23505') throw err;
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = '/' + database;
  return url.toString();
}

/** Runs `work` while holding the schema advisory lock on a connection of its own. */
export async function withSchemaLock<T>(clientUrl: string, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: clientUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    return await work();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/** Connects and brings the schema up to date. */
export async function openOrm(clientUrl: string, entities: Options['entities']): Promise<Orm> {
  const orm = await MikroORM.init(ormOptions(clientUrl, entities));
  await withSchemaLock(clientUrl, () => orm.getMigrator().up());
  return orm;
}
