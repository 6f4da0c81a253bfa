/**
 * Two-factor sign-in and the account page in a browser against a real server: a person opens their account
 * page from the header, sets up two-factor sign-in (QR code and key shown, confirmed with a code computed from
 * the key shown, as their phone would), signs out, signs in again (asked for the code, enters it, reaches the
 * app) and changes their password there. A person whose role requires two-factor sign-in (REQUIRE_TOTP_ROLES)
 * lands on the set-up page instead of the app, and reaches the app once it is on.
 *
 * Codes come from otplib at chosen moments; `freshStep()` waits out the last seconds of a 30-second step so
 * that a code of the next step is still accepted when it arrives (one step of drift either way), and a code is
 * never reused (the server refuses a step twice).
 */
import fs from 'node:fs';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

const STEP_SECONDS = 30;
const now = () => Math.floor(Date.now() / 1000);

async function freshStep(): Promise<void> {
  const into = (Date.now() / 1000) % STEP_SECONDS;
  if (into > STEP_SECONDS - 5) await new Promise((resolve) => setTimeout(resolve, (STEP_SECONDS - into + 0.2) * 1000));
}

/** The step of the last code the server accepted for this person: it takes none of that step or before again. */
let lastStep = 0;

/**
 * The next code the server will take: of the step after the last one used, which it accepts while the current
 * step is at most one behind it. When that step is still two ahead, waits for the next step to begin (what a
 * person signing in twice within half a minute would have to do too).
 */
async function nextCode(secret: string): Promise<string> {
  await freshStep();
  const current = Math.floor(now() / STEP_SECONDS);
  if (lastStep + 1 > current + 1) {
    await new Promise((resolve) => setTimeout(resolve, ((lastStep * STEP_SECONDS) - Date.now() / 1000 + 0.2) * 1000));
  }
  const step = Math.max(lastStep + 1, Math.floor(now() / STEP_SECONDS));
  lastStep = step;
  return generate({ secret, epoch: step * STEP_SECONDS });
}

/** Also kept under /tmp/shots, where the people reviewing this look. */
async function shot(page: Page, name: string) {
  await screenshot(page, name);
  fs.mkdirSync('/tmp/shots', { recursive: true });
  await page.screenshot({ path: `/tmp/shots/${name}.png`, fullPage: true });
}

/** Sets up two-factor sign-in on the page shown (account page or the required set-up): the key it showed. */
async function enrolOnPage(page: Page, shotName?: string): Promise<string> {
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
  await qr.waitFor();
  expect(await qr.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
  const shown = (await page.getByTestId('totp-secret').textContent())!;
  const secret = shown.replace(/\s/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const code = page.getByLabel('6-digit code');
  expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
  expect(await code.getAttribute('inputmode')).toBe('numeric');
  if (shotName) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, shotName);
  }
  lastStep = 0;
  await code.fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  return secret;
}

async function signInWithCode(page: Page, email: string, password: string, secret: string, shotName?: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const code = page.getByLabel('Authentication code');
  await code.waitFor();
  expect(await code.getAttribute('autocomplete')).toBe('one-time-code');
  expect(await code.getAttribute('inputmode')).toBe('numeric');
  // Email and password stay as typed: only the code is asked for.
  expect(await page.getByLabel('Email').inputValue()).toBe(email);
  if (shotName) await shot(page, shotName);
  // A wrong code first: the server's words, and the code is asked for again.
  await code.fill('000000');
  await page.getByRole('button', { name: 'Verify and sign in' }).click();
  await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/code is not right/);
  // A code of a step not used yet (the server takes none twice).
  await code.fill(await nextCode(secret));
  await page.getByRole('button', { name: 'Verify and sign in' }).click();
  await page.getByTestId('me').waitFor();
}

