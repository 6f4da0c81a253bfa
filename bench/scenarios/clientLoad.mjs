// Scenario 14, loading the web client (issue 16): the budget grid page of a unit of 120 lines and the sign-in page
// in headless Chromium (playwright-core, /usr/bin/chromium or CHROMIUM_PATH), from Plansync as it serves the client
// (server/src/http/clientFiles.ts: the build's brotli copies, hashed assets immutable for a year, index.html
// no-cache), against the same client/dist served the old way by bench/reference-client-static.mjs: express.static
// with maxAge 1h, no compression, the API passed through to the same Plansync. The code splitting cannot be undone
// from one build, so the reference loads the same chunks: the time and grid-page byte ratios measure compression
// and caching; the split shows in the sign-in page's bytes (and its list of scripts), against what the grid needs.
//
// Per run and side (the sides alternate, each run in fresh browser contexts signed in as the admin by putting the
// token where the sign-in page keeps it):
//  - cold: a new context (empty cache), navigation to /grid/SALES_NORTH?plan=<plan> until the first row's budget
//    cell shows a value, in the page's clock (performance.now(), from the navigation's start);
//  - warm: the same context and page, a second navigation to the same address (after about:blank): what a
//    person's next visit costs. Also a reload (today's Chromium revalidates only the page itself on a reload: both
//    sides ask the same; max-age 1h against immutable shows once the hour has passed, which this does not wait for);
//  - cold on a slow link: a new context under CDP network emulation (10 Mbit/s down, 5 up, 40 ms added latency),
//    where the bytes cost time as they would over the internet rather than loopback;
//  - sign-in: a new context without a token, to the sign-in form visible, then until the network is idle.
// Bytes: per request, the CDP Network domain's encodedDataLength at loadingFinished (what came over the wire,
// headers included; a file from the browser's cache counts 0), summed over the navigation's requests; the
// websocket's frames are not counted. Median of `runs` after a warm-up run of each side.
//
// CLIENT_LOAD_BEFORE_DIST=<dir> adds a third side: another build of the client (the one before issue 16, say: one
// entry with AG Grid preloaded on every page) served the old way by the same reference server, so the split and
// the old single bundle can be compared as well. Without it, the scenario measures the two sides above.
import fs from 'node:fs';
import path from 'node:path';
import { fmt, log, login, median, plansyncDatabase, ratio, root, startScript, stopProcess } from '../lib/common.mjs';
import { planWithUnit } from './gridBrowser.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UNIT = 'SALES_NORTH';
/** The slow link: about a good 4G connection. */
const SLOW = { offline: false, latency: 40, downloadThroughput: (10e6 / 8) | 0, uploadThroughput: (5e6 / 8) | 0 };

/** Records the requests of a page from now on: their bytes over the wire, and whether each came from the cache. */
async function recordNetwork(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let requests = new Map();
  const entry = (id) => requests.get(id) ?? requests.set(id, { url: '', bytes: 0, cached: false, finished: false }).get(id);
  cdp.on('Network.requestWillBeSent', (e) => (entry(e.requestId).url = e.request.url));
  cdp.on('Network.requestServedFromCache', (e) => (entry(e.requestId).cached = true));
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.fromDiskCache || e.response.fromPrefetchCache || e.response.fromServiceWorker) entry(e.requestId).cached = true;
    entry(e.requestId).status = e.response.status;
    entry(e.requestId).encoding = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? 'identity';
  });
  cdp.on('Network.loadingFinished', (e) => Object.assign(entry(e.requestId), { bytes: e.encodedDataLength, finished: true }));
  return {
    cdp,
    /** Forgets what was recorded (the next navigation counts alone). */
    reset: () => (requests = new Map()),
    /** Bytes over the wire, in all and for the client's files; requests that reached the server; scripts loaded. */
    summary() {
      const list = [...requests.values()].filter((r) => r.url.startsWith('http'));
      const isFile = (r) => { const p = new URL(r.url).pathname; return p.startsWith('/assets/') || !/^\/(graphql|yjs|auth)/.test(p); };
      const files = list.filter(isFile);
      return {
        bytes: list.reduce((s, r) => s + r.bytes, 0),
        fileBytes: files.reduce((s, r) => s + r.bytes, 0),
        requests: list.length,
        fileRequestsToServer: files.filter((r) => !r.cached).length,
        scripts: files.filter((r) => r.url.endsWith('.js')).map((r) => path.basename(new URL(r.url).pathname)),
        encodings: [...new Set(files.filter((r) => r.url.endsWith('.js') && !r.cached).map((r) => r.encoding))],
        asked: files.filter((r) => !r.cached).map((r) => `${new URL(r.url).pathname} ${r.status ?? '?'}`),
      };
    },
  };
}

