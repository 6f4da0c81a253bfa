import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode } from '../../schema/codes.js';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, signInThroughPage } from './browser.js';

describe.skipIf(!hasChromium)('signing in and out in a browser', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ JWT_TTL_SECONDS: '6' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('signs in, survives a reload, signs out; refuses a wrong password; an expired session goes back to sign-in', async () => {
    const person = await signInThroughPage(browser, server.url, 'lead.sales-north@example.com');
    const { page } = person;
    await expect.poll(() => page.getByTestId('me').textContent()).toContain('Sales North Lead');
    await page.reload();
    await page.getByTestId('me').waitFor();
    const token = await page.evaluate(() => localStorage.getItem('plansync.token'));
    expect((await server.gql('{ me { email } }', {}, token)).data?.me.email).toBe('lead.sales-north@example.com');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // Signing out ends the token on the server: a copy of it (another tab, a leaked grid URL) no longer works.
    await expect.poll(async () => (await server.gql('{ me { email } }', {}, token)).errors?.[0]?.extensions?.code).toBe(ErrorCode.UNAUTHENTICATED);

    await page.getByLabel('Email').fill('lead.sales-north@example.com');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Invalid email or password/);

    await page.getByLabel('Password').fill('plansync-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('me').waitFor();
    // Tokens live 6 s here: the session ends by itself and says why.
    await page.getByText('Your session has expired').waitFor({ timeout: 15_000 });
    expectNoProblems(person, [new RegExp(`${CloseCode.Unauthorized}|WebSocket|Failed to load resource`)]);
    await person.context.close();
  });
});
