/**
 * The HTTP server: one port for everything.
 *   /graphql   GraphQL over HTTP (Apollo; queries by GET too) and over websockets (graphql-ws); rate-limited
 *              per token, person or address (http/rateLimits.ts), as /odata, /export and /import are
 *   /healthz   200 once the server takes traffic
 *   /readyz    200 while the database answers, 503 otherwise; says whether Redis is up (when configured): an
 *              instance without Redis still serves its own clients, so it stays in the proxy's rotation;
 *              and how Microsoft Graph and Power BI are doing (`integrations`), never failing readiness
 *   /metrics   Prometheus: METRICS_TOKEN as a bearer token, or (without it) callers on loopback only
 *   /odata     the read-only OData v4 feed for Excel and Power BI (odata/router.ts)
 *   /export, /import  budget lines as CSV or xlsx files, out and back in (spreadsheets/router.ts)
 *   /auth/...  sign-in with Microsoft Entra ID (auth/entraSignIn.ts, mounted by app.ts)
 *   /yjs/...   the grid's websockets (collab/GridServer.ts, handed in by app.ts)
 *   /          the web client
 * Websocket upgrades are routed by path here: two `WebSocketServer({ server })` on one HTTP server break
 * each other, so every websocket server is created with `noServer` and handed its own upgrades.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import { requestToken } from '../auth/credentials.js';
import { bearerToken } from '../auth/viewers.js';
import { ErrorCode, isUnexpected, maskError, requestErrorCode } from '../errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { costLimitPlugin, LIMITS, validationRules } from '../graphql/limits.js';
import { nestsDeeperThan, textNestsDeeperThan } from '../graphql/nesting.js';
import { unevaluableSubscriptionDirective } from '../graphql/safeValidation.js';
import { createGraphQLWebSocketServer } from '../realtime/graphqlWs.js';
import { drainHttpServer } from './drain.js';
import { subscriptionsOverWebsocketPlugin } from './subscriptionsOverWebsocket.js';
import { legacyJsonStatusPlugin } from './legacyJsonStatus.js';
import { RequestLimits, type Identify } from './rateLimits.js';
import { odataRouter } from '../odata/router.js';
import { spreadsheetRouters } from '../spreadsheets/router.js';
import { refuseUpgrade, requestTarget } from './requestTarget.js';
import type { Services } from '../services.js';
import { canReadMetrics, type Metrics } from './metrics.js';
import { securityHeaders } from './securityHeaders.js';
import { clientFiles } from './clientFiles.js';

export interface RunningHttpServer {
  server: http.Server;
  port: number;
  /** Stops taking connections, closes websockets, waits for requests in flight. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: Services;
  metrics: Metrics;
  /** Extra routes (Entra sign-in), mounted before the web client. */
  routes?: (app: express.Express) => void;
  /** Extra websocket endpoints by path prefix (the grid's /yjs). */
  upgrades?: Record<string, (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void>;
}