/** Navigates to the grid page and returns the page's clock when the first row's budget cell shows a value. */
async function gridFirstValue(page, target) {
  await page.goto(target, { waitUntil: 'commit' });
  return page
    .waitForFunction(
      () => {
        const first = document.querySelector('[data-testid=budget-grid] .ag-row[row-index="0"] .ag-cell[col-id="budgetAmount"]');
        return first && first.textContent.trim() !== '' ? performance.now() : false;
      },
      null,
      { polling: 'raf', timeout: 120_000 },
    )
    .then((h) => h.jsonValue());
}

async function newContext(browser, baseURL, token) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1440, height: 900 } });
  if (token) await context.addInitScript((t) => localStorage.setItem('plansync.token', t), token);
  return context;
}

/** One run of one side: cold, warm, reload, cold on the slow link, sign-in. */
async function measureSide(browser, baseURL, token, target) {
  const out = {};
  let context = await newContext(browser, baseURL, token);
  try {
    const page = await context.newPage();
    const net = await recordNetwork(context, page);
    out.coldMs = await gridFirstValue(page, target);
    await page.waitForLoadState('networkidle');
    out.cold = net.summary();
    await page.goto('about:blank');
    net.reset();
    out.warmMs = await gridFirstValue(page, target);
    await page.waitForLoadState('networkidle');
    out.warm = net.summary();
    net.reset();
    await page.reload({ waitUntil: 'commit' });
    out.reloadMs = await page
      .waitForFunction(() => {
        const first = document.querySelector('[data-testid=budget-grid] .ag-row[row-index="0"] .ag-cell[col-id="budgetAmount"]');
        return first && first.textContent.trim() !== '' ? performance.now() : false;
      }, null, { polling: 'raf', timeout: 120_000 })
      .then((h) => h.jsonValue());
    await page.waitForLoadState('networkidle');
    out.reload = net.summary();
  } finally {
    await context.close();
  }

  context = await newContext(browser, baseURL, token);
  try {
    const page = await context.newPage();
    const net = await recordNetwork(context, page);
    await net.cdp.send('Network.emulateNetworkConditions', SLOW);
    out.slowColdMs = await gridFirstValue(page, target);
    await page.waitForLoadState('networkidle');
    out.slowCold = net.summary();
  } finally {
    await context.close();
  }

  context = await newContext(browser, baseURL, null);
  try {
    const page = await context.newPage();
    const net = await recordNetwork(context, page);
    await page.goto('/', { waitUntil: 'commit' });
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    out.signInMs = await page.evaluate(() => performance.now());
    await page.waitForLoadState('networkidle');
    out.signIn = net.summary();
  } finally {
    await context.close();
  }
  return out;
}

/** The medians of a side's runs, figures only (the lists of scripts from the first run), and the spread of the times. */
function medians(runs) {
  const m = (f) => median(runs.map(f));
  const range = (f) => [Math.min(...runs.map(f)), Math.max(...runs.map(f))];
  const r0 = runs[0];
  return {
    coldMsRange: range((r) => r.coldMs),
    warmMsRange: range((r) => r.warmMs),
    slowColdMsRange: range((r) => r.slowColdMs),
    coldMs: m((r) => r.coldMs),
    warmMs: m((r) => r.warmMs),
    reloadMs: m((r) => r.reloadMs),
    slowColdMs: m((r) => r.slowColdMs),
    signInMs: m((r) => r.signInMs),
    coldBytes: m((r) => r.cold.bytes),
    coldFileBytes: m((r) => r.cold.fileBytes),
    warmBytes: m((r) => r.warm.bytes),
    warmFileRequests: m((r) => r.warm.fileRequestsToServer),
    warmAsked: r0.warm.asked,
    reloadBytes: m((r) => r.reload.bytes),
    reloadFileRequests: m((r) => r.reload.fileRequestsToServer),
    signInBytes: m((r) => r.signIn.bytes),
    coldRequests: r0.cold.requests,
    coldScripts: r0.cold.scripts.length,
    signInScripts: r0.signIn.scripts,
    encodings: r0.cold.encodings,
  };
}

