/**
 * The OData feed's query options, fuzzed against a real server and PostgreSQL: $filter strings built from the
 * grammar (every property of every set, every operator and function, literals of every kind, valid and not:
 * impossible dates, huge and non-finite numbers, quotes, NULs, non-ASCII, SQL text), mutated (cut, spliced,
 * characters inserted), and plain random text; with random $orderby, $select, $top, $skip, $count and
 * $skiptoken, as an admin and as a leader of one unit.
 *
 * Every answer is 200 or 400, never a 500 or a dropped connection: a 200 is a JSON page (a leader's rows all of
 * their unit), a 400 an OData error with the contract's code. After the runs the server still answers.
 * `npm run fuzz` runs it FUZZ_SCALE times longer; FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { fuzzParams } from '../testing/fuzzBudget.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { ENTITY_SETS } from './entitySets.js';

const OPERATORS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'EQ', 'has', 'add', 'in'];
const FUNCTIONS = ['contains', 'startswith', 'endswith', 'tolower', 'length', 'substringof', 'year'];
const LITERALS = [
  "'Q1'",
  "'North America'",
  "'it''s'",
  "'%_\\'",
  "''",
  "'é漢字🙂'",
  "'\u0000'",
  "'; DROP TABLE budget_line; --'",
  '0',
  '-1',
  '2027',
  '1.5',
  '-0.0',
  '1e308',
  '1.0e400',
  '99999999999999999999',
  '2147483648',
  '-9223372036854775809',
  'INF',
  '-INF',
  'NaN',
  'null',
  'true',
  'false',
  '2026-12-03T15:00:00Z',
  '2026-12-03T15:00:00.1234567+01:00',
  '2026-02-30T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0001-01-01T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-12-03T25:00:00-14:59',
  '2026-12-03',
  '15:00:00',
  'duration\'P1D\'',
  '8f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b',
  '00000000-0000-0000-0000-000000000000',
  "binary'AAA='",
  'Plansync.Color\'Red\'',
  '@p',
  '$it',
];

const propertyNames = [...new Set(ENTITY_SETS.flatMap((s) => s.properties.map((p) => p.name))), 'Nope', 'Id/Name', 'l.id', '"Id"'];

const property = fc.constantFrom(...propertyNames);
const literal = fc.oneof(fc.constantFrom(...LITERALS), fc.integer().map(String), fc.double({ noNaN: false }).map(String), fc.string({ maxLength: 8 }).map((s) => `'${s.replace(/'/g, "''")}'`));

const { expr } = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(property, fc.constantFrom(...OPERATORS), literal).map(([p, o, l]) => `${p} ${o} ${l}`),
    fc.tuple(literal, fc.constantFrom(...OPERATORS), property).map(([l, o, p]) => `${l} ${o} ${p}`),
    fc.tuple(fc.constantFrom(...FUNCTIONS), property, literal).map(([f, p, l]) => `${f}(${p},${l})`),
    fc.tuple(tie('expr'), fc.constantFrom('and', 'or', 'AND'), tie('expr')).map(([a, o, b]) => `${a} ${o} ${b}`),
    tie('expr').map((e) => `not ${e}`),
    tie('expr').map((e) => `(${e})`),
    fc.tuple(property, fc.constantFrom(...OPERATORS), property).map(([a, o, b]) => `${a} ${o} ${b}`),
  ),
}));

/** A filter: from the grammar, a grammar one mutated, or any text. */
const filterText = fc.oneof(
  expr,
  expr,
  expr,
  fc.tuple(expr, fc.nat(), fc.nat()).map(([e, a, b]) => e.slice(Math.min(a, b) % (e.length + 1), Math.max(a, b) % (e.length + 1) || undefined)),
  fc.tuple(expr, fc.nat(), fc.constantFrom('(', ')', "'", ' ', ',', '/', '$', '%', '\u0000', '&', '#', '+')).map(([e, i, c]) => e.slice(0, i % (e.length + 1)) + c + e.slice(i % (e.length + 1))),
  fc.string({ maxLength: 40 }),
  fc.nat({ max: 400 }).map((n) => `${'('.repeat(n)}Quarter eq 'Q1'${')'.repeat(n)}`),
  // Long, but within what an HTTP request line may hold (Node answers 431 beyond 16 KB of headers).
  fc.nat({ max: 300 }).map((n) => Array.from({ length: n + 1 }, () => `Quarter eq 'Q1'`).join(' or ')),
);