describe.skipIf(!hasChromium)('two-factor sign-in and the account page', () => {
  const world = browserWorld({ REQUIRE_TOTP_ROLES: 'ANALYST', LOGIN_FAILURES_PER_MINUTE: '1000' });

  it('enrols from the account page, signs in again with a code, and changes the password there', async () => {
    const email = 'lead.marketing@example.com';
    const person = await world.signIn(email);
    const { page } = person;
    // The account page is one click from the header.
    await page.getByTestId('me').click();
    await page.waitForURL('**/account');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    expect(await page.getByTestId('totp-status').textContent()).toBe('Off');

    const secret = await enrolOnPage(page, 'account-totp-enrolment');
    await expect.poll(() => page.getByTestId('totp-status').textContent()).toBe('On');
    await page.getByRole('form', { name: 'Turn off two-factor sign-in' }).waitFor();
    await shot(page, 'account-totp-on');

    // Signed out and in again: the code is asked for, and then the app opens.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInWithCode(page, email, 'plansync-demo', secret, 'sign-in-code-step');
    expect(await page.getByTestId('me').textContent()).toContain('BU leader');

    // Change the password on the account page: this session carries on.
    await page.getByTestId('me').click();
    const form = page.getByRole('form', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not the password');
    await form.getByLabel('New password', { exact: true }).fill('a much better password');
    await form.getByLabel('The new password again').fill('a much better password');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/current password is not right/);
    await form.getByLabel('Current password').fill('plansync-demo');
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.getByRole('status').textContent()).toMatch(/Password changed/);
    await shot(page, 'account-password-changed');
    // Still signed in: the app answers (another view, then back).
    await page.goto('/grid');
    await page.getByTestId('me').waitFor();

    // The new password (with a code) signs in; the old one no longer does.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('plansync-demo');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Invalid email or password/);
    await page.getByLabel('Password').fill('');
    await signInWithCode(page, email, 'a much better password', secret);
    expectNoProblems(person, [/status of 4\d\d/]);
  });

  it("an admin turns off someone's two-factor sign-in from their page (a lost phone), and they sign in with the password alone", async () => {
    const [lead] = await world.server.sql<{ id: string }>(`SELECT id FROM app_user WHERE email = 'lead.marketing@example.com'`);
    expect((await world.server.sql('SELECT totp_enabled_at FROM app_user WHERE id = $1', [lead.id]))[0].totp_enabled_at).not.toBeNull();
    const admin = await world.signIn('admin@example.com', `/admin/users/${lead.id}`);
    const { page } = admin;
    await page.getByRole('button', { name: 'Turn off two-factor…' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toMatch(/lost or replaced phone/);
    await shot(page, 'admin-reset-totp');
    await dialog.getByRole('button', { name: 'Turn off two-factor', exact: true }).click();
    await expect.poll(() => page.getByText('Two-factor sign-in is off for Marketing Lead.').count()).toBe(1);
    await expect.poll(() => page.getByRole('button', { name: 'Turn off two-factor…' }).count()).toBe(0);
    expect((await world.server.sql('SELECT totp_enabled_at FROM app_user WHERE id = $1', [lead.id]))[0].totp_enabled_at).toBeNull();
    const [entry] = await world.server.sql(`SELECT actor_email, details FROM activity_entry WHERE action = 'TOTP_DISABLED' AND subject = 'lead.marketing@example.com'`);
    expect(entry).toMatchObject({ actor_email: 'admin@example.com', details: { by: 'admin' } });
    // The password alone signs them in again (the one they changed to above).
    const res = await world.server.gql('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: 'lead.marketing@example.com', p: 'a much better password' });
    expect(res.errors).toBeUndefined();
    expectNoProblems(admin);
  });

  it('a person whose role requires two-factor sign-in sees the set-up instead of the app, and the app once it is on', async () => {
    const context = await world.browser.newContext({ baseURL: world.server.url, viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto('/');
      await page.getByLabel('Email').fill('analyst@example.com');
      await page.getByLabel('Password').fill('plansync-demo');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor();
      expect(await page.getByRole('status').first().textContent()).toMatch(/As an Analyst, you need two-factor sign-in/);
      // None of the app is offered meanwhile.
      expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
      await enrolOnPage(page, 'totp-required-enrolment');
      await page.getByTestId('me').waitFor();
      expect(await page.getByTestId('me').textContent()).toContain('Analyst');
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    } finally {
      await context.close();
    }
  });
});
