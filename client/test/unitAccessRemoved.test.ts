/// <reference lib="dom" />
/**
 * A lead whose unit an admin takes away while their grid is open. Found in a finance controller's QA pass: the
 * server closed the grid's socket (CloseCode.Forbidden), and the page said "Something went wrong. [object Object]"
 * where it meant "You may not open the budget of Finance." (a plain `{ message }` was given to ErrorMessage, and
 * problemOf read only Error instances).
 */
import { describe, expect, it } from 'vitest';
import { browserWorld, expectNoProblems, hasChromium } from './browser.js';
import { openGrid, typeInto } from './gridPage.js';

describe.skipIf(!hasChromium)('a grid whose unit is taken from its reader', () => {
  const world = browserWorld();

  it('says the budget may not be opened, in words, once the unit is no longer theirs', async () => {
    const planner = await world.signIn('planner.finance@example.com');
    await openGrid(planner, 'FINANCE');
    await typeInto(planner.page, 0, 'budgetAmount', '100');

    const admin = await world.server.login('admin@example.com');
    const users = (await world.server.gql('{ users { id email } }', {}, admin)).data.users as { id: string; email: string }[];
    const id = users.find((u) => u.email === 'planner.finance@example.com')!.id;
    const changed = await world.server.gql(
      'mutation($u: ID!) { setUserAccess(userId: $u, role: BU_LEADER, businessUnitCodes: ["MARKETING"]) { id } }',
      { u: id },
      admin,
    );
    expect(changed.errors).toBeUndefined();

    await planner.page.getByText('You may not open the budget of Finance.').waitFor();
    expect(await planner.page.getByRole('alert').textContent()).not.toContain('[object Object]');
    expectNoProblems(planner);
  });
});
