/**
 * The server's protections over HTTP, against a real server and database: query limits (depth, aliases,
 * cost, tokens), batching, body size, CSRF, production hardening, error masking, bad input on every
 * operation, and the operational endpoints. Every error answer seen in this file is checked to carry one
 * of the contract's codes and no stack trace.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LIMITS } from '../graphql/limits.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { CONTRACT_CODES } from '../testing/fuzzChecks.js';


interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
  json?: GraphQLResponse & Record<string, unknown>;
}

/** Every error of an answer carries a contract code and nothing of the server's insides. */
function expectContractErrors(answer: RawAnswer) {
  const errors = answer.json?.errors;
  if (!errors) return;
  expect(Array.isArray(errors), answer.text.slice(0, 200)).toBe(true);
  for (const error of errors) {
    expect(CONTRACT_CODES.has(String(error.extensions?.code)), `code of ${JSON.stringify(error).slice(0, 300)}`).toBe(true);
    expect(error.extensions?.stacktrace).toBeUndefined();
  }
  // No stack frame and no exception dump anywhere in the body.
  expect(answer.text).not.toMatch(/\n\s+at |stacktrace|node_modules|\.ts:\d+|\.js:\d+/);
}

/** The code of every error of an answer (checked as above first). */
function codes(answer: RawAnswer): string[] {
  expectContractErrors(answer);
  return (answer.json?.errors ?? []).map((e) => String(e.extensions?.code));
}

