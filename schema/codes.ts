/**
 * The codes of the public contract (CONTRACT.md) that schema.graphql cannot hold: the websocket close codes
 * and the GraphQL error codes. The server and the web client both import this file, so a code is written as
 * a number or a string here and nowhere else; everything else uses it by name
 * (`socket.close(CloseCode.Unauthorized, ...)`, `code === ErrorCode.UNAUTHENTICATED`).
 * server/src/structure/codeLiterals.test.ts fails on a close-code number anywhere else.
 *
 * Plain `as const` objects with a type of the same name rather than TypeScript enums: they need no emit
 * beyond the object itself, so every tsconfig here (the server's NodeNext build, its tests, the client's
 * bundler mode, vite) compiles this file as it is.
 *
 * Out of scope: HTTP statuses (the contract's 401, 403, 405, 429 and 503 are HTTP's own), OData error codes.
 */

/**
 * Websocket close codes that the server sends, or that either side reads, on the grid (`/yjs`, y-websocket)
 * and on GraphQL (`/graphql`, graphql-transport-ws). The 4400-4499 codes mirror HTTP's 4xx: the stock clients
 * (graphql-ws's `createClient`, y-websocket's `WebsocketProvider`) treat them as final and do not reconnect,
 * except graphql-ws, which reconnects on `Forbidden`. The 1000-1015 codes are RFC 6455's. The graphql-ws names
 * and numbers are the library's (its `CloseCode` enum, checked against it by the structure test).
 */
export const CloseCode = {
  /**
   * RFC 6455 normal closure: graphql-ws's client closing a lazy socket that has no subscription left, or a
   * test or tool ending its own socket. Nothing was missed: a client need not resync.
   */
  NormalClosure: 1000,
  /**
   * The server is shutting down (grid and GraphQL sockets alike). The client reconnects, to another
   * instance or to this one once it is back; both stock clients do so by themselves.
   */
  GoingAway: 1001,
  /** RFC 6455, sent by the ws library for a frame that breaks the websocket protocol. A client bug: do not resend. */
  ProtocolError: 1002,
  /** RFC 6455, sent by the ws library for a frame of a kind it does not accept. A client bug: do not resend. */
  UnsupportedData: 1003,
  /**
   * Never sent: what a receiver reports for a close frame without a code. Read by tests, which see it when a
   * peer closes without one.
   */
  NoStatusReceived: 1005,
  /** Never sent: what a receiver reports when the connection dropped without a close frame. Reconnect. */
  AbnormalClosure: 1006,
  /** RFC 6455, sent by the ws library for a text frame that is not valid UTF-8. A client bug: do not resend. */
  InvalidFramePayloadData: 1007,
  /**
   * RFC 6455, sent by the ws library for a frame above the socket's limit (grid: GridServer's MAX_FRAME_BYTES;
   * GraphQL: the request body limit). Send smaller messages; resending the same one fails the same way.
   */
  MessageTooBig: 1009,
  /**
   * Grid: the server failed while opening the connection (reading the person's rights on the document, or
   * loading it, with the database away). Nothing about the request was wrong: reconnect with backoff
   * (y-websocket does).
   */
  InternalError: 1011,
  /**
   * The socket does not read what it is sent: more than the server will buffer for it is waiting (a grid
   * connection behind on broadcasts, a GraphQL subscriber too slow to follow live events). Reconnect once
   * able to keep up: the grid resyncs, and `workflowEvents` with `after` replays what was missed.
   */
  TryAgainLater: 1013,
  /**
   * A message the server could not understand: a malformed grid frame or document name, too many frames before
   * the document loaded, an oversized presence; on GraphQL an invalid message, one nesting too deep, or an
   * operation id that is too long. A client bug: do not reconnect with the same messages.
   */
  BadRequest: 4400,
  /**
   * No valid token, or the token expired, was ended by `signOut`, a password change or reset, a revocation,
   * or its person was deactivated or deleted (contract: within a second). graphql-ws also sends it for a
   * subscribe before the connection was acknowledged. Sign in again: the web client signs the person out.
   */
  Unauthorized: 4401,
  /**
   * Grid: the person may not read this document, or it does not exist (the same answer), or their access
   * changed while connected. GraphQL: their access changed; reconnect and subscribe again, and the
   * subscriptions start over with the new rights (graphql-ws reconnects by itself; a grid client does not).
   */
  Forbidden: 4403,
  /** graphql-ws: the upgrade did not offer the graphql-transport-ws subprotocol. Use that protocol. */
  SubprotocolNotAcceptable: 4406,
  /** graphql-ws: no `connection_init` within the server's wait (10 s here). Reconnect and send it at once. */
  ConnectionInitialisationTimeout: 4408,
  /** graphql-ws: a subscribe with an id already in use on this socket. A client bug: use fresh ids. */
  SubscriberAlreadyExists: 4409,
  /**
   * Ours: the person already holds MAX_SOCKETS_PER_PERSON sockets (grid and GraphQL together) on this
   * instance. Close another tab first; the stock clients do not reconnect by themselves (no reconnection storm).
   */
  TooManySockets: 4429,
  /**
   * graphql-ws's meaning of the same number as `TooManySockets`: a second `connection_init` on one socket.
   * A client bug.
   */
  TooManyInitialisationRequests: 4429,
  /**
   * graphql-ws: the server failed while handling a message (authentication at `connection_init` threw, say);
   * the reason reveals nothing. graphql-ws's client stops; reconnecting later is safe.
   */
  InternalServerError: 4500,
} as const;
/** One of the numbers of `CloseCode`. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The `extensions.code` of every GraphQL error (HTTP and websocket alike). Anything else the server meets is
 * masked as `INTERNAL_SERVER_ERROR` (server/src/errors.ts).
 */
export const ErrorCode = {
  /** No valid token (or a failed sign-in). Sign in again; with `extensions.totpRequired`, ask for the code. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Signed in, but not allowed to do this. */
  FORBIDDEN: 'FORBIDDEN',
  /** The row does not exist, or the caller may not read it: the same answer, so nothing is revealed. */
  NOT_FOUND: 'NOT_FOUND',
  /** Someone changed it first (a stale `expectedVersion`, a step already answered). Reload and retry. */
  CONFLICT: 'CONFLICT',
  /** The input breaks a rule; `extensions.field` names the input field when there is one. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** Too many requests or sign-in attempts: HTTP 429; wait `extensions.retryAfter` seconds (`Retry-After`). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** Anything unexpected, masked: the message reveals nothing. Retrying later may work. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /** Apollo's: the document is not valid GraphQL syntax. */
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  /** Apollo's: the document is invalid for the schema, or over the depth, cost or alias limits. */
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
} as const;
/** One of the strings of `ErrorCode`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
