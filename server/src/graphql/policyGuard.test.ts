/**
 * The guard that makes a root field fail when it answers without asking the policies: on a schema of its
 * own (a resolver that forgets, one that asks, before or after an await, and a subscription), and on the
 * real schema (every root field guarded, or named open with a reason).
 */
import { execute, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, subscribe, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createPlansyncBus } from '../events.js';
import { can } from '../policies/authorize.js';
import type { Viewer } from '../policies/viewer.js';
import { buildPlansyncSchema, OPEN_ROOT_FIELDS } from '../schema.js';
import { GUARDED, guardRootFields, UncheckedResolverError } from './policyGuard.js';

const admin: Viewer = { userId: 'u1', email: 'a@example.com', role: 'ADMIN', unitIds: new Set(), organizationId: null, expiresAt: 0 };

function schemaOf(fields: Record<string, () => unknown>, subscriptionField?: () => unknown) {
  const Query = new GraphQLObjectType({
    name: 'Query',
    fields: Object.fromEntries(Object.entries(fields).map(([name, resolve]) => [name, { type: GraphQLString, resolve }])),
  });
  const Subscription = subscriptionField
    ? new GraphQLObjectType({ name: 'Subscription', fields: { ticks: { type: GraphQLString, subscribe: subscriptionField, resolve: (v: unknown) => v } } })
    : undefined;
  return new GraphQLSchema({ query: Query, subscription: Subscription });
}

async function* oneTick() {
  yield 'tick';
}

describe('guardRootFields', () => {
  it('refuses the answer of a resolver that never asked the policies, and passes one that asked', async () => {
    const schema = schemaOf({
      forgets: () => 'rows of every unit',
      asks: () => (can(admin, 'read', 'BusinessUnit', { id: 'unit' }) ? 'allowed rows' : null),
      asksAfterAwait: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return can(admin, 'read', 'BusinessUnit', { id: 'unit' }) ? 'allowed later' : null;
      },
      forgetsAsync: async () => 'rows, later',
    });
    guardRootFields(schema, {});
    const result = (await execute({ schema, document: parse('{ forgets asks asksAfterAwait forgetsAsync }') })) as ExecutionResult;
    expect(result.data).toEqual({ forgets: null, asks: 'allowed rows', asksAfterAwait: 'allowed later', forgetsAsync: null });
    expect(result.errors?.map((e) => e.originalError)).toEqual([expect.any(UncheckedResolverError), expect.any(UncheckedResolverError)]);
    expect(result.errors?.map((e) => e.path?.[0]).sort()).toEqual(['forgets', 'forgetsAsync']);
  });

  it('one consultation does not count for another resolver running at the same time', async () => {
    const schema = schemaOf({
      asksSlowly: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return can(admin, 'read', 'BusinessUnit', { id: 'unit' }) ? 'asked' : null;
      },
      forgetsMeanwhile: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return 'unchecked';
      },
    });
    guardRootFields(schema, {});
    const result = (await execute({ schema, document: parse('{ asksSlowly forgetsMeanwhile }') })) as ExecutionResult;
    expect(result.data).toEqual({ asksSlowly: 'asked', forgetsMeanwhile: null });
    expect(result.errors?.[0].originalError).toBeInstanceOf(UncheckedResolverError);
  });

  it('guards a subscription where it starts (subscribe), and lets open fields through', async () => {
    const schema = schemaOf({ health: () => 'ok' }, () => oneTick());
    guardRootFields(schema, { 'Query.health': 'no rows' });
    const refused = (await subscribe({ schema, document: parse('subscription { ticks }') })) as ExecutionResult;
    expect(refused.errors?.[0].originalError).toBeInstanceOf(UncheckedResolverError);
    const open = (await execute({ schema, document: parse('{ health }') })) as ExecutionResult;
    expect(open).toEqual({ data: { health: 'ok' } });
  });

  it('refuses an open-field list that names a field the schema does not have (it cannot go stale)', () => {
    expect(() => guardRootFields(schemaOf({ health: () => 'ok' }), { 'Query.gone': 'removed long ago' })).toThrow(/Query\.gone/);
  });
});

describe('the Plansync schema', () => {
  it('guards every root field but the open ones, each open with a reason', async () => {
    const schema = await buildPlansyncSchema(createPlansyncBus());
    const roots = [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!];
    const unguarded: string[] = [];
    let guarded = 0;
    for (const root of roots) {
      for (const field of Object.values(root.getFields())) {
        const coordinate = `${root.name}.${field.name}`;
        if (field.extensions[GUARDED]) guarded += 1;
        else if (!(coordinate in OPEN_ROOT_FIELDS)) unguarded.push(coordinate);
      }
    }
    expect(unguarded).toEqual([]);
    expect(guarded).toBeGreaterThanOrEqual(18);
    for (const reason of Object.values(OPEN_ROOT_FIELDS)) expect(reason.length).toBeGreaterThan(10);
  });
});