const LINES = `query($plan: ID!, $unit: String) {
  budgetLines(planId: $plan, businessUnitCode: $unit) {
    id businessUnit { code name } productCategory region quarter priorYearActual budgetAmount forecastSales comment
    version updatedAt updatedBy { email businessUnits { code } }
  }
}`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!, $v: Int) {
  updateBudgetLine(id: $id, input: $input, expectedVersion: $v) { id budgetAmount forecastSales comment version }
}`;

/** A fingerprint of everything a mutation could change: lines, audit entries, submissions, users. */
async function storedState(server: TestServer): Promise<string> {
  const [lines] = await server.sql(
    `SELECT md5(string_agg(concat_ws('|', id, budget_amount, forecast_sales, comment, version, updated_at, updated_by_id), ',' ORDER BY id)) AS h
       FROM budget_line`,
  );
  const [audit] = await server.sql('SELECT count(*)::int AS n FROM cell_change');
  const [submissions] = await server.sql(
    `SELECT md5(string_agg(concat_ws('|', id, status, submitted_at, submitted_by_id), ',' ORDER BY id)) AS h FROM budget_submission`,
  );
  const [users] = await server.sql(`SELECT md5(string_agg(concat_ws('|', id, email, role), ',' ORDER BY id)) AS h FROM app_user`);
  return JSON.stringify({ lines: lines.h, audit: audit.n, submissions: submissions.h, users: users.h });
}

function client(server: TestServer) {
  /** Any HTTP request to the server; the JSON body is parsed when there is one. */
  async function request(path: string, init: RequestInit = {}): Promise<RawAnswer> {
    const res = await fetch(`${server.url}${path}`, init);
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let json: RawAnswer['json'];
    if (contentType.includes('json')) json = JSON.parse(text);
    const answer = { status: res.status, contentType, text, json };
    expectContractErrors(answer);
    return answer;
  }
  /** POSTs a raw body to /graphql. */
  function post(body: string, headers: Record<string, string> = {}, token?: string) {
    return request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body,
    });
  }
  /** POSTs one GraphQL operation to /graphql. */
  function gql(query: string, variables?: Record<string, unknown>, token?: string, operationName?: string) {
    return post(JSON.stringify({ query, variables, operationName }), {}, token);
  }
  return { request, post, gql };
}

/** What Apollo's landing pages (Sandbox, Explorer) are made of. */
const LANDING_PAGE = /landing-page|embeddable-|sandbox|apollographql\.com/i;

/** A query over the depth limit: introspection's type chain nests as deep as asked (`__type` is not `__schema`). */
function deepQuery(depth: number): string {
  let selection = 'name';
  for (let i = 0; i < depth - 2; i++) selection = `ofType { ${selection} }`;
  return `query Deep { __type(name: "Query") { ${selection} } }`;
}

describe('HTTP protections', () => {
  let server: TestServer;
  let http: ReturnType<typeof client>;
  let admin: string;
  let lead: string;
  let viewer: string;
  let planId: string;
  let northLine: { id: string; version: number };

  beforeAll(async () => {
    server = await startTestServer();
    http = client(server);
    [admin, lead, viewer] = await Promise.all([
      server.login('admin@example.com'),
      server.login('lead.sales-north@example.com'),
      server.login('viewer.marketing@example.com'),
    ]);
    planId = (await http.gql('{ budgetPlans { id } }', {}, lead)).json!.data.budgetPlans[0].id;
    northLine = (await http.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).json!.data.budgetLines[0];
  });
  afterAll(() => server?.stop());

  describe('query limits', () => {
    it('refuses a document over the depth limit, and runs none of its operations', async () => {
      const deep = await http.gql(deepQuery(LIMITS.maxDepth + 1), {}, admin);
      expect(codes(deep)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(deep.json!.errors![0].message).toMatch(/depth/i);
      expect(deep.json!.data).toBeUndefined();

      // At the limit it is fine.
      const atLimit = await http.gql(deepQuery(LIMITS.maxDepth), {}, admin);
      expect(atLimit.json!.errors).toBeUndefined();
      expect(atLimit.json!.data.__type).toBeTruthy();

      // A mutation sharing a document with a query over the limit does not run either.
      const before = await storedState(server);
      const mixed = await http.gql(
        `${deepQuery(LIMITS.maxDepth + 1)}
         mutation Write($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4242 }) { id version } }`,
        { id: northLine.id },
        lead,
        'Write',
      );
      expect(codes(mixed)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(mixed.json!.data).toBeUndefined();
      expect(await storedState(server)).toBe(before);
    });

    it('refuses a document over the alias limit, and runs nothing', async () => {
      const before = await storedState(server);
      const writes = Array.from(
        { length: LIMITS.maxAliases + 1 },
        (_, i) => `w${i}: updateBudgetLine(id: $id, input: { budgetAmount: ${1000 + i} }) { version }`,
      ).join('\n');
      const answer = await http.gql(`mutation($id: ID!) { ${writes} }`, { id: northLine.id }, lead);
      expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.json!.errors![0].message).toMatch(/alias/i);
      expect(answer.json!.data).toBeUndefined();
      expect(await storedState(server)).toBe(before);

      // At the limit, reads with aliases are fine.
      const reads = Array.from({ length: LIMITS.maxAliases }, (_, i) => `m${i}: me { email }`).join(' ');
      const ok = await http.gql(`{ ${reads} }`, {}, lead);
      expect(ok.json!.errors).toBeUndefined();
      expect(ok.json!.data.m0.email).toBe('lead.sales-north@example.com');
    });

    it('refuses a document over the cost limit, and runs nothing', async () => {
      const costly = `query Costly { auditLog(first: 500) { edges { cursor node { id column oldValue newValue source at
        line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
        user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor } } }`;
      const answer = await http.gql(costly, {}, admin);
      expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.json!.errors![0].message).toMatch(/cost/i);
      expect(answer.json!.data).toBeUndefined();

      const before = await storedState(server);
      const mixed = await http.gql(
        `${costly}
         mutation Write($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4343 }) { id } }`,
        { id: northLine.id },
        lead,
        'Write',
      );
      expect(codes(mixed)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(await storedState(server)).toBe(before);
    });

    it('costs `first: $n` from the variables: the page asked for, not one row (1.1 M accepted under a 40 k cap)', async () => {
      const costly = `query Costly($n: Int) { auditLog(first: $n) { edges { cursor node { id column oldValue newValue source at
        line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
        user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor } } }`;
      const answer = await http.gql(costly, { n: 500 }, admin);
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.json!.errors![0].message).toMatch(/cost/i);
      expect(answer.json!.data).toBeUndefined();
      // Through GET as well, and with the variable's default instead of a value.
      const viaGet = await http.request(`/graphql?query=${encodeURIComponent(costly.replace('$n: Int', '$n: Int = 500'))}`, {
        headers: { authorization: `Bearer ${admin}`, 'apollo-require-preflight': '1' },
      });
      expect(codes(viaGet)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      // A small page of the same selection is fine; a page over the resolver's maximum is the resolver's
      // BAD_USER_INPUT, as before (it reads nothing, so it costs no more than the largest page).
      const small = await http.gql(costly, { n: 5 }, admin);
      expect(small.json!.errors).toBeUndefined();
      const tooBig = await http.gql('query($n: Int) { auditLog(first: $n) { edges { cursor } } }', { n: 100_000 }, admin);
      expect(codes(tooBig)).toEqual(['BAD_USER_INPUT']);

      // A mutation in the same document as an operation over the limit does not run either.
      const before = await storedState(server);
      const mixed = await http.gql(
        `${costly}
         mutation Write($id: ID!) { updateBudgetLine(id: $id, input: { budgetAmount: 4444 }) { id } }`,
        { id: northLine.id, n: 500 },
        lead,
        'Write',
      );
      expect(codes(mixed)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(await storedState(server)).toBe(before);
    });

    it('costs budgetLines per line it can return', async () => {
      const wide = `id businessUnit { id code name } productCategory region quarter priorYearActual budgetAmount forecastSales
        comment version updatedAt updatedBy { id email displayName role businessUnits { id code name } organization { id name } }`;
      // Every line of the plan (600), each with its editor's units and organisation: over the limit.
      const all = await http.gql(`query($p: ID!) { budgetLines(planId: $p) { ${wide} } }`, { p: planId }, admin);
      expect(codes(all)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(all.json!.errors![0].message).toMatch(/cost/i);
      // One unit's lines (120) with the same selection are fine, and so is every line with the contract's.
      const unit = await http.gql(`query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { ${wide} } }`, { p: planId, u: 'SALES_NORTH' }, admin);
      expect(unit.json!.errors).toBeUndefined();
      expect(unit.json!.data.budgetLines.length).toBeGreaterThan(0);
      const contract = await http.gql(LINES, { plan: planId }, admin);
      expect(contract.json!.errors).toBeUndefined();
    });

    it('still answers the ordinary deep queries of the contract', async () => {
      const edit = await http.gql(UPDATE, { id: northLine.id, input: { comment: 'deep read' } }, lead);
      expect(edit.json!.errors).toBeUndefined();
      const audit = await http.gql(
        // Deep: auditLog > edges > node > user > businessUnits > code.
        `query($line: ID) { auditLog(lineId: $line) {
          edges { cursor node { id column oldValue newValue source at line { id businessUnit { code } }
            user { email displayName role businessUnits { code name } organization { id name } } } }
          pageInfo { hasNextPage endCursor } } }`,
        { line: northLine.id },
        lead,
      );
      expect(audit.json!.errors).toBeUndefined();
      expect(audit.json!.data.auditLog.edges[0].node).toMatchObject({
        column: 'comment',
        newValue: 'deep read',
        line: { id: northLine.id, businessUnit: { code: 'SALES_NORTH' } },
        user: { email: 'lead.sales-north@example.com', businessUnits: [{ code: 'SALES_NORTH', name: 'Sales North' }] },
      });
      // The contract's own selection, with a literal page size of the largest page the resolver serves.
      const page = await http.gql(
        `{ auditLog(first: 500) { edges { cursor node { id line { id } column oldValue newValue user { email } source at } }
          pageInfo { hasNextPage endCursor } } }`,
        {},
        lead,
      );
      expect(page.json!.errors).toBeUndefined();
      expect(page.json!.data.auditLog.edges.length).toBeGreaterThan(0);
      const lines = await http.gql(LINES, { plan: planId }, admin);
      expect(lines.json!.errors).toBeUndefined();
      expect(lines.json!.data.budgetLines).toHaveLength(600);
      const me = await http.gql(
        '{ me { id email displayName role businessUnits { code name } organization { id name } } budgetPlans { id name fiscalYear } }',
        {},
        lead,
      );
      expect(me.json!.errors).toBeUndefined();
      expect(me.json!.data.me.businessUnits).toEqual([{ code: 'SALES_NORTH', name: 'Sales North' }]);
    });

    it('stops the parser at the token limit', async () => {
      const fields = 'email '.repeat(LIMITS.maxTokens + 10);
      const answer = await http.gql(`{ me { ${fields} } }`, {}, lead);
      expect(answer.status).toBeLessThan(500);
      expect(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']).toContain(codes(answer)[0]);
      expect(answer.json!.data).toBeUndefined();
      // The server is fine afterwards.
      expect((await http.gql('{ me { email } }', {}, lead)).json!.data.me.email).toBe('lead.sales-north@example.com');
    });

    it('answers GRAPHQL_PARSE_FAILED for a syntax error and GRAPHQL_VALIDATION_FAILED for an unknown field', async () => {
      expect(codes(await http.gql('{ me { email ', {}, lead))).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(codes(await http.gql('query { me { email } } }', {}, lead))).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(codes(await http.gql('{ me { passwordHash } }', {}, lead))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(codes(await http.gql('{ secrets }', {}, lead))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      // Unauthenticated callers get the same answers: documents are checked before anyone is asked who they are.
      expect(codes(await http.gql('{ me { email ', {}))).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(codes(await http.gql('{ me { passwordHash } }', {}))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    });
  });

  describe('requests', () => {
    it('refuses batched requests with a clear error and runs none of them', async () => {
      const before = await storedState(server);
      const answer = await http.post(
        JSON.stringify([
          { query: '{ me { email } }' },
          { query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 77 } } },
        ]),
        {},
        lead,
      );
      expect(answer.status).toBe(400);
      expect(codes(answer)).toEqual(['BAD_USER_INPUT']);
      expect(answer.json!.errors![0].message).toMatch(/batch/i);
      expect(await storedState(server)).toBe(before);
    });

    it('answers 413 BAD_USER_INPUT for a body over the size limit', async () => {
      const before = await storedState(server);
      const body = JSON.stringify({
        query: UPDATE,
        variables: { id: northLine.id, input: { comment: 'x'.repeat(LIMITS.maxBodyBytes + 1) } },
      });
      const answer = await http.post(body, {}, lead);
      expect(answer.status).toBe(413);
      expect(answer.contentType).toContain('application/json');
      expect(codes(answer)).toEqual(['BAD_USER_INPUT']);
      expect(await storedState(server)).toBe(before);
    });

    it('answers 400 BAD_USER_INPUT for malformed JSON', async () => {
      for (const body of ['{"query": "{ me { email } }"', '{query: 1}', 'nonsense', '"just a string"', '42']) {
        const answer = await http.post(body, {}, lead);
        expect(answer.status, body).toBe(400);
        expect(answer.contentType, body).toContain('application/json');
        expect(codes(answer), body).toEqual(['BAD_USER_INPUT']);
      }
      // A JSON body that is not a GraphQL request at all.
      for (const body of ['{}', '{"query": 42}', '{"query": "{ me { email } }", "variables": "x"}', 'null']) {
        const answer = await http.post(body, {}, lead);
        expect(answer.status, body).toBe(400);
        expect(codes(answer), body).toEqual(['BAD_USER_INPUT']);
      }
    });

    it('answers GET queries with no header beyond the credentials (no CSRF preflight: tokens are never cookies)', async () => {
      const query = encodeURIComponent('{ me { email } }');
      const allowed = await http.request(`/graphql?query=${query}`, { headers: { authorization: `Bearer ${lead}` } });
      expect(allowed.status).toBe(200);
      expect(allowed.json!.data.me.email).toBe('lead.sales-north@example.com');

      // Mutations never run over GET (graphqlGet.test.ts tries every role).
      const before = await storedState(server);
      const mutation = encodeURIComponent(`mutation { updateBudgetLine(id: "${northLine.id}", input: { budgetAmount: 5 }) { id } }`);
      const get = await http.request(`/graphql?query=${mutation}`, { headers: { authorization: `Bearer ${lead}` } });
      expect(get.status).toBe(405);
      expect(codes(get)).toEqual(['BAD_USER_INPUT']);
      expect(await storedState(server)).toBe(before);
    });

    it('refuses simple form POSTs (CSRF)', async () => {
      const before = await storedState(server);
      const body = JSON.stringify({ query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 6 } } });
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const answer = await http.post(body, { 'content-type': contentType }, lead);
        expect(answer.status, contentType).toBe(400);
        expect(answer.contentType, contentType).toContain('application/json');
        expect(codes(answer), contentType).toEqual(['BAD_USER_INPUT']);
      }
      expect(await storedState(server)).toBe(before);
    });
  });

  describe('errors', () => {
    it('masks an internal failure as INTERNAL_SERVER_ERROR without SQL, and keeps serving', async () => {
      await server.sql('ALTER TABLE budget_plan RENAME TO budget_plan_moved_away');
      try {
        const answer = await http.gql('{ budgetPlans { id name } }', {}, lead);
        expect(codes(answer)).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(answer.json!.errors![0].message).toBe('Internal server error');
        expect(answer.text).not.toMatch(/budget_plan|select|relation|postgres|sql|exist/i);
        // A mutation that fails deep inside: masked the same way, nothing stored.
        const before = await storedState(server);
        const submit = await http.gql(
          'mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_NORTH") { status } }',
          { p: planId },
          lead,
        );
        expect(codes(submit)).toEqual(['INTERNAL_SERVER_ERROR']);
        expect(submit.text).not.toMatch(/budget_plan|select|relation|postgres|sql|exist/i);
        expect(await storedState(server)).toBe(before);
        // Everything that does not need the table still works meanwhile.
        expect((await http.gql('{ me { email } }', {}, lead)).json!.data.me.email).toBe('lead.sales-north@example.com');
      } finally {
        await server.sql('ALTER TABLE budget_plan_moved_away RENAME TO budget_plan');
      }
      const again = await http.gql('{ budgetPlans { name } }', {}, lead);
      expect(again.json!.data.budgetPlans).toEqual([{ name: 'FY2027 Budget' }]);
    });

    it('answers bad input on every operation with a contract code and changes nothing', async () => {
      const before = await storedState(server);
      const huge = 'f'.repeat(60_000);
      const notUuid = 'not-a-uuid';
      const otherUuid = '00000000-0000-4000-8000-000000000000';
      const cases: { name: string; query: string; variables?: Record<string, unknown>; token?: string; expected: string[] }[] = [
        // Wrong variable types, missing or null values, unknown input fields: GraphQL's own coercion.
        { name: 'amount as text', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 'lots' } }, expected: ['BAD_USER_INPUT'] },
        { name: 'version as text', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 1 }, v: 'one' }, expected: ['BAD_USER_INPUT'] },
        { name: 'version over Int', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 1 }, v: 2 ** 40 }, expected: ['BAD_USER_INPUT'] },
        { name: 'version as float', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 1 }, v: 1.5 }, expected: ['BAD_USER_INPUT'] },
        { name: 'id as object', query: UPDATE, variables: { id: { $ne: null }, input: { budgetAmount: 1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'id as list', query: UPDATE, variables: { id: [northLine.id], input: { budgetAmount: 1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'input as text', query: UPDATE, variables: { id: northLine.id, input: 'budgetAmount: 1' }, expected: ['BAD_USER_INPUT'] },
        { name: 'read-only column', query: UPDATE, variables: { id: northLine.id, input: { priorYearActual: 1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'version column', query: UPDATE, variables: { id: northLine.id, input: { version: 99 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'missing id variable', query: UPDATE, variables: { input: { budgetAmount: 1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'null id', query: UPDATE, variables: { id: null, input: { budgetAmount: 1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'null input', query: UPDATE, variables: { id: northLine.id, input: null }, expected: ['BAD_USER_INPUT'] },
        { name: 'no variables at all', query: UPDATE, expected: ['BAD_USER_INPUT'] },
        // Missing required arguments, wrong literal types: document validation.
        { name: 'missing id argument', query: 'mutation { updateBudgetLine(input: { budgetAmount: 1 }) { id } }', expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'missing input argument', query: `mutation { updateBudgetLine(id: "${northLine.id}") { id } }`, expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'null literal id', query: 'mutation { updateBudgetLine(id: null, input: {}) { id } }', expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'text literal amount', query: `mutation { updateBudgetLine(id: "${northLine.id}", input: { budgetAmount: "1" }) { id } }`, expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'missing planId', query: '{ budgetLines { id } }', expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'variable of the wrong declared type', query: 'query($p: Int!) { budgetLines(planId: $p) { id } }', variables: { p: 1 }, expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'undeclared variable', query: '{ budgetLines(planId: $p) { id } }', variables: { p: planId }, expected: ['GRAPHQL_VALIDATION_FAILED'] },
        { name: 'unknown operation name', query: '{ me { email } }', variables: {}, expected: ['BAD_USER_INPUT'] },
        // Values our resolvers check.
        { name: 'negative amount', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: -1 } }, expected: ['BAD_USER_INPUT'] },
        { name: 'huge comment', query: UPDATE, variables: { id: northLine.id, input: { comment: 'c'.repeat(2001) } }, expected: ['BAD_USER_INPUT'] },
        { name: 'huge line id (leader)', query: UPDATE, variables: { id: huge, input: { budgetAmount: 1 } }, expected: ['FORBIDDEN'] },
        { name: 'huge line id (admin)', query: UPDATE, variables: { id: huge, input: { budgetAmount: 1 } }, token: 'admin', expected: ['NOT_FOUND'] },
        { name: 'non-UUID line id', query: UPDATE, variables: { id: notUuid, input: { budgetAmount: 1 } }, expected: ['FORBIDDEN'] },
        { name: 'unknown line id', query: UPDATE, variables: { id: otherUuid, input: { budgetAmount: 1 } }, token: 'admin', expected: ['NOT_FOUND'] },
        { name: 'non-UUID planId', query: LINES, variables: { plan: notUuid }, expected: ['NOT_FOUND'] },
        { name: 'huge planId', query: LINES, variables: { plan: huge }, expected: ['NOT_FOUND'] },
        { name: 'unknown planId', query: LINES, variables: { plan: otherUuid }, expected: ['NOT_FOUND'] },
        { name: 'huge unit code', query: LINES, variables: { plan: planId, unit: huge }, expected: ['FORBIDDEN'] },
        { name: 'huge unit code (admin)', query: LINES, variables: { plan: planId, unit: huge }, token: 'admin', expected: ['NOT_FOUND'] },
        { name: 'submissions of a non-UUID plan', query: '{ budgetSubmissions(planId: "nope") { status } }', expected: ['NOT_FOUND'] },
        {
          name: 'submit a non-UUID plan',
          query: `mutation { submitBudget(planId: "${notUuid}", businessUnitCode: "SALES_NORTH") { status } }`,
          expected: ['NOT_FOUND'],
        },
        {
          name: 'submit a huge unit code',
          query: 'mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { status } }',
          variables: { p: planId, u: huge },
          expected: ['FORBIDDEN'],
        },
        { name: 'auditLog first: -1', query: '{ auditLog(first: -1) { edges { cursor } } }', expected: ['BAD_USER_INPUT'] },
        { name: 'auditLog first: 100000', query: 'query($n: Int) { auditLog(first: $n) { edges { cursor } } }', variables: { n: 100_000 }, expected: ['BAD_USER_INPUT'] },
        { name: 'auditLog first over Int', query: 'query($n: Int) { auditLog(first: $n) { edges { cursor } } }', variables: { n: 1e12 }, expected: ['BAD_USER_INPUT'] },
        { name: 'auditLog huge cursor', query: 'query($a: String) { auditLog(after: $a) { edges { cursor } } }', variables: { a: huge }, expected: ['BAD_USER_INPUT'] },
        { name: 'auditLog non-UUID lineId', query: '{ auditLog(lineId: "x") { edges { cursor } } }', expected: ['FORBIDDEN'] },
        { name: 'auditLog huge lineId (admin)', query: 'query($l: ID) { auditLog(lineId: $l) { edges { cursor } } }', variables: { l: huge }, token: 'admin', expected: ['NOT_FOUND'] },
        { name: 'login with a huge email', query: 'mutation($e: String!) { login(email: $e, password: "x") { token } }', variables: { e: huge }, token: 'none', expected: ['UNAUTHENTICATED'] },
        { name: 'login with a number', query: 'mutation($e: String!) { login(email: $e, password: "x") { token } }', variables: { e: 42 }, token: 'none', expected: ['BAD_USER_INPUT'] },
        // Someone else's unit, and nobody at all.
        { name: "another unit's line", query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 1 } }, token: 'viewer', expected: ['FORBIDDEN'] },
        { name: 'no token', query: UPDATE, variables: { id: northLine.id, input: { budgetAmount: 1 } }, token: 'none', expected: ['UNAUTHENTICATED'] },
        { name: 'garbage token', query: '{ me { email } }', token: 'garbage', expected: ['UNAUTHENTICATED'] },
      ];
      const tokens: Record<string, string | undefined> = { admin, viewer, none: undefined, garbage: 'not.a.jwt' };
      for (const c of cases) {
        const token = c.token ? tokens[c.token] : lead;
        const operationName = c.name === 'unknown operation name' ? 'Nope' : undefined;
        const answer = await http.gql(c.query, c.variables, token, operationName);
        expect(answer.status, c.name).toBeLessThan(500);
        expect([...new Set(codes(answer))], c.name).toEqual(c.expected);
        expect(answer.json!.data?.updateBudgetLine ?? null, c.name).toBeNull();
      }

      // A value JSON itself can carry but GraphQL's Float cannot (1e400 parses as Infinity).
      const infinite = await http.post(
        `{"query": ${JSON.stringify(UPDATE)}, "variables": {"id": "${northLine.id}", "input": {"budgetAmount": 1e400}}}`,
        {},
        lead,
      );
      expect(codes(infinite)).toEqual(['BAD_USER_INPUT']);

      expect(await storedState(server)).toBe(before);
      // Still up and serving.
      const lines = await http.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead);
      expect(lines.json!.data.budgetLines).toHaveLength(120);
    });
  });

  describe('operational endpoints', () => {
    it('answers /healthz and /readyz with 200', async () => {
      const health = await http.request('/healthz');
      expect(health.status).toBe(200);
      const ready = await http.request('/readyz');
      expect(ready.status).toBe(200);
    });

    it('serves Prometheus text on /metrics with plansync_ metrics', async () => {
      await http.gql('{ me { email } }', {}, lead);
      const metrics = await http.request('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toMatch(/^text\/plain/);
      expect(metrics.text).toMatch(/^# HELP plansync_/m);
      expect(metrics.text).toMatch(/^# TYPE plansync_http_requests_total counter$/m);
      expect(metrics.text).toMatch(/^plansync_http_requests_total\{route="\/graphql",status="2xx"\} \d+/m);
      expect(metrics.text).toMatch(/^plansync_graphql_operations_total\{type="query",outcome="ok"\} \d+/m);
      expect(metrics.text).toMatch(/^plansync_process_cpu_seconds_total /m);
    });

    it('shows the Apollo landing page and allows introspection outside production', async () => {
      const intro = await http.gql('{ __schema { queryType { name } types { name } } }', {});
      expect(intro.json!.errors).toBeUndefined();
      expect(intro.json!.data.__schema.queryType.name).toBe('Query');
      const type = await http.gql('{ __type(name: "BudgetLine") { fields { name } } }', {});
      expect(type.json!.data.__type.fields.map((f: { name: string }) => f.name)).toContain('budgetAmount');
      // Browsers get Apollo's landing page here, which is what production mode must not show.
      const page = await http.request('/graphql', { headers: { accept: 'text/html' } });
      expect(page.contentType).toContain('text/html');
      expect(page.text).toMatch(LANDING_PAGE);
    });
  });
});

describe('readiness without the database', () => {
  let server: TestServer;
  let admin: pg.Client;
  let database: string;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    database = new URL(server.databaseUrl).pathname.slice(1);
    token = await server.login('analyst@example.com');
    admin = new pg.Client({ connectionString: inject('postgresServerUrl') });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin?.end();
    await server?.stop();
  });

  it('answers /readyz 503 while the database is unreachable, 200 again once it is back', async () => {
    const http = client(server);
    expect((await http.request('/readyz')).status).toBe(200);
    // Nobody may connect to the server's database, and its open connections are cut.
    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);

    const down = await http.request('/readyz');
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ database: 'down' });
    expect(down.text).not.toMatch(/allow|connect|postgres|terminat/i);
    // Alive, though not ready: liveness does not depend on the database.
    expect((await http.request('/healthz')).status).toBe(200);
    // GraphQL answers a masked error instead of hanging or crashing.
    const gql = await http.gql('{ me { email } }', {}, token);
    expect(codes(gql)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(gql.text).not.toMatch(/allow|connect|postgres|terminat/i);

    await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    const up = await http.request('/readyz');
    expect(up.status).toBe(200);
    expect((await http.gql('{ me { email } }', {}, token)).json!.data.me.email).toBe('analyst@example.com');
  });
});

describe('production mode', () => {
  let server: TestServer;
  let http: ReturnType<typeof client>;

  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'production' });
    http = client(server);
  });
  afterAll(() => server?.stop());

  it('reads production mode from the environment it is given', () => {
    expect(server.app.services.config.production).toBe(true);
  });

  it('refuses introspection', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Query") { fields { name } } }']) {
      const answer = await http.gql(query, {}, await server.login('admin@example.com'));
      expect(codes(answer), query).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(answer.json!.data, query).toBeUndefined();
    }
    // Ordinary operations still work.
    const token = await server.login('analyst@example.com');
    expect((await http.gql('{ budgetPlans { name } }', {}, token)).json!.data.budgetPlans).toEqual([{ name: 'FY2027 Budget' }]);
  });

  it('shows no Apollo landing page', async () => {
    for (const path of ['/graphql', '/']) {
      const page = await http.request(path, { headers: { accept: 'text/html' } });
      expect(page.text, path).not.toMatch(LANDING_PAGE);
    }
    const graphql = await http.request('/graphql', { headers: { accept: 'text/html' } });
    expect(graphql.contentType).not.toContain('text/html');
  });

  it('masks errors the same way', async () => {
    const answer = await http.gql('{ me { email ', {});
    expect(codes(answer)).toEqual(['GRAPHQL_PARSE_FAILED']);
    const unauth = await http.gql('{ me { email } }', {});
    expect(codes(unauth)).toEqual(['UNAUTHENTICATED']);
  });
});
