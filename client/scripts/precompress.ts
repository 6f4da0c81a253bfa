/**
 * A Vite plugin that writes a brotli (`.br`) and a gzip (`.gz`) copy next to every text file of the build
 * (scripts, styles, index.html, SVG, JSON), at the highest levels: the server answers with the copy the
 * browser accepts (server/src/http/clientFiles.ts), so nothing is compressed per request and the best ratio
 * costs nothing at run time. A copy that is not smaller than its file is not written (the server then sends
 * the file as it is). node:zlib only: no dependency.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Plugin } from 'vite';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** What is worth compressing: text. Images and fonts of the build are compressed formats already. */
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)])));
  return nested.flat();
}

/** Writes `file`.br and `file`.gz where each is smaller than `file`; returns the sizes written (0: none). */
export async function precompressFile(file: string): Promise<{ identity: number; br: number; gz: number }> {
  const body = await fs.readFile(file);
  const [br, gz] = await Promise.all([
    brotli(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
    gzip(body, { level: zlib.constants.Z_BEST_COMPRESSION }),
  ]);
  const written = { identity: body.length, br: 0, gz: 0 };
  // Vite empties dist before a build; a stale copy of an earlier file is removed all the same.
  for (const [ext, data] of [['br', br], ['gz', gz]] as const) {
    if (data.length < body.length) {
      await fs.writeFile(`${file}.${ext}`, data);
      written[ext] = data.length;
    } else {
      await fs.rm(`${file}.${ext}`, { force: true });
    }
  }
  return written;
}

/** Compresses every text file of the output directory once the bundle is written. */
export function precompress(): Plugin {
  let outDir = 'dist';
  let info = (message: string) => console.log(message);
  return {
    name: 'plansync-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
      info = (message) => config.logger.info(message);
    },
    async closeBundle() {
      const files = (await filesUnder(outDir)).filter((f) => COMPRESSIBLE.test(f));
      const started = performance.now();
      const sizes = await Promise.all(files.map(precompressFile));
      const total = (k: 'identity' | 'br' | 'gz') => sizes.reduce((sum, s) => sum + (s[k] || s.identity), 0);
      info(
        `precompressed ${files.length} files in ${Math.round(performance.now() - started)} ms: ` +
          `${(total('identity') / 1024).toFixed(0)} kB, brotli ${(total('br') / 1024).toFixed(0)} kB, gzip ${(total('gz') / 1024).toFixed(0)} kB`,
      );
    },
  };
}
