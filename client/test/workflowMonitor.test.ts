/**
 * The workflow monitor in two browsers at once: an admin starts new_partner, a second admin session follows
 * it step by step (the list and the execution open), without reloading; the manual step is answered from
 * its generated form, the failing step retried from its button, and both see it complete. A partner admin
 * sees their own organisation's new_partner_user runs only. An admin offboards a person from the monitor.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { expectNoProblems, hasChromium, launchBrowser, screenshot, signIn, type Person } from './browser.js';

/** The status of one step of the execution open on a page. */
const stepStatus = (page: Page, stepKey: string) =>
  page.locator(`[data-testid="execution-detail"] [data-step="${stepKey}"]`).getAttribute('data-status');
const executionStatus = (page: Page) => page.getByTestId('execution-detail').getAttribute('data-status');
const listItem = (page: Page, id: string) => page.locator(`.execution-list [data-execution="${id}"]`);
const listIds = (page: Page) => page.locator('.execution-list [data-execution]').evaluateAll((links) => links.map((l) => l.getAttribute('data-execution')));

/**
 * What a page's GraphQL socket says about workflowEvents: the `after` of every subscribe it sends and the
 * cursor of every event it receives, in order (to check what the monitor resumes from after a reconnect).
 */
function recordWorkflowEvents(page: Page) {
  const log: ({ subscribeAfter: string | null } | { cursor: string })[] = [];
  page.on('websocket', (socket) => {
    if (!socket.url().endsWith('/graphql')) return;
    socket.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload));
      if (message.type === 'subscribe' && String(message.payload?.query).includes('workflowEvents')) {
        log.push({ subscribeAfter: message.payload.variables?.after ?? null });
      }
    });
    socket.on('framereceived', ({ payload }) => {
      const message = JSON.parse(String(payload));
      const cursor = message.type === 'next' ? message.payload?.data?.workflowEvents?.cursor : undefined;
      if (cursor) log.push({ cursor });
    });
  });
  return log;
}

