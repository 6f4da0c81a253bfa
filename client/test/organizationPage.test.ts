/**
 * The organisation pages in a browser against a real server: an admin lists the partner organisations, opens
 * one from the list and from a workflow execution, reads its companies, groups and people, renames it (the
 * server's refusal of a taken name shown as it words it), is refused deleting one that still has people
 * (CONFLICT, as worded), and deletes an empty one after a confirmation; nobody else is offered the pages.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../server/src/testing/gridClients.js';
import { runNewPartner } from '../../server/src/testing/workflowRuns.js';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openAdminSection, offeredAdminSections } from './adminNav.js';

const SHOTS = '/tmp/shots';

describe.skipIf(!hasChromium)('organisation pages', () => {
  const world = browserWorld({ SIMULATED_STEP_MS: '5' });
  /** The new_partner execution that made Beta Partners. */
  let betaRun: string;

  beforeAll(async () => {
    const { server } = world;
    const admin = await server.login('admin@example.com');
    // Beta Partners: made by the real onboarding, with its company and groups, and nobody in it.
    betaRun = await runNewPartner(server, admin, 'Beta Partners');
    await eventually(
      async () => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: betaRun }, admin)).data.workflowExecution.status === 'COMPLETED',
      'Beta Partners to be onboarded',
    );
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  it('lists them, shows one with its companies, groups and people, renames it and refuses to delete it while it has people', async () => {
    const admin = await world.signIn('admin@example.com', '/admin/users');
    const { page } = admin;
    await openAdminSection(page, 'Organisations');
    const list = page.getByRole('table', { name: 'Partner organisations' });
    await expect.poll(() => list.locator('tbody tr').count()).toBe(2);
    expect(await list.locator('tr[data-organization="Acme Partners"] td.num').allTextContents()).toEqual(['2', '1']);
    await page.screenshot({ path: `${SHOTS}/organizations.png`, fullPage: true });

    await list.getByRole('link', { name: 'Acme Partners' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Acme Partners');
    const acmePath = new URL(page.url()).pathname;
    expect(acmePath).toMatch(/^\/admin\/organizations\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByRole('table', { name: 'Studio companies' }).locator('tbody tr').count()).toBe(2);
    expect(await page.getByRole('table', { name: 'Studio companies' }).textContent()).toContain('studio-test-acme');
    expect(await page.getByRole('table', { name: 'Groups in other tools' }).locator('tbody tr').count()).toBe(4);
    const people = page.getByRole('table', { name: 'People of the organisation' });
    expect(await people.locator('tbody tr').count()).toBe(1);
    expect(await people.textContent()).toContain('partner.admin@acme.example');
    // The role in words, as on the people page, not the API's constant.
    expect(await people.locator('tbody tr td').nth(2).textContent()).toBe('Partner admin');
    expect(await page.locator('dl.facts').textContent()).toMatch(/Created.*\d{4}/);
    await page.screenshot({ path: `${SHOTS}/organization.png`, fullPage: true });

    // Renaming: a name another organisation has is refused as the server words it; a free one is taken.
    await page.getByRole('button', { name: 'Rename…' }).click();
    const rename = page.getByRole('form', { name: 'Rename the organisation' });
    await rename.getByLabel('New name').fill('beta partners');
    await rename.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => rename.getByRole('alert').textContent()).toBe('An organisation named "beta partners" already exists');
    await rename.getByLabel('New name').fill('  Acme Holdings ');
    await rename.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Acme Holdings');
    const [stored] = await world.server.sql(`SELECT name FROM organization WHERE id = $1`, [acmePath.split('/').pop()]);
    expect(stored.name).toBe('Acme Holdings');

    // Deleting while it has people: the server's CONFLICT, as it words it, and nothing is gone.
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Acme Holdings?' });
    await dialog.getByRole('button', { name: 'Delete organisation' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toBe('Acme Holdings still has 1 person: remove them first');
    await page.screenshot({ path: `${SHOTS}/organization-delete-refused.png` });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await world.server.sql(`SELECT count(*)::int AS n FROM organization`)).toEqual([{ n: 2 }]);

    // A person links to their page.
    await people.getByRole('link', { name: 'Acme Partner Admin' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/admin\/users\/[0-9a-f-]{36}$/);
    expectNoProblems(admin, [/409|Conflict/i]);
  });

  it('opens from the execution that made it, and deletes an empty one after a confirmation', async () => {
    const admin = await world.signIn('admin@example.com', `/workflows/${betaRun}`);
    const { page } = admin;
    // The execution's "Organisation:" line links to the organisation's page.
    await page.locator('a[href^="/admin/organizations/"]', { hasText: 'Beta Partners' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Beta Partners');
    expect(await page.getByText('Nobody yet.').count()).toBe(1);

    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Beta Partners?' });
    // Cancelling deletes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await world.server.sql(`SELECT count(*)::int AS n FROM organization WHERE name = 'Beta Partners'`)).toEqual([{ n: 1 }]);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog', { name: 'Delete Beta Partners?' }).getByRole('button', { name: 'Delete organisation' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/admin/organizations');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Beta Partners was deleted.' }).count()).toBe(1);
    const list = page.getByRole('table', { name: 'Partner organisations' });
    await expect.poll(() => list.locator('tbody tr').count()).toBe(1);
    expect(await world.server.sql(`SELECT count(*)::int AS n FROM organization WHERE name = 'Beta Partners'`)).toEqual([{ n: 0 }]);
    expectNoProblems(admin);
  });

  it('is not offered to anyone else, nor opened by its address', async () => {
    for (const email of ['analyst@example.com', 'partner.admin@acme.example']) {
      const person = await world.signIn(email, '/admin/organizations');
      const { page } = person;
      await expect.poll(() => page.getByTestId('me').count()).toBe(1);
      await expect.poll(() => new URL(page.url()).pathname).not.toBe('/admin/organizations');
      expect(await page.getByRole('table', { name: 'Partner organisations' }).count()).toBe(0);
      expect(await offeredAdminSections(page)).not.toContain('Organisations');
      expectNoProblems(person);
    }
  });

  it('shows an offboarded organisation as such, with the companies and groups its offboarding closed', async () => {
    const { server } = world;
    const admin = await server.login('admin@example.com');
    const run = await runNewPartner(server, admin, 'Gamma Partners');
    const executionStatus = async (id: string) => (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id }, admin)).data.workflowExecution.status;
    await eventually(async () => (await executionStatus(run)) === 'COMPLETED', 'Gamma Partners to be onboarded');
    const [{ id: gamma }] = await server.sql(`SELECT id FROM organization WHERE name = 'Gamma Partners'`);
    const started = await server.gql(`mutation($o: ID!) { startWorkflow(definitionKey: "offboard_partner", input: { organizationId: $o }) { id } }`, { o: gamma }, admin);
    const offboarding = started.data.startWorkflow.id;
    await eventually(async () => {
      const res = await server.gql(`mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "confirm_partner_offboarding", input: { confirm: true }) { id } }`, { id: offboarding }, admin);
      return !res.errors;
    }, 'the offboarding to be confirmed');
    await eventually(async () => (await executionStatus(offboarding)) === 'COMPLETED', 'Gamma Partners to be offboarded');

    const person = await world.signIn('admin@example.com', `/admin/organizations/${gamma}`);
    const { page } = person;
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Gamma Partners');
    await expect.poll(() => page.locator('dl.facts').textContent()).toMatch(/Offboarded.*\d{4}/);
    expect(await page.getByRole('table', { name: 'Studio companies' }).locator('tbody tr').allTextContents()).toEqual([expect.stringContaining('closed')]);
    const groups = await page.getByRole('table', { name: 'Groups in other tools' }).locator('tbody tr').allTextContents();
    expect(groups).toHaveLength(4);
    expect(groups.every((g) => g.includes('closed'))).toBe(true);
    expectNoProblems(person);
  });
});
