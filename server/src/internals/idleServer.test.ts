/**
 * What an idle server (defaults, no client) asks its database, seen from PostgreSQL's own statistics of the
 * server's database: its job workers and webhook outbox wait to be told there is work (workerWakeups.ts, the
 * outbox's pg_notify), and poll only as a safety net. Before that, they polled about four times a second.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.js';

/** Long enough to span several of every periodic job's rounds (pg-boss's maintenance and the workers' polls, every 10 s). */
const WINDOW_MS = 30_000;

describe('an idle server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('asks its database a few times a minute, not several times a second', async () => {
    // Transactions committed or rolled back in the server's database, by every connection (our two reads included).
    const transactions = async () =>
      Number((await server.sql<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()'))[0].n);
    await sleep(5_000); // the start's own work done and its statistics reported
    const before = await transactions();
    await sleep(WINDOW_MS);
    const after = await transactions();
    // About 30 over 30 s now (the polls' safety nets and pg-boss's upkeep); at four queries a second it was 120
    // and more. Backends report their statistics up to 10 s late, hence the margin.
    expect(after - before, `transactions in ${WINDOW_MS / 1000} s`).toBeLessThan(60);
  }, 60_000);
});