const someOptions = fc.record(
  {
    $orderby: fc.oneof(fc.constantFrom('BudgetAmount desc', 'Id', 'UpdatedAt desc,Region', 'Nope', 'Id asc asc', ''), property),
    $select: fc.oneof(fc.constantFrom('Id,Quarter', '*', 'Nope', '', 'Id,,Region'), property),
    $top: fc.oneof(fc.nat({ max: 50 }).map(String), fc.constantFrom('-1', '1e3', 'x', '99999999999999999999')),
    $skip: fc.oneof(fc.nat({ max: 700 }).map(String), fc.constantFrom('-1', '0.5')),
    $count: fc.constantFrom('true', 'false', 'TRUE', '1'),
  },
  { requiredKeys: [] },
);
const skipToken = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.array(fc.oneof(fc.constant(null), fc.string({ maxLength: 12 }), fc.constantFrom('8f2a3b4c-1d2e-4f50-8a9b-0c1d2e3f4a5b', '1e999', '2026-12-03 15:00:00+00', '99999999999999999999')), { maxLength: 3 })
    .map((a) => Buffer.from(JSON.stringify({ a, r: null })).toString('base64url')),
);
/** Mostly the filter alone or with valid-looking options, so that most requests reach PostgreSQL. */
const otherOptions = fc.oneof(
  fc.constant({}),
  fc.constant({}),
  someOptions,
  fc.tuple(someOptions, skipToken).map(([o, $skiptoken]) => ({ ...o, $skiptoken })),
);

describe('OData query options, fuzzed', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    server = await startTestServer();
    tokens.admin = await server.login('admin@example.com');
    tokens.lead = await server.login('lead.sales-north@example.com');
  }, 60_000);
  afterAll(() => server?.stop());

  it('answers every $filter and option with 200 or a 400 OData error, never a 500, and a leader only their unit', async () => {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        filterText,
        otherOptions,
        fc.constantFrom('admin', 'lead'),
        fc.constantFrom(...ENTITY_SETS.map((s) => s.name)),
        async (filter, options, who, set) => {
          const params = [['$filter', filter], ...Object.entries(options)].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const res = await fetch(`${server.url}/odata/${set}?${params}`, { headers: { authorization: `Bearer ${tokens[who]}` } });
          const text = await res.text();
          expect([200, 400], `${res.status} ${set}?${params}: ${text.slice(0, 300)}`).toContain(res.status);
          const body = JSON.parse(text);
          if (res.status === 400) {
            expect(body.error.code).toBe(ErrorCode.BAD_USER_INPUT);
            expect(typeof body.error.message).toBe('string');
            return;
          }
          expect(Array.isArray(body.value)).toBe(true);
          answered++;
          if (who === 'lead' && (set === 'BudgetLines' || set === 'CellChanges' || set === 'BudgetSubmissions')) {
            for (const row of body.value) if ('BusinessUnitCode' in row) expect(row.BusinessUnitCode).toBe('SALES_NORTH');
          }
        },
      ),
      {
        ...fuzzParams(60),
        // Valid requests run every time besides the random ones (which, across five sets and every property name,
        // are mostly refused): the 200 path, the leader's scope check included, is always exercised.
        examples: [
          [`Quarter eq 'Q1' and (BudgetAmount gt 5 or BudgetAmount eq null)`, {}, 'lead', 'BudgetLines'],
          [`contains(Comment,'north') or not startswith(Region,'E')`, { $orderby: 'UpdatedAt desc,Region', $top: '5', $count: 'true' }, 'admin', 'BudgetLines'],
          [`Column eq 'budgetAmount'`, { $select: 'Id,Column' }, 'lead', 'CellChanges'],
        ],
      },
    );
    // The valid examples got past the checks to PostgreSQL and answered 200.
    expect(answered).toBeGreaterThanOrEqual(3);
    const after = await fetch(`${server.url}/odata/BudgetLines?$top=1`, { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(after.status).toBe(200);
  }, 600_000);
});
