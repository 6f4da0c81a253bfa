import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

/**
 * Strings PostgreSQL cannot store or compare, in any argument of any operation, as variables or as literals:
 * BAD_USER_INPUT naming the argument, never an internal error, and the server goes on.
 */
describe('arguments PostgreSQL cannot take', () => {
  let server: TestServer;
  let admin: string;
  let planId: string;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterAll(() => server?.stop());

  it('refuses U+0000 and unpaired surrogates in queries and mutations, as variables and as literals, at any depth', async () => {
    const attacks: [string, string, Record<string, unknown>, string | null, RegExp][] = [
      ['login', 'mutation($e: String!) { login(email: $e, password: "x") { token } }', { e: 'a\u0000b@example.com' }, null, /email/],
      ['login, lone surrogate', 'mutation($e: String!) { login(email: $e, password: "x") { token } }', { e: 'a\ud800@example.com' }, null, /email/],
      ['budgetLines', 'query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id } }', { p: planId, u: 'SALES\u0000' }, admin, /businessUnitCode/],
      ['literal', `query { budgetLines(planId: "${planId}", businessUnitCode: "SALES\\u0000NORTH") { id } }`, {}, admin, /businessUnitCode/],
      ['JSON input', 'mutation($i: JSON) { startWorkflow(definitionKey: "new_partner", input: $i) { id } }', { i: { organizationName: 'x', deep: [{ k: '\u0000' }] } }, admin, /input\.deep\.0\.k/],
      ['JSON key', 'mutation($i: JSON) { startWorkflow(definitionKey: "new_partner", input: $i) { id } }', { i: { 'a\u0000': 1 } }, admin, /field name/],
    ];
    for (const [what, query, variables, token, field] of attacks) {
      const res = await server.gql(query, variables, token);
      expect(errorCode(res), what).toBe('BAD_USER_INPUT');
      expect(res.errors![0].message, what).toMatch(field);
    }
    expect((await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans).toHaveLength(1);
  });

  it('finds one at the deepest nesting variables may have, and refuses 15,000 nested objects without overflowing the stack', async () => {
    // Written by hand: JSON.stringify itself overflows at 15,000 levels. Variables nest at most
    // LIMITS.maxJsonDepth (100) levels: 95 here, inside `variables`, `i` and `d`.
    const query = JSON.stringify('mutation($i: JSON) { startWorkflow(definitionKey: "new_partner", input: $i) { id } }');
    const send = async (depth: number) => {
      const body = `{"query":${query},"variables":{"i":{"organizationName":"Deep","d":${'{"a":'.repeat(depth)}"x\\u0000"${'}'.repeat(depth)}}}}`;
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body });
      return (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    };
    const deepest = await send(95);
    expect(deepest.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(deepest.errors[0].message).toMatch(/^input\.d\.a\.a.*U\+0000/);
    const tooDeep = await send(15_000);
    expect(tooDeep.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(tooDeep.errors[0].message).toMatch(/nest at most 100 levels/);
    expect((await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans).toHaveLength(1);
  });

  it('refuses them in a subscription too', async () => {
    const client = createClient({
      url: server.url.replace('http', 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${admin}` },
      retryAttempts: 0,
    });
    try {
      const errors = await new Promise<readonly { message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription($p: ID!, $u: String) { budgetLineChanged(planId: $p, businessUnitCode: $u) { id } }', variables: { p: planId, u: 'X\u0000' } },
          { next: (r) => r.errors && resolve(r.errors), error: (e) => (Array.isArray(e) ? resolve(e) : reject(e)), complete: () => reject(new Error('completed without an error')) },
        );
      });
      expect(errors[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(errors[0].message).toMatch(/businessUnitCode/);
    } finally {
      await client.dispose();
    }
  });
});
