#!/usr/bin/env node
// `npm start`: builds what is not built yet (or is older than its sources), then runs the server in this
// process, so signals (SIGTERM, SIGINT) reach its graceful shutdown directly. A second start with nothing
// changed builds nothing (scripts/staleness.mjs says when a build is due).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markBuilt, needsBuild } from './staleness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => path.join(root, ...parts);

const targets = [
  {
    workspace: 'server',
    sources: ['server/src', 'migrations', 'schema/codes.ts', 'server/tsconfig.json', 'server/package.json', 'tsconfig.base.json', 'package-lock.json'].map((p) => at(p)),
    outDir: at('server/dist'),
    entry: at('server/dist/server/src/main.js'),
  },
  {
    workspace: 'client',
    sources: ['client/src', 'schema/codes.ts', 'client/index.html', 'client/vite.config.ts', 'client/scripts/precompress.ts', 'client/public', 'client/package.json', 'package-lock.json'].map((p) => at(p)),
    outDir: at('client/dist'),
    entry: at('client/dist/index.html'),
  },
];

for (const target of targets) {
  if (!needsBuild(target)) continue;
  console.error(`[start] building ${target.workspace}...`);
  const startedAt = Date.now();
  const result = spawnSync('npm', ['run', 'build', '-w', target.workspace], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  markBuilt(target.outDir, startedAt);
}

await import(targets[0].entry);
