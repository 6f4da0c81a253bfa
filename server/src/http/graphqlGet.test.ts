/**
 * GET /graphql as GraphQL over HTTP and the contract say, against a real server and database: graphql-http's
 * conformance audit (every MUST and SHOULD), a query as Power Query's Web.Contents sends it (a GET with
 * Authorization and nothing else, variables as JSON), and every refusal: mutations and subscriptions (405,
 * Allow: POST) for every role and for nobody, bad variables, the same document limits as POST, a long URL.
 */
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { LIMITS } from '../graphql/limits.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } | null;
}

/** A GET of /graphql with these parameters and only the credentials as a header (as Power Query sends it). */
async function get(server: TestServer, params: Record<string, string>, token?: string | null): Promise<Answer> {
  const search = new URLSearchParams(params).toString();
  const res = await fetch(`${server.url}/graphql?${search}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body: Answer['body'] = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, body };
}

const codes = (answer: Answer) => (answer.body?.errors ?? []).map((e) => e.extensions?.code);

/** The seeded people, one of each role the demo has, and nobody. */
const PEOPLE: Record<string, string | null> = {
  ADMIN: 'admin@example.com',
  ANALYST: 'analyst@example.com',
  BU_LEADER: 'lead.sales-north@example.com',
  VIEWER: 'viewer.sales-north@example.com',
  nobody: null,
};

describe('GET /graphql', () => {
  let server: TestServer;
  const tokens: Record<string, string | null> = {};
  let planId: string;

  beforeAll(async () => {
    server = await startTestServer();
    for (const [role, email] of Object.entries(PEOPLE)) tokens[role] = email ? await server.login(email) : null;
    [{ id: planId }] = await server.sql(`SELECT id::text FROM budget_plan WHERE name = 'FY2027 Budget'`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("passes graphql-http's audit: every MUST and every SHOULD", async () => {
    const failed: string[] = [];
    let counted = 0;
    for (const audit of serverAudits({ url: `${server.url}/graphql` })) {
      const result = await audit.fn();
      if (!/^(MUST|SHOULD)\b/.test(audit.name)) continue;
      counted++;
      if (result.status !== 'ok') failed.push(`${audit.name}: ${result.reason}`);
    }
    expect(counted).toBeGreaterThan(20);
    expect(failed).toEqual([]);
  });

  it('answers a query sent as Power Query sends it: a sign-in token, variables as JSON, no other header', async () => {
    const answer = await get(
      server,
      {
        query: 'query Lines($plan: ID!, $unit: String) { budgetLines(planId: $plan, businessUnitCode: $unit) { id businessUnit { code } budgetAmount } }',
        variables: JSON.stringify({ plan: planId, unit: 'SALES_NORTH' }),
        operationName: 'Lines',
      },
      tokens.BU_LEADER,
    );
    expect(answer.status).toBe(200);
    expect(answer.body?.errors).toBeUndefined();
    expect(answer.body?.data.budgetLines.length).toBeGreaterThan(0);
    expect(new Set(answer.body?.data.budgetLines.map((l: { businessUnit: { code: string } }) => l.businessUnit.code))).toEqual(new Set(['SALES_NORTH']));
    // Answers are per person: no cache may keep them.
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // The same as by POST.
    const posted = await server.gql('query($plan: ID!) { budgetLines(planId: $plan, businessUnitCode: "SALES_NORTH") { id businessUnit { code } budgetAmount } }', { plan: planId }, tokens.BU_LEADER);
    expect(posted.data.budgetLines).toEqual(answer.body?.data.budgetLines);
  });

  it('answers each person as themselves, and nobody with UNAUTHENTICATED', async () => {
    for (const [role, email] of Object.entries(PEOPLE)) {
      const answer = await get(server, { query: '{ me { email } }' }, tokens[role]);
      if (email) {
        expect([role, answer.status, answer.body?.data?.me?.email]).toEqual([role, 200, email]);
      } else {
        expect(codes(answer)).toEqual([ErrorCode.UNAUTHENTICATED]);
      }
      expect(answer.headers.get('cache-control'), role).toBe('no-store');
    }
  });

  it('never runs a mutation: 405 with Allow: POST for every role and for nobody, and nothing changes', async () => {
    const [before] = await server.sql(`SELECT count(*)::int AS n, max(version)::int AS v, sum(budget_amount)::text AS total FROM budget_line`);
    const [line] = await server.sql(`SELECT l.id::text FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_NORTH' LIMIT 1`);
    for (const role of Object.keys(PEOPLE)) {
      const answer = await get(server, { query: `mutation { updateBudgetLine(id: "${line.id}", input: { budgetAmount: 5 }) { id } }` }, tokens[role]);
      expect([role, answer.status, answer.headers.get('allow')]).toEqual([role, 405, 'POST']);
      expect(codes(answer), role).toEqual([ErrorCode.BAD_USER_INPUT]);
      expect(answer.body?.errors?.[0].message).toMatch(/GET requests only support query operations/);
    }
    const [after] = await server.sql(`SELECT count(*)::int AS n, max(version)::int AS v, sum(budget_amount)::text AS total FROM budget_line`);
    expect(after).toEqual(before);
  });

  it('refuses a subscription: 405 with Allow: POST (subscriptions are served over websockets)', async () => {
    for (const role of Object.keys(PEOPLE)) {
      const answer = await get(server, { query: `subscription { budgetLineChanged(planId: "${planId}") { id } }` }, tokens[role]);
      expect([role, answer.status, answer.headers.get('allow')]).toEqual([role, 405, 'POST']);
      expect(codes(answer), role).toEqual([ErrorCode.BAD_USER_INPUT]);
    }
  });

  it('refuses variables that are not a JSON object with 400 BAD_USER_INPUT', async () => {
    for (const variables of ['{"plan": ', 'not json', '[1]', '"a string"']) {
      const answer = await get(server, { query: 'query($plan: ID!) { budgetLines(planId: $plan) { id } }', variables }, tokens.ANALYST);
      expect([variables, answer.status]).toEqual([variables, 400]);
      expect(codes(answer), variables).toEqual([ErrorCode.BAD_USER_INPUT]);
    }
    // A value of the wrong type for a variable: the document is well-formed, the variables do not fit.
    const wrongType = await get(server, { query: 'query($n: Int) { activityLog(first: $n) { edges { cursor } } }', variables: '{"n": "many"}' }, tokens.ADMIN);
    expect(wrongType.status).toBe(400);
    expect(codes(wrongType)).toEqual([ErrorCode.BAD_USER_INPUT]);
  });

  it('applies the same document limits as POST: depth, aliases, cost, tokens', async () => {
    const nested = `{ me ${'{ organization '.repeat(LIMITS.maxDepth + 1)}{ id }${' }'.repeat(LIMITS.maxDepth + 1)} }`;
    const aliases = `{ ${Array.from({ length: LIMITS.maxAliases + 1 }, (_, i) => `a${i}: me { email }`).join(' ')} }`;
    const costly = `query Costly($n: Int = 500) { auditLog(first: $n) { edges { cursor node { id column oldValue newValue source at
      line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
      user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor } } }`;
    const documents: Record<string, Record<string, string>> = {
      nested: { query: nested },
      aliases: { query: aliases },
      cost: { query: costly },
      costByVariables: { query: costly, variables: '{"n": 500}' },
    };
    for (const [name, params] of Object.entries(documents)) {
      const answer = await get(server, params, tokens.ADMIN);
      expect([name, answer.status]).toEqual([name, 400]);
      expect([...new Set(codes(answer))], name).toEqual([ErrorCode.GRAPHQL_VALIDATION_FAILED]);
      expect(answer.body?.errors?.some((e) => /depth|alias|cost/i.test(e.message)), name).toBe(true);
      expect(answer.body?.data, name).toBeUndefined();
    }
    // The cost is judged with the variables' values, from the query string too: a small page is fine.
    expect((await get(server, { query: costly, variables: '{"n": 5}' }, tokens.ADMIN)).status).toBe(200);
    const overTokens = `{ me { ${'email '.repeat(LIMITS.maxTokens)}} }`;
    expect(overTokens.length).toBeLessThan(LIMITS.maxGetUrlBytes - 100);
    const tooMany = await get(server, { query: overTokens }, tokens.ADMIN);
    expect(tooMany.status).toBe(400);
    expect(codes(tooMany)).toEqual([ErrorCode.GRAPHQL_PARSE_FAILED]);
  });

  it('refuses a query string over the limit with 414 and says to POST; past Node\'s own limit, 431', async () => {
    const long = `{ me { email } }${' '.repeat(LIMITS.maxGetUrlBytes)}`;
    const answer = await get(server, { query: long }, tokens.ANALYST);
    expect(answer.status).toBe(414);
    expect(codes(answer)).toEqual([ErrorCode.BAD_USER_INPUT]);
    expect(answer.body?.errors?.[0].message).toMatch(/at most \d+ bytes: send larger documents by POST/);
    // Just under the limit: answered.
    const fits = await get(server, { query: `{ me { email } }${' '.repeat(LIMITS.maxGetUrlBytes - 200)}` }, tokens.ANALYST);
    expect(fits.status).toBe(200);
    const huge = await get(server, { query: `{ me { email } }${' '.repeat(20_000)}` }, tokens.ANALYST);
    expect(huge.status).toBe(431);
  });

  it('still refuses cross-site form POSTs: only application/json bodies are read', async () => {
    const [line] = await server.sql(`SELECT id::text, version FROM budget_line LIMIT 1`);
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${tokens.ADMIN}` },
        body: JSON.stringify({ query: `mutation { updateBudgetLine(id: "${line.id}", input: { budgetAmount: 7 }) { id } }` }),
      });
      expect([contentType, res.status]).toEqual([contentType, 400]);
    }
    const [after] = await server.sql(`SELECT id::text, version FROM budget_line WHERE id = $1`, [line.id]);
    expect(after).toEqual(line);
  });
});
