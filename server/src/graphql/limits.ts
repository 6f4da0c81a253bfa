/**
 * Limits on what a single GraphQL document may ask for, as validation rules: the same list runs in Apollo
 * (HTTP) and in graphql-ws (websockets), since graphql-ws skips Apollo's pipeline. A document over a limit
 * fails validation (GRAPHQL_VALIDATION_FAILED) before anything executes.
 */
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { GraphQLError, ValidationContext, ValidationRule } from 'graphql';

export const LIMITS = {
  /** Deepest selection; the deepest real query (audit log -> node -> user -> businessUnits) is 6. */
  maxDepth: 10,
  /** Aliases per document: aliasing one field hundreds of times is the classic amplification. */
  maxAliases: 15,
  /**
   * Static cost (objects 2, scalars 1, deeper levels weigh more, lists multiplied by a literal `first`).
   * The contract's audit-log selection at the largest page (first: 500) costs about 33,000; documents that
   * nest wide selections under big pages cost several times that.
   */
  maxCost: 40_000,
  /** Tokens per document, checked by the parser before anything else. */
  maxTokens: 2000,
  /** Request body size, for every POST. */
  maxBodyBytes: 100 * 1024,
  /** Active subscriptions on one websocket. */
  maxSubscriptionsPerSocket: 50,
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
  costLimitRule({ maxCost: LIMITS.maxCost, exposeLimits: true, ...reportOnContext }) as unknown as ValidationRule,
];
