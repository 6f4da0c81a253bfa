/**
 * How the web client is delivered (issue 16), on a real Plansync serving the real build (client/dist, built with
 * its .br and .gz copies by client/scripts/precompress.ts):
 * - a hashed asset comes back as brotli or gzip by Accept-Encoding (q-values honoured), the bytes of the copy the
 *   build wrote, with its own Content-Length, the asset's Content-Type, `Vary: Accept-Encoding` and a year's
 *   immutable Cache-Control; without Accept-Encoding the file as it is; the security headers on all of them;
 * - index.html and the client's routes: `no-cache`, compressed too, revalidated by ETag (304);
 * - an unknown /assets/ name is a 404 (not index.html), and so are names reaching outside the directory;
 * - in Chromium, the sign-in page and the workflow monitor load neither AG Grid nor the grid page's chunk, and the
 *   grid page does (the split works, and the test is not vacuous);
 * - a tab whose build was replaced by a deploy (its view's chunk gone) reloads once, and does not loop when the
 *   chunk is missing after the reload too.
 * Needs `npm run build -w client`.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferredEncodings } from '../../server/src/http/clientFiles.js';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, signIn } from './browser.js';

const DIST = new URL('../dist/', import.meta.url).pathname;
const ASSETS = path.join(DIST, 'assets');

/** The one built file of `assets/` whose name starts with `prefix` and ends with `.js`. */
function builtAsset(prefix: string): string {
  const names = fs.readdirSync(ASSETS).filter((n) => n.startsWith(prefix) && n.endsWith('.js'));
  expect(names, `one ${prefix}*.js in client/dist/assets (npm run build -w client)`).toHaveLength(1);
  return names[0];
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw GET (or HEAD): no decoding, so that the bytes on the wire can be compared. */
function get(base: string, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // The target as written (new URL() would resolve its dot segments before sending).
    const { hostname, port } = new URL(base);
    const request = http.request({ hostname, port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('Accept-Encoding preferences', () => {
  it('orders brotli and gzip by q, brotli first at equal q, and honours q=0 and *', () => {
    expect(preferredEncodings(undefined)).toEqual([]);
    expect(preferredEncodings('')).toEqual([]);
    expect(preferredEncodings('gzip, deflate, br, zstd')).toEqual(['br', 'gzip']);
    expect(preferredEncodings('gzip')).toEqual(['gzip']);
    expect(preferredEncodings('br;q=0.5, gzip;q=1')).toEqual(['gzip', 'br']);
    expect(preferredEncodings('br;q=0, gzip')).toEqual(['gzip']);
    expect(preferredEncodings('*')).toEqual(['br', 'gzip']);
    expect(preferredEncodings('*;q=0.1, gzip;q=0')).toEqual(['br']);
    expect(preferredEncodings('identity')).toEqual([]);
    expect(preferredEncodings(' BR ; Q=1 ')).toEqual(['br']);
    expect(preferredEncodings('br;q=nonsense, gzip')).toEqual(['gzip']);
  });
});

describe.skipIf(!fs.existsSync(path.join(DIST, 'index.html')))('the web client over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sends a hashed asset as brotli or gzip by Accept-Encoding, immutable for a year, and as it is without', async () => {
    const name = builtAsset('index-');
    const file = fs.readFileSync(path.join(ASSETS, name));
    const common = (a: Answer) => {
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toMatch(/^text\/javascript/);
      expect(a.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(a.headers.vary).toMatch(/Accept-Encoding/i);
      expect(a.headers['content-length']).toBe(String(a.body.length));
      expect(a.headers['content-security-policy']).toContain("script-src 'self'");
      expect(a.headers['x-content-type-options']).toBe('nosniff');
    };

    const br = await get(server.url, `/assets/${name}`, { 'accept-encoding': 'gzip, deflate, br, zstd' });
    common(br);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.equals(fs.readFileSync(path.join(ASSETS, `${name}.br`)))).toBe(true);
    expect(zlib.brotliDecompressSync(br.body).equals(file)).toBe(true);
    expect(br.body.length).toBeLessThan(file.length / 3);

    const gz = await get(server.url, `/assets/${name}`, { 'accept-encoding': 'gzip, deflate' });
    common(gz);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).equals(file)).toBe(true);

    // Preferences: gzip preferred by q, brotli refused.
    expect((await get(server.url, `/assets/${name}`, { 'accept-encoding': 'br;q=0.2, gzip;q=0.9' })).headers['content-encoding']).toBe('gzip');
    expect((await get(server.url, `/assets/${name}`, { 'accept-encoding': 'br;q=0, gzip' })).headers['content-encoding']).toBe('gzip');

    for (const headers of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'deflate' }] as Record<string, string>[]) {
      const plain = await get(server.url, `/assets/${name}`, headers);
      common(plain);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.equals(file)).toBe(true);
    }

    // HEAD: the same headers, no body.
    const head = await get(server.url, `/assets/${name}`, { 'accept-encoding': 'br' }, 'HEAD');
    expect([head.status, head.headers['content-encoding'], head.headers['content-length'], head.body.length]).toEqual([200, 'br', String(br.body.length), 0]);

    // A stylesheet too, with its own type.
    const css = fs.readdirSync(ASSETS).find((n) => /^index-.*\.css$/.test(n))!;
    const style = await get(server.url, `/assets/${css}`, { 'accept-encoding': 'br' });
    expect([style.status, style.headers['content-encoding'], style.headers['cache-control']]).toEqual([200, 'br', 'public, max-age=31536000, immutable']);
    expect(style.headers['content-type']).toMatch(/^text\/css/);
  });

  it('sends index.html, for / and for client routes, compressed and no-cache, revalidated by ETag', async () => {
    const html = fs.readFileSync(path.join(DIST, 'index.html'));
    for (const target of ['/', '/grid/SALES_NORTH?plan=x', '/workflows', '/index.html']) {
      const a = await get(server.url, target, { 'accept-encoding': 'gzip, deflate, br' });
      expect([target, a.status, a.headers['cache-control'], a.headers['content-encoding']]).toEqual([target, 200, 'no-cache', 'br']);
      expect(a.headers['content-type']).toMatch(/^text\/html/);
      expect(a.headers['content-security-policy']).toBeDefined();
      expect(zlib.brotliDecompressSync(a.body).equals(html)).toBe(true);
      const again = await get(server.url, target, { 'accept-encoding': 'gzip, deflate, br', 'if-none-match': String(a.headers.etag) });
      expect(again.status).toBe(304);
    }
    const plain = await get(server.url, '/grid');
    expect([plain.status, plain.headers['content-encoding'], plain.headers['cache-control']]).toEqual([200, undefined, 'no-cache']);
    expect(plain.body.equals(html)).toBe(true);
  });

  it('answers 404 for an asset that is not there or a name outside the directory, never index.html', async () => {
    for (const target of ['/assets/index-nothere.js', '/assets/', '/assets/../index.html', '/assets/%2e%2e/index.html', '/assets/..%2f..%2fpackage.json', '/assets/.hidden', '/assets/a%00.js', '/assets//index.html']) {
      const a = await get(server.url, target, { 'accept-encoding': 'br' });
      expect([target, a.status]).toEqual([target, a.status === 400 ? 400 : 404]);
      expect(a.body.toString()).not.toContain('<div id="root">');
    }
    // A malformed escape: refused, not a crash (malformedRequests.test.ts checks the server stays up).
    expect((await get(server.url, '/assets/%E0%A4%A.js')).status).toBe(400);
    // API routes are not the client's.
    expect((await get(server.url, '/healthz')).headers['cache-control']).not.toBe('no-cache');
  });
});

