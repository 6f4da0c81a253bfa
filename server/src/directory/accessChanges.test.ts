/**
 * When an admin changes someone's role or units, their open sockets follow at once: grid connections turn
 * read-only or close with CloseCode.Forbidden, and GraphQL websockets close with CloseCode.Forbidden
 * (subscriptions restart with the new rights). Nobody keeps the rights they had when they connected.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';
import { CloseCode } from '../../../schema/codes.js';

const SET_ACCESS = `mutation($id: ID!, $role: Role!, $units: [String!]!) {
  setUserAccess(userId: $id, role: $role, businessUnitCodes: $units) { email role businessUnits { code } }
}`;

describe('access changes reach open sockets', () => {
  let server: TestServer;
  let admin: string;
  let planId: string;
  let lineIds: string[];
  const grids: GridClient[] = [];
  const userId = async (email: string) =>
    (await server.gql('{ users { id email } }', {}, admin)).data.users.find((u: { email: string }) => u.email === email).id as string;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
    lineIds = (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }`, { p: planId }, admin)).data.budgetLines.map(
      (l: { id: string }) => l.id,
    );
  });
  afterAll(async () => {
    grids.forEach((g) => g.destroy());
    await server?.stop();
  });

  it('makes a demoted leader read-only on the grid, closes their GraphQL socket, and closes the grid when the unit goes', async () => {
    const token = await server.login('lead.sales-north@example.com');
    const grid = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    const witness = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, await server.login('planner.sales-north@example.com'));
    grids.push(grid, witness);
    await Promise.all([synced(grid), synced(witness)]);

    const ws = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    const wsClosed = new Promise<number>((resolve) => ws.on('closed', (event) => resolve((event as { code: number }).code)));
    ws.subscribe({ query: `subscription($p: ID!) { budgetLineChanged(planId: $p) { id } }`, variables: { p: planId } }, {
      next: () => undefined,
      error: () => undefined,
      complete: () => undefined,
    });
    await new Promise((r) => ws.on('connected', r));

    // Before: the leader writes.
    grid.cells.set(`${lineIds[0]}/budgetAmount`, 1);
    await eventually(() => witness.cells.get(`${lineIds[0]}/budgetAmount`) === 1, 'the edit before the change');

    const lead = await userId('lead.sales-north@example.com');
    const demoted = await server.gql(SET_ACCESS, { id: lead, role: 'VIEWER', units: ['SALES_NORTH'] }, admin);
    expect(demoted.data.setUserAccess).toEqual({ email: 'lead.sales-north@example.com', role: 'VIEWER', businessUnits: [{ code: 'SALES_NORTH' }] });
    expect(await wsClosed).toBe(CloseCode.Forbidden);

    // After: the same connection's edits are dropped. Proven by order: the planner writes after, and when
    // that arrives, the leader's would have.
    await eventually(async () => {
      grid.cells.set(`${lineIds[1]}/budgetAmount`, 2);
      witness.cells.set(`${lineIds[2]}/budgetAmount`, 3);
      await eventually(() => grid.cells.get(`${lineIds[2]}/budgetAmount`) === 3, 'the planner edit');
      return true;
    }, 'the round trip');
    expect(witness.cells.has(`${lineIds[1]}/budgetAmount`)).toBe(false);
    // And through the API too: the token is the same, the rights are not.
    const api = await server.gql(`mutation($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4 }) { id } }`, { id: lineIds[3] }, token);
    expect(errorCode(api)).toBe('FORBIDDEN');

    // Moved to another unit: the grid connection to this one closes.
    await server.gql(SET_ACCESS, { id: lead, role: 'BU_LEADER', units: ['MARKETING'] }, admin);
    expect((await grid.closed).code).toBe(CloseCode.Forbidden);
  });

  it('lets a leader who was read-only for a while write again, including what they typed meanwhile', async () => {
    const token = await server.login('lead.sales-south@example.com');
    const southLines = (await server.gql(`query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_SOUTH") { id } }`, { p: planId }, admin)).data.budgetLines.map(
      (l: { id: string }) => l.id,
    );
    const grid = connectGrid(server.url, `budget:${planId}:SALES_SOUTH`, token);
    const witness = connectGrid(server.url, `budget:${planId}:SALES_SOUTH`, admin);
    grids.push(grid, witness);
    await Promise.all([synced(grid), synced(witness)]);
    const lead = await userId('lead.sales-south@example.com');

    await server.gql(SET_ACCESS, { id: lead, role: 'VIEWER', units: ['SALES_SOUTH'] }, admin);
    // Typed while read-only: dropped by the server (the client keeps it).
    grid.cells.set(`${southLines[0]}/budgetAmount`, 10);
    witness.cells.set(`${southLines[1]}/budgetAmount`, 11);
    await eventually(() => grid.cells.get(`${southLines[1]}/budgetAmount`) === 11, 'a round trip while read-only');
    expect(witness.cells.has(`${southLines[0]}/budgetAmount`)).toBe(false);

    await server.gql(SET_ACCESS, { id: lead, role: 'BU_LEADER', units: ['SALES_SOUTH'] }, admin);
    grid.cells.set(`${southLines[2]}/budgetAmount`, 12);
    await eventually(() => witness.cells.get(`${southLines[2]}/budgetAmount`) === 12, 'the edit after the rights came back');
    // The edit typed meanwhile is a writer's edit now, and nothing of theirs stays blocked behind it.
    await eventually(() => witness.cells.get(`${southLines[0]}/budgetAmount`) === 10, 'the earlier edit');
  });

  it('is for admins only, keeps at least one admin, and checks the units', async () => {
    const lead = await server.login('lead.sales-south@example.com');
    const target = await userId('viewer.finance@example.com');
    expect(errorCode(await server.gql(SET_ACCESS, { id: target, role: 'ADMIN', units: [] }, lead))).toBe('FORBIDDEN');
    expect(errorCode(await server.gql(SET_ACCESS, { id: await userId('admin@example.com'), role: 'VIEWER', units: [] }, admin))).toBe('CONFLICT');
    expect(errorCode(await server.gql(SET_ACCESS, { id: target, role: 'VIEWER', units: ['NOPE'] }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(SET_ACCESS, { id: target, role: 'PARTNER_ADMIN', units: [] }, admin))).toBe('BAD_USER_INPUT');
    expect(errorCode(await server.gql(SET_ACCESS, { id: '00000000-0000-4000-8000-000000000000', role: 'VIEWER', units: [] }, admin))).toBe('NOT_FOUND');
    const [row] = await server.sql(`SELECT role FROM app_user WHERE email = 'viewer.finance@example.com'`);
    expect(row.role).toBe('VIEWER');
  });
});