/** @param {import('./shared.mjs').Suite} suite */
export async function measure({ servers, options }) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const dist = path.join(root, 'client/dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('client/dist is missing: npm run build -w client');
  const assets = fs.readdirSync(path.join(dist, 'assets'));
  const precompressed = assets.some((n) => n.endsWith('.js.br'));
  if (!precompressed) log('  WARNING: client/dist has no .br copies (built before client/scripts/precompress.ts?): Plansync sends it uncompressed');
  const { chromium } = await import('playwright-core');
  const { url, dataDir } = servers.plansync;
  const token = await login(url, 'admin@example.com');
  const runs = options.clientLoad.runs;
  log(`client load: a plan with ${UNIT}'s 120 lines filled; the reference client server...`);
  const planId = await planWithUnit(url, token, plansyncDatabase(dataDir), 120);
  const reference = await startScript('reference-client-static', 'reference-client-static.mjs', { env: { UPSTREAM: url, CLIENT_DIR: dist } });
  const beforeDist = process.env.CLIENT_LOAD_BEFORE_DIST ? path.resolve(process.env.CLIENT_LOAD_BEFORE_DIST) : null;
  const before = beforeDist ? await startScript('reference-client-before', 'reference-client-static.mjs', { env: { UPSTREAM: url, CLIENT_DIR: beforeDist } }) : null;
  const target = `/grid/${UNIT}?plan=${planId}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const sides = { plansync: { url, runs: [] }, reference: { url: reference.url, runs: [] }, ...(before ? { before: { url: before.url, runs: [] } } : {}) };
  try {
    for (let i = 0; i <= runs; i++) {
      // Alternating which side goes first, so that neither always follows the other.
      const names = Object.keys(sides);
      const order = i % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const r = await measureSide(browser, sides[name].url, token, target);
        if (i > 0) sides[name].runs.push(r);
        log(
          `  ${name} ${i === 0 ? '(warm-up)' : `run ${i}`}: grid cold ${fmt(r.coldMs, 0)} ms ${fmt(r.cold.bytes / 1024, 0)} KB, warm ${fmt(r.warmMs, 0)} ms ${fmt(r.warm.bytes / 1024, 0)} KB ` +
            `(${r.warm.fileRequestsToServer} files asked), reload ${fmt(r.reloadMs, 0)} ms (${r.reload.fileRequestsToServer} files asked), slow link cold ${fmt(r.slowColdMs, 0)} ms; ` +
            `sign-in ${fmt(r.signInMs, 0)} ms ${fmt(r.signIn.bytes / 1024, 0)} KB, ${r.signIn.scripts.length} scripts`,
        );
      }
    }
  } finally {
    await browser.close();
    await stopProcess(reference);
    if (before) await stopProcess(before);
  }
  const out = { unit: UNIT, lines: 120, runs, slowLink: { downMbit: 10, upMbit: 5, latencyMs: 40 }, precompressed, beforeDist };
  for (const name of Object.keys(sides)) out[name] = medians(sides[name].runs);
  const p = out.plansync;
  const r = out.reference;
  out.ratio = {
    coldMs: ratio(p.coldMs, r.coldMs),
    warmMs: ratio(p.warmMs, r.warmMs),
    reloadMs: ratio(p.reloadMs, r.reloadMs),
    slowColdMs: ratio(p.slowColdMs, r.slowColdMs),
    coldBytes: ratio(p.coldBytes, r.coldBytes),
    warmBytes: ratio(p.warmBytes, r.warmBytes),
    signInBytes: ratio(p.signInBytes, r.signInBytes),
    signInMs: ratio(p.signInMs, r.signInMs),
  };
  if (out.before) {
    const b = out.before;
    out.ratioToBefore = {
      coldMs: ratio(p.coldMs, b.coldMs),
      warmMs: ratio(p.warmMs, b.warmMs),
      slowColdMs: ratio(p.slowColdMs, b.slowColdMs),
      coldBytes: ratio(p.coldBytes, b.coldBytes),
      signInBytes: ratio(p.signInBytes, b.signInBytes),
      signInMs: ratio(p.signInMs, b.signInMs),
    };
  }
  return out;
}
