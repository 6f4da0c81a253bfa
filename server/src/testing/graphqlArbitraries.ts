/**
 * fast-check generators of GraphQL operations for the fuzz suites, built from the checked-in contract schema
 * (schema/schema.graphql): real operation, field, argument and enum names with right and wrong arguments,
 * selections of any depth, fragments, directives and variables; mutated copies of such documents (tokens
 * deleted, swapped, repeated, replaced); hand-made hostile shapes (deep nesting, alias floods, fragment
 * cycles and fan-outs, NUL bytes, odd unicode, huge strings); and plain garbage.
 *
 * Values come from a `FuzzWorld` of real ids and names, so that generated operations get past parsing and
 * validation often enough to reach the resolvers' own checks, and name rows of other units and people.
 * Out of scope: sending anything (the suites do), and knowing what a right answer is.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

/** The contract's schema, as checked in (a test keeps it equal to what the server builds). */
export function contractSchema(): GraphQLSchema {
  const file = fileURLToPath(new URL('../../../schema/schema.graphql', import.meta.url));
  return buildSchema(fs.readFileSync(file, 'utf8'));
}

/** Real values the generators draw from, beside made-up ones. */
export interface FuzzWorld {
  planIds: string[];
  lineIds: string[];
  unitCodes: string[];
  userIds: string[];
  executionIds: string[];
  emails: string[];
  /** Workflow definition and step keys. */
  keys: string[];
}

export interface GeneratedOperation {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

type Gen = fc.GeneratorValue;

const pick = <T>(g: Gen, items: readonly T[]): T => items[g(fc.nat, { max: items.length - 1 })];
const chance = (g: Gen, percent: number): boolean => g(fc.nat, { max: 99 }) < percent;

/** Strings meant to hurt: NUL, lone surrogates, direction marks, over-long, SQL-ish, JSON-ish, numeric-ish. */
export const hostileStrings: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'NaN',
    'Infinity',
    '-Infinity',
    '1e400',
    '-0',
    '0x1f',
    '9007199254740993',
    'null',
    'undefined',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    'a\u0000b',
    '\u0000',
    '\ud800',
    '\udfff\ud800',
    '\u202e\u2066evil',
    '\ufeff',
    'e\u0301\u0301\u0301',
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🧨👩‍👩‍👧',
    "' OR '1'='1",
    "'; DROP TABLE budget_line; --",
    '%E0%A4%A',
    '../../etc/passwd',
    'budget:00000000-0000-0000-0000-000000000000:SALES_NORTH',
    '=HYPERLINK("x")',
    '<script>alert(1)</script>',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(1999, 2000, 2001, 5000, 70_000).map((n) => 'x'.repeat(n)),
);

/** Numbers at and beyond every edge a resolver or column has (JSON turns NaN and the infinities into null). */
export const hostileNumbers: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -1e-300, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e12, 1e12 + 1, 1e15, 1e21, 1e308, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.integer(),
  fc.double(),
  fc.integer({ min: -5, max: 600 }),
);

