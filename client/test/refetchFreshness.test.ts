/**
 * A view that refetches on change events shows, at the end, what was read after the last event, even when an
 * event comes while an earlier request of the query is on its way (common/freshRefetch.ts says why Apollo's
 * refetch alone does not). An Apollo Client made as the web client's is, against a whole Plansync; the
 * one thing held back is an answer on its way to the client, until the change and its event have happened.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';
import { RefetchQueue } from '../src/common/freshRefetch.js';

const LINES = gql`
  query FreshnessLines($planId: ID!) {
    budgetLines(planId: $planId, businessUnitCode: "SALES_NORTH") { id comment }
  }
`;

describe('a refetch asked for while an earlier one is on its way', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('is made after it, and its answer is the one shown', async () => {
    const token = await server.login('lead.sales-north@example.com');
    const [plan] = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans;

    // Answers are held while `hold` is set: the request has been read by the server, its answer not yet delivered.
    let hold: Promise<void> | null = null;
    let requests = 0;
    let heldAnswerRead!: () => void;
    const answerRead = new Promise<void>((resolve) => { heldAnswerRead = resolve; });
    let heldAnswerGiven!: () => void;
    const answerGiven = new Promise<void>((resolve) => { heldAnswerGiven = resolve; });
    const link = new HttpLink({
      uri: `${server.url}/graphql`,
      fetch: async (uri, init) => {
        const gate = hold;
        requests += 1;
        const response = await fetch(uri, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` } });
        if (!gate) return response;
        const body = await response.text();
        heldAnswerRead();
        await gate;
        setTimeout(heldAnswerGiven);
        return new Response(body, { status: response.status, headers: response.headers });
      },
    });
    // As the web client makes it (client/src/apollo.ts: Apollo's defaults, deduplication on).
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const query = client.watchQuery({ query: LINES, variables: { planId: plan.id } });
    const queue = new RefetchQueue(() => query.refetch(), () => query.getCurrentResult().loading);
    const seen: string[] = [];
    const subscription = query.subscribe({ next: (result) => {
      const lines = (result.data as { budgetLines?: { comment: string }[] } | undefined)?.budgetLines;
      if (lines) seen.push(lines[0].comment);
      // What useFreshRefetch's effect does when the query's loading changes.
      if (!result.loading) queue.idle();
    } });
    try {
      await expect.poll(() => seen.length).toBeGreaterThan(0);
      const lineId = (query.getCurrentResult().data as { budgetLines: { id: string }[] }).budgetLines[0].id;

      // The first refetch is answered with the comment as it was, and that answer is held.
      let release!: () => void;
      hold = new Promise<void>((resolve) => { release = resolve; });
      const firstDone = queue.request();
      await answerRead;
      hold = null;
      // The change lands; the event that says so makes the view refetch.
      const changed = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "after the change" }) { id } }', { id: lineId }, token);
      expect(changed.errors).toBeUndefined();
      const before = requests;
      const secondDone = queue.request();
      const third = queue.request();
      // Asked for while the first is on its way: nothing is sent until the first has come back, and both asks
      // are answered by the one request made then.
      expect(requests).toBe(before);
      release();
      await answerGiven;
      await firstDone;
      await Promise.all([secondDone, third]);

      await expect.poll(() => seen.at(-1)).toBe('after the change');
      const shown = (query.getCurrentResult().data as { budgetLines: { comment: string }[] }).budgetLines[0].comment;
      expect(shown).toBe('after the change');
      expect(requests).toBe(before + 1);
    } finally {
      subscription.unsubscribe();
      client.stop();
    }
  }, 60_000);
});
