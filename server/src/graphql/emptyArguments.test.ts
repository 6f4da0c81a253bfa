/**
 * Empty lists and pages of none, for every role: each root field answers them with its answer or a contract
 * code, never INTERNAL_SERVER_ERROR. The HTTP fuzzer found two fields that returned early on such arguments
 * before asking the policies, which the root-field guard (graphql/policyGuard.ts) then refused as unchecked
 * (markNotificationsRead(ids: []), notifications(first: 0)); this asks the same of every field taking a list or
 * a page size, on purpose rather than by chance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUZZ_ROLES, type FuzzRole } from '../testing/fuzzWorld.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

const INTERNAL = 'INTERNAL_SERVER_ERROR';

describe('empty lists and pages of none, for every role', () => {
  let server: TestServer;
  const tokens = new Map<FuzzRole, string | null>();
  let planId = '';
  // A webhook nobody made: NOT_FOUND or nothing, either way with its code, and the page size checked all the same.
  const webhookId = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    server = await startTestServer();
    for (const [role, email] of Object.entries(FUZZ_ROLES) as [FuzzRole, string | null][]) tokens.set(role, email ? await server.login(email) : null);
    planId = (await server.gql<{ budgetPlans: { id: string }[] }>('{ budgetPlans { id } }', {}, tokens.get('admin'))).data!.budgetPlans[0].id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers each with its answer or a contract code, never an internal error, and changes nothing', async () => {
    const operations: [string, Record<string, unknown>][] = [
      ['mutation($p: ID!) { addBudgetLines(planId: $p, lines: []) { id } }', { p: planId }],
      ['mutation { removeBudgetLines(ids: []) }', {}],
      ['mutation { updateBudgetLines(changes: []) { updated { id } rejected { id } } }', {}],
      ['mutation { updateBudgetLines(changes: [], atomic: true) { updated { id } } }', {}],
      ['mutation { markNotificationsRead(ids: []) }', {}],
      ['{ notifications(first: 0) { id } }', {}],
      ['{ activityLog(first: 0) { edges { cursor } } }', {}],
      ['{ auditLog(first: 0) { edges { cursor } } }', {}],
      ['{ failedSignIns(first: 0) { email failures } }', {}],
      ['{ signInEvents(first: 0) { at } }', {}],
      ['query($w: ID!) { webhookDeliveries(webhookId: $w, first: 0) { id } }', { w: webhookId }],
      ['{ workflowExecutions(first: 0) { edges { cursor } } }', {}],
    ];
    const lineCount = async () => Number((await server.sql<{ n: string }>('SELECT count(*) AS n FROM budget_line'))[0].n);
    const before = await lineCount();
    const internal: string[] = [];
    for (const [role, token] of tokens) {
      for (const [query, variables] of operations) {
        const res = await server.gql(query, variables, token);
        for (const error of res.errors ?? []) {
          const code = error.extensions?.code;
          expect(typeof code, `${role}: ${query}`).toBe('string');
          if (code === INTERNAL) internal.push(`${role}: ${query}`);
        }
      }
    }
    expect(internal).toEqual([]);
    expect(await lineCount()).toBe(before);
  });
});
