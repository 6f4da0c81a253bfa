/**
 * The HTTP server's graceful stop, run by Apollo's `drainServer` hook (ApolloServer.stop): no new connections,
 * idle keep-alive connections closed, requests in flight allowed to finish (for up to `graceMs`), then every HTTP
 * connection left closed.
 *
 * In place of Apollo's ApolloServerPluginDrainHttpServer, whose Stopper keeps a Map entry and a 'close' listener
 * closure for every TCP connection, websockets included: about 0.25 KB per idle grid connection (issue 16), and
 * at shutdown it ended every upgraded socket before the grid and graphql-ws servers could send their close
 * codes. Node's http server already tracks its HTTP connections (closeIdleConnections, closeAllConnections) and
 * forgets a socket once it is upgraded, so only requests in flight need counting here; upgraded sockets are their
 * websocket servers' to close (app.ts stops them after the HTTP server).
 */
import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';

export function drainHttpServer(server: http.Server, graceMs = 10_000): ApolloServerPlugin {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const finished = () => {
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight += 1;
    res.once('close', finished);
  });
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          server.close(); // stops accepting; its callback would wait for the websockets too, so it is not awaited
          server.closeIdleConnections();
          if (inFlight > 0) {
            await new Promise<void>((resolve) => {
              drained = resolve;
              setTimeout(resolve, graceMs).unref();
            });
          }
          server.closeAllConnections(); // HTTP connections only: upgraded sockets are not among them
        },
      };
    },
  };
}
