/**
 * The errors of the public contract, as factories by code (the codes themselves are in schema/codes.ts,
 * shared with the client), and the one place that decides what an error may reveal.
 *
 * Resolvers throw these factories; anything else that escapes (a database error, a bug) is masked as
 * INTERNAL_SERVER_ERROR by `maskError`, on HTTP and on websockets alike, so no stack, SQL or row detail
 * ever reaches a client.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../../schema/codes.js';

// The codes themselves are the contract's, in schema/codes.ts (the web client reads the same table).
export { ErrorCode };

const PUBLIC_CODES = new Set<string>(Object.values(ErrorCode));

/** Apollo's own request-level codes, folded into the contract's: they all mean "your request is wrong". */
const FOLDED_CODES: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BAD_USER_INPUT,
};

function error(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const unauthenticated = (message = 'Sign in first: a valid token is required') =>
  error(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'You are not allowed to do this') => error(ErrorCode.FORBIDDEN, message);
export const notFound = (what = 'The requested item') => error(ErrorCode.NOT_FOUND, `${what} was not found`);
export const conflict = (message: string, extra?: Record<string, unknown>) =>
  error(ErrorCode.CONFLICT, message, extra);
export const badUserInput = (message: string, field?: string) =>
  error(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

/**
 * Too many attempts: HTTP 429 with `Retry-After` (Apollo turns `extensions.http` into the response's status and
 * headers and drops it from the body); `extensions.retryAfter` says the same to websocket clients.
 */
export const rateLimited = (retryAfterSeconds: number, what = 'Too many attempts') => {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return error(ErrorCode.RATE_LIMITED, `${what}: try again in ${seconds} s`, {
    retryAfter: seconds,
    http: { status: 429, headers: new Map([['retry-after', String(seconds)]]) },
  });
};

/** True when an error is one of ours (or graphql-js's) and safe to show as it is. */
function isPublic(formatted: GraphQLFormattedError): boolean {
  const code = formatted.extensions?.code;
  return typeof code === 'string' && PUBLIC_CODES.has(code);
}

/**
 * What a client sees of an error. Contract codes pass with their message; Apollo's request codes are folded
 * into BAD_USER_INPUT; everything else becomes a bare INTERNAL_SERVER_ERROR (the original is logged by the
 * caller). Stack traces never leave the server.
 */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && FOLDED_CODES[code]) {
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: FOLDED_CODES[code] } };
  }
  if (isPublic(formatted) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    // `http` is Apollo's (status and headers); over websockets nothing else removes it.
    const { stacktrace: _drop, http: _http, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/**
 * Apollo refuses some requests with an HTTP status and no code (a persisted query whose hash does not match its
 * text), and its formatting then fills in INTERNAL_SERVER_ERROR. `original` is the error as thrown: a 4xx of
 * Apollo's without a code is the client's mistake (BAD_USER_INPUT), not a crash to mask and log.
 */
export function requestErrorCode(formatted: GraphQLFormattedError, original: unknown): GraphQLFormattedError {
  const extensions = original instanceof GraphQLError ? original.extensions : undefined;
  const status = (extensions?.http as { status?: unknown } | undefined)?.status;
  if (!extensions || extensions.code !== undefined || typeof status !== 'number' || status < 400 || status >= 500) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.BAD_USER_INPUT } };
}

/** True when the masked form of this error hides something worth logging. */
export function isUnexpected(formatted: GraphQLFormattedError): boolean {
  const code = formatted.extensions?.code;
  return !(typeof code === 'string' && (PUBLIC_CODES.has(code) || FOLDED_CODES[code])) || code === ErrorCode.INTERNAL_SERVER_ERROR;
}
