import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testing/testDatabase.js';
import { MAX_NAMED, PgBossDb } from './pgBossDb.js';

/**
 * pg-boss on its own prepared-statement pool (pgBossDb.ts): it runs as on its own connection (queues, jobs sent,
 * fetched and completed), its polling fetch is planned once per connection rather than on every poll, and the
 * prepared texts stay bounded.
 */
describe("pg-boss's connection", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: PgBossDb;
  let boss: PgBoss;
  const errors: unknown[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection, so that the statistics read below are those of the connection that ran the statements.
    db = new PgBossDb({ connectionString: database.url, max: 1 }, (err) => errors.push(err));
    boss = new PgBoss({ db, schema: 'pgboss', schedule: false, supervise: false });
    boss.on('error', (err) => errors.push(err));
    await boss.start();
    await boss.createQueue('jobs');
  });
  afterAll(async () => {
    await boss?.stop({ graceful: false, wait: true });
    await db?.close();
    await database?.drop();
  });

  it('sends, fetches and completes jobs, and plans its polling fetch once per connection', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await boss.send('jobs', { n: i }))!);
    const fetched: number[] = [];
    // Fetches as its workers poll: most find nothing, as on an idle server.
    for (let poll = 0; poll < 12; poll++) {
      const [job] = await boss.fetch<{ n: number }>('jobs', { batchSize: 1, includeMetadata: true });
      if (!job) continue;
      fetched.push(job.data.n);
      await boss.complete('jobs', job.id);
    }
    expect(fetched.sort()).toEqual([0, 1, 2]);
    for (const id of ids) expect((await boss.getJobById('jobs', id))?.state).toBe('completed');

    const { rows } = await db.executeSql(
      `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FOR UPDATE SKIP LOCKED%'`,
    );
    expect(rows).toHaveLength(1);
    // Unnamed, PostgreSQL would have planned all twelve fetches; prepared, the first five at most, then it keeps
    // the generic plan.
    expect(Number(rows[0].custom_plans)).toBeLessThanOrEqual(5);
    expect(Number(rows[0].generic_plans)).toBeGreaterThanOrEqual(7);
    expect(errors).toEqual([]);
  });

  it('prepares a bounded number of texts, and never one without parameters', async () => {
    const before = db.preparedCount;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(MAX_NAMED);
    // Many distinct texts (pg-boss's are a few templates; these stand for texts that would multiply).
    for (let i = 0; i < MAX_NAMED + 10; i++) {
      const { rows } = await db.executeSql(`SELECT $1::int + ${i} AS n`, [1]);
      expect(rows[0].n).toBe(1 + i);
    }
    expect(db.preparedCount).toBe(MAX_NAMED);
    // Several commands in one text (as pg-boss's migrations are): only possible unnamed.
    const result = await db.executeSql('SELECT 1 AS a; SELECT 2 AS b');
    expect(Array.isArray(result) ? result.length : 1).toBe(2);
    const { rows } = await db.executeSql(`SELECT count(*)::int AS n FROM pg_prepared_statements`);
    expect(rows[0].n).toBe(MAX_NAMED);
  });

  it('answers nothing once closed, as pg-boss expects of a closed connection, rather than rejecting', async () => {
    // A job still running when a stop's time was up completes or fails after the pool is closed.
    const late = new PgBossDb({ connectionString: database.url, max: 1 }, (err) => errors.push(err));
    expect((await late.executeSql('SELECT $1::int AS n', [7])).rows[0].n).toBe(7);
    await late.close();
    await expect(late.executeSql('SELECT $1::int AS n', [7])).resolves.toBeUndefined();
    await late.close();
    expect(errors).toEqual([]);
  });
});
