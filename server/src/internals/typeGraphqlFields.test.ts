import { execute, isObjectType, parse, printSchema, type GraphQLField, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { describe, expect, it } from 'vitest';
import { createPlansyncBus } from '../events.js';
import { resolvers } from '../schema.js';
import { replaceFieldResolver, replaceSubscriptionResolve, wrapFieldResolver, wrapRootResolvers } from './typeGraphqlFields.js';

const HINT = 'See server/src/internals/typeGraphqlFields.ts and how this type-graphql version builds fields (build/cjs/schema/schema-generator.js, resolvers/create.js).';

/** Our resolvers as type-graphql builds them, before schema.ts replaces anything. */
function buildRaw(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: [...resolvers], pubSub: createPlansyncBus(), validate: false });
}

function field(schema: GraphQLSchema, typeName: string, fieldName: string): GraphQLField<unknown, unknown> {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) throw new Error(`${typeName} is not an object type`);
  return type.getFields()[fieldName];
}

const LINE = { id: 'line-1', businessUnit: { id: 'unit-1' }, updatedBy: null };
const lineChanged = parse('subscription { budgetLineChanged(planId: "plan-1") { businessUnit { id } } }');

describe("type-graphql's built field resolvers (internals/typeGraphqlFields.ts), on our own resolvers", () => {
  it('builds the fields schema.ts replaces as resolved fields without arguments', async () => {
    const schema = await buildRaw();
    for (const name of ['businessUnit', 'updatedBy']) {
      const built = field(schema, 'BudgetLine', name);
      expect(typeof built.resolve, `type-graphql no longer builds BudgetLine.${name} with a resolve function. ${HINT}`).toBe('function');
      expect(built.args).toEqual([]);
    }
  });

  it("replaces a field's resolver in that schema only: graphql-js calls ours with parent and context", async () => {
    const schema = await buildRaw();
    const printed = printSchema(schema);
    replaceSubscriptionResolve<{ line: typeof LINE }>(schema, 'budgetLineChanged', (event) => event!.line);
    replaceFieldResolver<typeof LINE, { marker: string }>(schema, 'BudgetLine', 'businessUnit', (line, context) => ({
      id: `${line.businessUnit.id} via ${context.marker}`,
    }));
    expect(printSchema(schema)).toBe(printed);
    const result = execute({ schema, document: lineChanged, rootValue: { line: LINE }, contextValue: { marker: 'direct' } });
    expect(result, `graphql-js did not call the replaced resolvers (or not synchronously). ${HINT}`).toEqual({
      data: { budgetLineChanged: { businessUnit: { id: 'unit-1 via direct' } } },
    });
    const other = await buildRaw();
    expect(
      field(other, 'BudgetLine', 'businessUnit').resolve,
      `type-graphql now shares field objects between builds: a replacement would leak into every schema. ${HINT}`,
    ).not.toBe(field(schema, 'BudgetLine', 'businessUnit').resolve);
  });

  it('builds subscription roots with subscribe and an asynchronous resolve (they take @Arg): the reason to replace it', async () => {
    const schema = await buildRaw();
    for (const name of ['workflowEvents', 'budgetLineChanged', 'submissionStatusChanged']) {
      const root = field(schema, 'Subscription', name);
      expect(typeof root.subscribe, `type-graphql no longer builds Subscription.${name} with subscribe. ${HINT}`).toBe('function');
      expect(typeof root.resolve, `type-graphql no longer builds Subscription.${name} with resolve. ${HINT}`).toBe('function');
    }
    const result = execute({ schema, document: lineChanged, rootValue: { line: LINE } });
    expect(
      result instanceof Promise,
      `type-graphql now resolves a subscription root with arguments synchronously: replaceSubscriptionResolve may no longer be needed. ${HINT}`,
    ).toBe(true);
    await result;
  });

  it("keeps type-graphql's subscribe when the resolve is replaced", async () => {
    const schema = await buildRaw();
    const root = field(schema, 'Subscription', 'budgetLineChanged');
    const subscribe = root.subscribe;
    const resolve = root.resolve;
    replaceSubscriptionResolve(schema, 'budgetLineChanged', () => null);
    expect(root.subscribe).toBe(subscribe);
    expect(root.resolve).not.toBe(resolve);
  });

  it('refuses what it cannot replace without skipping something type-graphql does', async () => {
    const schema = await buildRaw();
    expect(() => replaceFieldResolver(schema, 'Query', 'budgetLines', () => null)).toThrow(/Query\.budgetLines is not a resolved field without arguments/);
    expect(() => replaceFieldResolver(schema, 'BudgetLine', 'nothing', () => null)).toThrow(/BudgetLine\.nothing/);
    expect(() => replaceSubscriptionResolve(schema, 'nothing', () => null)).toThrow(/Subscription\.nothing/);
  });

  it("wraps root resolvers around type-graphql's own, which still runs (with its arguments) when the wrapper calls on", async () => {
    const schema = await buildRaw();
    for (const root of [schema.getQueryType()!, schema.getMutationType()!]) {
      for (const f of Object.values(root.getFields())) {
        expect(typeof f.resolve, `type-graphql no longer builds ${root.name}.${f.name} with a resolve function. ${HINT}`).toBe('function');
      }
    }
    const seen: string[] = [];
    wrapRootResolvers<{ refuse: boolean }>(
      schema,
      (coordinate) => coordinate === 'Query.workflowDefinitions',
      (context, next) => {
        seen.push(context.refuse ? 'refused' : 'passed');
        if (context.refuse) throw new Error('refused by the wrapper');
        return next();
      },
    );
    const document = parse('{ workflowDefinitions { key } }');
    const refused = await execute({ schema, document, contextValue: { refuse: true } });
    expect(refused.errors?.[0].message).toBe('refused by the wrapper');
    const passed = await execute({ schema, document, contextValue: { refuse: false, viewer: null } });
    // type-graphql's resolver ran: it answered (or refused) for itself, not the wrapper.
    expect(passed.errors?.[0]?.message ?? '').not.toBe('refused by the wrapper');
    expect(seen).toEqual(['refused', 'passed']);
  });

  it('wraps a nested field resolver the same way, and refuses a field without one', async () => {
    const schema = await buildRaw();
    for (const name of ['users', 'studioCompanies', 'systemGroups']) {
      expect(typeof field(schema, 'Organization', name).resolve, `type-graphql no longer builds Organization.${name} with a resolve function. ${HINT}`).toBe('function');
    }
    const seen: string[] = [];
    wrapFieldResolver<unknown>(schema, 'Organization', 'users', (_context, next) => {
      seen.push('wrapped');
      return next();
    });
    const resolve = field(schema, 'Organization', 'users').resolve!;
    try {
      await resolve({ id: 'org-1' }, {}, { viewer: null }, {} as never);
    } catch {
      // type-graphql's own resolver ran and refused (no viewer): what matters is that the wrapper ran first.
    }
    expect(seen).toEqual(['wrapped']);
    expect(() => wrapFieldResolver(schema, 'Organization', 'nothing', (_c, next) => next())).toThrow(/Organization\.nothing has no resolver/);
  });
});
