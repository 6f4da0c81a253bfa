/**
 * When `npm start` rebuilds (scripts/staleness.mjs), on a temporary project: once built, a second start with
 * nothing changed builds nothing (it rebuilt on every start when the check skipped every folder named dist),
 * and any changed source does rebuild.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markBuilt, needsBuild, STAMP } from './staleness.mjs';

let root;
let target;
const HOUR = 3600_000;

/** Writes a file dated `msAgo` before now. */
function write(relative, msAgo = HOUR) {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, relative);
  const when = new Date(Date.now() - msAgo);
  fs.utimesSync(file, when, when);
  return file;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'plansync-staleness-'));
  write('server/src/main.ts');
  write('server/src/graphql/limits.ts');
  write('server/tsconfig.json');
  target = {
    sources: [path.join(root, 'server/src'), path.join(root, 'server/tsconfig.json'), path.join(root, 'missing.json')],
    outDir: path.join(root, 'server/dist'),
    entry: path.join(root, 'server/dist/server/src/main.js'),
  };
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/**
 * A build as start.mjs runs one, started `msAgo`: outputs written (tsc leaves unchanged ones as they were), then
 * the stamp.
 */
function build(msAgo = 30_000) {
  write('server/dist/server/src/main.js', 2 * HOUR);
  markBuilt(target.outDir, Date.now() - msAgo);
}

describe('npm start staleness check', () => {
  it('builds when nothing is built, or when a build never finished', () => {
    expect(needsBuild(target)).toBe(true);
    write('server/dist/server/src/main.js'); // an output without a stamp: `npm run build` was interrupted, say
    expect(needsBuild(target)).toBe(true);
  });

  it('does not rebuild on a second start with nothing changed, even when the outputs are older than the sources', () => {
    build();
    expect(fs.existsSync(path.join(target.outDir, STAMP))).toBe(true);
    expect(needsBuild(target)).toBe(false);
    expect(needsBuild(target)).toBe(false);
  });

  it('rebuilds when a source changed, however deep, and when a single-file source changed', () => {
    build();
    write('server/src/graphql/deep/new.ts', 10_000);
    expect(needsBuild(target)).toBe(true);
    build(5_000);
    expect(needsBuild(target)).toBe(false);
    write('server/tsconfig.json', 0);
    expect(needsBuild(target)).toBe(true);
  });

  it('rebuilds when a source was saved while the previous build ran', () => {
    const startedAt = Date.now() - 10_000;
    write('server/dist/server/src/main.js', 0);
    write('server/src/main.ts', 5_000); // saved after the build started
    markBuilt(target.outDir, startedAt);
    expect(needsBuild(target)).toBe(true);
  });

  it('ignores test files and dependencies, which are not part of the build', () => {
    build();
    write('server/src/graphql/limits.test.ts', 0);
    write('server/src/node_modules/dep/index.js', 0);
    write('server/src/dist/stray.js', 0);
    expect(needsBuild(target)).toBe(false);
  });

  it('rebuilds when the output folder was wiped', () => {
    build();
    fs.rmSync(target.outDir, { recursive: true });
    expect(needsBuild(target)).toBe(true);
  });
});

describe('a workspace build run by itself (npm run build, npm test)', () => {
  it('stamps its output when it succeeds, so the next npm start builds nothing', async () => {
    const { stampedBuild } = await import('./stampedBuild.mjs');
    // The build: writes the entry, as tsc would.
    const status = stampedBuild('server/dist', process.execPath, ['-e', "require('fs').mkdirSync('server/dist/server/src',{recursive:true});require('fs').writeFileSync('server/dist/server/src/main.js','')"], root);
    expect(status).toBe(0);
    // Before: only npm start stamped, so it built everything again after `npm run build`.
    expect(needsBuild(target)).toBe(false);
  });

  it('does not stamp a build that failed, so npm start builds again', async () => {
    const { stampedBuild } = await import('./stampedBuild.mjs');
    write('server/dist/server/src/main.js', 0); // written half-way
    expect(stampedBuild('server/dist', process.execPath, ['-e', 'process.exit(3)'], root)).toBe(3);
    expect(fs.existsSync(path.join(target.outDir, STAMP))).toBe(false);
    expect(needsBuild(target)).toBe(true);
  });
});
