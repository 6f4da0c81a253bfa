/**
 * What an idle server (defaults, no client) asks its database: its job workers and webhook outbox wait to be told
 * there is work (workerWakeups.ts, the outbox's pg_notify), and poll only as a safety net. Before that, they
 * polled about four times a second.
 *
 * Counted at the server's side, every statement any of its PostgreSQL connections sends (pg's Client.query, which
 * pg-boss, MikroORM and our own SQL all go through), since PostgreSQL's own per-database counters also count what
 * autovacuum does in the freshly seeded database.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.js';

/** Long enough to span two of every periodic job's rounds (pg-boss's maintenance and the workers' polls, every 10 s). */
const WINDOW_MS = 20_000;

describe('an idle server', () => {
  let server: TestServer;
  let statements = 0;
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    // Counts and passes on: the statements go to PostgreSQL as they would.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      statements++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    server = await startTestServer();
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await server?.stop();
  });

  it('asks its database a few times a minute, not several times a second', async () => {
    await sleep(5_000); // the start's own work done
    const before = statements;
    await sleep(WINDOW_MS);
    // About 25 over 20 s now (the polls' safety nets and pg-boss's upkeep); at four statements a second it was
    // 90 and more.
    expect(statements - before, `statements in ${WINDOW_MS / 1000} s`).toBeLessThan(50);
  }, 60_000);
});
