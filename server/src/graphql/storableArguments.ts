/**
 * Every argument of every operation is text PostgreSQL can store and compare: a string (at any depth of an
 * input object or JSON) holding U+0000 or an unpaired surrogate is refused with BAD_USER_INPUT before any
 * resolver runs. Such a string reaching a query was an internal error at best (a `login` or a `budgetLines`
 * with U+0000 in an argument), a write the database refuses at worst (db/storableText.ts).
 *
 * Only root fields take arguments in this schema; `subscribe` is checked for subscriptions (their `resolve`
 * only shapes events).
 */
import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import { unstorableJsonProblem } from '../db/storableText.js';
import { badUserInput } from '../errors.js';

export function refuseUnstorableArguments(schema: GraphQLSchema): void {
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  for (const type of roots) {
    if (!type) continue;
    const key = type === schema.getSubscriptionType() ? 'subscribe' : 'resolve';
    for (const field of Object.values(type.getFields())) {
      const original = field[key] as GraphQLFieldResolver<unknown, unknown> | undefined;
      if (field.args.length === 0 || !original) continue;
      field[key] = (source, args: Record<string, unknown>, context, info) => {
        const found = unstorableJsonProblem(args);
        if (found) throw badUserInput(`${found.path} ${found.problem}`, found.path);
        return original(source, args, context, info);
      };
    }
  }
}
