import { once } from 'node:events';
import { MikroORM, type Knex } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ormOptions } from '../db/orm.js';
import { createTestDatabase } from '../testing/testDatabase.js';
import { acquirePooledConnection, discardOnRelease, releasePooledConnection, transactionConnection, type PooledConnection } from './knexPool.js';

const HINT = "See server/src/internals/knexPool.ts: read this knex version's lib/client.js (acquireConnection, the pool's validate) and update the module.";

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let orm: MikroORM;

beforeAll(async () => {
  database = await createTestDatabase();
  // No entities: only MikroORM's connection and knex's pool are under test.
  orm = await MikroORM.init(ormOptions(database.url, [], { discovery: { warnWhenNoEntities: false }, pool: { min: 0, max: 2 } }));
});

afterAll(async () => {
  await orm?.close(true);
  await database?.drop();
});

async function backendPid(connection: PooledConnection): Promise<number> {
  const { rows } = await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

describe("knex's pool under MikroORM (internals/knexPool.ts)", () => {
  it('hands out a pg connection and takes it back for the next caller', async () => {
    const em = orm.em.fork();
    const first = await acquirePooledConnection(em);
    expect(typeof first?.query, `knex's client.acquireConnection() no longer resolves to a pg Client. ${HINT}`).toBe('function');
    const pid = await backendPid(first);
    await releasePooledConnection(em, first);
    const again = await acquirePooledConnection(em);
    expect(again, `a released connection was not given back to knex's pool (the pool would leak). ${HINT}`).toBe(first);
    expect(await backendPid(again)).toBe(pid);
    await releasePooledConnection(em, again);
  });

  it('destroys a connection marked __knex__disposed instead of handing it out again', async () => {
    const em = orm.em.fork();
    const marked = await acquirePooledConnection(em);
    const pid = await backendPid(marked);
    const ended = once(marked, 'end');
    discardOnRelease(marked, new Error('test: rollback failed'));
    await releasePooledConnection(em, marked);
    const next = await acquirePooledConnection(em);
    expect(next, `knex's pool handed out a connection marked __knex__disposed: a connection left mid-transaction would be reused. ${HINT}`).not.toBe(marked);
    expect(await backendPid(next)).not.toBe(pid);
    await ended; // the pool closed it
    await releasePooledConnection(em, next);
  });

  it("gives a transaction's own connection, the one MikroORM's queries in it run on", async () => {
    await orm.em.fork().transactional(async (tx) => {
      const trx = tx.getTransactionContext<Knex.Transaction>()!;
      const connection = await transactionConnection(trx);
      expect(await transactionConnection(trx), `a knex transaction client no longer answers with its one connection. ${HINT}`).toBe(connection);
      const [viaOrm] = await tx.execute<{ pid: number; xid: string }[]>('SELECT pg_backend_pid() AS pid, txid_current()::text AS xid');
      const { rows } = await connection.query<{ pid: number; xid: string }>('SELECT pg_backend_pid() AS pid, txid_current()::text AS xid');
      expect(rows[0], `transactionConnection is not the transaction's connection: pg-boss's job would be inserted outside the transaction. ${HINT}`).toEqual(viaOrm);
    });
  });
});
