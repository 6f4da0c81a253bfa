/**
 * The sequencer puts workflow events back in cursor order and fills gaps from PostgreSQL: here the test plays
 * "another instance" whose messages arrive out of order, twice, or never, against a real server's bus and
 * database, and checks what `workflowEvents` streams are fed (WORKFLOW_EVENT_ORDERED).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onEvent } from '../realtime/eventBus.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import type { WorkflowEventRecord } from './events.js';

describe('workflow event sequencer', () => {
  let server: TestServer;
  let executionId: string;

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '10' });
    const admin = await server.login('admin@example.com');
    // An execution that then waits for input: nothing else writes events meanwhile.
    const res = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Sequenced" }) { id } }`, {}, admin);
    executionId = res.data.startWorkflow.id;
    await eventually(
      async () => (await server.sql(`SELECT 1 FROM step_execution WHERE execution_id = $1 AND status = 'AWAITING_INPUT'`, [executionId])).length > 0,
      'the execution to wait for input',
    );
  });
  afterAll(() => server?.stop());

  /** Stores events the way another instance would, without anyone here hearing of them; returns their records. */
  async function storeElsewhere(count: number): Promise<WorkflowEventRecord[]> {
    const rows = await server.sql<{ id: string; previous: string; at: Date; created_at: Date }>(
      `WITH inserted AS (
         INSERT INTO workflow_event (execution_id, step_key, status, execution_status, at, definition_key)
         SELECT $1, 'elsewhere_' || n, 'SUCCEEDED', 'RUNNING', now(), 'new_partner' FROM generate_series(1, $2::int) n
         RETURNING id, at)
       SELECT i.id, i.at, x.created_at, lag(i.id) OVER (ORDER BY i.id) AS previous
       FROM inserted i JOIN workflow_execution x ON x.id = $1 ORDER BY i.id`,
      [executionId, count],
    );
    const [{ before }] = await server.sql(`SELECT coalesce(max(id), 0) AS before FROM workflow_event WHERE id < $1`, [rows[0].id]);
    return rows.map((r, k) => ({
      cursor: String(r.id),
      previousCursor: String(k === 0 ? before : r.previous),
      executionId,
      stepKey: `elsewhere_${k + 1}`,
      status: 'SUCCEEDED',
      executionStatus: 'RUNNING',
      at: new Date(r.at),
      definitionKey: 'new_partner',
      organizationId: null,
      businessUnitId: null,
      execution: { id: executionId, definitionKey: 'new_partner', status: 'RUNNING', createdAt: new Date(r.created_at), updatedAt: new Date(r.at) },
    }));
  }

  it('delivers events that arrive out of order, twice or never exactly once, in cursor order', async () => {
    const bus = server.app.services.events;
    const ordered: WorkflowEventRecord[] = [];
    const stop = onEvent(bus, 'WORKFLOW_EVENT_ORDERED', (e) => ordered.push(e));
    try {
      const [e1, e2, e3, e4, e5] = await storeElsewhere(5);
      // e1 and e4 never arrive (lost while Redis was away); e3 arrives twice; the rest out of order.
      for (const event of [e3, e5, e2, e3]) bus.publish('WORKFLOW_EVENT', event);
      await eventually(() => ordered.length >= 5, 'the five events');
      expect(ordered.map((e) => e.cursor)).toEqual([e1, e2, e3, e4, e5].map((e) => e.cursor));
      // The ones read from storage carry the same content as the published ones.
      const strip = ({ previousCursor: _, ...rest }: WorkflowEventRecord) => rest;
      expect(ordered.map(strip)).toEqual([e1, e2, e3, e4, e5].map(strip));

      // In order, an event goes out at once; old ones and repeats are dropped.
      const [e6] = await storeElsewhere(1);
      bus.publish('WORKFLOW_EVENT', e2);
      bus.publish('WORKFLOW_EVENT', e6);
      await eventually(() => ordered.length >= 6, 'the sixth event');
      expect(ordered.map((e) => e.cursor)).toEqual([e1, e2, e3, e4, e5, e6].map((e) => e.cursor));
    } finally {
      stop();
    }
  });

  it("publishes a transition's events as one chain, each naming the one stored just before it, as they are stored", async () => {
    const bus = server.app.services.events;
    const published: WorkflowEventRecord[] = [];
    const stop = onEvent(bus, 'WORKFLOW_EVENT', (e) => published.push(e));
    try {
      const [{ before }] = await server.sql<{ before: string }>('SELECT coalesce(max(id), 0)::text AS before FROM workflow_event');
      const admin = await server.login('admin@example.com');
      // A start writes several events in one transaction: the execution running, its first step, and so on.
      const res = await server.gql(`mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Chained" }) { id } }`, {}, admin);
      const started = res.data.startWorkflow.id as string;
      await eventually(() => published.some((e) => e.executionId === started), 'the start to be published');
      const first = published.filter((e) => e.executionId === started);
      expect(first.length).toBeGreaterThan(1);
      expect(published[0].previousCursor).toBe(before);
      for (let i = 1; i < published.length; i++) expect(published[i].previousCursor).toBe(published[i - 1].cursor);
      const stored = await server.sql<{ id: string; step_key: string | null; status: string; execution_status: string; at: Date }>(
        'SELECT id::text, step_key, status, execution_status, at FROM workflow_event WHERE id = ANY($1::bigint[]) ORDER BY id',
        [published.map((e) => e.cursor)],
      );
      expect(stored.map((r) => [r.id, r.step_key, r.status, r.execution_status, new Date(r.at).getTime()])).toEqual(
        published.map((e) => [e.cursor, e.stepKey, e.status, e.executionStatus, e.at.getTime()]),
      );
    } finally {
      stop();
    }
  });
});
