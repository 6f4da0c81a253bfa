/**
 * A client cannot flood the log: refused grid changes are counted every time, but logged at most once a minute per
 * connection (with how many since the last line). Runs the built server at the default log level, as users do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced } from '../testing/gridClients.js';
import { restartableServer, type RestartableServer } from '../testing/restartableServer.js';

describe('grid changes in the log and the metrics', () => {
  let server: RestartableServer;

  beforeAll(async () => {
    server = await restartableServer({ LOG_LEVEL: 'info' });
    await server.start();
  });
  afterAll(() => server?.destroy());

  it('logs a flood of 2,000 refused changes in one line', async () => {
    const token = await server.login('lead.sales-north@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    try {
      await synced(client);
      for (let i = 0; i < 2000; i++) client.cells.set(`not-a-cell-${i}`, i); // each its own message, each refused
      const refusedCount = async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return Number(/^plansync_grid_cell_changes_total\{outcome="rejected"\} (\S+)$/m.exec(text)?.[1] ?? 0);
      };
      await eventually(async () => (await refusedCount()) >= 2000, 'every refusal to be counted', 30_000);
      const lines = server.logs.filter((l) => l.msg === 'grid changes refused');
      expect(lines.length).toBe(1);
      expect(lines[0].refused.length).toBeLessThanOrEqual(10);
    } finally {
      client.destroy();
    }
  });

  it('counts accepted changes, each once, by the time /metrics is read', async () => {
    const token = await server.login('lead.sales-north@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    const lines = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data.budgetLines;
    const acceptedCount = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^plansync_grid_cell_changes_total\{outcome="accepted"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await acceptedCount();
    const client = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    try {
      await synced(client);
      for (let i = 0; i < 3; i++) client.cells.set(`${lines[i].id}/budgetAmount`, 1000 + i);
      await eventually(async () => (await acceptedCount()) >= before + 3, 'the three accepted changes to be counted', 30_000);
      // Read twice: moving the pending count into the counter on one read does not count it again on the next.
      expect(await acceptedCount()).toBe(before + 3);
      expect(await acceptedCount()).toBe(before + 3);
    } finally {
      client.destroy();
    }
  });

  it("times each edit's way through the server, from its arrival to its last write to the others", async () => {
    const token = await server.login('lead.sales-north@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    const lines = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data.budgetLines;
    const forwardTimes = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const read = (name: string) => Number(new RegExp(`^plansync_grid_forward_seconds_${name} (\\S+)$`, 'm').exec(text)?.[1]);
      return { count: read('count'), sum: read('sum') };
    };
    const writer = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    const observer = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    try {
      await Promise.all([synced(writer), synced(observer)]);
      const before = await forwardTimes();
      const key = `${lines[5].id}/forecastSales`;
      for (let i = 0; i < 3; i++) {
        writer.cells.set(key, 700 + i);
        await eventually(() => observer.cells.get(key) === 700 + i, 'the edit to reach the other client');
      }
      const after = await forwardTimes();
      // At least one measure per edit (presence messages are timed too); each one's time is in the sum.
      expect(after.count - before.count).toBeGreaterThanOrEqual(3);
      expect(after.sum).toBeGreaterThan(before.sum);
    } finally {
      writer.destroy();
      observer.destroy();
    }
  });
});
