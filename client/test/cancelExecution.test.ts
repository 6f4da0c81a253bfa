/**
 * Cancelling a workflow in the monitor, in a browser against a real server: who started it is shown, whoever
 * may drive it cancels it with a reason after a confirmation, its unfinished steps are skipped live, and the
 * reason is in the activity log; someone who may only read it is not offered the button.
 */
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium, screenshot } from './browser.js';

describe.skipIf(!hasChromium)('cancelling a workflow', () => {
  const world = browserWorld();

  it('shows who started it, and cancels it with a reason after a confirmation', async () => {
    const { server } = world;
    const admin = await server.login('admin@example.com');
    const started = await server.gql(
      `mutation { startWorkflow(definitionKey: "new_partner", input: { organizationName: "Initech" }) { id } }`,
      {},
      admin,
    );
    expect(started.errors).toBeUndefined();
    const id = started.data.startWorkflow.id as string;

    const person = await world.signIn('admin@example.com', `/workflows/${id}`);
    const { page } = person;
    const detail = page.getByTestId('execution-detail');
    await expect.poll(() => detail.textContent()).toContain('Started by Ada Admin');
    await detail.getByRole('button', { name: 'Cancel…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this workflow?' });
    await dialog.getByLabel('Reason (kept in the activity log)').fill('Initech signed with someone else');
    await screenshot(page, 'workflow-cancel');
    await dialog.getByRole('button', { name: 'Cancel workflow' }).click();
    await expect.poll(() => detail.getAttribute('data-status')).toBe('CANCELLED');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await detail.getByRole('button', { name: 'Cancel…' }).count()).toBe(0);
    const entries = await server.sql<{ subject: string; details: { reason?: string } }>(
      `SELECT subject, details FROM activity_entry WHERE action = 'EXECUTION_CANCELLED'`,
    );
    expect(entries).toHaveLength(1);
    expect(entries[0].details.reason).toBe('Initech signed with someone else');
    expectNoProblems(person);
  });
});
