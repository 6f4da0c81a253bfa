/**
 * What the workflow monitor needs besides the contract's operations: `eventCursor` on the executions list,
 * so that a monitor subscribing with it misses nothing that happened after its read; an execution's
 * `input`, which names what a run is about; and `organizations`, the organisations a person may pick (a new
 * one has no users yet, so `users` cannot find it).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { answerCompaniesStep, startNewPartnerRun } from '../testing/workflowRuns.js';

describe('workflow monitor support', () => {
  let server: TestServer;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer({ SIMULATED_STEP_MS: '5' });
    admin = await server.login('admin@example.com');
  });
  afterAll(() => server?.stop());

  const startNewPartner = (name: string) => startNewPartnerRun(server, admin, name);

  it('gives the list an event cursor: subscribing after it replays exactly what happened since the read', async () => {
    const before = await startNewPartner('Before Co');
    await eventually(async () => {
      const res = await server.gql(`query($id: ID!) { workflowExecution(id: $id) { status } }`, { id: before }, admin);
      return res.data.workflowExecution.status === 'AWAITING_INPUT';
    }, 'the first execution to wait for input');

    const list = await server.gql('{ workflowExecutions(first: 5) { eventCursor edges { node { id status input } } } }', {}, admin);
    expect(list.errors).toBeUndefined();
    const { eventCursor, edges } = list.data.workflowExecutions;
    expect(typeof eventCursor).toBe('string');
    // The input it was started with names what a new_partner run is about before the organisation exists.
    expect(edges[0].node).toEqual({ id: before, status: 'AWAITING_INPUT', input: { organizationName: 'Before Co' } });

    // Something happens between the read and the subscription: the subscription still gets it, and nothing older.
    const after = await startNewPartner('After Co');
    const client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
    });
    const seen: { executionId: string; stepKey: string | null; status: string }[] = [];
    const stop = client.subscribe<{ workflowEvents: (typeof seen)[number] }>(
      { query: 'subscription($after: String) { workflowEvents(after: $after) { executionId stepKey status } }', variables: { after: eventCursor } },
      { next: (r) => r.data && seen.push(r.data.workflowEvents), error: () => undefined, complete: () => undefined },
    );
    try {
      await eventually(() => seen.some((e) => e.executionId === after && e.stepKey === 'input_studio_companies' && e.status === 'AWAITING_INPUT'), 'the later execution to be replayed');
      expect(seen.filter((e) => e.executionId === before)).toEqual([]);
      expect(seen.find((e) => e.executionId === after)).toEqual({ executionId: after, stepKey: null, status: 'RUNNING' });
    } finally {
      stop();
      await client.dispose();
    }

    // An empty page (a filter nobody matches) has a cursor too.
    const none = await server.gql('{ workflowExecutions(status: "CANCELLED") { eventCursor edges { cursor } } }', {}, admin);
    expect(none.data.workflowExecutions).toEqual({ eventCursor: expect.any(String), edges: [] });
  });

  it('lists every organisation for admins, their own for a partner admin, none for the others', async () => {
    const id = await startNewPartner('Fresh Partners');
    await answerCompaniesStep(server, admin, id);
    await eventually(async () => {
      const res = await server.gql('{ organizations { name } }', {}, admin);
      return res.data.organizations.some((o: { name: string }) => o.name === 'Fresh Partners');
    }, 'the new organisation, which has no users yet, to be listed for admins');

    const partner = await server.gql('{ organizations { id name } }', {}, await server.login('partner.admin@acme.example'));
    expect(partner.data.organizations.map((o: { name: string }) => o.name)).toEqual(['Acme Partners']);
    for (const email of ['analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com']) {
      const res = await server.gql('{ organizations { id } }', {}, await server.login(email));
      expect(res.data.organizations).toEqual([]);
    }
    const anonymous = await server.gql('{ organizations { id } }', {}, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
