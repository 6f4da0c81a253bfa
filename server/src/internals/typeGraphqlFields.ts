/**
 * Resolvers of fields type-graphql built, replaced after `buildSchema` (schema.ts).
 *
 * Relies on type-graphql 2.0 (checked on 2.0.0-rc.4, build/cjs/schema/schema-generator.js and
 * resolvers/create.js) and graphql-js 16:
 * - `buildSchema` gives a graphql-js schema whose fields carry type-graphql's resolvers as `field.resolve`, and a
 *   subscription root also its `field.subscribe` (which subscribes to the pubSub topics); every build makes new
 *   field objects, so a replaced `resolve` belongs to that schema only;
 * - graphql-js reads `field.resolve` when it executes, so a replacement takes effect for every operation;
 * - type-graphql's resolve runs its dispatch on every call (container lookup, middleware chain, the parameter
 *   list rebuilt and sorted), and is asynchronous for a method with an `@Arg` (argument validation is an async
 *   function even with `validate: false`).
 *
 * Why we reach in: a `budgetLines` answer resolves two relations per line, hundreds of lines, and each
 * went through that dispatch; called directly, the same methods cost a function call (commit 1bda17e; bench
 * scenario 6, budgetLines). A subscription root only shapes the event it is given (its arguments serve
 * `subscribe`), and resolved synchronously a fan-out's shared result is ready at once and goes out to every
 * subscriber in the same turn (realtime/fanout.ts; commits 4c9603c, 5d67246).
 *
 * Fallback: none needed at run time: each function throws while the schema is built when the field is not as
 * described (the server does not start, saying which field), and typeGraphqlFields.test.ts, on a real
 * type-graphql schema, fails first and says what changed. Only fields without middleware, authorisation or
 * arguments of their own may be replaced: nothing type-graphql would have done is skipped.
 *
 * Out of scope: everything type-graphql builds that we do not replace.
 */
import { isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';

function fieldOf(schema: GraphQLSchema, typeName: string, fieldName: string): GraphQLField<unknown, unknown> | undefined {
  const type = schema.getType(typeName);
  return isObjectType(type) ? type.getFields()[fieldName] : undefined;
}

/**
 * Makes `typeName.fieldName` call `resolve(parent, context)` directly instead of type-graphql's dispatch. Throws
 * unless it is a resolved field without arguments.
 */
export function replaceFieldResolver<TParent, TContext>(
  schema: GraphQLSchema,
  typeName: string,
  fieldName: string,
  resolve: (parent: TParent, context: TContext) => unknown,
): void {
  const field = fieldOf(schema, typeName, fieldName);
  if (!field?.resolve || field.args.length > 0) throw new Error(`${typeName}.${fieldName} is not a resolved field without arguments (internals/typeGraphqlFields.ts)`);
  field.resolve = (parent, _args, context) => resolve(parent as TParent, context as TContext);
}

/**
 * Makes subscription root `fieldName` shape each event with `resolve` (synchronously, if it is), keeping
 * type-graphql's `subscribe`. `event` is undefined when the operation is executed without one (over HTTP).
 * Throws unless the root is one type-graphql built with a `subscribe`.
 */
export function replaceSubscriptionResolve<TEvent>(schema: GraphQLSchema, fieldName: string, resolve: (event: TEvent | undefined) => unknown): void {
  const root = schema.getSubscriptionType();
  const field = root ? fieldOf(schema, root.name, fieldName) : undefined;
  if (!field?.subscribe || !field.resolve) throw new Error(`Subscription.${fieldName} is not a subscription root built with subscribe and resolve (internals/typeGraphqlFields.ts)`);
  field.resolve = (event) => resolve(event as TEvent | undefined);
}

/**
 * Wraps the resolver of every Query and Mutation root field that `wrapsField(coordinate)` names, keeping
 * type-graphql's own (its dispatch, middleware and arguments all still run, inside `wrap`): for a check that
 * must come before any root field answers (auth/totpGate.ts). Throws for a root field without a resolver.
 */
export function wrapRootResolvers<TContext>(
  schema: GraphQLSchema,
  wrapsField: (coordinate: string) => boolean,
  wrap: (context: TContext, next: () => unknown) => unknown,
): void {
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const coordinate = `${root.name}.${field.name}`;
      if (!wrapsField(coordinate)) continue;
      const original = field.resolve;
      if (!original) throw new Error(`${coordinate} has no resolver to wrap (internals/typeGraphqlFields.ts)`);
      field.resolve = (source, args, context, info) => wrap(context as TContext, () => original(source, args, context, info));
    }
  }
}

/**
 * Wraps the resolver of `typeName.fieldName` (a field type-graphql built with a resolver of its own), keeping
 * type-graphql's, as wrapRootResolvers does for root fields. Throws when the field has no resolver.
 */
export function wrapFieldResolver<TContext>(schema: GraphQLSchema, typeName: string, fieldName: string, wrap: (context: TContext, next: () => unknown) => unknown): void {
  const field = fieldOf(schema, typeName, fieldName);
  const original = field?.resolve;
  if (!field || !original) throw new Error(`${typeName}.${fieldName} has no resolver to wrap (internals/typeGraphqlFields.ts)`);
  field.resolve = (source, args, context, info) => wrap(context as TContext, () => original(source, args, context, info));
}
