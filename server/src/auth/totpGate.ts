/**
 * REQUIRE_TOTP_ROLES, on GraphQL: a person who must enrol in two-factor sign-in and has not (their viewer says
 * `totpEnrollmentRequired`, auth/viewers.ts) may only enrol. Every root field but the few below answers
 * FORBIDDEN with `extensions.totpEnrollmentRequired: true` and a message saying what to do, before its
 * resolver runs. Once they confirm an enrolment, the same session carries on: the restriction is read from
 * their row with every request, not written into the token.
 *
 * Why per request rather than in a token of its own: a person whose role becomes a required one, or whose
 * deployment starts requiring it, is restricted at their next request whatever token they hold, and a session
 * needs no second sign-in once enrolled (confirming proved the new device, which is all a new sign-in would
 * add). The other paths (grid, GraphQL sockets) never get such a viewer at all (viewers.ts).
 *
 * Out of scope: who must enrol (config.ts REQUIRE_TOTP_ROLES, decided in the viewer lookup).
 */
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { wrapFieldResolver, wrapRootResolvers } from '../internals/typeGraphqlFields.js';
import { ErrorCode } from '../errors.js';
import type { Viewer } from '../policies/viewer.js';

/** What a person who must enrol first may still do: see who they are, enrol, sign out. */
export const ENROLMENT_FIELDS: ReadonlySet<string> = new Set([
  'Query.me',
  'Mutation.login',
  'Mutation.signOut',
  'Mutation.setPasswordWithToken',
  'Mutation.changePassword',
  'Mutation.beginTotpEnrollment',
  'Mutation.confirmTotpEnrollment',
]);

export const ENROLMENT_REQUIRED_MESSAGE =
  'Your role requires two-factor sign-in: set up an authenticator app on your account page (/account) before anything else';

export function totpEnrollmentRequired(): GraphQLError {
  return new GraphQLError(ENROLMENT_REQUIRED_MESSAGE, { extensions: { code: ErrorCode.FORBIDDEN, totpEnrollmentRequired: true } });
}

/**
 * The fields below the open roots (`me`, `login`'s user) that reach beyond the person themselves: their
 * organisation's people, Studio companies and groups (a partner admin reads them). Gated like root fields.
 */
export const GATED_NESTED_FIELDS = ['Organization.users', 'Organization.studioCompanies', 'Organization.systemGroups'] as const;

/** Wraps every Query and Mutation root field of `schema` but ENROLMENT_FIELDS, and GATED_NESTED_FIELDS, in place. */
export function gateUntilTotpEnrolled(schema: GraphQLSchema): void {
  const gate = (context: { viewer: Viewer | null }, next: () => unknown) => {
    if (context.viewer?.totpEnrollmentRequired) throw totpEnrollmentRequired();
    return next();
  };
  wrapRootResolvers(schema, (coordinate) => !ENROLMENT_FIELDS.has(coordinate), gate);
  for (const coordinate of GATED_NESTED_FIELDS) {
    const [typeName, fieldName] = coordinate.split('.');
    wrapFieldResolver(schema, typeName, fieldName, gate);
  }
}
