/**
 * The web client's files (client/dist), compressed and cached for what they are:
 * - every text file has a brotli and a gzip copy beside it, written by the client's build
 *   (client/scripts/precompress.ts); the copy the request's Accept-Encoding prefers is sent, with
 *   Content-Encoding and its own Content-Length, and `Vary: Accept-Encoding` on every answer of such a file;
 *   without a copy (a build without the plugin, a file that does not shrink) the file goes as it is. Nothing
 *   is compressed per request.
 * - /assets/ holds only files named by their content's hash (Vite): they never change, so browsers keep them a
 *   year without asking again (`immutable`); a name that is not there is a 404, never index.html (a page of an
 *   earlier deploy asking for its old chunk must fail as a script, not run HTML);
 * - index.html (also the answer to every client route) and any other file: `no-cache`, revalidated by ETag on
 *   each load, so a deploy is picked up at once and its new hashed names with it.
 * The security headers (securityHeaders.ts) are set before this, as on every answer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

/** Text files, which the build compresses (the same list as client/scripts/precompress.ts). */
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/;

/** The encodings we keep copies in, by file suffix, best first at equal preference. */
const ENCODINGS = [
  { name: 'br', suffix: '.br' },
  { name: 'gzip', suffix: '.gz' },
] as const;

/**
 * The encodings an Accept-Encoding header takes, best first: by its q-values, brotli before gzip at equal
 * ones; `*` stands for any not named; q=0 refuses. No header: identity only.
 */
export function preferredEncodings(header: string | string[] | undefined): ('br' | 'gzip')[] {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return [];
  const q = new Map<string, number>();
  for (const part of text.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const [key, value] = p.trim().split('=');
      if (key === 'q') weight = Number(value);
    }
    if (!Number.isFinite(weight)) weight = 0;
    q.set(name.trim(), Math.max(q.get(name.trim()) ?? -1, weight));
  }
  const weightOf = (name: string) => q.get(name) ?? q.get('*') ?? 0;
  return ENCODINGS.map((e, i) => ({ name: e.name, weight: weightOf(e.name), i }))
    .filter((e) => e.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.i - b.i)
    .map((e) => e.name);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

const NOT_BUILT =
  '<!doctype html><title>Plansync</title><p>Plansync is running. The web client is not built: run <code>npm run build</code>.</p>';

export interface ClientFiles {
  /** Serves the files of the client's directory; passes on what is not one (except under /assets/: 404). */
  files: RequestHandler;
  /** Answers with index.html: `/` and the client's own routes. */
  index: RequestHandler;
}

export function clientFiles(dir: string): ClientFiles {
  const root = path.resolve(dir);

  /** Sends `file` (absolute, known to exist), or its copy in the best encoding the request takes. */
  async function send(req: Request, res: Response, next: NextFunction, file: string, cacheControl: string) {
    let chosen = file;
    let encoding: string | null = null;
    if (COMPRESSIBLE.test(file)) {
      res.setHeader('Vary', 'Accept-Encoding');
      for (const name of preferredEncodings(req.headers['accept-encoding'])) {
        const copy = file + ENCODINGS.find((e) => e.name === name)!.suffix;
        if (await isFile(copy)) {
          chosen = copy;
          encoding = name;
          break;
        }
      }
    }
    // The type of the file, not of its copy (send keeps a Content-Type already set).
    res.type(path.extname(file));
    if (encoding) res.setHeader('Content-Encoding', encoding);
    res.setHeader('Cache-Control', cacheControl);
    // Content-Length, ETag (of the copy sent: one per encoding), Last-Modified, 304s and HEAD are send's. Dotfiles:
    // `files` refuses them in the request; the directory itself may sit under one (~/.local/...).
    res.sendFile(chosen, { cacheControl: false, dotfiles: 'allow', acceptRanges: !encoding }, (err?: Error & { status?: number; code?: string }) => {
      // The client went away before the file was sent (ECONNABORTED): nobody is left to answer, nothing failed.
      if (!err || res.headersSent || err.code === 'ECONNABORTED') return;
      // Gone between the check and the read (a build replacing dist): as if it never was.
      if (err.status === 404 || err.code === 'ENOENT') return res.status(404).type('text').send('Not found');
      next(err);
    });
  }

  const files: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const underAssets = req.path.startsWith('/assets/');
    const miss = () => (underAssets ? void res.status(404).type('text').send('Not found') : next());
    let relative: string;
    try {
      relative = decodeURIComponent(req.path).slice(1);
    } catch {
      return underAssets ? void res.status(400).type('text').send('Bad request') : next();
    }
    // Only plain names inside the directory: no '..', no dotfiles, no NUL, no backslashes.
    if (!relative || /[\0\\]/.test(relative) || relative.split('/').some((s) => s === '' || s.startsWith('.'))) return miss();
    const file = path.join(root, relative);
    if (!file.startsWith(root + path.sep)) return miss();
    isFile(file)
      .then((found) => (found ? send(req, res, next, file, relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE) : miss()))
      .catch(next);
  };

  const indexFile = path.join(root, 'index.html');
  const index: RequestHandler = (req, res, next) => {
    isFile(indexFile)
      .then((found) => {
        if (found) return send(req, res, next, indexFile, REVALIDATE);
        res.setHeader('Cache-Control', REVALIDATE);
        res.type('html').send(NOT_BUILT);
      })
      .catch(next);
  };

  return { files, index };
}