/** Any JSON value a client might send, including deep and long ones. */
export function hostileValue(world: FuzzWorld): fc.Arbitrary<unknown> {
  const real = fc.constantFrom<unknown>(...world.planIds, ...world.lineIds, ...world.unitCodes, ...world.userIds, ...world.executionIds, ...world.emails, ...world.keys);
  return fc.oneof(
    { arbitrary: real, weight: 3 },
    { arbitrary: hostileStrings, weight: 3 },
    { arbitrary: hostileNumbers, weight: 3 },
    { arbitrary: fc.constantFrom(null, true, false), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
    { arbitrary: fc.constantFrom(10, 1000, 20_000).map((n) => Array.from({ length: n }, (_, i) => i)), weight: 1 },
    { arbitrary: fc.constantFrom(50, 3000).map((depth) => nested(depth)), weight: 1 },
    { arbitrary: fc.constantFrom(99, 101, 2500).map((depth) => nestedArray(depth)), weight: 1 },
    { arbitrary: fc.array(real, { maxLength: 8 }), weight: 1 },
  );
}

/** `{ "a": { "a": ... 1 } }`, `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** `[[[ ... 1 ]]]`, `depth` levels deep. */
function nestedArray(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A GraphQL type written as in a variable definition (`[ID!]!`). */
function typeText(type: GraphQLInputType): string {
  return String(type);
}

/** A made-up or real-but-wrong variable type, for definitions that do not match the argument. */
const WRONG_TYPES = ['Int', 'Int!', 'Float', 'String', 'String!', 'ID', 'ID!', 'Boolean', '[ID!]!', '[String]', 'JSON', 'BudgetLineInput', 'Role', 'DateTimeISO', 'Nope', 'User'];

/** Builds one operation against the schema; `g` draws every choice, so fast-check can replay and shrink it. */
export class OperationBuilder {
  private variableDefinitions: string[] = [];
  private variables: Record<string, unknown> = {};
  private fragments: string[] = [];
  private counter = 0;
  /** Whether this document may be wrong anywhere (else only its values may be: a real id of someone else's). */
  private sloppy = false;

  constructor(
    private readonly g: Gen,
    private readonly schema: GraphQLSchema,
    private readonly world: FuzzWorld,
  ) {}

  /** A whole document: one operation (sometimes several), its fragments, and the variables to send with it. */
  build(kinds: ('query' | 'mutation' | 'subscription')[] = ['query', 'query', 'mutation', 'mutation', 'subscription']): GeneratedOperation {
    const g = this.g;
    this.sloppy = chance(g, 30);
    const kind = pick(g, kinds);
    const root = kind === 'query' ? this.schema.getQueryType()! : kind === 'mutation' ? this.schema.getMutationType()! : this.schema.getSubscriptionType()!;
    const fields = Object.values(root.getFields());
    const count = kind === 'subscription' ? 1 : g(fc.integer, { min: 1, max: 3 });
    const selections: string[] = [];
    for (let i = 0; i < count; i++) selections.push(this.field(pick(g, fields), 0, g(fc.integer, { min: 2, max: 12 })));
    const second = chance(g, 10);
    const name = chance(g, 40) || (second && !this.sloppy) ? `Op${g(fc.nat, { max: 3 })}` : undefined;
    const directives = this.wrong(5) ? ` ${this.directive()}` : '';
    const head = name || this.variableDefinitions.length || directives || kind !== 'query' || chance(g, 50) ? `${kind}${name ? ` ${name}` : ''}${this.variableDefinitions.length ? `(${this.variableDefinitions.join(', ')})` : ''}${directives} ` : '';
    const operations = [`${head}{ ${selections.join(' ')} }`];
    // Now and then a second operation in the same document (operationName must then pick one).
    if (second) operations.push(`query Other { me { id } }`);
    const operationName = !this.sloppy || chance(g, 70) ? name : chance(g, 50) ? 'Other' : pick(g, ['', 'Nope', '__proto__', 'x'.repeat(300)]);
    const variables = !this.wrong(10) ? this.variables : (g(() => hostileValue(this.world)) as Record<string, unknown>);
    return { query: [...operations, ...this.fragments].join('\n'), variables, operationName };
  }

  /** True `percent` of the time in a sloppy document, never in a careful one. */
  private wrong(percent: number): boolean {
    return this.sloppy && chance(this.g, percent);
  }

  private field(field: GraphQLField<unknown, unknown>, depth: number, maxDepth: number): string {
    const g = this.g;
    // Careful documents alias every field (no two selections of one name conflict); sloppy ones now and then.
    const alias = !this.sloppy || chance(g, 15) ? `${pick(g, ['a', 'b', 'x', field.name, '__typename'])}${this.counter++}: ` : '';
    const args = field.args
      .map((arg) => {
        const required = isNonNullType(arg.type);
        if (required ? this.wrong(5) : chance(g, 50)) return undefined;
        return `${this.wrong(3) ? pick(g, ['nope', 'first', 'id', 'input']) : arg.name}: ${this.argumentValue(arg.type)}`;
      })
      .filter(Boolean);
    if (this.wrong(3)) args.push(`${pick(g, ['extra', 'id', 'planId'])}: 1`);
    const directives = chance(g, 8) ? ` ${this.sloppy ? this.directive() : pick(g, ['@include(if: true)', '@skip(if: false)', '@skip(if: true)'])}` : '';
    const selection = this.selection(field.type, depth + 1, maxDepth);
    return `${alias}${field.name}${args.length ? `(${args.join(', ')})` : ''}${directives}${selection}`;
  }

  private selection(type: GraphQLOutputType, depth: number, maxDepth: number): string {
    const g = this.g;
    const named = getNamedType(type);
    if (isLeafType(named)) return this.wrong(3) ? ' { id }' : '';
    if (!isObjectType(named)) return '';
    if (depth >= maxDepth) return !this.sloppy || chance(g, 50) ? ' { __typename }' : '';
    const fields = Object.values((named as GraphQLObjectType).getFields());
    const count = g(fc.integer, { min: this.wrong(3) ? 0 : 1, max: 4 });
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(this.field(pick(g, fields), depth, maxDepth));
    if (chance(g, 10)) parts.push('__typename');
    if (chance(g, 8)) parts.push(`... on ${!this.wrong(20) ? named.name : pick(g, ['User', 'BudgetLine', 'Query', 'Nope'])} { ${this.field(pick(g, fields), depth, maxDepth)} }`);
    if (chance(g, 6)) {
      const name = `F${this.counter++}`;
      const on = !this.wrong(15) ? named.name : pick(g, ['User', 'BudgetLine', 'Nope']);
      this.fragments.push(`fragment ${name} on ${on} { ${this.field(pick(g, fields), depth, maxDepth)}${this.wrong(20) ? ` ...${name}` : ''} }`);
      parts.push(`...${name}`);
    }
    return ` { ${parts.join(' ')} }`;
  }

  private directive(): string {
    const g = this.g;
    const variable = this.declare('Boolean', pick(this.g, [true, false, null, 'yes', 1]));
    return pick(g, ['@include(if: true)', '@skip(if: false)', '@skip(if: true)', `@include(if: ${variable})`, '@include', '@deprecated', '@specifiedBy(url: "x")', '@nope', '@include(if: true) @include(if: false)', '@skip(if: "no")']);
  }

  /** Declares a variable and its value; returns `$name`. */
  private declare(type: string, value: unknown): string {
    const name = `v${this.counter++}`;
    this.variableDefinitions.push(`$${name}: ${type}${this.wrong(5) ? ' = null' : ''}`);
    if (value !== undefined) this.variables[name] = value;
    return `$${name}`;
  }

  /** An argument: a literal (right or wrong) or a variable (declared with the right type or not). */
  private argumentValue(type: GraphQLInputType): string {
    const g = this.g;
    if (chance(g, 45)) {
      const declared = !this.wrong(15) ? typeText(type) : pick(g, WRONG_TYPES);
      const value = !this.wrong(30) ? this.value(type, 0) : chance(g, 15) ? undefined : g(() => hostileValue(this.world));
      return this.wrong(3) ? '$undeclared' : this.declare(declared, value);
    }
    return !this.wrong(15) ? this.literal(type, 0) : pick(g, ['null', '"x"', '1', '1.5', 'true', 'ADMIN', '{ a: 1 }', '[1, 2]', '99999999999999999999', '1e400', '"\\u0000"', '""', `"${'y'.repeat(3000)}"`]);
  }

  /** A JSON value for a variable of `type`, usually a right one. */
  private value(type: GraphQLInputType, depth: number, nonNull = false): unknown {
    const g = this.g;
    if (this.wrong(10)) return g(() => hostileValue(this.world));
    if (isNonNullType(type)) return this.value(type.ofType, depth, true);
    if ((!nonNull || this.sloppy) && chance(g, 8)) return null;
    if (isListType(type)) return Array.from({ length: g(fc.integer, { min: 0, max: 4 }) }, () => this.value(type.ofType, depth + 1));
    if (isEnumType(type)) return pick(g, type.getValues().map((v) => v.name));
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) if (chance(g, 60)) out[field.name] = this.value(field.type, depth + 1);
      return out;
    }
    if (isScalarType(type)) return this.scalar(type.name);
    return null;
  }

  private scalar(name: string): unknown {
    const g = this.g;
    const w = this.world;
    switch (name) {
      case 'ID':
        return pick(g, [...w.lineIds, ...w.planIds, ...w.userIds, ...w.executionIds, 'nope', '']);
      case 'String':
        return pick(g, [...w.unitCodes, ...w.keys, ...w.emails, 'plansync-demo', 'a comment', '', g(() => hostileStrings)]);
      case 'Int':
        return pick(g, [0, 1, 5, 100, 500, 501, -1, 2 ** 31, g(() => hostileNumbers)]);
      case 'Float':
        return pick(g, [0, 1, 12.5, 1e12, 1e12 + 1, -1, g(() => hostileNumbers)]);
      case 'Boolean':
        return chance(g, 50);
      case 'DateTimeISO':
        return pick(g, ['2027-01-01T00:00:00Z', 'yesterday', '']);
      default:
        // JSON and anything new: workflow inputs and arbitrary values.
        return pick(g, [{ organizationName: 'Fuzz Co' }, { companies: [{ name: 'F', environment: 'test' }] }, { decision: 'APPROVE', comment: 'ok' }, { organizationId: w.userIds[0] }, {}, g(() => hostileValue(w))]);
    }
  }

  /** A GraphQL literal for `type`, usually a right one. */
  private literal(type: GraphQLInputType, depth: number): string {
    const value = this.value(type, depth);
    return toLiteral(value, isEnumType(getNamedType(type)), depth);
  }
}

