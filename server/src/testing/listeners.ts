/**
 * A server's LISTENing database connections (db/listener.ts) seen from PostgreSQL: find one by the name it gives
 * itself, and cut it as a failover or an administrator would, then wait for the server to listen again.
 */
import { eventually } from './gridClients.js';
import type { TestServer } from './harness.js';

/** The backend pid of the server's connection named `applicationName`, if it is connected. */
async function listenerPid(server: TestServer, applicationName: string): Promise<number | undefined> {
  const rows = await server.sql<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and application_name = $1', [applicationName]);
  return rows[0]?.pid;
}

/** Terminates the listening connection named `applicationName` and waits until a new one has taken its place. */
export async function cutListenerConnection(server: TestServer, applicationName: string): Promise<void> {
  const before = await listenerPid(server, applicationName);
  if (before === undefined) throw new Error(`no connection named ${applicationName}`);
  await server.sql('select pg_terminate_backend($1)', [before]);
  await eventually(async () => {
    const now = await listenerPid(server, applicationName);
    return now !== undefined && now !== before;
  }, `${applicationName} to connect again`);
}
