/**
 * Where the repository's own folders are, found from this file rather than the working directory, so that
 * the server runs the same from source (tests) and from `dist` (npm start), whatever folder it starts in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).workspaces) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the Plansync repository root from ' + import.meta.url);
    dir = parent;
  }
}

export const repoRoot = findRepoRoot();
export const clientDistDir = path.join(repoRoot, 'client', 'dist');
export const schemaFile = path.join(repoRoot, 'schema', 'schema.graphql');