/** A JSON value written as a GraphQL literal (enum names unquoted when `enumish`). */
function toLiteral(value: unknown, enumish: boolean, depth: number): string {
  if (depth > 40) return 'null';
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return enumish && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.slice(0, 200).map((v) => toLiteral(v, enumish, depth + 1)).join(', ')}]`;
  return `{ ${Object.entries(value as object)
    .slice(0, 50)
    .map(([k, v]) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(k) ? k : 'bad'}: ${toLiteral(v, enumish, depth + 1)}`)
    .join(', ')} }`;
}

/** An operation from the schema (`kinds` limits which roots). */
export function schemaOperation(schema: GraphQLSchema, world: FuzzWorld, kinds?: ('query' | 'mutation' | 'subscription')[]): fc.Arbitrary<GeneratedOperation> {
  return fc.gen().map((g) => new OperationBuilder(g, schema, world).build(kinds));
}

/** The lexical tokens of a document, whitespace kept, so that a mutation can be written back. */
function tokens(text: string): string[] {
  return text.match(/[_A-Za-z][_0-9A-Za-z]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*"|\.\.\.|\s+|[\s\S]/g) ?? [];
}

const INSERTED_TOKENS = ['{', '}', '(', ')', '[', ']', ':', '$', '$v0', '...', '@include(if: true)', 'fragment', 'on', 'query', 'mutation', 'subscription', '"', '"\\u0000"', '#', '\u0000', '\ufeff', 'é', '𝕏', '\\', '!', '=', '|', '&', '1e400', 'null', '__schema', '__type(name: "Query")', 'me', 'id'];

/** A generated operation with some tokens deleted, swapped, repeated or replaced. */
export function mutatedOperation(schema: GraphQLSchema, world: FuzzWorld): fc.Arbitrary<GeneratedOperation> {
  const names = [
    ...Object.keys(schema.getQueryType()!.getFields()),
    ...Object.keys(schema.getMutationType()!.getFields()),
    ...Object.keys(schema.getSubscriptionType()!.getFields()),
    ...Object.keys(schema.getTypeMap()),
  ];
  return fc.tuple(schemaOperation(schema, world), fc.gen()).map(([operation, g]) => {
    const parts = tokens(operation.query);
    const edits = g(fc.integer, { min: 1, max: 6 });
    for (let i = 0; i < edits && parts.length > 0; i++) {
      const at = g(fc.nat, { max: parts.length - 1 });
      switch (g(fc.nat, { max: 4 })) {
        case 0:
          parts.splice(at, 1);
          break;
        case 1: {
          const other = g(fc.nat, { max: parts.length - 1 });
          [parts[at], parts[other]] = [parts[other], parts[at]];
          break;
        }
        case 2:
          parts.splice(at, 0, ...Array(g(fc.integer, { min: 1, max: 50 })).fill(parts[at]));
          break;
        case 3:
          parts.splice(at, 0, pick(g, INSERTED_TOKENS));
          break;
        default:
          parts[at] = pick(g, names);
      }
    }
    return { ...operation, query: parts.join('') };
  });
}

/** Documents shaped to hurt a parser, a validator or an executor. */
export function hostileDocument(world: FuzzWorld): fc.Arbitrary<GeneratedOperation> {
  const n = fc.constantFrom(1, 5, 11, 15, 16, 40, 200, 1000, 3000);
  return fc.oneof(
    // Deep selections: valid and over the depth limit (introspection nests as deep as asked), and nonsense.
    n.map((d) => ({ query: `{ __type(name: "Query") { ${'ofType { '.repeat(d)}name${' }'.repeat(d)} } }` })),
    n.map((d) => ({ query: `{ me ${'{ me '.repeat(d)}${'}'.repeat(d)} }` })),
    n.map((d) => ({ query: '{'.repeat(d) })),
    n.map((d) => ({ query: `query($x: JSON) { startWorkflow(definitionKey: "new_partner", input: ${'['.repeat(d)}1${']'.repeat(d)}) { id } }` })),
    // Alias floods, of reads and of writes.
    n.map((k) => ({ query: `{ ${Array.from({ length: k }, (_, i) => `a${i}: me { id }`).join(' ')} }` })),
    n.map((k) => ({
      query: `mutation($id: ID!) { ${Array.from({ length: k }, (_, i) => `w${i}: updateBudgetLine(id: $id, input: { budgetAmount: ${i} }) { version }`).join(' ')} }`,
      variables: { id: world.lineIds[k % world.lineIds.length] },
    })),
    // The same field many times without aliases (merged, but validated pairwise).
    n.map((k) => ({ query: `{ ${'me { id email } '.repeat(k)} }` })),
    // Fragment cycles, self-reference, and a fan-out that doubles at every level (2^levels spreads if expanded).
    fc.constant({ query: 'query { me { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }' }),
    fc.constant({ query: 'query { me { ...A } } fragment A on User { ...A }' }),
    fc.constantFrom(10, 20, 40, 60).map((levels) => ({
      query: `{ me { ...F0 } } ${Array.from({ length: levels }, (_, i) => `fragment F${i} on User { id ${i + 1 < levels ? `...F${i + 1} a${i}: email ...F${i + 1}` : ''} }`).join(' ')}`,
    })),
    fc.constantFrom(10, 20, 40).map((levels) => ({
      query: `{ budgetPlans { ...P0 } } ${Array.from({ length: levels }, (_, i) => `fragment P${i} on BudgetPlan { id ${i + 1 < levels ? `...P${i + 1} ... on BudgetPlan { ...P${i + 1} }` : ''} }`).join(' ')}`,
    })),
    // Directives: many, repeated, unknown, on every location.
    n.map((k) => ({ query: `query Q ${'@include(if: true) '.repeat(k)}{ me ${'@skip(if: false) '.repeat(k)}{ id } }` })),
    fc.constant({ query: 'query @nope { me @deprecated { id @specifiedBy(url: "x") } }' }),
    fc.constant({ query: 'directive @x on FIELD query { me { id } }' }),
    // NUL bytes, odd unicode and huge strings in the document.
    fc.constantFrom('{ me\u0000 { id } }', '\u0000', '\ufeff{ me { id } }', '{ mé { id } }', '{ me { id\u200b } }', '{ me { id } }\u0000\u0000', '{ 𝕞𝕖 { id } }', '{ me { id } } # \u0000\ud800').map((q) => ({ query: q })),
    fc.constantFrom(2001, 90_000).map((len) => ({
      query: `mutation { updateBudgetLine(id: "${world.lineIds[0]}", input: { comment: "${'c'.repeat(len)}" }) { id } }`,
    })),
    fc.constantFrom('"\\u0000"', '"\\ud800"', '"""\u0000"""', '"a\\u0000b"', '"\\uD83D\\uDE00"', '"""\\"""x"""').map((s) => ({
      query: `mutation { updateBudgetLine(id: "${world.lineIds[0]}", input: { comment: ${s} }) { id } }`,
    })),
    // Numbers no type holds.
    fc.constantFrom('99999999999999999999999', '1e400', '-1e400', '0x10', '1_000', '01', '.5', '5.', '-0', 'NaN').map((num) => ({
      query: `{ auditLog(first: ${num}) { edges { cursor } } }`,
    })),
    // Introspection of everything, and an introspection query asking for its own cost.
    fc.constant({ query: '{ __schema { types { name fields { name args { name type { name ofType { name ofType { name } } } } } } } }' }),
  );
}

/** Text that is not GraphQL at all, or barely. */
export const garbageDocument: fc.Arbitrary<GeneratedOperation> = fc
  .oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), hostileStrings)
  .map((query) => ({ query }));

