#!/usr/bin/env node
// The reference for Plansync's GraphQL reads (bench/run.mjs starts it): graphql-js alone on a plain node:http
// server. One query, `budgetLines(planId, businessUnitCode): [BudgetLine!]!`, of the same shape as Plansync's
// (BudgetLine { id businessUnit { code name } productCategory region quarter position priorYearActual
// budgetAmount forecastSales comment version updatedAt updatedBy { email } }), whose resolver reads the same
// PostgreSQL database with pg: one query joining the unit and the last editor, its rows handed to graphql-js
// as they come. No authentication, no authorisation, no ORM, no validation rules beyond graphql-js's. Parsed
// and validated documents are cached by their text (as Apollo Server caches them), so each request runs
// graphql-js `execute`.
//
//   GET /healthz   200
//   POST /graphql  { query, variables, operationName }
// Environment: PORT, HOST (default 127.0.0.1), PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, POOL_SIZE (10).
import http from 'node:http';
import {
  execute,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  parse,
  validate,
} from 'graphql';
import pg from 'pg';

const pool = new pg.Pool({ max: Number(process.env.POOL_SIZE ?? 10) });
// An idle client whose server went away (PostgreSQL stopping) must not take the process down.
pool.on('error', () => undefined);

const DateTimeISO = new GraphQLScalarType({
  name: 'DateTimeISO',
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
});
const nn = (t) => new GraphQLNonNull(t);
const BusinessUnit = new GraphQLObjectType({ name: 'BusinessUnit', fields: { id: { type: nn(GraphQLID) }, code: { type: nn(GraphQLString) }, name: { type: nn(GraphQLString) } } });
const User = new GraphQLObjectType({ name: 'User', fields: { id: { type: nn(GraphQLID) }, email: { type: nn(GraphQLString) } } });
// A line is the SQL row itself: its columns are named after the fields (below), so graphql-js's default
// resolvers read them; only the two objects joined in are put together, by their own field resolvers.
const BudgetLine = new GraphQLObjectType({
  name: 'BudgetLine',
  fields: {
    id: { type: nn(GraphQLID) },
    businessUnit: { type: nn(BusinessUnit), resolve: (row) => ({ id: row.unitId, code: row.unitCode, name: row.unitName }) },
    productCategory: { type: nn(GraphQLString) },
    region: { type: nn(GraphQLString) },
    quarter: { type: nn(GraphQLString) },
    position: { type: nn(GraphQLInt) },
    priorYearActual: { type: GraphQLFloat },
    budgetAmount: { type: GraphQLFloat },
    forecastSales: { type: GraphQLFloat },
    comment: { type: nn(GraphQLString) },
    version: { type: nn(GraphQLInt) },
    updatedAt: { type: nn(DateTimeISO) },
    updatedBy: { type: User, resolve: (row) => (row.userId ? { id: row.userId, email: row.userEmail } : null) },
  },
});

// Written for this reference, not taken from Plansync (server/src/budget/lineQueries.ts): a reference that
// imported or copied our query and row mapping would measure our code twice and could never show that ours
// does too much. It answers the same rows the way a graphql-js server written from scratch would.
const LINES_SQL = `
  SELECT l.id, l.product_category AS "productCategory", l.region, l.quarter, l.position,
         l.prior_year_actual AS "priorYearActual", l.budget_amount AS "budgetAmount", l.forecast_sales AS "forecastSales",
         l.comment, l.version, l.updated_at AS "updatedAt",
         u.id AS "unitId", u.code AS "unitCode", u.name AS "unitName", a.id AS "userId", a.email AS "userEmail"
    FROM budget_line l
    JOIN business_unit u ON u.id = l.business_unit_id
    LEFT JOIN app_user a ON a.id = l.updated_by_id
   WHERE l.plan_id = $1 AND ($2::text IS NULL OR u.code = $2)
   ORDER BY u.code, l.position`;

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      budgetLines: {
        type: nn(new GraphQLList(nn(BudgetLine))),
        args: { planId: { type: nn(GraphQLID) }, businessUnitCode: { type: GraphQLString } },
        resolve: async (_root, { planId, businessUnitCode }) => (await pool.query(LINES_SQL, [planId, businessUnitCode ?? null])).rows,
      },
    },
  }),
});

/** Parsed and validated documents by query text. */
const documents = new Map();
function prepare(query) {
  let entry = documents.get(query);
  if (!entry) {
    try {
      const document = parse(query);
      const errors = validate(schema, document);
      entry = errors.length ? { errors } : { document };
    } catch (err) {
      entry = { errors: [err] };
    }
    if (documents.size < 1000) documents.set(query, entry);
  }
  return entry;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return void res.writeHead(200).end('ok');
  if (req.method !== 'POST' || req.url !== '/graphql') return void res.writeHead(404).end();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { errors: [{ message: 'Invalid JSON' }] });
    }
    const prepared = prepare(String(body.query ?? ''));
    if (prepared.errors) return send(res, 400, { errors: prepared.errors.map((e) => ({ message: e.message })) });
    const result = await execute({ schema, document: prepared.document, variableValues: body.variables, operationName: body.operationName });
    send(res, 200, result);
  });
});
server.keepAliveTimeout = 65_000;

const port = Number(process.env.PORT ?? 4200);
server.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${port}`));
const stop = () => pool.end().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