describe.skipIf(!hasChromium || !fs.existsSync(path.join(DIST, 'index.html')))('what the browser downloads', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** The scripts a page has fetched so far, by file name, with the encoding each came in. */
  function recordScripts(page: Page): Map<string, string> {
    const scripts = new Map<string, string>();
    page.on('response', (response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith('/assets/') && url.pathname.endsWith('.js')) scripts.set(path.basename(url.pathname), response.headers()['content-encoding'] ?? 'identity');
    });
    return scripts;
  }

  it('the sign-in page and the workflow monitor load no grid; the grid page does', async () => {
    const agGrid = builtAsset('ag-grid-');
    const gridPage = builtAsset('GridPage-');
    const yjs = builtAsset('yjs-');

    const context = await browser.newContext({ baseURL: server.url });
    try {
      const page = await context.newPage();
      const scripts = recordScripts(page);
      await page.goto('/');
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      expect([...scripts.keys()]).toContain(builtAsset('index-'));
      for (const chunk of [agGrid, gridPage, yjs]) expect([...scripts.keys()]).not.toContain(chunk);
      // Chromium takes brotli from this server (a potentially trustworthy origin: 127.0.0.1).
      expect(new Set(scripts.values())).toEqual(new Set(['br']));
    } finally {
      await context.close();
    }

    // Signed in at the monitor: still no grid.
    const person = await signIn(browser, server.url, 'admin@example.com', '/workflows');
    try {
      const scripts = recordScripts(person.page);
      await person.page.reload();
      await person.page.getByRole('heading', { name: 'Executions' }).waitFor();
      await person.page.waitForLoadState('networkidle');
      expect([...scripts.keys()].some((n) => n.startsWith('WorkflowsPage-'))).toBe(true);
      for (const chunk of [agGrid, gridPage, yjs]) expect([...scripts.keys()]).not.toContain(chunk);

      // The grid from the navigation: its chunks come now, and it works.
      await person.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Budget grid' }).click();
      await person.page.locator('[data-testid=budget-grid] .ag-row').first().waitFor({ timeout: 30_000 });
      for (const chunk of [agGrid, gridPage, yjs]) expect([...scripts.keys()]).toContain(chunk);
      expectNoProblems(person);
    } finally {
      await person.context.close();
    }
  });
});

describe.skipIf(!hasChromium || !fs.existsSync(path.join(DIST, 'index.html')))('a tab whose build is gone', () => {
  // A copy of the build of its own: the test removes a chunk from it, as a deploy removes the old build's files.
  let dir: string;
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plansync-client-'));
    fs.cpSync(DIST, dir, { recursive: true });
    server = await startTestServer({ CLIENT_DIR: dir });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reloads once when the chunk of a view is no longer there, then shows the error rather than reloading again', async () => {
    const person = await signIn(browser, server.url, 'admin@example.com', '/workflows');
    try {
      const { page } = person;
      await page.getByRole('heading', { name: 'Executions' }).waitFor();
      let reloads = 0;
      // Page loads, not route changes (those are navigations too, within the document).
      page.on('load', () => (reloads += 1));
      const gridChunk = builtAsset('GridPage-');
      for (const name of fs.readdirSync(path.join(dir, 'assets')).filter((n) => n.startsWith(gridChunk))) fs.rmSync(path.join(dir, 'assets', name));

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Budget grid' }).click();
      // The reload lands on /grid, whose chunk is still missing: this time the view says so.
      await page.getByTestId('error-boundary').waitFor({ timeout: 30_000 });
      expect(reloads).toBe(1);
      expect(new URL(page.url()).pathname).toMatch(/^\/grid/);
      await page.getByTestId('me').waitFor();
    } finally {
      await person.context.close();
    }
  });
});