/**
 * The contract's writes and reads, well formed, aimed at real rows (other units' lines, other people, real
 * plans) with values right, wrong and hostile: what gets past validation to the resolvers' own checks.
 */
export function targetedOperation(world: FuzzWorld): fc.Arbitrary<GeneratedOperation> {
  const id = fc.oneof({ arbitrary: fc.constantFrom(...world.lineIds), weight: 4 }, { arbitrary: fc.constantFrom(...world.planIds, ...world.userIds, ...world.executionIds), weight: 1 }, { arbitrary: hostileStrings, weight: 1 });
  const unit = fc.oneof({ arbitrary: fc.constantFrom(...world.unitCodes), weight: 4 }, { arbitrary: hostileStrings, weight: 1 });
  const amount = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 100_000 }), weight: 3 }, { arbitrary: hostileNumbers, weight: 2 }, { arbitrary: fc.constant(null), weight: 1 });
  const text = fc.oneof({ arbitrary: fc.constantFrom('fuzz', '', 'a comment'), weight: 2 }, { arbitrary: hostileStrings, weight: 3 });
  const json = fc.oneof(
    fc.constantFrom<unknown>({ organizationName: 'Fuzz Co' }, { companies: [{ name: 'F', environment: 'test' }] }, { decision: 'APPROVE', comment: 'ok' }, { decision: 'REJECT', comment: '' }, { email: 'fuzz@example.com', displayName: 'Fuzz' }, {}),
    hostileValue(world),
  );
  const op = (query: string, variables: fc.Arbitrary<Record<string, unknown>>) => variables.map((v) => ({ query, variables: v }));
  return fc.oneof(
    op(
      'mutation($id: ID!, $input: BudgetLineInput!, $v: Int) { updateBudgetLine(id: $id, input: $input, expectedVersion: $v) { id budgetAmount forecastSales comment version } }',
      fc.record({ id, input: fc.record({ budgetAmount: amount, forecastSales: amount, comment: text }, { requiredKeys: [] }), v: fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 5 }), hostileNumbers) }),
    ),
    op('mutation($p: ID!, $u: String!) { submitBudget(planId: $p, businessUnitCode: $u) { status businessUnit { code } } }', fc.record({ p: fc.oneof(fc.constantFrom(...world.planIds), id), u: unit })),
    op('mutation($u: ID!, $r: Role!, $b: [String!]!) { setUserAccess(userId: $u, role: $r, businessUnitCodes: $b) { id role } }', fc.record({ u: id, r: fc.constantFrom('ADMIN', 'ANALYST', 'BU_LEADER', 'VIEWER', 'PARTNER_ADMIN', 'PARTNER_USER', 'NOPE'), b: fc.array(unit, { maxLength: 3 }) })),
    op('mutation($k: String!, $i: JSON) { startWorkflow(definitionKey: $k, input: $i) { id status } }', fc.record({ k: fc.oneof(fc.constantFrom(...world.keys), hostileStrings), i: json })),
    op('mutation($e: ID!, $s: String!, $i: JSON!) { submitStepInput(executionId: $e, stepKey: $s, input: $i) { id status } }', fc.record({ e: id, s: fc.oneof(fc.constantFrom(...world.keys), hostileStrings), i: json })),
    op('mutation($e: ID!, $s: String!) { retryStep(executionId: $e, stepKey: $s) { id status } }', fc.record({ e: id, s: fc.constantFrom(...world.keys) })),
    op('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', fc.record({ e: fc.oneof(fc.constantFrom('nobody@example.com', 'NOBODY@EXAMPLE.COM '), hostileStrings), p: fc.oneof(fc.constant('plansync-demo'), hostileStrings) })),
    op('mutation { signOut }', fc.constant({})),
    op('query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id comment updatedBy { email } } }', fc.record({ p: fc.oneof(fc.constantFrom(...world.planIds), id), u: fc.oneof(fc.constant(undefined), unit) })),
    op('query($n: Int, $a: String, $l: ID) { auditLog(first: $n, after: $a, lineId: $l) { edges { cursor node { id column user { email } } } } }', fc.record({ n: fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 600 }), hostileNumbers), a: fc.oneof(fc.constant(undefined), hostileStrings), l: fc.oneof(fc.constant(undefined), id) })),
    op('query($n: Int, $a: String, $s: String, $k: String) { workflowExecutions(first: $n, after: $a, status: $s, definitionKey: $k) { edges { node { id status } } eventCursor } }', fc.record({ n: fc.oneof(fc.constant(undefined), hostileNumbers), a: fc.oneof(fc.constant(undefined), hostileStrings), s: fc.oneof(fc.constant(undefined), fc.constantFrom('RUNNING', 'FAILED'), hostileStrings), k: fc.oneof(fc.constant(undefined), fc.constantFrom(...world.keys)) })),
    op('query($e: ID!) { workflowExecution(id: $e) { id steps { key status error } } }', fc.record({ e: id })),
    op('query($p: ID!) { budgetSubmissions(planId: $p) { status canEdit canSubmit canReview submittedBy { email role } } }', fc.record({ p: fc.oneof(fc.constantFrom(...world.planIds), id) })),
    op('query($n: Int!) { signInEvents(first: $n) { email success } users { email role businessUnits { code } } organizations { name } }', fc.record({ n: fc.oneof(fc.integer({ min: -1, max: 2000 }), hostileNumbers) })),
  );
}

/** Any of the above, weighted toward operations that reach the resolvers. */
export function anyOperation(schema: GraphQLSchema, world: FuzzWorld): fc.Arbitrary<GeneratedOperation> {
  return fc.oneof(
    { arbitrary: targetedOperation(world), weight: 6 },
    { arbitrary: schemaOperation(schema, world), weight: 6 },
    { arbitrary: mutatedOperation(schema, world), weight: 3 },
    { arbitrary: hostileDocument(world), weight: 2 },
    { arbitrary: garbageDocument, weight: 1 },
  );
}
