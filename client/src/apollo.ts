/**
 * The Apollo Client: queries and mutations over HTTP, subscriptions over graphql-ws, both with the bearer
 * token. A CloseCode.Unauthorized close (expired or refused token) or an UNAUTHENTICATED error signs the
 * person out; a CloseCode.Forbidden close (their access changed) reconnects, and the subscriptions start again
 * with the new rights. The codes are the contract's, shared with the server (schema/codes.ts).
 *
 * The token can change under a running client (`setToken`, after the session was renewed): requests take the
 * current one, and the subscription socket reconnects with it before the old one expires and is closed.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { ErrorLink } from '@apollo/client/link/error';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import { CloseCode, ErrorCode } from '../../schema/codes';

/**
 * The client for one session. `onUnauthenticated` runs when the server stops accepting the token.
 * How the subscription socket is doing is shown by the views that use it (common/wsConnection.tsx).
 */
export function createApollo(initialToken: string, onUnauthenticated: () => void) {
  let token = initialToken;
  const http = new HttpLink({
    uri: '/graphql',
    // Read per request: a renewed token is used from the next request on.
    fetch: (uri, init) => fetch(uri, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` } }),
  });
  const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`;
  const ws = createClient({
    url: wsUrl,
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: (event) => (event as CloseEvent)?.code !== CloseCode.Unauthorized,
    on: {
      closed: (event) => {
        if ((event as CloseEvent)?.code === CloseCode.Unauthorized) onUnauthenticated();
      },
    },
  });
  const errors = new ErrorLink(({ error }) => {
    if (CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === ErrorCode.UNAUTHENTICATED)) onUnauthenticated();
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    errors.concat(http),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return {
    client,
    dispose: () => void ws.dispose(),
    /** A renewed token: later requests carry it, and an open subscription socket reconnects with it now. */
    setToken(next: string) {
      if (next === token) return;
      token = next;
      // Closed with 4499 (not Unauthorized): graphql-ws reconnects at once and subscribes again.
      ws.terminate();
    },
  };
}
