/**
 * Someone else at work while a test attacks the server: a leader with the stock grid client open on their unit
 * and a stock graphql-ws subscription to its changes. `stillServed` proves the process is up and that their edit
 * reaches both, which is what "nothing a client sends may block other users" means in a test.
 */
import { expect } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { GraphQLResponse } from './harness.js';
import { connectGrid, eventually, synced, type GridClient } from './gridClients.js';

interface ServerLike {
  url: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
}

export interface Bystander {
  token: string;
  planId: string;
  lineId: string;
  /** The process answers /healthz, and the bystander's edit reaches their grid and their subscription. */
  stillServed(what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const UPDATE = 'mutation($id: ID!, $c: String) { updateBudgetLine(id: $id, input: { comment: $c }) { version } }';
const CHANGED = 'subscription($p: ID!) { budgetLineChanged(planId: $p, businessUnitCode: "SALES_NORTH") { comment } }';

/** `token`: a sign-in of lead.sales-north (the bystander), made by the caller however its test signs in. */
export async function startBystander(server: ServerLike, token: string): Promise<Bystander> {
  const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id as string;
  const lineId = (await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: planId }, token)).data
    .budgetLines[0].id as string;
  const grid: GridClient = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
  await synced(grid);
  const heard: string[] = [];
  const ws: Client = createClient({
    url: server.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  ws.subscribe<{ budgetLineChanged: { comment: string } }>(
    { query: CHANGED, variables: { p: planId } },
    { next: (r) => r.data && heard.push(r.data.budgetLineChanged.comment), error: () => undefined, complete: () => undefined },
  );
  let edits = 0;
  return {
    token,
    planId,
    lineId,
    async stillServed(what, timeoutMs = 10_000) {
      expect((await fetch(`${server.url}/healthz`)).status, what).toBe(200);
      const base = `still served after ${Array.from(what).slice(0, 200).join('')} #${++edits}`;
      // The subscription has no acknowledgement: edit until one edit arrives (only the first time matters). Each
      // try writes a new comment: the same one again changes nothing, so nothing would be published.
      const sent: string[] = [];
      await eventually(async () => {
        if (sent.some((c) => heard.includes(c))) return true;
        const comment = sent.length === 0 ? base : `${base} (try ${sent.length + 1})`;
        sent.push(comment);
        const res = await server.gql(UPDATE, { id: lineId, c: comment }, token);
        expect(res.errors, what).toBeUndefined();
        return heard.includes(comment);
      }, `the subscription to hear "${base}"`, timeoutMs);
      const last = sent.at(-1);
      await eventually(() => grid.cells.get(`${lineId}/comment`) === last, `the grid to show "${last}"`, timeoutMs);
    },
    async close() {
      grid.destroy();
      await ws.dispose();
    },
  };
}
