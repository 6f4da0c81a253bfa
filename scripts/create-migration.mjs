#!/usr/bin/env node
// Writes a new migration into migrations/ with the SQL that brings the last migrated schema up to the
// entities' model. Needs a scratch PostgreSQL server: DATABASE_URL, or the local one on 127.0.0.1:5432.
// Run `npm run build -w server` first; then list the new class in migrations/index.ts.
import 'reflect-metadata';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { ormOptions, ensureDatabase } = await import(path.join(root, 'server/dist/server/src/db/orm.js'));
const { entities, unmappedTables } = await import(path.join(root, 'server/dist/server/src/entities.js'));
const { MikroORM } = await import('@mikro-orm/postgresql');
const pg = (await import('pg')).default;

const server = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const scratch = `plansync_migration_${process.pid}`;
const url = await ensureDatabase(server, scratch);
// Tables a library owns (entities.ts, unmappedTables) are not the entities' to drop.
const orm = await MikroORM.init(ormOptions(url, entities, { schemaGenerator: { skipTables: unmappedTables } }));
try {
  const migrator = orm.getMigrator();
  await migrator.up();
  const result = await migrator.createMigration(path.join(root, 'migrations'), false, false, process.argv[2]);
  console.log(result.fileName ? `wrote migrations/${result.fileName}` : 'the schema is up to date: nothing written');
} finally {
  await orm.close(true);
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${scratch}"`);
  await client.end();
}
