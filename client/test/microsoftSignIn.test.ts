/**
 * Signing in with Microsoft in a browser, through a local fake of the Entra authority, and the login CSRF
 * it must not allow: a `/#token=` link made by someone else (with their own valid token) would have signed
 * the victim's browser in as them, so the victim's budgets and comments went into the attacker's account.
 * The client takes a token from the fragment only beside the state its own tab stored before it went to
 * Microsoft.
 *
 * The server runs as a child process so that it trusts the fake's certificate (see testing/childServer.ts);
 * the browser is told to accept that certificate for the fake's pages.
 */
import net from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../../server/src/testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../../server/src/testing/fakeEntraAuthority.js';
import { hasChromium, launchBrowser, screenshot } from './browser.js';

/** A port nobody listens on now: the redirect URI must name the server's address before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

describe.skipIf(!hasChromium)('Microsoft sign-in in a browser, and planted token links', () => {
  let fake: FakeEntraAuthority;
  let server: ChildServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    fake = await startFakeEntraAuthority();
    const port = await freePort();
    server = await startChildServer({
      ...fake.env(`http://127.0.0.1:${port}/auth/microsoft/callback`),
      NODE_EXTRA_CA_CERTS: fake.caFile,
      PORT: String(port),
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.stop();
    await fake?.close();
  });

  /** Opens a link afresh, as clicking it in a mail would (not a same-document fragment change). */
  async function open(page: Page, path: string) {
    await page.goto('about:blank');
    await page.goto(path);
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ baseURL: server.url, ignoreHTTPSErrors: true });
    contexts.push(context);
    return context.newPage();
  }

  async function tokenOf(email: string): Promise<string> {
    const res = await server.gql<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: email, p: 'plansync-demo' },
    );
    return res.data!.login.token;
  }

  it('signs in through Microsoft when this tab started the sign-in', async () => {
    const page = await newPage();
    fake.signInAs({ oid: crypto.randomUUID(), email: 'pat@contoso.example', name: 'Pat Example', groups: [] });
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign in with Microsoft' }).waitFor();
    await screenshot(page, 'sign-in-microsoft');
    await page.getByRole('button', { name: 'Sign in with Microsoft' }).click();
    await expect.poll(() => page.getByTestId('me').textContent({ timeout: 15_000 })).toContain('Pat Example');
    expect(new URL(page.url()).hash).toBe('');
  });

  it('does not sign in from a /#token= link with someone else’s valid token (login CSRF)', async () => {
    const attackerToken = await tokenOf('lead.marketing@example.com');
    const page = await newPage();

    // Without a state, with a guessed one, and with a state that this tab never stored.
    for (const fragment of [`token=${attackerToken}`, `token=${attackerToken}&state=guess`, `token=${encodeURIComponent(attackerToken)}&state=AAAAAAAAAAAAAAAAAAAAAAAA`]) {
      await open(page, `/#${fragment}`);
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      expect(await page.getByTestId('me').count()).toBe(0);
      expect(await page.evaluate(() => localStorage.getItem('plansync.token'))).toBeNull();
      expect(new URL(page.url()).hash).toBe(''); // the token is out of the address bar and history
    }

    // A person already signed in stays themselves.
    await page.getByLabel('Email').fill('lead.sales-north@example.com');
    await page.getByLabel('Password').fill('plansync-demo');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByTestId('me').textContent({ timeout: 15_000 })).toContain('Sales North Lead');
    await open(page, `/#token=${attackerToken}`);
    await expect.poll(() => page.getByTestId('me').textContent({ timeout: 15_000 })).toContain('Sales North Lead');

    // A tab that started a Microsoft sign-in still refuses a token with another state (the link raced it).
    await page.evaluate(() => sessionStorage.setItem('plansync.signInState', 'the-value-this-tab-stored'));
    await open(page, `/#token=${attackerToken}&state=not-that-value`);
    await expect.poll(() => page.getByTestId('me').textContent({ timeout: 15_000 })).toContain('Sales North Lead');
  });
});
