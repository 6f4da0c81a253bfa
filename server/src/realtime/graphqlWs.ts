/**
 * GraphQL over websockets (the graphql-transport-ws protocol, graphql-ws's server on ws).
 *
 * graphql-ws does not run Apollo's pipeline, so what Apollo does for HTTP is done again here:
 * - authentication at `connection_init` (connection params `{ authorization: "Bearer <token>" }`): no valid
 *   token closes the socket with CloseCode.Unauthorized before any operation runs; the socket closes with
 *   CloseCode.Unauthorized when the token expires;
 * - the same parse limits and validation rules (depth, cost, aliases), with the contract's codes;
 * - the same error masking on every result;
 * - the cost limit with the operation's variables (graphql/cost.ts), as Apollo's plugin does over HTTP;
 * - caps on active operations per socket, on operation id length and variables size, and (PersonSockets) on
 *   sockets per person, so that what one person makes the server keep is bounded.
 *
 * The websocket side is ours (graphql-ws's `makeServer` on ws, in place of its `useServer`): sends are
 * synchronous (no promise and callback per message), one timer pings every socket instead of two timers per
 * socket, and the upgrade request is not kept for the socket's lifetime. Parsed and validated documents are
 * cached by their text, so a thousand monitors with the same query share one document. Subscriptions follow
 * the bus through fanouts: executed once per group of identical subscribers and sent to all
 * (realtime/fanout.ts).
 */
