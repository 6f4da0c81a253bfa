/// <reference lib="dom" />
/**
 * A call to answer a workflow step ("awaits your input") goes to everyone who may answer it. Once one of them
 * has, it is done: the others' bells stop counting it (opening the bell reads the list again, and the server
 * has marked the call read), where it used to stay unread, asking for what was done.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';

const bell = (page: Page) => page.getByTestId('bell');
/** How many the bell counts unread. */
const unreadOn = async (page: Page) => {
  const label = (await bell(page).getAttribute('aria-label')) ?? '';
  return label.endsWith('none unread') ? 0 : Number(/(\d+) unread/.exec(label)?.[1] ?? NaN);
};
const INPUT = `mutation($id: ID!, $step: String!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: $step, input: $input) { id } }`;

describe.skipIf(!hasChromium)('a call to answer a step that someone else answers', () => {
  const world = browserWorld({ SIMULATED_STEP_MS: '5' });

  it('is counted on the bell of each who may answer, names the unit and the plan, and is read once answered', async () => {
    const admin = await world.signIn('admin@example.com', '/workflows');
    await bell(admin.page).waitFor();
    const before = await unreadOn(admin.page);

    const lead = await world.server.login('lead.operations@example.com');
    const plans = (await world.server.gql('{ budgetPlans { id name fiscalYear } }', {}, lead)).data.budgetPlans;
    const plan = plans.sort((a: { fiscalYear: number }, b: { fiscalYear: number }) => b.fiscalYear - a.fiscalYear)[0];
    const submitted = await world.server.gql(
      'mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "OPERATIONS") { execution { id } } }',
      { p: plan.id },
      lead,
    );
    expect(submitted.errors).toBeUndefined();
    const executionId: string = submitted.data.submitBudget.execution.id;

    // The review waits: the admin's bell counts the call live, and says whose review it is.
    await expect.poll(() => unreadOn(admin.page), { timeout: 15_000 }).toBe(before + 1);
    await bell(admin.page).click();
    const panel = admin.page.getByTestId('bell-panel');
    await expect.poll(() => panel.textContent()).toContain(`"Finance review" of Operations in ${plan.name} awaits your input`);
    await admin.page.keyboard.press('Escape');

    // An analyst reviews it, elsewhere.
    const analyst = await world.server.login('analyst@example.com');
    const reviewed = await world.server.gql(INPUT, { id: executionId, step: 'finance_review', input: { decision: 'APPROVE' } }, analyst);
    expect(reviewed.errors).toBeUndefined();

    // The admin opens the bell again: the call is read, no longer counted.
    await bell(admin.page).click();
    await expect.poll(() => unreadOn(admin.page)).toBe(before);
    expectNoProblems(admin);
  });
});
