/**
 * Connections of MikroORM's own pool, used directly: knex's `client.acquireConnection()` /
 * `releaseConnection()`, its `__knex__disposed` mark, and a transaction client's connection.
 *
 * Relies on knex 3 (checked on 3.2.10, lib/client.js; MikroORM 6.6 creates it) with its tarn pool:
 * - `knex.client.acquireConnection()` resolves to the raw driver connection (a `pg` Client) taken from the pool,
 *   `releaseConnection(connection)` gives it back;
 * - a connection carrying `__knex__disposed` fails the pool's validation the next time it is handed out, and is
 *   destroyed then (knex logs "Connection Error: <the mark>") instead of being used;
 * - a transaction's client (lib/execution/transaction.js `makeTxClient`) answers `acquireConnection()` with the
 *   one connection the transaction runs on, and never releases it.
 *
 * Why we reach in: the grid's update log and projection, `budgetLines` and the viewer lookup run plain SQL with
 * fixed text (db/sql.ts). Through MikroORM's unit of work (an EntityManager fork, hydration, change sets, knex's
 * query building) each cost milliseconds of CPU, several times the work itself (commit 29a61da); borrowing a
 * connection of MikroORM's own pool means no second pool to size and no connection of our own to manage.
 * pg-boss inserts a step's job on the workflow transaction's own connection with its own `$n` parameters
 * (workflow/transitions.ts; knex's `?` rewriting broke delayed retries, commit eb10842).
 *
 * Fallback: none; these are the connections every plain-SQL path runs on. When knex's shape changes the calls
 * throw at once (not silently), and knexPool.test.ts fails first, saying what changed.
 *
 * Out of scope: what runs on the connections (db/sql.ts), MikroORM's own use of the pool.
 */
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import type pg from 'pg';

/** A pooled connection: knex's pg dialect hands out `pg` Clients. */
export type PooledConnection = pg.Client;

interface KnexClient {
  acquireConnection(): Promise<PooledConnection>;
  releaseConnection(connection: PooledConnection): Promise<void>;
}

function knexClient(source: Knex): KnexClient {
  return (source as unknown as { client: KnexClient }).client;
}

/** A connection of `em`'s pool, all to the caller until `releasePooledConnection`. Rejects as knex does (timeout...). */
export function acquirePooledConnection(em: EntityManager): Promise<PooledConnection> {
  return knexClient(em.getConnection().getKnex()).acquireConnection();
}

/** Gives a connection back to `em`'s pool (which destroys it instead if `discardOnRelease` marked it). */
export function releasePooledConnection(em: EntityManager, connection: PooledConnection): Promise<void> {
  return knexClient(em.getConnection().getKnex()).releaseConnection(connection);
}

/**
 * Marks a pooled connection that must not be used again (say, mid-transaction after a failed rollback): once
 * released, the pool destroys it instead of handing it out. `reason` is what knex logs then.
 */
export function discardOnRelease(connection: object, reason: unknown): void {
  (connection as { __knex__disposed?: unknown }).__knex__disposed = reason;
}

/** The connection a knex transaction runs on (the same for every call; nothing to release). */
export function transactionConnection(trx: Knex.Transaction): Promise<PooledConnection> {
  return knexClient(trx).acquireConnection();
}
