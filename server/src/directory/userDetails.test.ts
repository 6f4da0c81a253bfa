/**
 * A person's details (role, business units, organisation) from the other side: a VIEWER reaching people
 * through the rows they may read (a line's last editor, an audit entry's author, a unit's submitter), over
 * HTTP and over live subscriptions, learns who did what (email, display name) and nothing more. Only the
 * person, admins and their organisation's partner admin read the details.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

const DETAILS = 'email displayName role businessUnits { code } organization { id }';

/** Runs one subscription over a raw graphql-transport-ws socket; resolves with its first `next` payload. */
async function firstEvent(server: TestServer, token: string, query: string, variables: Record<string, unknown>, trigger: () => Promise<unknown>) {
  const socket = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((w) => w());
  });
  const next = async (type: string) => {
    for (;;) {
      const found = messages.find((m) => m.type === type);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  await new Promise((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await next('connection_ack');
  socket.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query, variables } }));
  // The subscription is live once the server has had a round trip to set it up: a ping answered after it.
  socket.send(JSON.stringify({ type: 'ping' }));
  await next('pong');
  await trigger();
  const event = await next('next');
  socket.close();
  return event.payload as GraphQLResponse;
}

describe("people's details through the rows that name them", () => {
  let server: TestServer;
  let planId: string;
  let lineId: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer();
    for (const who of ['admin@example.com', 'analyst@example.com', 'lead.sales-north@example.com', 'viewer.sales-north@example.com', 'partner.admin@acme.example']) {
      tokens[who] = await server.login(who);
    }
    const lines = await server.gql('{ budgetPlans { id } }', {}, tokens['admin@example.com']);
    planId = lines.data.budgetPlans[0].id;
    const unit = await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, tokens['lead.sales-north@example.com']);
    lineId = unit.data.budgetLines[0].id;
    const edit = await server.gql(
      'mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 1200 }) { id } }',
      { id: lineId },
      tokens['lead.sales-north@example.com'],
    );
    expect(edit.errors).toBeUndefined();
  });
  afterAll(() => server?.stop());

  const viewer = () => tokens['viewer.sales-north@example.com'];

  it("a VIEWER cannot read the last editor's role, units or organisation (budgetLines.updatedBy)", async () => {
    const query = (fields: string) => `query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id updatedBy { ${fields} } } }`;
    const who = await server.gql(query('email displayName'), { p: planId }, viewer());
    expect(who.errors).toBeUndefined();
    expect(who.data.budgetLines.find((l: { id: string }) => l.id === lineId).updatedBy).toEqual({
      email: 'lead.sales-north@example.com',
      displayName: expect.any(String),
    });
    for (const field of ['role', 'businessUnits { code }']) {
      const res = await server.gql(query(`email ${field}`), { p: planId }, viewer());
      expect(errorCode(res), field).toBe('FORBIDDEN');
      expect(JSON.stringify(res.data), field).not.toMatch(/BU_LEADER|SALES_NORTH"/);
      expect(res.data.budgetLines.find((l: { id: string }) => l.id === lineId).updatedBy, field).toBeNull();
    }
    const org = await server.gql(query('email organization { id }'), { p: planId }, viewer());
    expect(org.errors).toBeUndefined();
  });

  it("a VIEWER cannot read an audit entry's author's role or units (auditLog.user)", async () => {
    const res = await server.gql(`{ auditLog(first: 5) { edges { node { id user { ${DETAILS} } } } } }`, {}, viewer());
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(JSON.stringify(res.data)).not.toContain('BU_LEADER');
    const plain = await server.gql('{ auditLog(first: 5) { edges { node { user { email } } } } }', {}, viewer());
    expect(plain.errors).toBeUndefined();
    expect(plain.data.auditLog.edges[0].node.user.email).toBe('lead.sales-north@example.com');
  });

  it('a VIEWER cannot read them through a live budgetLineChanged event either', async () => {
    const payload = await firstEvent(
      server,
      viewer(),
      `subscription($p: ID!) { budgetLineChanged(planId: $p, businessUnitCode: "SALES_NORTH") { id updatedBy { email role } } }`,
      { p: planId },
      () => server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 1300 }) { id } }', { id: lineId }, tokens['lead.sales-north@example.com']),
    );
    expect(payload.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(payload)).not.toContain('BU_LEADER');
  });

  it("a VIEWER cannot read the submitter's role or units (budgetSubmissions.submittedBy and submissionStatusChanged)", async () => {
    const payload = await firstEvent(
      server,
      viewer(),
      `subscription($p: ID!) { submissionStatusChanged(planId: $p, businessUnitCode: "SALES_NORTH") { status submittedBy { email role } } }`,
      { p: planId },
      () => server.gql('mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_NORTH") { status } }', { p: planId }, tokens['lead.sales-north@example.com']),
    );
    expect(payload.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(payload)).not.toContain('BU_LEADER');

    const res = await server.gql(`query($p: ID!) { budgetSubmissions(planId: $p) { status submittedBy { ${DETAILS} } } }`, { p: planId }, viewer());
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(JSON.stringify(res.data)).not.toContain('BU_LEADER');
    const plain = await server.gql('query($p: ID!) { budgetSubmissions(planId: $p) { submittedBy { email } } }', { p: planId }, viewer());
    expect(plain.errors).toBeUndefined();
    expect(plain.data.budgetSubmissions[0].submittedBy.email).toBe('lead.sales-north@example.com');
  });

  it('an ANALYST, who reads every unit, does not read the editors\' details either', async () => {
    const res = await server.gql(`{ auditLog(first: 5) { edges { node { user { email role } } } } }`, {}, tokens['analyst@example.com']);
    expect(errorCode(res)).toBe('FORBIDDEN');
  });

  it('the person themselves and admins read them', async () => {
    const query = `query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id updatedBy { ${DETAILS} } } }`;
    for (const who of ['lead.sales-north@example.com', 'admin@example.com']) {
      const res = await server.gql(query, { p: planId }, tokens[who]);
      expect(res.errors, who).toBeUndefined();
      expect(res.data.budgetLines.find((l: { id: string }) => l.id === lineId).updatedBy, who).toMatchObject({
        email: 'lead.sales-north@example.com',
        role: 'BU_LEADER',
        businessUnits: [{ code: 'SALES_NORTH' }],
      });
    }
    const me = await server.gql(`{ me { ${DETAILS} } }`, {}, viewer());
    expect(me.errors).toBeUndefined();
    expect(me.data.me).toMatchObject({ role: 'VIEWER', businessUnits: [{ code: 'SALES_NORTH' }] });
  });

  it("a partner admin reads their own organisation's people, and no one else's details", async () => {
    const res = await server.gql(`{ users { ${DETAILS} } }`, {}, tokens['partner.admin@acme.example']);
    expect(res.errors).toBeUndefined();
    expect(res.data.users.map((u: { role: string }) => u.role)).toEqual(['PARTNER_ADMIN']);
    expect(res.data.users[0].organization).not.toBeNull();
  });
});
