/**
 * Validation that never throws. graphql-js's SingleFieldSubscriptionsRule evaluates `@include`/`@skip` on a
 * subscription's root selection with no variables, and THROWS (instead of reporting) when it cannot:
 * `@include(if: $x)`, `@include` without `if`, `@skip(if: "no")`. Apollo and graphql-ws both take a throw out
 * of `validate()` for an internal error (HTTP 500; the socket, with every subscription on it, closed with
 * CloseCode.InternalServerError), though the document is merely invalid (graphql-js 17 and the spec refuse such directives there).
 *
 * Out of scope: every other rule (they report, as they should).
 */
import { GraphQLError, Kind, parse, SingleFieldSubscriptionsRule, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';

/** `validate()`, with a GraphQLError thrown by a rule returned as the validation error it is. */
export function validateSafely(schema: GraphQLSchema, document: DocumentNode, rules: readonly ValidationRule[]): readonly GraphQLError[] {
  try {
    return validate(schema, document, rules);
  } catch (err) {
    if (err instanceof GraphQLError) return [new GraphQLError(err.message, { nodes: err.nodes })];
    throw err;
  }
}

/**
 * For a query text about to go to Apollo (which calls `validate()` itself): the error SingleFieldSubscriptionsRule
 * would throw for it, or null. Cheap for ordinary requests: only a text with a subscription and an
 * `@include`/`@skip` is parsed here (at most `maxTokens`; a text that does not parse is Apollo's to refuse).
 */
export function unevaluableSubscriptionDirective(schema: GraphQLSchema, query: unknown, maxTokens: number): GraphQLError | null {
  if (typeof query !== 'string' || !/\bsubscription\b/.test(query) || !/@\s*(include|skip)\b/.test(query)) return null;
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens });
  } catch {
    return null;
  }
  if (!document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription')) return null;
  try {
    validate(schema, document, [SingleFieldSubscriptionsRule]);
    return null;
  } catch (err) {
    if (err instanceof GraphQLError) return new GraphQLError(err.message, { nodes: err.nodes });
    throw err;
  }
}
