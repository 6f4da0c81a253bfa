/**
 * The cost limit against the documents people really send, and the ones attackers send: every operation of
 * the web client stays under it with the page sizes the client asks for, while the same selections over big
 * pages given through variables, or every line of a plan with wide nested rows, go over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPlansyncBus } from '../events.js';
import { documentCost } from './cost.js';
import { costCheck, LIMITS } from './limits.js';
import { buildPlansyncSchema } from '../schema.js';

const clientSrc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../client/src');

/** The web client's page sizes (useAuditLog's AUDIT_PAGE, SignInLog, WorkflowsPage's PAGE), by operation. */
const CLIENT_PAGES: Record<string, number> = { AuditLog: 50, SignInLog: 50, WorkflowExecutions: 20 };

function clientOperations(): { file: string; name: string; document: DocumentNode }[] {
  const files = fs.readdirSync(clientSrc, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.graphql'));
  return files.flatMap((file) => {
    const document = parse(fs.readFileSync(path.join(clientSrc, file), 'utf8'));
    const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    return document.definitions
      .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
      .map((operation) => ({ file, name: operation.name?.value ?? '(anonymous)', document: { ...document, definitions: [operation, ...fragments] } }));
  });
}

describe('the cost limit', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildPlansyncSchema(createPlansyncBus());
  });

  it("lets every operation of the web client through, with the client's page sizes and every line of a plan", () => {
    const operations = clientOperations();
    expect(operations.length).toBeGreaterThan(10);
    for (const { file, name, document } of operations) {
      const cost = documentCost(schema, document, { first: CLIENT_PAGES[name] });
      expect(cost, `${file} ${name}`).toBeLessThanOrEqual(LIMITS.maxCost);
    }
  });

  it("counts cellHistory as its bound (500 entries): a popover's selection passes, wide nested rows do not", () => {
    const popover = parse(`query($l: ID!) { cellHistory(lineId: $l, column: "budgetAmount") { id oldValue newValue source at user { displayName email } } }`);
    const wide = parse(`query($l: ID!) { cellHistory(lineId: $l, column: "budgetAmount") { id column oldValue newValue source at
      line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
      user { email displayName businessUnits { code name } } } }`);
    const oneRow = parse(`query($l: ID!) { cellHistory(lineId: $l, column: "budgetAmount") { id } }`);
    expect(documentCost(schema, oneRow, {})).toBeGreaterThanOrEqual(500);
    expect(costCheck(schema, popover, {})).toBeNull();
    expect(costCheck(schema, wide, {})?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('counts `first` given through variables, and through a variable default', () => {
    const selection = `edges { cursor node { id column oldValue newValue source at
      line { id budgetAmount businessUnit { code name } updatedBy { email businessUnits { code name } } }
      user { email displayName businessUnits { code name } } } } pageInfo { hasNextPage endCursor }`;
    const viaVariable = parse(`query($n: Int) { auditLog(first: $n) { ${selection} } }`);
    const viaDefault = parse(`query($n: Int = 500) { auditLog(first: $n) { ${selection} } }`);
    const literal = parse(`{ auditLog(first: 500) { ${selection} } }`);
    expect(costCheck(schema, viaVariable, { n: 500 })?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(costCheck(schema, viaDefault, {})?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(documentCost(schema, viaVariable, { n: 500 })).toBe(documentCost(schema, literal, {}));
    expect(costCheck(schema, viaVariable, { n: 5 })).toBeNull();
    // Without `first`, the resolver's page (50) counts, not one row.
    expect(documentCost(schema, viaVariable, {})).toBe(documentCost(schema, viaVariable, { n: 50 }));
  });

  it('counts the fragments a selection spreads, once per spread', () => {
    const inline = parse('query($n: Int) { auditLog(first: $n) { edges { node { id user { email businessUnits { code } } } } } }');
    const spread = parse(`query($n: Int) { auditLog(first: $n) { edges { node { ...Change } } } }
      fragment Change on CellChange { id user { email businessUnits { code } } }`);
    expect(documentCost(schema, spread, { n: 100 })).toBe(documentCost(schema, inline, { n: 100 }));
  });

  it('costs budgetLines per line it can return', () => {
    const wide = parse(`query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) {
      id businessUnit { id code name } productCategory region quarter priorYearActual budgetAmount forecastSales comment version updatedAt
      updatedBy { id email displayName role businessUnits { id code name } organization { id name } } } }`);
    const plan = documentCost(schema, wide, { p: 'x' });
    const unit = documentCost(schema, wide, { p: 'x', u: 'SALES_NORTH' });
    expect(plan).toBe(unit * 5);
    expect(plan).toBeGreaterThan(LIMITS.maxCost);
    expect(unit).toBeLessThan(LIMITS.maxCost);
  });

  it('costs updateBudgetLines per change sent: 5,000 with a few fields pass, wide rows do not', () => {
    const changes = (n: number) => ({ c: Array.from({ length: n }, (_, i) => ({ id: String(i), input: { budgetAmount: i } })) });
    const slim = parse(`mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) {
      updated { id version budgetAmount } rejected { id code message } } }`);
    expect(costCheck(schema, slim, changes(5000))).toBeNull();
    // Each change is updated or rejected: the costlier list counts, once per change sent.
    expect(documentCost(schema, slim, changes(5000))).toBe(2 + 5000 * (2 + 1.5 * 3));
    expect(documentCost(schema, slim, changes(10))).toBe(2 + 10 * (2 + 1.5 * 3));
    // Without the variable (or through a fragment) the most a call may carry counts.
    expect(documentCost(schema, slim, {})).toBe(documentCost(schema, slim, changes(5000)));
    const viaFragment = parse(`mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) { ...R } }
      fragment R on BatchUpdateResult { updated { id } }`);
    expect(documentCost(schema, viaFragment, changes(1))).toBeGreaterThanOrEqual(5000);
    // Asking each of 5,000 lines for its nested rows is what it costs.
    const wide = parse(`mutation($c: [BudgetLineChangeInput!]!) { updateBudgetLines(changes: $c) {
      updated { id businessUnit { id code name } updatedBy { email businessUnits { code name } organization { name } } } } }`);
    expect(costCheck(schema, wide, changes(5000))?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(costCheck(schema, wide, changes(100))).toBeNull();
  });

  it('counts every operation of a document, not only the one that runs', () => {
    const mixed = parse(`query Costly($n: Int = 500) { auditLog(first: $n) { edges { node { id line { updatedBy { businessUnits { code name } } } user { businessUnits { code name } } } } } }
      mutation Write { signOut }`);
    expect(costCheck(schema, mixed, {})).not.toBeNull();
  });
});
