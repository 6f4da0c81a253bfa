/**
 * One change storage refuses must not wedge a unit: a comment with U+0000 once made PostgreSQL refuse the
 * projection's batch, which was retried for ever, so the unit's later API edits hung, its grid edits never
 * reached rows or audit, and SIGTERM never finished. Values PostgreSQL cannot store are now refused up front;
 * and whatever the database still refuses (here, constraints and a trigger the validator knows nothing
 * about: the real database refusing) is dropped alone, while everything behind it lands and the server stops.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { startChildServer } from '../testing/childServer.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id budgetAmount comment version } }`;

describe('changes storage refuses', () => {
  let server: TestServer;
  let lead: string;
  let planId: string;
  let lineIds: string[];
  const clients: GridClient[] = [];

  const open = (unit = 'SALES_NORTH') => {
    const client = connectGrid(server.url, `budget:${planId}:${unit}`, lead);
    clients.push(client);
    return client;
  };
  const row = async (id: string) => (await server.sql('SELECT budget_amount, comment, version FROM budget_line WHERE id = $1', [id]))[0];
  const audited = async (id: string) => (await server.sql('SELECT column_name, new_value FROM cell_change WHERE line_id = $1 ORDER BY id', [id]));
  const metric = async (series: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const dropped = (part: string, reason: string) => metric(`plansync_grid_dropped_changes_total{part="${part}",reason="${reason}"}`);

  beforeAll(async () => {
    server = await startTestServer();
    lead = await server.login('lead.sales-north@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, lead)).data.budgetPlans[0].id;
    const lines = await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, lead);
    lineIds = lines.data.budgetLines.map((l: { id: string }) => l.id);
  });
  afterEach(() => {
    while (clients.length) clients.pop()!.destroy();
  });
  afterAll(() => server?.stop());

  it('refuses a comment PostgreSQL cannot store: BAD_USER_INPUT from the API, reverted in the grid, and the unit goes on', async () => {
    const [line, neighbour, later] = [lineIds[0], lineIds[1], lineIds[2]];
    const api = await server.gql(UPDATE, { id: line, input: { comment: 'before\u0000after' } }, lead);
    expect(errorCode(api)).toBe('BAD_USER_INPUT');

    const sender = open();
    const watcher = open();
    await Promise.all([synced(sender), synced(watcher)]);
    for (const [i, bad] of ['nul\u0000', 'escape \u001b[2J', 'bell\u0007'].entries()) {
      // One message: the bad comment and a valid change of another line.
      sender.doc.transact(() => {
        sender.cells.set(`${line}/comment`, bad);
        sender.cells.set(`${neighbour}/budgetAmount`, 100 + i);
      });
      await eventually(async () => Number((await row(neighbour)).budget_amount) === 100 + i, `the valid change next to comment ${i}`);
      await eventually(() => !sender.cells.has(`${line}/comment`), `the sender's bad comment ${i} to be reverted`);
      expect(watcher.cells.has(`${line}/comment`)).toBe(false);
    }
    expect((await row(line)).comment).toBe('');
    // The unit's later edits, grid and API, land.
    sender.cells.set(`${later}/comment`, 'tab\there\nand a line');
    await eventually(async () => (await row(later)).comment === 'tab\there\nand a line', 'a later grid edit');
    const after = await server.gql(UPDATE, { id: line, input: { budgetAmount: 7 } }, lead);
    expect(after.errors).toBeUndefined();
    expect(after.data.updateBudgetLine.budgetAmount).toBe(7);
  });

  it('drops only a change the database refuses, while its batch and the later grid and API edits of the unit land', async () => {
    const [poisoned, sameBatch, laterGrid, laterApi] = [lineIds[10], lineIds[11], lineIds[12], lineIds[13]];
    // A rule the validator does not know: the database itself refuses the change.
    await server.sql(`ALTER TABLE budget_line ADD CONSTRAINT refuses_poison CHECK (comment NOT LIKE '%POISON%')`);
    const before = await dropped('rows', 'refused');
    const sender = open();
    const watcher = open();
    await Promise.all([synced(sender), synced(watcher)]);
    sender.doc.transact(() => {
      sender.cells.set(`${poisoned}/comment`, 'a POISON pill');
      sender.cells.set(`${sameBatch}/budgetAmount`, 111);
    });
    await eventually(async () => Number((await row(sameBatch)).budget_amount) === 111, 'the rest of the batch');
    expect(await audited(sameBatch)).toEqual([{ column_name: 'budgetAmount', new_value: '111' }]);
    // What storage refused does not stay in the document either: every replica shows the row's value again.
    await eventually(() => !sender.cells.has(`${poisoned}/comment`) && !watcher.cells.has(`${poisoned}/comment`), 'the refused comment taken back');
    expect(watcher.cells.get(`${sameBatch}/budgetAmount`)).toBe(111);

    sender.cells.set(`${laterGrid}/budgetAmount`, 222);
    await eventually(async () => Number((await row(laterGrid)).budget_amount) === 222, 'a later grid edit');
    expect(await audited(laterGrid)).toEqual([{ column_name: 'budgetAmount', new_value: '222' }]);
    const api = await server.gql(UPDATE, { id: laterApi, input: { budgetAmount: 333, comment: 'fine' } }, lead);
    expect(api.errors).toBeUndefined();
    expect(api.data.updateBudgetLine).toMatchObject({ budgetAmount: 333, comment: 'fine', version: 2 });
    // The refused line itself takes later changes too.
    const same = await server.gql(UPDATE, { id: poisoned, input: { budgetAmount: 444 } }, lead);
    expect(same.errors).toBeUndefined();
    expect(await row(poisoned)).toEqual({ budget_amount: 444, comment: '', version: 2 });
    expect(await audited(poisoned)).toEqual([{ column_name: 'budgetAmount', new_value: '444' }]);
    expect(await dropped('rows', 'refused')).toBe(before + 1);
  });

  it("drops only an update the log refuses; the document's later updates are stored", async () => {
    const [venom, after] = [lineIds[20], lineIds[21]];
    const docName = `budget:${planId}:SALES_NORTH`;
    await server.sql(`
      CREATE FUNCTION refuse_venom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF position('VENOM'::bytea IN NEW."update") > 0 THEN RAISE EXCEPTION 'no venom in the log'; END IF;
        RETURN NEW;
      END $$`);
    await server.sql(`CREATE TRIGGER refuse_venom BEFORE INSERT ON grid_update FOR EACH ROW EXECUTE FUNCTION refuse_venom()`);
    try {
      const before = await dropped('log', 'refused');
      const sender = open();
      await synced(sender);
      sender.cells.set(`${venom}/comment`, 'VENOM');
      sender.cells.set(`${after}/comment`, 'antidote');
      const stored = (text: string) =>
        server.sql(`SELECT 1 FROM grid_update WHERE doc_name = $1 AND position($2::bytea IN "update") > 0`, [docName, Buffer.from(text)]);
      await eventually(async () => (await stored('antidote')).length > 0, 'the later update in the log');
      await eventually(async () => (await dropped('log', 'refused')) === before + 1, 'the refused update counted');
      expect(await stored('VENOM')).toEqual([]);
      // The rows have both: the projection is a separate writer.
      expect((await row(after)).comment).toBe('antidote');
      expect((await row(venom)).comment).toBe('VENOM');
    } finally {
      await server.sql('DROP TRIGGER refuse_venom ON grid_update');
    }
  });

  it('waits out a database that cannot take writes, dropping nothing, and writes every change once it can', async () => {
    const sender = open();
    const watcher = open();
    await Promise.all([synced(sender), synced(watcher)]);
    const [rowsDropped, logDropped] = [await dropped('rows', 'refused'), await dropped('log', 'refused')];
    const outages = await metric('plansync_grid_write_failures_total{part="rows",reason="unavailable"}');
    const name = new URL(server.databaseUrl).pathname.slice(1);
    const postgres = new pg.Client({ connectionString: inject('postgresServerUrl') });
    await postgres.connect();
    try {
      // The database cannot take writes for a while, as a replica just after a failover: read-only sessions.
      await postgres.query(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      await postgres.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      sender.cells.set(`${lineIds[40]}/budgetAmount`, 640);
      await eventually(() => watcher.cells.get(`${lineIds[40]}/budgetAmount`) === 640, 'the server to accept the change');
      sender.cells.set(`${lineIds[41]}/comment`, 'during the outage');
      await eventually(async () => (await metric('plansync_grid_write_failures_total{part="rows",reason="unavailable"}')) > outages, 'a write to fail');
    } finally {
      await postgres.query(`ALTER DATABASE "${name}" RESET default_transaction_read_only`);
      await postgres.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await postgres.end();
    }
    await eventually(async () => Number((await row(lineIds[40])).budget_amount) === 640, 'the first change after the outage', 30_000);
    await eventually(async () => (await row(lineIds[41])).comment === 'during the outage', 'the second change after the outage', 30_000);
    expect([await dropped('rows', 'refused'), await dropped('log', 'refused')]).toEqual([rowsDropped, logDropped]);
  }, 60_000);

  it('stops cleanly with refused changes queued, writing the others first', async () => {
    const sender = open();
    const watcher = open();
    await Promise.all([synced(sender), synced(watcher)]);
    // Both writers refuse the comment (the constraint and the trigger's function of the tests above).
    await server.sql(`CREATE TRIGGER refuse_venom BEFORE INSERT ON grid_update FOR EACH ROW EXECUTE FUNCTION refuse_venom()`);
    sender.doc.transact(() => {
      sender.cells.set(`${lineIds[30]}/comment`, 'POISON VENOM');
      sender.cells.set(`${lineIds[31]}/budgetAmount`, 555);
    });
    // Accepted by the server (relayed to the watcher): queued for the rows and the log, then the stop begins.
    await eventually(() => watcher.cells.get(`${lineIds[31]}/budgetAmount`) === 555, 'the server to accept the changes');
    await server.app.stop();
    expect(await row(lineIds[31])).toMatchObject({ budget_amount: 555 });
    expect((await row(lineIds[30])).comment).toBe('');
  });
});

describe('a shutdown while the database is unreachable', () => {
  it('stops all the same (what could not be written is given up, logged and counted), instead of waiting for ever', async () => {
    const server = await startTestServer();
    const postgres = new pg.Client({ connectionString: inject('postgresServerUrl') });
    const name = new URL(server.databaseUrl).pathname.slice(1);
    await postgres.connect();
    try {
      const lead = await server.login('lead.sales-north@example.com');
      const planId = (await server.gql('{ budgetPlans { id } }', {}, lead)).data.budgetPlans[0].id;
      const lines = await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, lead);
      const line = lines.data.budgetLines[0].id;
      const [sender, watcher] = [0, 1].map(() => connectGrid(server.url, `budget:${planId}:SALES_NORTH`, lead));
      await Promise.all([synced(sender), synced(watcher)]);
      // No connection at all, for anyone: the database refuses them (and drops the ones it had).
      await postgres.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await postgres.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      sender.cells.set(`${line}/budgetAmount`, 1);
      await eventually(() => watcher.cells.get(`${line}/budgetAmount`) === 1, 'the server to accept the change');
      await server.app.stop();
      sender.destroy();
      watcher.destroy();
    } finally {
      await postgres.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await postgres.end();
      await server.stop();
    }
  }, 120_000);
});

describe('a refused change, in the process users run', () => {
  it('is logged with what it held and where, counted, and SIGTERM still ends the process', async () => {
    const server = await startChildServer({});
    let stopped = false;
    try {
      const login = await server.gql('mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }');
      const lead = login.data.login.token;
      const planId = (await server.gql('{ budgetPlans { id } }', {}, lead)).data.budgetPlans[0].id;
      const lines = await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, lead);
      const [poisoned, fine] = lines.data.budgetLines.map((l: { id: string }) => l.id);
      await server.sql(`ALTER TABLE budget_line ADD CONSTRAINT refuses_poison CHECK (comment NOT LIKE '%POISON%')`);
      const writer = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, lead);
      await synced(writer);
      writer.doc.transact(() => {
        writer.cells.set(`${poisoned}/comment`, 'POISON');
        writer.cells.set(`${fine}/budgetAmount`, 42);
      });
      const logged = await server.waitForLog((l) => /refuses was dropped/.test(l.msg ?? ''));
      expect(logged).toMatchObject({ docName: `budget:${planId}:SALES_NORTH`, lineId: poisoned, changes: { comment: 'POISON' }, sqlState: '23514' });
      expect(logged.origin.userId).toBeTruthy();
      await eventually(async () => (await server.sql('SELECT budget_amount FROM budget_line WHERE id = $1', [fine]))[0].budget_amount === 42, 'the rest of the batch');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^plansync_grid_dropped_changes_total\{part="rows",reason="refused"\} 1$/m);
      writer.cells.set(`${poisoned}/comment`, 'POISON again');
      writer.destroy();
      await server.stop();
      stopped = true;
      expect(server.logs.at(-1)?.msg).toBe('stopped');
    } finally {
      if (!stopped) await server.stop();
    }
  }, 120_000);
});
