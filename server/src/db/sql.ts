/**
 * Plain SQL on a pooled PostgreSQL connection, for hot paths: the grid's update log appends and projection
 * batches (every 100 ms per open document), `budgetLines`, the viewer lookup (every request) and the sign-in
 * limits' counters (auth/signInLimits.ts: rate-limiter-flexible borrows the pool through here). Through
 * MikroORM's unit of work (an EntityManager fork, entity hydration and change sets, knex's query building)
 * each cost milliseconds of CPU, several times the work itself. Here it is a few statements with fixed text
 * (prepared once per connection) on a `pg` client borrowed from MikroORM's own pool, so no second pool and no
 * connection of our own to manage.
 *
 * Out of scope: how a connection is borrowed from knex's pool and given back (internals/knexPool.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResultRow } from 'pg';
import { acquirePooledConnection, discardOnRelease, releasePooledConnection } from '../internals/knexPool.js';

/** The part of a `pg` client used here. */
export interface SqlClient {
  query<R extends QueryResultRow = QueryResultRow>(
    query: string | { name?: string; text: string; values?: unknown[] },
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * No connection could be had (the database is unreachable, refuses connections, or the pool timed out): nothing
 * was sent, so whatever was to be written may work later as it is. Its message is the cause's.
 */
export class SqlConnectionError extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'SqlConnectionError';
  }
}

/** Runs `work` with a connection of MikroORM's pool, given back afterwards. */
export async function withSqlClient<T>(em: EntityManager, work: (client: SqlClient) => Promise<T>): Promise<T> {
  const client = await acquirePooledConnection(em).catch((err: unknown) => {
    throw new SqlConnectionError(err);
  });
  try {
    return await work(client);
  } finally {
    await releasePooledConnection(em, client);
  }
}

/** Runs `work` in a transaction of its own on a pooled connection: committed when it resolves, else rolled back. */
export async function inSqlTransaction<T>(em: EntityManager, work: (client: SqlClient) => Promise<T>): Promise<T> {
  return withSqlClient(em, async (client) => {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await work(client);
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        // A connection that cannot even roll back must not be handed out again, mid-transaction.
        discardOnRelease(client, rollbackError);
      });
      throw err;
    }
    try {
      await client.query('COMMIT');
    } catch (err) {
      discardOnRelease(client, err);
      throw err;
    }
    return result;
  });
}
