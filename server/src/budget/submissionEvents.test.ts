/** `submissionStatusChanged` for dashboards, with the stock graphql-ws client: what arrives, and to whom. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const CHANGED = `subscription($plan: ID!, $unit: String) {
  submissionStatusChanged(planId: $plan, businessUnitCode: $unit) { businessUnit { code } status submittedBy { email } execution { id } canEdit }
}`;

describe('submissionStatusChanged', () => {
  let server: TestServer;
  let planId: string;
  const clients: Client[] = [];

  function follow(token: string, unit?: string) {
    const received: any[] = [];
    const errors: unknown[] = [];
    const client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    client.subscribe(
      { query: CHANGED, variables: { plan: planId, unit } },
      { next: (r) => (r.data ? received.push(r.data.submissionStatusChanged) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => undefined },
    );
    return { received, errors };
  }

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5' });
    planId = (await server.gql('{ budgetPlans { id } }', {}, await server.login('admin@example.com'))).data.budgetPlans[0].id;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await server?.stop();
  });

  it('tells readers of the unit every status change, and nobody else', async () => {
    const analyst = follow(await server.login('analyst@example.com'));
    const financeViewer = follow(await server.login('viewer.finance@example.com'));
    const otherLeader = follow(await server.login('lead.marketing@example.com'));
    const financeLead = await server.login('lead.finance@example.com');
    const submit = () =>
      server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "FINANCE") { execution { id } } }`, { p: planId }, financeLead);

    // Subscriptions have no acknowledgement, so the submission itself may come before they are live; the
    // review, a round of workflow steps later, is what the assertions rely on.
    const first = await submit();
    const executionId = first.data.submitBudget.execution.id;
    await eventually(
      async () =>
        (await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: executionId }, await server.login('analyst@example.com'))).data
          .workflowExecution.status === 'AWAITING_INPUT',
      'the review to wait',
    );
    await server.gql(
      `mutation($id: ID!) { submitStepInput(executionId: $id, stepKey: "finance_review", input: { decision: "REJECT" }) { id } }`,
      { id: executionId },
      await server.login('analyst@example.com'),
    );
    await eventually(() => analyst.received.some((e) => e.status === 'REJECTED'), 'the rejection to reach the analyst');
    await eventually(() => financeViewer.received.some((e) => e.status === 'REJECTED'), 'the rejection to reach the unit viewer');
    const rejected = analyst.received.find((e) => e.status === 'REJECTED');
    expect(rejected).toMatchObject({ businessUnit: { code: 'FINANCE' }, submittedBy: { email: 'lead.finance@example.com' }, execution: { id: executionId }, canEdit: false });
    expect(financeViewer.received.find((e) => e.status === 'REJECTED').canEdit).toBe(false);

    // The marketing leader follows the whole plan but reads only Marketing: a Marketing change arrives,
    // and by then a Finance one would have.
    const marketing = await server.login('planner.marketing@example.com');
    await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "MARKETING") { status } }`, { p: planId }, marketing);
    await eventually(() => otherLeader.received.some((e) => e.businessUnit.code === 'MARKETING'), 'the Marketing change');
    expect(otherLeader.received.every((e) => e.businessUnit.code === 'MARKETING')).toBe(true);
    expect(otherLeader.received.find((e) => e.businessUnit.code === 'MARKETING').canEdit).toBe(false);
  });

  it("refuses to follow a unit the caller may not read", async () => {
    const refused = follow(await server.login('lead.marketing@example.com'), 'FINANCE');
    await eventually(() => refused.errors.length > 0, 'the refusal');
    expect(errorCode({ errors: refused.errors[0] } as never)).toBe('FORBIDDEN');
  });
});
