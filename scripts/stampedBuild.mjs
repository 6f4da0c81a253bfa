#!/usr/bin/env node
/**
 * A workspace's build, stamped when it succeeds: `node ../scripts/stampedBuild.mjs <outDir> <command> [args...]`
 * runs the command (the workspace's `npm run build`: tsc, vite) and, when it exits 0, records the build in
 * `<outDir>` as `npm start` does (staleness.mjs `markBuilt`), dated when it started.
 *
 * Why: `npm start` builds only what is older than its sources, and knows a build only by that stamp. When
 * start.mjs alone wrote it, the README's own `npm run build` (or `npm test`, which builds first) left builds
 * `npm start` did not know, and the first start after it built everything again: a minute or more of a fresh
 * clone's first start spent redoing what was just done.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { markBuilt } from './staleness.mjs';

/** Runs `command` with `args` in `cwd`; stamps `outDir` (relative to `cwd`) when it succeeds. Returns its exit status. */
export function stampedBuild(outDir, command, args, cwd = process.cwd()) {
  const startedAt = Date.now();
  const result = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.error) {
    console.error(`[build] ${command}: ${result.error.message}`);
    return 1;
  }
  if (result.status !== 0) return result.status ?? 1;
  markBuilt(path.resolve(cwd, outDir), startedAt);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [outDir, command, ...args] = process.argv.slice(2);
  if (!outDir || !command) {
    console.error('usage: node scripts/stampedBuild.mjs <outDir> <command> [args...]');
    process.exit(2);
  }
  process.exit(stampedBuild(outDir, command, args));
}
