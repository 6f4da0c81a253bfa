import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
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

  it("runs a statement again when PostgreSQL rolled it back as a deadlock's victim, once applied; other errors stand", async () => {
    const own = new PgBossDb({ connectionString: database.url, max: 1 }, (err) => errors.push(err));
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    try {
      await other.query('CREATE TABLE deadlock_probe (id int PRIMARY KEY, v int NOT NULL); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)');
      // The other side holds row 1, and waits far longer than PostgreSQL's default second before it looks for a
      // deadlock: the statement's side looks first, and is the victim.
      await other.query('BEGIN');
      await other.query(`SET LOCAL deadlock_timeout = '60s'`);
      await other.query('UPDATE deadlock_probe SET v = v + 1 WHERE id = 1');
      // Row 2, then row 1 (held): waits.
      const statement = own.executeSql(
        `WITH second AS (UPDATE deadlock_probe SET v = v + 10 WHERE id = $1 RETURNING id)
         UPDATE deadlock_probe SET v = v + 10 WHERE id = $2 AND EXISTS (SELECT 1 FROM second)`,
        [2, 1],
      );
      await eventually(async () => {
        // Inside a transaction, pg_stat_activity is read once and kept: read it afresh each time.
        await other.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await other.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH second%'`);
        return rows[0].n === 1;
      }, 'the statement to wait for row 1');
      // Row 2, held by the statement: a deadlock, which PostgreSQL ends by rolling the statement back.
      await other.query('UPDATE deadlock_probe SET v = v + 1 WHERE id = 2');
      await other.query('COMMIT');
      await statement;
      const { rows } = await other.query('SELECT id, v FROM deadlock_probe ORDER BY id');
      // Each row: the other side's 1 and the statement's 10, once.
      expect(rows).toEqual([
        { id: 1, v: 11 },
        { id: 2, v: 11 },
      ]);
      // An error PostgreSQL does not ask to retry stands at once.
      await expect(own.executeSql('SELECT $1::int AS n', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    } finally {
      await other.end();
      await own.close();
    }
    expect(errors).toEqual([]);
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