describe.skipIf(!hasChromium)('workflow monitor', () => {
  let server: TestServer;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '50', SIMULATE_FAILURE_STEPS: 'create_slack_group' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await Promise.all(people.map((p) => p.context.close()));
    await browser?.close();
    await server?.stop();
  });

  const person = async (email: string, path: string) => {
    const p = await signIn(browser, server.url, email, path);
    people.push(p);
    return p;
  };

  it('follows a new_partner run live in a second session: form, failure, retry, completion', async () => {
    const starter = await person('admin@example.com', '/workflows');
    // The watcher opens the monitor from the navigation, with its socket recorded from the start.
    const watcher = await person('admin@example.com', '/profile');
    const frames = recordWorkflowEvents(watcher.page);
    // The notification bell opens the socket at sign-in, before the recorder listens: a reload opens it again.
    await watcher.page.reload();
    await watcher.page.getByTestId('me').waitFor();
    await watcher.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows' }).click();
    await watcher.page.getByRole('heading', { name: 'Executions' }).waitFor();
    await expect.poll(() => watcher.page.getByTestId('live-state').textContent()).toBe('Live');

    // The start form checks its input before sending, and shows what the server refuses.
    const a = starter.page;
    const name = a.getByLabel('Organisation name');
    await a.getByRole('button', { name: 'Start “New partner organisation”' }).click();
    await expect.poll(() => a.locator('.start-card .field-error').first().textContent()).toBe('Required.');
    await name.fill('Acme Partners');
    await a.getByRole('button', { name: 'Start “New partner organisation”' }).click();
    await expect.poll(() => a.getByRole('alert').first().textContent()).toMatch(/already exists/);
    await name.fill('Globex');
    await a.getByRole('button', { name: 'Start “New partner organisation”' }).click();
    await a.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
    const id = a.url().split('/workflows/')[1].split('?')[0];

    // The other session sees it arrive in its list, then opens it.
    const b = watcher.page;
    await listItem(b, id).waitFor();
    await expect.poll(() => listItem(b, id).textContent()).toContain('Globex');
    await listItem(b, id).click();
    await expect.poll(() => stepStatus(b, 'input_studio_companies')).toBe('AWAITING_INPUT');
    await expect.poll(() => stepStatus(a, 'input_studio_companies')).toBe('AWAITING_INPUT');
    await screenshot(b, 'workflow-monitor-awaiting-input');

    // The server closes every socket of the admin (an access change does: CloseCode.Forbidden). The watcher's
    // monitor comes back on its own and resubscribes after the last event it applied, so the steps run
    // meanwhile replay.
    const received = frames.filter((f): f is { cursor: string } => 'cursor' in f);
    expect(received.length).toBeGreaterThan(0);
    const lastBeforeClose = received.at(-1)!.cursor;
    const adminToken = await server.login('admin@example.com');
    const me = (await server.gql('{ me { id businessUnits { code } } }', {}, adminToken)).data.me;
    const changed = await server.gql(
      'mutation($u: ID!, $c: [String!]!) { setUserAccess(userId: $u, role: ADMIN, businessUnitCodes: $c) { id } }',
      { u: me.id, c: me.businessUnits.map((u: { code: string }) => u.code) },
      adminToken,
    );
    expect(changed.errors).toBeUndefined();

    // The generated form: one row to start with, rows added and removed, the schema's rules checked here.
    const form = a.getByRole('region', { name: 'Input for Enter the Studio companies' });
    await form.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => form.locator('.field-error').count()).toBeGreaterThan(0);
    await form.getByLabel('Name, row 1').fill('Globex');
    await form.getByLabel('Environment, row 1').selectOption('prod');
    await form.getByRole('button', { name: 'Add a row' }).click();
    await form.getByLabel('Name, row 2').fill('Globex');
    await form.getByLabel('Environment, row 2').selectOption('prod');
    // The same company twice: only the server knows, and says so beside the form.
    await form.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/listed twice/);
    await screenshot(a, 'workflow-monitor-form-error');
    await form.getByRole('button', { name: 'Add a row' }).click();
    await form.getByLabel('Name, row 3').fill('Globex Test');
    await form.getByLabel('Environment, row 3').selectOption('test');
    await form.getByRole('button', { name: 'Remove row 2' }).click();
    await expect.poll(() => form.getByLabel('Name, row 2').inputValue()).toBe('Globex Test');
    await form.getByRole('button', { name: 'Submit' }).click();

    // Both sessions follow the automatic steps to the one that fails every attempt.
    for (const page of [a, b]) {
      // The watcher may still be waiting to reconnect (graphql-ws waits 1.3-4 s, at random, before its first retry).
      await expect.poll(() => stepStatus(page, 'input_studio_companies'), { timeout: 15_000 }).toBe('SUCCEEDED');
      await expect.poll(() => stepStatus(page, 'create_slack_group'), { timeout: 30_000 }).toBe('FAILED');
      await expect.poll(() => executionStatus(page)).toBe('FAILED');
    }
    await expect.poll(() => b.locator('[data-step="create_slack_group"] .step-error').textContent()).toMatch(/Simulated failure/);
    await expect.poll(() => b.locator('[data-step="create_slack_group"] .step-meta').textContent()).toContain('3 attempts');
    await expect.poll(() => listItem(b, id).getAttribute('data-status')).toBe('FAILED');
    await screenshot(b, 'workflow-monitor-failed');

    // The watcher retries; both see the rest run and the execution complete.
    await b.getByRole('button', { name: 'Retry Create the Slack group' }).click();
    for (const page of [a, b]) {
      await expect.poll(() => executionStatus(page), { timeout: 30_000 }).toBe('COMPLETED');
      await expect.poll(() => stepStatus(page, 'lms_setup')).toBe('SUCCEEDED');
    }
    await expect.poll(() => listItem(b, id).getAttribute('data-status')).toBe('COMPLETED');
    await expect.poll(() => b.locator('[data-step="create_slack_group"] .step-meta').textContent()).toContain('4 attempts');
    await expect.poll(() => b.getByTestId('execution-detail').textContent()).toContain('Organisation: Globex');
    await expect.poll(() => b.getByTestId('live-state').textContent()).toBe('Live');
    expect(frames).toContainEqual({ subscribeAfter: lastBeforeClose });

    // Input and output open on demand, from the keyboard too.
    const output = b.locator('[data-step="input_studio_companies"] summary', { hasText: 'Input' });
    await output.focus();
    await b.keyboard.press('Enter');
    await expect.poll(() => b.locator('[data-step="input_studio_companies"] details pre').first().textContent()).toContain('Globex Test');
    await screenshot(b, 'workflow-monitor-completed');
    expectNoProblems(starter);
    expectNoProblems(watcher);
  });

  it('adds a partner user through the organisation picker; a partner admin sees only their organisation’s runs', async () => {
    const admin = await person('admin@example.com', '/workflows');
    const a = admin.page;
    await a.getByRole('button', { name: 'Start “New partner user”' }).click();
    await a.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
    const acmeRun = a.url().split('/workflows/')[1];

    // select_organization: a picker of the organisations, the new one (no users yet) included.
    const pick = a.getByRole('region', { name: 'Input for Select the organisation' });
    const picker = pick.getByLabel('Organisation');
    await expect.poll(() => picker.locator('option').allTextContents()).toEqual(expect.arrayContaining(['Acme Partners', 'Globex']));
    await pick.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => pick.locator('.field-error').first().textContent()).toBe('Choose one.');
    await picker.selectOption({ label: 'Acme Partners' });
    await pick.getByRole('button', { name: 'Submit' }).click();

    const details = a.getByRole('region', { name: 'Input for Enter the person\'s details' });
    await details.getByLabel('Email').fill('not-an-email');
    await details.getByLabel('Display name').fill('   ');
    await details.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => details.locator('.field-error').allTextContents()).toEqual(
      expect.arrayContaining(['Enter an email address, like name@example.com.', 'Must not be blank.']),
    );
    await screenshot(a, 'workflow-monitor-details-form');
    await details.getByLabel('Email').fill('new.person@acme.example');
    await details.getByLabel('Display name').fill('New Person');
    await details.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => executionStatus(a), { timeout: 30_000 }).toBe('COMPLETED');
    await expect.poll(() => listItem(a, acmeRun).textContent()).toContain('new.person@acme.example · Acme Partners');

    // Another organisation's run, started over the API: the partner admin must not see it.
    const adminToken = await server.login('admin@example.com');
    const globex = (await server.gql('{ organizations { id name } }', {}, adminToken)).data.organizations.find((o: { name: string }) => o.name === 'Globex');
    const other = await server.gql('mutation { startWorkflow(definitionKey: "new_partner_user", input: {}) { id } }', {}, adminToken);
    const otherRun = other.data.startWorkflow.id;
    await expect.poll(async () => (await server.gql(
      'mutation($id: ID!, $o: ID!) { submitStepInput(executionId: $id, stepKey: "select_organization", input: { organizationId: $o }) { id } }',
      { id: otherRun, o: globex.id },
      adminToken,
    )).errors).toBeUndefined();

    const partner = await person('partner.admin@acme.example', '/workflows');
    const p = partner.page;
    await expect.poll(() => listIds(p)).toEqual([acmeRun]);
    // They see (and start) their organisation's onboardings and offboardings, nothing else.
    expect(await p.getByLabel('Type').locator('option').allTextContents()).toEqual(['All types', 'New partner user', 'Offboard a partner user']);
    expect(await p.locator('.start-card h3').allTextContents()).toEqual(['New partner user', 'Offboard a partner user']);

    // Their own run: the organisation is theirs already; they give the person's details.
    await p.getByRole('button', { name: 'Start “New partner user”' }).click();
    await p.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
    const ownRun = p.url().split('/workflows/')[1];
    await expect.poll(() => stepStatus(p, 'select_organization')).toBe('SUCCEEDED');
    const own = p.getByRole('region', { name: 'Input for Enter the person\'s details' });
    await own.getByLabel('Email').fill('second.person@acme.example');
    await own.getByLabel('Display name').fill('Second Person');
    await own.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => executionStatus(p), { timeout: 30_000 }).toBe('COMPLETED');
    await expect.poll(() => listIds(p)).toEqual([ownRun, acmeRun]);
    // The admin's monitor got the partner admin's run live.
    await expect.poll(() => listIds(a)).toEqual(expect.arrayContaining([ownRun, otherRun, acmeRun]));
    await screenshot(p, 'workflow-monitor-partner-admin');
    expectNoProblems(admin);
    expectNoProblems(partner);
  });

  it('offboards a person from the monitor: picked from a list, what is removed shown, then confirmed', async () => {
    const admin = await person('admin@example.com', '/workflows');
    const a = admin.page;
    const card = a.getByRole('region', { name: 'Offboard a partner user' });
    const picker = card.getByLabel('Person');
    const leaver = 'New Person <new.person@acme.example> · Acme Partners';
    await expect.poll(() => picker.locator('option').allTextContents()).toContain(leaver);
    await picker.selectOption({ label: leaver });
    await card.getByRole('button', { name: 'Start “Offboard a partner user”' }).click();
    await a.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
    const run = a.url().split('/workflows/')[1];

    // Before anything is removed: what will be, in words, and the confirmation it waits for.
    const summary = a.getByRole('region', { name: 'What the offboarding removes' });
    await expect.poll(() => summary.locator('li').allTextContents()).toEqual(expect.arrayContaining(['Metabase: Acme Partners analysts', 'LMS: Acme Partners']));
    expect(await summary.textContent()).toContain('then deactivates new.person@acme.example in Plansync');
    expect(await stepStatus(a, 'remove_from_studio_companies')).toBe('PENDING');
    const confirm = a.getByRole('region', { name: 'Input for Confirm the offboarding' });
    await confirm.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => confirm.locator('.field-error').first().textContent()).toBe('Tick this to go on.');
    expect(await stepStatus(a, 'confirm_offboarding')).toBe('AWAITING_INPUT');
    await screenshot(a, 'workflow-monitor-offboarding-confirmation');
    await confirm.getByLabel('I confirm: remove this access now (it cannot be undone)').check();
    await confirm.getByRole('button', { name: 'Submit' }).click();
    await expect.poll(() => executionStatus(a), { timeout: 30_000 }).toBe('COMPLETED');
    await expect.poll(() => listItem(a, run).textContent()).toContain('new.person@acme.example · Acme Partners');

    const token = await server.login('admin@example.com');
    const users = (await server.gql('{ users { email active accessGrants { system } } }', {}, token)).data.users;
    expect(users.find((u: { email: string }) => u.email === 'new.person@acme.example')).toEqual({ email: 'new.person@acme.example', active: false, accessGrants: [] });
    // Nobody inactive is offered again.
    await a.goto(`${server.url}/workflows`);
    await expect.poll(() => a.getByRole('region', { name: 'Offboard a partner user' }).getByLabel('Person').locator('option').allTextContents()).not.toContain(leaver);
    expectNoProblems(admin);
  });
});
