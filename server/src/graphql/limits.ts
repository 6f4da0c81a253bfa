/**
 * Limits on what a single GraphQL document may ask for. Depth and aliases are validation rules; the cost needs
 * the variables (`first: $n`) and is checked once they are known (`costCheck`, graphql/cost.ts). Both run in
 * Apollo (HTTP) and in graphql-ws (websockets), since graphql-ws skips Apollo's pipeline. A document over a
 * limit fails with GRAPHQL_VALIDATION_FAILED before anything executes.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationContext, ValidationRule } from 'graphql';
import { costError, documentCost } from './cost.js';

export const LIMITS = {
  /** Deepest selection; the deepest real query (audit log -> node -> user -> businessUnits) is 6. */
  maxDepth: 10,
  /** Aliases per document: aliasing one field hundreds of times is the classic amplification. */
  maxAliases: 15,
  /**
   * Cost with the variables' values (objects 2, scalars 1, deeper levels weigh more, lists multiplied by their
   * `first` or by the rows they can return; graphql/cost.ts). The contract's audit-log selection at the largest
   * page (first: 500) costs about 33,000; documents that nest wide selections under big pages cost several
   * times that.
   */
  maxCost: 40_000,
  /** Tokens per document, checked by the parser before anything else. */
  maxTokens: 2000,
  /**
   * Request body size of a GraphQL POST. The contract's batch mutations take up to 5,000 lines a call
   * (addBudgetLines, updateBudgetLines): 5,000 new lines are about 600 KB of JSON, 5,000 changes with
   * ordinary comments a few MB. Parsing 4 MiB of JSON takes milliseconds; anything larger is refused (413)
   * before it is parsed.
   */
  maxBodyBytes: 4 * 1024 * 1024,
  /**
   * One graphql-ws message. Subscriptions and the occasional mutation are small; batches of thousands of
   * lines go over HTTP, and a socket's buffer is held for its whole life, so this stays small.
   */
  maxWebSocketMessageBytes: 100 * 1024,
  /** Active subscriptions on one websocket. */
  maxSubscriptionsPerSocket: 50,
  /**
   * Longest operation id on a websocket: graphql-ws clients send UUIDs (36 characters). The id is kept for the
   * subscription's life and repeated in every message it gets, so a long one multiplies memory and traffic.
   */
  maxOperationIdLength: 128,
  /**
   * Variables of one subscription, as JSON: kept, and part of its fanout group's key, for its whole life. Real
   * ones (a plan, a unit, a cursor) are under 200 bytes.
   */
  maxSubscriptionVariablesBytes: 4 * 1024,
  /**
   * Deepest nesting of objects and arrays in variables (HTTP) and in a websocket message: recursive code
   * (type-graphql's argument conversion, JSON.stringify) overflows the stack at a few thousand levels
   * (graphql/nesting.ts). Real inputs nest three or four levels.
   */
  maxJsonDepth: 100,
  /**
   * Longest target of a GraphQL GET (path and query string, URL-encoded): 414 beyond it, with a message saying
   * to POST instead. Under Node's own 16 KiB limit on a request's head, past which Node answers 431 by itself
   * before any of our code runs. Tools' queries by GET (Power Query) are a few hundred bytes.
   */
  maxGetUrlBytes: 12 * 1024,
} as const;

/**
 * graphql-armor's rules throw their error out of `validate()` by default, which Apollo and graphql-ws treat
 * as a crash (INTERNAL_SERVER_ERROR, or a closed socket). Reported on the validation context instead, the
 * error is an ordinary validation error: GRAPHQL_VALIDATION_FAILED, nothing executed.
 */
const reportOnContext = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

export const validationRules: ValidationRule[] = [
  maxDepthRule({ n: LIMITS.maxDepth, flattenFragments: true, exposeLimits: true, ...reportOnContext }) as unknown as ValidationRule,
  maxAliasesRule({ n: LIMITS.maxAliases, exposeLimits: true, ...reportOnContext }) as unknown as ValidationRule,
];

/** The cost limit's error for a document with these variables, or null when it is within the limit. */
export function costCheck(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | null | undefined): GraphQLError | null {
  const cost = documentCost(schema, document, variables);
  return cost > LIMITS.maxCost ? costError(cost, LIMITS.maxCost) : null;
}

/** The cost limit on HTTP: checked once Apollo knows the operation and before it executes. */
export const costLimitPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ schema, document, request }) {
        const error = costCheck(schema, document, request.variables);
        if (error) throw error;
      },
    };
  },
};
