/**
 * Browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser), against a whole
 * Plansync started in-process (server/src/testing/harness.ts) serving the built client (`npm test` builds
 * it first). Each person gets their own browser context, as two people on two machines would.
 */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { DEMO_PASSWORD } from '../../server/src/seed.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`Browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run does it).`);

let workerBrowser: Browser | undefined;

/**
 * A browser for one test file: one Chromium per test worker, shared by the files it runs one after another
 * (vitest.config.ts: isolate false), each in contexts of its own (cookies, storage and cache are a context's).
 * Starting a Chromium, and its first page, took each browser test file a second or more of the suite's two
 * cores. `close()` closes the file's contexts, not the browser, which ends with its worker; a browser that
 * crashed or was closed is started again for the next file.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!workerBrowser?.isConnected()) {
    workerBrowser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }
  const browser = workerBrowser;
  const closeContexts = async () => {
    await Promise.all(browser.contexts().map((context) => context.close()));
  };
  // Whatever an earlier file left open (its pages would keep reconnecting to its stopped server).
  await closeContexts();
  return new Proxy(browser, {
    get(target, property) {
      if (property === 'close') return closeContexts;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far: a clean page has none. */
  problems: string[];
}

/** A new browser context for one person, with its console and page errors recorded. */
async function newPerson(browser: Browser, baseUrl: string, storageState?: BrowserContextOptions['storageState']): Promise<Person> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1440, height: 900 }, storageState });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
  return { context, page, problems };
}

/** Where the web client keeps the signed-in session's token (client/src/auth/session.ts). */
const SESSION_TOKEN_KEY = 'plansync.token';

/**
 * A new browser context for one person, signed in at `path`: signed in with the `login` mutation, as the sign-in
 * page does, the token put where the page keeps it, so that the first page load is the view itself. The sign-in
 * page and its form are signIn.test.ts's (`signInThroughPage`); going through them for each of the browser
 * tests' hundred sign-ins cost a page load and a form each.
 */
export async function signIn(browser: Browser, baseUrl: string, email: string, path = '/'): Promise<Person> {
  const res = await fetch(new URL('/graphql', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', variables: { e: email, p: DEMO_PASSWORD } }),
  });
  const body = (await res.json()) as { data?: { login?: { token: string } }; errors?: unknown };
  const token = body.data?.login?.token;
  if (!token) throw new Error(`signing ${email} in failed: ${JSON.stringify(body.errors)}`);
  const origin = new URL(baseUrl).origin;
  const person = await newPerson(browser, baseUrl, { cookies: [], origins: [{ origin, localStorage: [{ name: SESSION_TOKEN_KEY, value: token }] }] });
  await person.page.goto(path);
  await person.page.getByTestId('me').waitFor();
  return person;
}

/** A new browser context for one person, signed in through the sign-in page's form. */
export async function signInThroughPage(browser: Browser, baseUrl: string, email: string, path = '/'): Promise<Person> {
  const person = await newPerson(browser, baseUrl);
  const { page } = person;
  await page.goto(path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  // Exact: with Entra ID set up the page also has "Sign in with Microsoft".
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByTestId('me').waitFor();
  return person;
}

/** Console errors are bugs, except the ones a test provokes on purpose (refused sockets, say). */
export function expectNoProblems(person: Person, allowed: RegExp[] = []) {
  expect(person.problems.filter((p) => !allowed.some((a) => a.test(p)))).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = new URL('../../test-results/', import.meta.url).pathname;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}${name}.png`, fullPage: false });
}

/** A test file's world: one server (with `env`), one browser, and the people signed in, all torn down after. */
export interface BrowserWorld {
  server: TestServer;
  browser: Browser;
  /** Signs someone in (their own browser context) at `path`; closed with the world. */
  signIn(email: string, path?: string): Promise<Person>;
}

/**
 * Registers beforeAll/afterAll for a world and returns it; its fields are set once beforeAll has run. Call
 * inside a describe block.
 */
export function browserWorld(env: Record<string, string> = {}): BrowserWorld {
  const people: Person[] = [];
  const world = {
    signIn: async (email: string, path = '/') => {
      const person = await signIn(world.browser, world.server.url, email, path);
      people.push(person);
      return person;
    },
  } as BrowserWorld;
  beforeAll(async () => {
    world.server = await startTestServer(env);
    world.browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.all(people.map((p) => p.context.close()));
    await world.browser?.close();
    await world.server?.stop();
  });
  return world;
}
