/**
 * GraphQL over websockets (the graphql-transport-ws protocol, graphql-ws's server on ws).
 *
 * graphql-ws does not run Apollo's pipeline, so what Apollo does for HTTP is done again here:
 * - authentication at `connection_init` (connection params `{ authorization: "Bearer <token>" }`): no valid
 *   token closes the socket with 4401 before any operation runs; the socket closes with 4401 when the token
 *   expires;
 * - the same parse limits and validation rules (depth, cost, aliases), with the contract's codes;
 * - the same error masking on every result;
 * - a cap on active subscriptions per socket.
 */
import type { Server as HttpServer } from 'node:http';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken } from '../auth/viewers.js';
import { ErrorCode, isUnexpected, maskError } from '../errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { LIMITS, validationRules } from '../graphql/limits.js';
import type { Viewer } from '../policies/viewer.js';
import type { Services } from '../services.js';
import { onEvent } from './eventBus.js';

/** What we keep per socket, on graphql-ws's `extra`. */
interface SocketState {
  socket: WebSocket;
  viewer?: Viewer;
  expiryTimer?: NodeJS.Timeout;
  activeOperations: Set<string>;
}

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

/** Creates the graphql-ws server; the caller routes `/graphql` upgrades to `wss.handleUpgrade`. */
export function createGraphQLWebSocketServer(schema: GraphQLSchema, services: Services) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxBodyBytes });
  const rules = [...specifiedRules, ...validationRules];

  const sockets = new WeakMap<WebSocket, SocketState>();
  /** Open sockets per person, so that a change of their access reaches them. */
  const byUser = new Map<string, Set<WebSocket>>();
  // Subscriptions keep the scope computed when they started; after an access change the socket closes
  // (4403), and the client subscribes again with the new rights.
  const stopFollowingAccess = onEvent(services.events, 'USER_ACCESS_CHANGED', ({ userId }) => {
    for (const socket of byUser.get(userId) ?? []) socket.close(CloseCode.Forbidden, 'access changed');
  });
  // Redis is away (checked now and then) or came back: an access change made on another instance meanwhile
  // was not heard. Re-read everyone connected here, and close the sockets of those whose access changed.
  let rechecking = false;
  const stopFollowingResync = onEvent(services.events, 'CLUSTER_RESYNC', () => {
    if (rechecking) return;
    rechecking = true;
    void recheckEveryone().finally(() => (rechecking = false));
  });
  const stopFollowing = () => {
    stopFollowingAccess();
    stopFollowingResync();
  };
  async function recheckEveryone(): Promise<void> {
    const em = services.orm.em.fork();
    for (const [userId, mine] of [...byUser]) {
      try {
        const viewers = [...mine].map((socket) => sockets.get(socket)?.viewer).filter((v): v is Viewer => !!v);
        if (viewers.length === 0) continue;
        const now = await services.viewers.refresh(em, viewers[0]);
        for (const socket of [...(byUser.get(userId) ?? [])]) {
          const before = sockets.get(socket)?.viewer;
          if (before && (!now || !sameAccess(before, now))) socket.close(CloseCode.Forbidden, 'access changed');
        }
      } catch (err) {
        services.log.error({ err, userId }, 're-checking a GraphQL socket failed');
      }
    }
  }
  const state = (extra: { socket: WebSocket }): SocketState => {
    let s = sockets.get(extra.socket);
    if (!s) sockets.set(extra.socket, (s = { socket: extra.socket, activeOperations: new Set() }));
    return s;
  };

  const disposable = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      // Close reasons never carry an internal error's message (graphql-ws would, outside NODE_ENV=production).
      isProd: true,
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
        if (s.activeOperations.size >= LIMITS.maxSubscriptionsPerSocket) {
          return [codedError(`At most ${LIMITS.maxSubscriptionsPerSocket} operations may run on one socket`, ErrorCode.BAD_USER_INPUT)];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: LIMITS.maxTokens });
        } catch (err) {
          return [codedError((err as Error).message, ErrorCode.GRAPHQL_PARSE_FAILED)];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) {
          return errors.map((e) => codedError(e.message, ErrorCode.GRAPHQL_VALIDATION_FAILED));
        }
        // What Apollo answers over HTTP: an operation that cannot be picked, or variables that do not fit their
        // types, are the caller's mistake (graphql-js gives them no code, so they would be masked as internal).
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [codedError('The document names no single operation to run (operationName)', ErrorCode.BAD_USER_INPUT)];
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 20 });
        if (coerced.errors) return coerced.errors.map((e) => codedError(e.message, ErrorCode.BAD_USER_INPUT));
        s.activeOperations.add(id);
        // The EntityManager is forked only when a resolver first needs one: most subscriptions sit idle, and
        // their events carry what they render, so an eager fork per subscription was memory for nothing.
        let em: GraphQLContext['em'] | undefined;
        const contextValue: GraphQLContext = {
          get em() {
            return (em ??= services.orm.em.fork());
          },
          viewer: s.viewer ?? null,
          services,
          ip: null,
        };
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) => maskResult(result, services),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e.toJSON())),
      onComplete: (ctx, id) => {
        sockets.get(ctx.extra.socket)?.activeOperations.delete(id);
      },
    },
    wss,
  );

  return {
    wss,
    /** Closes every socket and stops accepting operations. */
    async close(): Promise<void> {
      stopFollowing();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type GraphQLWebSocketServer = ReturnType<typeof createGraphQLWebSocketServer>;
export type { HttpServer };
