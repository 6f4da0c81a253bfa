/**
 * When does `npm start` rebuild? When a source is newer than the last successful build, which start.mjs
 * records as a stamp file inside the build's output folder. The output's own files are no guide: tsc builds
 * incrementally and leaves unchanged outputs (and so their times) alone, and a folder's file times say
 * nothing about whether the build that wrote them finished.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The stamp's name inside an output folder (deleted with it, so a wiped dist is rebuilt). */
export const STAMP = '.plansync-build-stamp';

/** Folders never read as sources: dependencies and build outputs found inside a source folder. */
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', '.git']);
/** Test files are not part of the build (server/tsconfig.json excludes them): editing one rebuilds nothing. */
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;

/**
 * Newest modification time (ms) of the files at or under the given paths; 0 when there are none. `skip(p,
 * stat)` leaves out a file, or a folder with everything under it. The one walk behind both build checks:
 * `npm start`'s (newestSource, below) and the benchmarks' (bench/lib/common.mjs ensureBuilt).
 */
export function newestMtime(paths, skip = () => false) {
  let latest = 0;
  const visit = (p) => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch {
      return;
    }
    if (skip(p, stat)) return;
    if (stat.isDirectory()) for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    else latest = Math.max(latest, stat.mtimeMs);
  };
  paths.forEach(visit);
  return latest;
}

/** Newest modification time (ms) of the source files at or under the given paths; 0 when there are none. */
export function newestSource(paths) {
  return newestMtime(paths, (p, stat) => (stat.isDirectory() ? SKIPPED_FOLDERS.has(path.basename(p)) : TEST_FILE.test(p)));
}

/**
 * Whether a build is needed: the output's entry file is missing, the stamp is missing (never built by
 * `npm start`, or the build failed half-way), or a source changed since the stamp was written.
 */
export function needsBuild({ sources, outDir, entry }) {
  if (!fs.existsSync(entry)) return true;
  let stamp;
  try {
    stamp = fs.statSync(path.join(outDir, STAMP)).mtimeMs;
  } catch {
    return true;
  }
  return newestSource(sources) > stamp;
}

/**
 * Records a successful build that started at `startedAt` (ms): dated then, so that a source saved while the
 * build ran still makes the next start rebuild.
 */
export function markBuilt(outDir, startedAt) {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, STAMP);
  fs.writeFileSync(file, `${new Date(startedAt).toISOString()}\n`);
  fs.utimesSync(file, new Date(startedAt), new Date(startedAt));
}
