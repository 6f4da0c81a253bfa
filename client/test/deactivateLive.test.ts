/**
 * Deactivating someone who is working: a leader has the budget grid open; an admin deactivates them on their
 * page in the users admin; the server closes the leader's sockets with CloseCode.Unauthorized, their
 * page goes to the sign-in page by itself, and signing in again fails as with a wrong password.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode } from '../../schema/codes.js';
import { errorCode } from '../../server/src/testing/harness.js';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid } from './gridPage.js';

declare global {
  interface Window {
    /** Every websocket close the page saw: where, and with which code. */
    socketCloses: { url: string; code: number }[];
  }
}

describe.skipIf(!hasChromium)('deactivating a person who is working', () => {
  const world = browserWorld();

  it("closes the leader's grid and sends them to the sign-in page, which no longer lets them in", async () => {
    const lead = await world.signIn('lead.sales-north@example.com');
    // Every page of the leader's from now on records how its sockets close (the grid's and GraphQL's).
    await lead.context.addInitScript(() => {
      window.socketCloses = [];
      const Native = window.WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('close', (event) => window.socketCloses.push({ url: String(url), code: event.code }));
        }
      };
    });
    await openGrid(lead, 'SALES_NORTH');

    const admin = await world.signIn('admin@example.com', '/admin/users');
    await admin.page.getByRole('link', { name: 'Sales North Lead' }).click();
    await admin.page.getByRole('button', { name: 'Deactivate…' }).click();
    const dialog = admin.page.getByRole('dialog', { name: 'Deactivate Sales North Lead?' });
    expect(await dialog.textContent()).toContain('signed out everywhere at once');
    await dialog.getByRole('button', { name: 'Deactivate' }).click();
    await expect.poll(() => admin.page.getByTestId('person-status').textContent()).toBe('Deactivated');

    // The leader's page: on the sign-in page, told why, without anyone reloading it.
    await lead.page.getByRole('form', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    expect(await lead.page.getByRole('status').textContent()).toBe('Your session is no longer valid. Please sign in again.');
    const closes = await lead.page.evaluate(() => window.socketCloses);
    expect(closes.filter((c) => c.url.includes('/yjs/')).map((c) => c.code)).toContain(CloseCode.Unauthorized);

    // And they cannot come back in: the page says what a wrong password says, as does the API.
    await lead.page.getByLabel('Email').fill('lead.sales-north@example.com');
    await lead.page.getByLabel('Password').fill('plansync-demo');
    await lead.page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => lead.page.getByRole('alert').textContent()).toMatch(/email or password/i);
    const login = await world.server.gql('mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }');
    expect(errorCode(login)).toBe(ErrorCode.UNAUTHENTICATED);
    expectNoProblems(admin);
    // The leader's console saw the refused sockets and requests, which is the point of this test.
    expectNoProblems(lead, [/401|Unauthorized|UNAUTHENTICATED|WebSocket/i]);
  });
});
