/**
 * Workflows survive their process: stopped gracefully or killed mid-step, the execution finishes after a
 * restart; two processes on one database share the work without running any step twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { restartableServer, type RestartableServer } from '../testing/restartableServer.js';
import { runNewPartner } from '../testing/workflowRuns.js';

const servers: RestartableServer[] = [];
afterAll(async () => {
  for (const s of servers.reverse()) await s.destroy();
});

const startNewPartner = runNewPartner;

const statusOf = async (server: RestartableServer, id: string) =>
  (await server.sql<{ status: string }>('SELECT status FROM workflow_execution WHERE id = $1', [id]))[0].status;

const runningStep = async (server: RestartableServer, id: string) =>
  (await server.sql<{ key: string }>(`SELECT key FROM step_execution WHERE execution_id = $1 AND status = 'RUNNING'`, [id]))[0]?.key;

/** Steps that were started more than once (a RUNNING event per start). */
const startedTwice = (server: RestartableServer) =>
  server.sql(
    `SELECT execution_id, step_key, count(*)::int AS starts FROM workflow_event
     WHERE status = 'RUNNING' AND step_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1`,
  );

describe('workflow durability', () => {
  it('finishes an execution after a graceful restart in the middle of it, running no step twice', async () => {
    const server = await restartableServer({ SIMULATED_STEP_MS: '250' });
    servers.push(server);
    await server.start();
    const id = await startNewPartner(server, await server.login('admin@example.com'), 'Graceful Ltd');
    await eventually(async () => (await runningStep(server, id)) === 'create_metabase_group', 'the run to be half-way');
    expect(await server.stop('SIGTERM')).toBe(0);
    // The step that was running finished before the process left; the rest waits in the queue.
    expect(await statusOf(server, id)).toBe('RUNNING');
    expect(await runningStep(server, id)).toBeUndefined();

    await server.start();
    await eventually(async () => (await statusOf(server, id)) === 'COMPLETED', 'the execution to finish after the restart', 60_000);
    expect(await startedTwice(server)).toEqual([]);
  });

  it('runs a step again when its process was killed in the middle of it, and finishes', async () => {
    const server = await restartableServer({
      SIMULATED_STEP_MS: '1500',
      // A step running this long is presumed dead with its process; look for such jobs every second.
      WORKFLOW_STEP_TIMEOUT_SECONDS: '3',
      WORKFLOW_MAINTENANCE_SECONDS: '1',
    });
    servers.push(server);
    await server.start();
    const id = await startNewPartner(server, await server.login('admin@example.com'), 'Killed Ltd');
    const interrupted = await eventually(() => runningStep(server, id), 'a step to be running');
    await server.stop('SIGKILL');

    await server.start();
    await eventually(async () => (await statusOf(server, id)) === 'COMPLETED', 'the execution to finish after the kill', 90_000);
    const [step] = await server.sql(`SELECT status, attempts FROM step_execution WHERE execution_id = $1 AND key = $2`, [id, interrupted]);
    expect(step.status).toBe('SUCCEEDED');
  });

  it('shares the work of one database between two processes without running any step twice', async () => {
    const first = await restartableServer({ SIMULATED_STEP_MS: '30' });
    servers.push(first);
    await first.start();
    const second = await restartableServer({ SIMULATED_STEP_MS: '30' }, { databaseUrl: first.databaseUrl });
    servers.push(second);
    await second.start();
    const tokens = [await first.login('admin@example.com'), await second.login('admin@example.com')];
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => startNewPartner(i % 2 ? second : first, tokens[i % 2], `Shared ${i}`)),
    );
    await eventually(async () => {
      const statuses = await Promise.all(ids.map((id) => statusOf(first, id)));
      return statuses.every((s) => s === 'COMPLETED');
    }, 'every execution to complete', 60_000);
    expect(await startedTwice(first)).toEqual([]);
    const attempts = await first.sql(`SELECT DISTINCT attempts FROM step_execution WHERE execution_id = ANY($1::uuid[])`, [ids]);
    expect(attempts).toEqual([{ attempts: 1 }]);
  });
});
