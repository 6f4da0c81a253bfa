#!/usr/bin/env node
// `npm start`: builds what is not built yet (or is older than its sources), then runs the server in this
// process, so signals (SIGTERM, SIGINT) reach its graceful shutdown directly.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of the files under the given paths (0 when none exist). */
function newest(...paths) {
  let latest = 0;
  const visit = (p) => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      if (path.basename(p) === 'node_modules' || path.basename(p) === 'dist') return;
      for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    } else latest = Math.max(latest, stat.mtimeMs);
  };
  paths.forEach((p) => visit(path.join(root, p)));
  return latest;
}

function build(workspace) {
  console.error(`[start] building ${workspace}...`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const serverEntry = path.join(root, 'server/dist/server/src/main.js');
if (newest('server/src', 'migrations', 'server/tsconfig.json', 'tsconfig.base.json') > newest('server/dist')) build('server');
if (newest('client/src', 'client/index.html', 'client/vite.config.ts', 'client/public') > newest('client/dist')) build('client');

await import(serverEntry);