function jsonError(res: Response, status: number, message: string, code: string) {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/**
 * A request Node could not parse, before any route saw it: Node's own answer is a bare status line, which a tool
 * reports as an empty or unreadable reply. The same answer with the error body every other refusal has, so the
 * caller reads why (most often a head over Node's 16 KiB: a cookie or a token pasted twice).
 */
function answerUnparsableRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this keep-alive socket cannot be followed by another: cut it, as Node does.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', `The request's headers are over ${http.maxHeaderSize} bytes: send fewer or shorter headers (cookies, tokens)`]
      : err.code === 'HPE_HEADERS_TIMEOUT' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request did not arrive in time']
        : [400, 'Bad Request', 'The request is not valid HTTP/1.1'];
  const body = JSON.stringify({ errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { schema, services, metrics } = options;
  const { config, log } = services;
  const app = express();
  app.disable('x-powered-by');
  // Whose X-Forwarded-For names the caller (TRUST_PROXY): sign-in limits count per address.
  app.set('trust proxy', config.trustProxy);
  const server = http.createServer(app);
  // Slow-loris protection: a client gets this long to send its headers and body.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.on('clientError', answerUnparsableRequest);

  app.use((req, res, next) => {
    // Named now: by 'finish', a router mounted on a path (app.use('/graphql', ...)) has rewritten req.path.
    const route = req.path.startsWith('/graphql')
      ? '/graphql'
      : req.path.startsWith('/auth/')
        ? '/auth'
        : (['/odata', '/export', '/import'].find((r) => req.path === r || req.path.startsWith(`${r}/`)) ??
          (['/healthz', '/readyz', '/metrics'].includes(req.path) ? req.path : 'other'));
    res.on('finish', () => {
      metrics.httpRequests.inc({ route, status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  });

  app.use(securityHeaders);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const redis = services.redis ? { redis: services.redis.up ? 'up' : 'down' } : {};
    // Shown, never a reason for 503: an outage of Power BI or Graph is the same for every replica, and this
    // instance serves the grid, GraphQL and OData without them; their workflow steps fail retryably and wait.
    // Taken out of rotation, every replica would be, turning Microsoft's outage into Plansync's.
    const details = { ...redis, integrations: services.integrationHealth.snapshot() };
    try {
      await Promise.race([
        services.orm.em.getConnection().execute('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('database check timed out')), 2000)),
      ]);
      res.json({ status: 'ready', database: 'up', ...details });
    } catch (err) {
      log.warn({ err }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable', database: 'down', ...details });
    }
  });
  app.get('/metrics', async (req, res) => {
    if (!canReadMetrics(req, config.metricsToken)) return jsonError(res, 404, 'Not found', ErrorCode.NOT_FOUND);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    validationRules,
    parseOptions: { maxTokens: LIMITS.maxTokens },
    allowBatchedHttpRequests: false,
    // Off, so that GET answers queries with no header beyond the credentials (GraphQL over HTTP; Power Query's
    // Web.Contents can send nothing else). CSRF needs credentials a browser attaches by itself, and there are
    // none here: every surface takes a token from the Authorization header (or a graphql-ws connection param),
    // which a page on another site can neither read nor make a browser send. The one cookie Plansync sets is
    // the Entra sign-in's flow state (auth/entraSignIn.ts), scoped to /auth/microsoft, read only there, and it
    // proves nobody's identity. Mutations still never run by GET (Apollo: 405, Allow: POST), and a cross-site
    // form POST still cannot run one: it cannot send application/json, which express.json alone parses.
    csrfPrevention: false,
    // Shutdown is ours (main.ts): Apollo's own handler would stop it and re-raise the signal mid-way.
    stopOnTerminationSignals: false,
    introspection: !config.production,
    includeStacktraceInErrorResponses: false,
    formatError: (apolloFormatted, error) => {
      const formatted = requestErrorCode(apolloFormatted, error);
      if (isUnexpected(formatted)) log.error({ err: error }, 'GraphQL operation failed');
      return maskError(formatted);
    },
    plugins: [
      drainHttpServer(server),
      metrics.apolloPlugin,
      // Before anything that would run it: subscriptions are the websocket's.
      subscriptionsOverWebsocketPlugin,
      // The cost limit needs the variables (`first: $n`): checked once the operation is known, before it runs.
      costLimitPlugin,
      // 200 for invalid documents when the client accepts only application/json (GraphQL over HTTP).
      legacyJsonStatusPlugin,
      // We set no cache hints; Apollo's cache-control plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      ...(config.production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
  });
  await apollo.start();

  /**
   * A request's context. The viewer lookup needs only a database connection; the EntityManager is forked
   * when a resolver first asks for it (budgetLines never does), and the address worked out when read.
   */
  async function graphqlContext(req: Request, res: Response): Promise<GraphQLContext> {
    const viewer = await graphqlViewer(req, res);
    let em: GraphQLContext['em'] | undefined;
    let ip: string | null | undefined;
    return {
      get em() {
        return (em ??= services.orm.em.fork());
      },
      viewer,
      services,
      get ip() {
        return ip === undefined ? (ip = req.ip ?? null) : ip;
      },
    };
  }

  /**
   * Who a GraphQL request over HTTP is from, looked up once: by the rate limit first, then by the context.
   * Someone who must enrol in TOTP first gets a viewer here only, which auth/totpGate.ts limits to enrolling.
   */
  const graphqlViewer: Identify = (req, res) =>
    (res.locals.viewer ??= services.viewers.fromToken(services.orm.em, bearerToken(req.headers.authorization), { allowTotpEnrollment: true }));
  const limits = new RequestLimits({
    perMinute: config.rateLimitPerMinute,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    log: log.child({ component: 'rate-limits' }),
  });
  await limits.start(3000);
  // Before the body is parsed: a refused request costs no parsing. The other API routes (their own modules)
  // are counted here too, by their credentials (Bearer, or Basic's password), so that none of them can be
  // forgotten or counted twice: their handlers must not mount the limit again. The viewer found is left in
  // `res.locals.viewer` (a promise of Viewer | null), for those handlers to use rather than look it up again.
  app.use('/graphql', limits.middleware('graphql', graphqlViewer));
  app.use(
    ['/odata', '/export', '/import'],
    limits.middleware('json', (req, res) => (res.locals.viewer ??= services.viewers.fromToken(services.orm.em, requestToken(req)))),
  );

  // Apollo's express integration (@as-integrations/express5), except that a complete answer to a POST is
  // written as it is: express's res.send would hash every answer for an ETag (of no use to a POST), copy it
  // into a Buffer and rewrite its content type. GET answers still go through res.send (conditional GETs).
  app.use('/graphql', express.json({ limit: LIMITS.maxBodyBytes }), async (req: Request, res: Response) => {
    // Answers are per person: nothing may be kept by a browser or proxy cache, GET answers least of all.
    res.setHeader('cache-control', 'no-store');
    if (req.method === 'GET' && req.url.length > LIMITS.maxGetUrlBytes) {
      return jsonError(res, 414, `A GET request's query string is at most ${LIMITS.maxGetUrlBytes} bytes: send larger documents by POST`, ErrorCode.BAD_USER_INPUT);
    }
    // Apollo takes a throw out of validate() for an internal error (graphql/safeValidation.ts says which one).
    const unevaluable = unevaluableSubscriptionDirective(schema, req.method === 'GET' ? req.query.query : req.body?.query, LIMITS.maxTokens);
    if (unevaluable) return jsonError(res, 400, unevaluable.message, ErrorCode.GRAPHQL_VALIDATION_FAILED);
    const variables: unknown = req.method === 'GET' ? req.query.variables : req.body?.variables;
    if (typeof variables === 'string' ? textNestsDeeperThan(variables, LIMITS.maxJsonDepth) : nestsDeeperThan(variables, LIMITS.maxJsonDepth)) {
      return jsonError(res, 400, `Variables nest at most ${LIMITS.maxJsonDepth} levels deep`, ErrorCode.BAD_USER_INPUT);
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const query = req.url.indexOf('?');
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: req.method.toUpperCase(),
        headers,
        search: query < 0 ? '' : req.url.slice(query),
        body: req.body,
      },
      context: () => graphqlContext(req, res),
    });
    for (const [key, value] of answer.headers) res.setHeader(key, value);
    res.statusCode = answer.status || 200;
    if (answer.body.kind === 'complete') {
      const text = answer.body.string;
      if (req.method === 'POST' && res.hasHeader('content-type')) {
        res.setHeader('content-length', Buffer.byteLength(text));
        res.end(text);
      } else {
        res.send(text);
      }
      return;
    }
    for await (const chunk of answer.body.asyncIterator) res.write(chunk);
    res.end();
  });

  app.use('/odata', odataRouter(services, log.child({ component: 'odata' })));
  const spreadsheets = spreadsheetRouters(services, log.child({ component: 'spreadsheets' }));
  app.use('/export', spreadsheets.exports);
  app.use('/import', spreadsheets.imports);

  options.routes?.(app);

  // The web client, with client-side routes falling back to index.html: precompressed copies by Accept-Encoding,
  // hashed /assets/ immutable for a year, index.html revalidated on every load (clientFiles.ts).
  const client = clientFiles(config.clientDir);
  app.use(client.files);
  app.get(/^\/(?!graphql|yjs|auth\/|healthz|readyz|metrics|odata).*/, client.index);

  // Body parser and other request errors: a JSON answer with the contract's code, never an HTML stack.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') return jsonError(res, 413, `Request body is over ${LIMITS.maxBodyBytes} bytes`, ErrorCode.BAD_USER_INPUT);
    if (err.status && err.status >= 400 && err.status < 500) return jsonError(res, err.status, 'Malformed request body', ErrorCode.BAD_USER_INPUT);
    log.error({ err }, 'unhandled HTTP error');
    jsonError(res, 500, 'Internal server error', ErrorCode.INTERNAL_SERVER_ERROR);
  });

  const graphqlWs = createGraphQLWebSocketServer(schema, services);
  const upgrades: NonNullable<HttpServerOptions['upgrades']> = {
    '/graphql': (request, socket, head) =>
      graphqlWs.wss.handleUpgrade(request, socket, head, (ws) => graphqlWs.wss.emit('connection', ws, request)),
    ...options.upgrades,
  };
  server.on('upgrade', (request, socket, head) => {
    // Node takes its own error listener off an upgraded socket: without one, a client resetting the
    // connection mid-handshake would be an uncaught 'error' event, the end of the process. One shared function,
    // not a closure: a closure here kept this handler's scope (the request's URL, token included) for the
    // socket's whole life.
    socket.on('error', destroySocket);
    const target = requestTarget(request.url);
    if (!target) return refuseUpgrade(socket, 400, 'Bad Request');
    const pathname = target.pathname;
    const route = Object.keys(upgrades).find((prefix) => pathname === prefix || pathname.startsWith(prefix + '/'));
    if (!route) return refuseUpgrade(socket, 404, 'Not Found');
    try {
      upgrades[route](request, socket, head);
    } catch (err) {
      log.error({ err, route }, 'websocket upgrade failed');
      refuseUpgrade(socket, 500, 'Internal Server Error');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, an error of the listener (accept failing with EMFILE when file descriptors run out, say)
  // is logged: unheard, an 'error' event would end the process and every session with it.
  server.on('error', (err) => log.error({ err }, 'HTTP server error'));
  const port = (server.address() as { port: number }).port;

  return {
    server,
    port,
    async close() {
      await graphqlWs.close();
      await apollo.stop(); // drains HTTP requests in flight and closes the listener
      await limits.close();
      server.closeAllConnections?.();
    },
  };
}

/** An upgraded socket's 'error' listener (`this` is the socket). */
function destroySocket(this: Duplex): void {
  this.destroy();
}
