/**
 * GraphQL over HTTP's rule for clients that accept only the legacy `application/json`: a well-formed request
 * whose document does not parse, does not validate, or whose variables do not fit answers 200 with the errors
 * (the spec's SHOULD; graphql-http's audit checks it), since such a client reads the status as "the HTTP
 * request failed". Apollo answers 400 for all three whatever the client accepts. This plugin turns those 400s
 * into 200s for exactly those clients: an Accept header naming `application/json` and not
 * `application/graphql-response+json`. Everyone else (our web client, fetch's `*` `/` `*`, scripts that send no
 * Accept) keeps the 400 that tells an invalid document from an answered one, which they and our tests rely on.
 * Malformed requests (no query, variables that are not a JSON object, a mutation by GET) keep their 4xx: the
 * spec wants those refused at the HTTP level for every media type.
 */
import type { ApolloServerPlugin } from '@apollo/server';

/** Apollo's codes for a document that does not parse or validate, and for variables that do not coerce. */
const DOCUMENT_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

function acceptsOnlyLegacyJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  return types.includes('application/json') && !types.includes('application/graphql-response+json');
}

export const legacyJsonStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ request, response, errors }) {
        if (response.http.status !== 400 || !acceptsOnlyLegacyJson(request.http?.headers.get('accept'))) return;
        if (response.body.kind !== 'single' || response.body.singleResult.data !== undefined) return;
        // Only a request Apollo got as far as reading the document of (not a malformed one).
        if (!request.query) return;
        if (errors?.length && errors.every((error) => DOCUMENT_ERROR_CODES.has(String(error.extensions?.code)))) response.http.status = 200;
      },
    };
  },
};
