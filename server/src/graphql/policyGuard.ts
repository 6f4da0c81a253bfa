/**
 * Every root field asks the policies before it answers: `guardRootFields` wraps each Query and Mutation
 * resolver, and each Subscription's `subscribe`, so that one which returns (or starts streaming) without
 * having consulted policies/ (`authorize`, `can`, a list scope) fails with an internal error, logged, instead
 * of handing out rows unchecked. The few fields that need no row-level security are named, with the reason.
 *
 * Fields below the root are reached through a row that was authorized and inherit its check; the ones that
 * decide for themselves (a person's details, an execution behind a submission) call the policies directly.
 */
import { isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import { whileConsulting } from '../policies/consulted.js';
import { credentialsMayWrite, type Viewer } from '../policies/viewer.js';
import { forbidden } from '../errors.js';

/** Marks a guarded field (read by the structure test). */
export const GUARDED = 'plansyncPolicyGuarded';

/** A root field that answered without asking the policies: a bug, masked as an internal error. */
export class UncheckedResolverError extends Error {
  constructor(readonly coordinate: string) {
    super(`${coordinate} answered without asking the policies (policies/authorize.ts)`);
    this.name = 'UncheckedResolverError';
  }
}

/**
 * Wraps the root fields of `schema` in place. `open` names the root fields ("Query.me") that need no policy,
 * each with the reason; naming a field the schema does not have throws, so the list cannot go stale.
 */
export function guardRootFields(schema: GraphQLSchema, open: Readonly<Record<string, string>>): void {
  const seen = new Set<string>();
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root || !isObjectType(root)) continue;
    const subscription = root === schema.getSubscriptionType();
    const mutation = root === schema.getMutationType();
    for (const field of Object.values(root.getFields())) {
      const coordinate = `${root.name}.${field.name}`;
      const config = field as unknown as GraphQLFieldConfig<unknown, unknown> & { extensions: Record<string, unknown> };
      if (mutation) refuseReadOnlyCredentials(config, coordinate);
      if (coordinate in open) {
        seen.add(coordinate);
        continue;
      }
      const key = subscription ? 'subscribe' : 'resolve';
      const original = config[key];
      if (!original) throw new Error(`${coordinate} has no ${key} function to guard`);
      config[key] = (source, args, context, info) =>
        whileConsulting(
          () => original(source, args, context, info),
          (result, consulted) => {
            if (!consulted) throw new UncheckedResolverError(coordinate);
            return result;
          },
        );
      config.extensions = { ...config.extensions, [GUARDED]: true };
    }
  }
  const stale = Object.keys(open).filter((coordinate) => !seen.has(coordinate));
  if (stale.length > 0) throw new Error(`Open root fields that the schema does not have: ${stale.join(', ')}`);
}

/**
 * Every mutation, open ones included, refuses a READ access token (FORBIDDEN) before its resolver runs: in one
 * place for GraphQL over HTTP and over websockets alike, so that no mutation added later can forget it.
 */
function refuseReadOnlyCredentials(config: GraphQLFieldConfig<unknown, unknown>, coordinate: string): void {
  // Wrapped as guardRootFields wraps (the field's public graphql-js config, by key), before the policy check.
  const key = 'resolve';
  const original = config[key];
  if (!original) throw new Error(`${coordinate} has no resolve function to guard`);
  config[key] = (source, args, context, info) => {
    const viewer = (context as { viewer?: Viewer | null } | null)?.viewer;
    if (viewer && !credentialsMayWrite(viewer)) throw forbidden('This access token may only read (scope READ)');
    return original(source, args, context, info);
  };
}
