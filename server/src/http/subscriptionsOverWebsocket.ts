/**
 * A subscription sent over HTTP is refused before it runs, for every subscription field there is or will be:
 * graphql-js would execute it like a query, calling the root's `resolve` with no event, which is a TypeError
 * masked as INTERNAL_SERVER_ERROR (the HTTP fuzzer found it twice, the second time on a field added after the
 * first fix, which had been per field). The client's mistake, said as such: BAD_USER_INPUT, naming where
 * subscriptions do run.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';

const SUBSCRIPTION_OVER_HTTP_MESSAGE = 'Subscriptions run over the websocket (graphql-transport-ws on /graphql), not over HTTP';

export const subscriptionsOverWebsocketPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        // Apollo turns extensions.http into the status (400: nothing ran) and drops it from the answer.
        if (operation?.operation === 'subscription') {
          throw new GraphQLError(SUBSCRIPTION_OVER_HTTP_MESSAGE, { extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } } });
        }
      },
    };
  },
};
