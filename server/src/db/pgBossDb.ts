/**
 * pg-boss's connection to PostgreSQL (the workflow engine's and the webhooks' queues): a pool of its own, as
 * pg-boss would make, whose parameterised statements are prepared once per connection.
 *
 * Why not pg-boss's own: it sends every statement unnamed, so PostgreSQL plans each one again. Its workers poll
 * (a fetch every 2 s per worker, six workers), and planning the fetch, an UPDATE over a table partitioned per
 * queue, cost PostgreSQL about 1 ms each time against a few microseconds to run it: most of an idle server's
 * database CPU, and a share of a busy one's (issue 16). Prepared, it is planned on a connection's first
 * executions, then PostgreSQL keeps its generic plan.
 *
 * A statement's name is a hash of its text. pg-boss builds its statements from a few templates (schema name,
 * fetch options), so they are few; should texts ever multiply, past MAX_NAMED the others go unnamed, as before,
 * rather than fill every connection with prepared statements. Statements without parameters (its migrations,
 * several commands in one text, which a prepared statement cannot hold) always go unnamed.
 *
 * pg-boss does not open or close a connection it is given: `close` ends the pool, after pg-boss has stopped. A
 * statement after that is answered with nothing, as pg-boss's own connection answers once closed: a job still
 * running when a stop's time was up completes or fails later, and that write must not become an unhandled
 * rejection (the job expires and runs again, as it would with pg-boss's own).
 *
 * A parameterised statement PostgreSQL rolls back as a deadlock's victim (or a serialization failure) is run
 * again, twice at most: see `runStatement`.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type PgBoss from 'pg-boss';

/** Distinct statement texts prepared at most (each on every connection that runs it). */
export const MAX_NAMED = 64;
/** Runs of a statement PostgreSQL keeps rolling back (deadlocks, serialization failures) before its error stands. */
const MAX_ATTEMPTS = 3;

/**
 * A statement PostgreSQL rolled back and asks to be run again: 40P01 deadlock_detected, 40001
 * serialization_failure (not the rest of class 40: 40003, statement_completion_unknown, may have committed).
 */
function isRolledBack(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

export class PgBossDb implements PgBoss.Db {
  private readonly pool: pg.Pool;
  private readonly names = new Map<string, string>();
  private closed = false;

  constructor(config: pg.PoolConfig, onError: (err: Error) => void) {
    this.pool = new pg.Pool({ application_name: 'pgboss', ...config });
    // An idle connection that fails (the server restarted): pg removes it from the pool; without a listener
    // the error would end the process.
    this.pool.on('error', onError);
  }

  executeSql(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    if (this.closed) return Promise.resolve(undefined as unknown as pg.QueryResult);
    if (!values || values.length === 0) return this.pool.query(text);
    return this.runStatement(text, values, 1);
  }

  /**
   * One parameterised statement (the extended protocol holds exactly one, run in a transaction of its own), run
   * again when PostgreSQL rolled it back as a deadlock's victim or a serialization failure, as PostgreSQL advises.
   * Rolled back whole, it changed nothing, so running it again cannot apply it twice. pg-boss itself neither
   * retries nor awaits its completion writes (`complete` and `fail` in its worker, manager.js): such a victim
   * was an unhandled rejection, and the job stayed active until it expired and ran its step again.
   */
  private async runStatement(text: string, values: unknown[], attempt: number): Promise<pg.QueryResult> {
    if (this.closed) return undefined as unknown as pg.QueryResult;
    const name = this.nameOf(text);
    try {
      return await (name ? this.pool.query({ name, text, values }) : this.pool.query(text, values));
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isRolledBack(err)) throw err;
      // Apart, so that the two sides of a deadlock do not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, attempt * 25 + Math.random() * 25));
      return this.runStatement(text, values, attempt + 1);
    }
  }

  /** How many statement texts are prepared (for the tests). */
  get preparedCount(): number {
    return this.names.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED) {
      name = `pgboss_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      this.names.set(text, name);
    }
    return name;
  }
}