import type { Server as HttpServer } from 'node:http';
import {
  createSourceEventStream,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
// Ours, not graphql-ws's: the same numbers for its codes (checked by structure/codeLiterals.test.ts), plus ours.
import { CloseCode } from '../../../schema/codes.js';
import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../auth/viewers.js';
import { callerAddressResolver } from '../http/callerAddress.js';
import { ErrorCode, isUnexpected, maskError } from '../errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { costCheck, LIMITS, validationRules } from '../graphql/limits.js';
import { textNestsDeeperThan } from '../graphql/nesting.js';
import { validateSafely } from '../graphql/safeValidation.js';
import { isServerOnlyMessageError } from '../internals/graphqlWsEnvelope.js';
import type { Viewer } from '../policies/viewer.js';
import type { Services } from '../services.js';
import { onEvent } from './eventBus.js';
import { FanoutSubscription, TopicFanout, type LiveDelivery } from './fanout.js';
import type { LiveSubscriptions, SubscriptionContext } from './liveContext.js';
import { KeepaliveSweep } from '../internals/keepaliveSweep.js';

/** What we keep per socket, on graphql-ws's `extra`. */
interface SocketState {
  socket: WebSocket;
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
  activeOperations: Set<string>;
  /** A ping went out and no pong came back yet. */
  awaitingPong: boolean;
  /** The caller's address (as TRUST_PROXY judges it), for what counts per address: sign-in limits. */
  address: string | null;
}

/** graphql-ws's `extra` for our sockets. */
interface SocketExtra {
  socket: WebSocket;
}

/** Every socket is pinged this often (a slice of them every half second); one that has not answered the previous ping by then is dropped. */
const KEEPALIVE_MS = 12_000;
/** Documents kept parsed and validated, by query text (least recently used dropped first). */
const DOCUMENT_CACHE_SIZE = 500;
/**
 * Longer query texts are parsed each time rather than kept: real documents are a few hundred characters, and
 * the cache must not hold 500 padded 100 KB ones.
 */
const MAX_CACHED_QUERY_CHARS = 8 * 1024;

/** Node's timers overflow beyond ~24.8 days; a token living longer is re-checked at that horizon. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function codedError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

function maskResult(result: ExecutionResult, services: Services): ExecutionResult {
  if (!result.errors?.length) return result;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const formatted = error.toJSON ? error.toJSON() : { message: error.message, extensions: error.extensions };
      if (isUnexpected(formatted)) services.log.error({ err: error.originalError ?? error }, 'graphql-ws operation failed');
      const masked = maskError(formatted);
      return new GraphQLError(masked.message, { extensions: masked.extensions, path: masked.path });
    }),
  };
}

function sameAccess(a: Viewer, b: Viewer): boolean {
  return (
    a.role === b.role &&
    a.organizationId === b.organizationId &&
    a.unitIds.size === b.unitIds.size &&
    [...a.unitIds].every((id) => b.unitIds.has(id))
  );
}

/** Subscribers with the same key get the same results: the same person with the same rights, document and variables. */
function groupKeyOf(viewer: Viewer | null, documentId: number, operationName: string | null | undefined, variables: unknown): string {
  const who = viewer ? [viewer.userId, viewer.role, viewer.organizationId ?? '', [...viewer.unitIds].sort().join(',')].join('\u0001') : '';
  return [who, documentId, operationName ?? '', JSON.stringify(variables ?? null)].join('\u0000');
}

/** Creates the graphql-ws server; the caller routes `/graphql` upgrades to `wss.handleUpgrade`. */
export function createGraphQLWebSocketServer(schema: GraphQLSchema, services: Services) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxWebSocketMessageBytes, handleProtocols });
  const rules = [...specifiedRules, ...validationRules];
  // One fanout per topic that some subscription follows, made when the first one starts.
  const fanouts = new Map<string, TopicFanout<object>>();
  const fanout: LiveSubscriptions['fanout'] = (topic) => {
    let found = fanouts.get(topic);
    if (!found) fanouts.set(topic, (found = new TopicFanout<object>(services.events, topic)));
    return found;
  };

  /** Parsed and validated documents by their text, with an id for group keys. */
  const documents = new Map<string, { document: DocumentNode; id: number }>();
  let documentIds = 0;
  function documentFor(query: string): { document: DocumentNode; id: number } | GraphQLError[] {
    const cached = documents.get(query);
    if (cached) {
      documents.delete(query);
      documents.set(query, cached);
      return cached;
    }
    let document;
    try {
      document = parse(query, { maxTokens: LIMITS.maxTokens });
    } catch (err) {
      return [codedError((err as Error).message, ErrorCode.GRAPHQL_PARSE_FAILED)];
    }
    const errors = validateSafely(schema, document, rules);
    if (errors.length > 0) return errors.map((e) => codedError(e.message, ErrorCode.GRAPHQL_VALIDATION_FAILED));
    const entry = { document, id: ++documentIds };
    if (query.length > MAX_CACHED_QUERY_CHARS) return entry;
    documents.set(query, entry);
    if (documents.size > DOCUMENT_CACHE_SIZE) documents.delete(documents.keys().next().value!);
    return entry;
  }

  /** A resolver context; its EntityManager is forked only when a resolver first needs one. */
  function newContext(viewer: Viewer | null, ip: string | null = null): GraphQLContext {
    let em: GraphQLContext['em'] | undefined;
    return {
      get em() {
        return (em ??= services.orm.em.fork());
      },
      viewer,
      services,
      ip,
    };
  }

  const sockets = new WeakMap<WebSocket, SocketState>();
  /** Open sockets per person, so that a change of their access reaches them. */
  const byUser = new Map<string, Set<WebSocket>>();
  // Subscriptions keep the scope computed when they started; after an access change the socket closes
  // (CloseCode.Forbidden), and the client subscribes again with the new rights.
  const stopFollowingAccess = onEvent(services.events, 'USER_ACCESS_CHANGED', ({ userId }) => {
    for (const socket of byUser.get(userId) ?? []) socket.close(CloseCode.Forbidden, 'access changed');
  });
  // Redis is away (checked now and then) or came back: an access change made on another instance meanwhile
  // was not heard. Re-read everyone connected here, and close the sockets of those whose access changed.
  let rechecking = false;
  const stopFollowingResync = onEvent(services.events, 'CLUSTER_RESYNC', () => {
    if (rechecking) return;
    rechecking = true;
    recheckEveryone()
      .catch((err) => services.log.error({ err }, 're-checking GraphQL sockets failed'))
      .finally(() => (rechecking = false));
  });
  // A token ended by signOut: the sockets opened with it close as an expired token's would
  // (CloseCode.Unauthorized). After the operations of this turn have answered: signOut called over the socket
  // itself gets its `true` first.
  // Without a token id, the person's tokens were ended wholesale (a password change or reset, a deactivation):
  // each of their sockets re-reads its viewer, and those whose token names nobody any more close the same way.
  const stopFollowingRevocations = onEvent(services.events, 'TOKENS_REVOKED', ({ userId, tokenId }) => {
    setImmediate(() => {
      if (tokenId === undefined) {
        recheckTokens(userId).catch((err) => services.log.error({ err, userId }, 're-checking GraphQL sockets failed'));
        return;
      }
      for (const socket of byUser.get(userId) ?? []) {
        if (sockets.get(socket)?.viewer?.tokenId === tokenId) socket.close(CloseCode.Unauthorized, 'Signed out');
      }
    });
  });
  async function recheckTokens(userId: string): Promise<void> {
    const em = services.orm.em.fork();
    const current = new Map<string, Viewer | null>();
    for (const socket of [...(byUser.get(userId) ?? [])]) {
      const before = sockets.get(socket)?.viewer;
      if (!before) continue;
      const key = before.tokenId ?? '';
      if (!current.has(key)) current.set(key, await services.viewers.refresh(em, before));
      if (!current.get(key)) socket.close(CloseCode.Unauthorized, 'Signed out');
    }
  }
  const stopFollowing = () => {
    stopFollowingAccess();
    stopFollowingResync();
    stopFollowingRevocations();
  };
  async function recheckEveryone(): Promise<void> {
    const em = services.orm.em.fork();
    for (const [userId, mine] of [...byUser]) {
      try {
        // Re-read once per token: the person's rights are the same for all, but a token may have been ended
        // (signOut) meanwhile, and that one's sockets close (CloseCode.Unauthorized) while the others stay.
        const current = new Map<string, Viewer | null>();
        for (const socket of [...mine]) {
          const before = sockets.get(socket)?.viewer;
          if (!before) continue;
          const key = before.tokenId ?? '';
          if (!current.has(key)) current.set(key, await services.viewers.refresh(em, before));
          const now = current.get(key);
          if (now && sameAccess(before, now)) continue;
          // No viewer: the token was ended, or the person deactivated or deleted: signed out either way.
          socket.close(now ? CloseCode.Forbidden : CloseCode.Unauthorized, now ? 'access changed' : 'Signed out');
        }
      } catch (err) {
        services.log.error({ err, userId }, 're-checking a GraphQL socket failed');
      }
    }
  }
  const state = (extra: SocketExtra): SocketState => {
    let s = sockets.get(extra.socket);
    if (!s) sockets.set(extra.socket, (s = { socket: extra.socket, activeOperations: new Set(), awaitingPong: false, address: null }));
    return s;
  };

  const server = makeServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = bearerToken(typeof raw === 'string' ? raw : null);
        const viewer = await services.viewers.fromToken(services.orm.em.fork(), token);
        const s = state(ctx.extra);
        if (!viewer) {
          s.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        // Over the person's cap: closed with CloseCode.TooManySockets (graphql-ws's own CloseCode.Forbidden for
        // a refusal comes too late to show).
        if (!services.sockets.admit(viewer.userId, s.socket)) return false;
        s.viewer = viewer;
        let mine = byUser.get(viewer.userId);
        if (!mine) byUser.set(viewer.userId, (mine = new Set()));
        mine.add(s.socket);
        const closeWhenExpired = () => {
          const remaining = viewer.expiresAt * 1000 - Date.now();
          if (remaining <= 0) s.socket.close(CloseCode.Unauthorized, 'Token expired');
          else s.expiryTimer = setTimeout(closeWhenExpired, Math.min(remaining, MAX_TIMER_MS));
        };
        closeWhenExpired();
        return true;
      },
      onClose: (ctx) => {
        const s = sockets.get(ctx.extra.socket);
        if (s?.viewer) {
          const mine = byUser.get(s.viewer.userId);
          mine?.delete(s.socket);
          if (mine?.size === 0) byUser.delete(s.viewer.userId);
        }
        if (s?.expiryTimer) clearTimeout(s.expiryTimer);
      },
      onSubscribe: (ctx, id, payload) => {
        const s = state(ctx.extra);
        // Ids and variables live as long as the subscription, and the id is repeated in each of its messages:
        // both are bounded, as the operations per socket and the sockets per person are.
        if (id.length > LIMITS.maxOperationIdLength) {
          s.socket.close(CloseCode.BadRequest, `Operation ids are at most ${LIMITS.maxOperationIdLength} characters`);
          return [codedError('Operation id too long', ErrorCode.BAD_USER_INPUT)];
        }
        if (s.activeOperations.size >= LIMITS.maxSubscriptionsPerSocket) {
          return [codedError(`At most ${LIMITS.maxSubscriptionsPerSocket} operations may run on one socket`, ErrorCode.BAD_USER_INPUT)];
        }
        const parsed = documentFor(payload.query);
        if (Array.isArray(parsed)) return parsed;
        const { document } = parsed;
        // What Apollo answers over HTTP: an operation that cannot be picked, or variables that do not fit their
        // types, are the caller's mistake (graphql-js gives them no code, so they would be masked as internal).
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [codedError('The document names no single operation to run (operationName)', ErrorCode.BAD_USER_INPUT)];
        if (operation.operation === 'subscription' && payload.variables && Buffer.byteLength(JSON.stringify(payload.variables)) > LIMITS.maxSubscriptionVariablesBytes) {
          return [codedError(`A subscription's variables are at most ${LIMITS.maxSubscriptionVariablesBytes} bytes (as JSON)`, ErrorCode.BAD_USER_INPUT)];
        }
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 20 });
        if (coerced.errors) return coerced.errors.map((e) => codedError(e.message, ErrorCode.BAD_USER_INPUT));
        const tooCostly = costCheck(schema, document, coerced.coerced);
        if (tooCostly) return [codedError(tooCostly.message, ErrorCode.GRAPHQL_VALIDATION_FAILED)];
        s.activeOperations.add(id);
        const viewer = s.viewer ?? null;
        const execution = { schema, document, operationName: payload.operationName, variableValues: payload.variables };
        const contextValue: SubscriptionContext = newContext(viewer, s.address);
        if (operation.operation === 'subscription') {
          const delivery: LiveDelivery = {
            socket: s.socket,
            id,
            groupKey: groupKeyOf(viewer, parsed.id, payload.operationName, payload.variables),
            execution,
            makeContext: () => newContext(viewer),
            finish: (result) => maskResult(result, services),
          };
          contextValue.live = { delivery, fanout };
        }
        return { ...execution, contextValue };
      },
      // Every subscription follows a fanout, which sends its live results (its stream yields only replayed
      // ones); refusals before it starts come back as results with errors.
      subscribe: async (args) => {
        const source = await createSourceEventStream(args);
        if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
        if (source instanceof FanoutSubscription) return source;
        throw new Error('A subscription must follow a fanout (realtime/fanout.ts)');
      },
      onNext: (_ctx, _id, _payload, _args, result) => maskResult(result, services),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e.toJSON())),
      onComplete: (ctx, id) => {
        sockets.get(ctx.extra.socket)?.activeOperations.delete(id);
      },
    },
  );

  // Keepalive for every socket with one timer, a slice of them at a time: a socket that did not answer the last
  // ping is dropped.
  const keepalive = new KeepaliveSweep<SocketState>((s) => {
    if (s.socket.readyState !== s.socket.OPEN) return;
    if (s.awaitingPong) return s.socket.terminate();
    s.awaitingPong = true;
    s.socket.ping();
  }, KEEPALIVE_MS);

  const addressOf = callerAddressResolver(services.config.trustProxy);
  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const s = state({ socket });
    s.address = addressOf(request);
    keepalive.add(s);
    socket.once('error', (err) => {
      services.log.warn({ err }, 'GraphQL websocket error');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    socket.on('pong', () => (s.awaitingPong = false));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState === socket.OPEN) socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            const text = String(data);
            // Recursive code (JSON.stringify of variables or of a ping's payload) would overflow on it.
            if (textNestsDeeperThan(text, LIMITS.maxJsonDepth)) return socket.close(CloseCode.BadRequest, `Messages nest at most ${LIMITS.maxJsonDepth} levels deep`);
            handle(text).catch((err) => {
              // A well-formed message of a type only servers send (next, error, connection_ack): graphql-ws
              // throws, but it is the client's mistake, answered like any invalid message and not logged.
              if (isServerOnlyMessageError(err)) return socket.close(CloseCode.BadRequest, 'Invalid message received');
              services.log.error({ err }, 'handling a GraphQL websocket message failed');
              // Close reasons never carry an internal error's message.
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket },
    );
    socket.once('close', (code, reason) => {
      keepalive.delete(s);
      closed(code, String(reason)).catch((err) => services.log.error({ err }, 'closing a GraphQL websocket failed'));
    });
  });


  return {
    wss,
    /** Closes every socket and stops accepting operations. */
    async close(): Promise<void> {
      stopFollowing();
      keepalive.close();
      fanouts.forEach((each) => each.close());
      for (const socket of wss.clients) socket.close(CloseCode.GoingAway, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type GraphQLWebSocketServer = ReturnType<typeof createGraphQLWebSocketServer>;
export type { HttpServer };
