/**
 * What the fuzz suites (`*.fuzz.test.ts`) check after every answer: an HTTP answer that is well formed, errors
 * that carry one of the contract's codes and nothing of the server's insides; plus a raw TCP exchange that
 * always ends, and a memory reading taken the same way before and after a suite.
 *
 * Out of scope: what a correct answer contains (the feature tests say that); these checks hold for any input.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { expect } from 'vitest';
import { CloseCode, ErrorCode } from '../../../schema/codes.js';

/** Every `extensions.code` the contract allows (CONTRACT.md, v1 and the v1.1 additions: schema/codes.ts). */
export const CONTRACT_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Close codes that may end a fuzzed websocket: a normal close, ws's for a frame it refuses (protocol error,
 * invalid UTF-8, too big), and the refusals of the grid and graphql-ws (bad request, no token, no access,
 * subprotocol, init timeout, too many inits or sockets). Never an internal error (CloseCode.InternalError,
 * CloseCode.InternalServerError) nor CloseCode.AbnormalClosure (dropped without a close frame). Each fuzzer
 * adds what only its own clients can get.
 */
export const REFUSAL_CLOSE_CODES: readonly number[] = [
  CloseCode.NormalClosure,
  CloseCode.ProtocolError,
  CloseCode.InvalidFramePayloadData,
  CloseCode.MessageTooBig,
  CloseCode.BadRequest,
  CloseCode.Unauthorized,
  CloseCode.Forbidden,
  CloseCode.SubprotocolNotAcceptable,
  CloseCode.ConnectionInitialisationTimeout,
  CloseCode.TooManyInitialisationRequests,
  CloseCode.TooManySockets,
];

/**
 * Text that only the server's insides produce: stack frames (plain, or in express's HTML error page), source
 * paths, and PostgreSQL, MikroORM and driver messages. The fuzzers' inputs never contain these phrases, so an
 * answer that echoes its input cannot match by accident.
 */
const LEAKS =
  /\n\s+at |&nbsp;at |stacktrace|node_modules|file:\/\/|\/work\/|\.ts:\d+:\d+|\.js:\d+:\d+|syntax error at or near|violates (not-null|foreign key|unique|check) constraint|duplicate key value|invalid input syntax for type|invalid byte sequence|relation "[^"]+" does not exist|column "[^"]+" does not exist|DriverException|MikroORM|knex|pg-boss|ECONNREFUSED|TypeError: |ReferenceError: |RangeError: |URIError: /;

export interface HttpAnswer {
  status: number;
  contentType: string;
  text: string;
}

interface GraphQLErrorLike {
  message?: unknown;
  extensions?: { code?: unknown; stacktrace?: unknown; exception?: unknown };
}

/**
 * The problems with a list of GraphQL errors (empty when each carries a contract code and no internals). With
 * `noInternalErrors`, an INTERNAL_SERVER_ERROR is one too: while the database is up, nothing a client sends
 * may make a resolver or a rule throw (it would be a crash, masked).
 */
export function graphqlErrorProblems(errors: unknown, noInternalErrors = false): string[] {
  if (errors === undefined) return [];
  if (!Array.isArray(errors) || errors.length === 0) return [`errors is not a non-empty list: ${JSON.stringify(errors)?.slice(0, 200)}`];
  const problems: string[] = [];
  for (const error of errors as GraphQLErrorLike[]) {
    const code = error?.extensions?.code;
    if (typeof error?.message !== 'string') problems.push(`error without a message: ${JSON.stringify(error).slice(0, 300)}`);
    if (!CONTRACT_CODES.has(String(code))) problems.push(`code ${String(code)} is not the contract's: ${JSON.stringify(error).slice(0, 300)}`);
    if (error?.extensions?.stacktrace !== undefined || error?.extensions?.exception !== undefined) {
      problems.push(`error with a stack trace: ${JSON.stringify(error).slice(0, 300)}`);
    }
    if (code === 'INTERNAL_SERVER_ERROR' && noInternalErrors) problems.push(`an internal error: ${JSON.stringify(error).slice(0, 300)}`);
    if (code === 'INTERNAL_SERVER_ERROR' && typeof error.message === 'string' && LEAKS.test(error.message)) {
      problems.push(`internal error with details: ${error.message.slice(0, 300)}`);
    }
  }
  return problems;
}

/**
 * Checks one HTTP answer, whatever was asked: a status under 500 (or a 500 whose every error is a masked
 * INTERNAL_SERVER_ERROR), JSON that parses when it says it is JSON, contract codes on every GraphQL error,
 * and no stack frame, path or SQL text anywhere in the body. `what` names the request in the failure;
 * `noInternalErrors` fails on any INTERNAL_SERVER_ERROR too (see graphqlErrorProblems).
 */
export function expectWellFormedAnswer(answer: HttpAnswer, what: string, options: { noInternalErrors?: boolean } = {}): void {
  const label = `${what}\n-> ${answer.status} ${answer.contentType} ${answer.text.slice(0, 400)}`;
  expect(answer.status, label).toBeGreaterThanOrEqual(100);
  expect(answer.status, label).toBeLessThan(600);
  expect(LEAKS.test(answer.text), `leak in ${label}`).toBe(false);
  let json: unknown;
  if (/json/i.test(answer.contentType) && answer.text !== '') {
    try {
      json = JSON.parse(answer.text);
    } catch {
      expect.fail(`JSON that does not parse: ${label}`);
    }
  }
  // A batch answers a list of results; anything else one result (or a non-GraphQL JSON body, e.g. a 404).
  const results = Array.isArray(json) ? json : json && typeof json === 'object' ? [json] : [];
  for (const result of results as { errors?: unknown }[]) {
    expect(graphqlErrorProblems(result?.errors, options.noInternalErrors), label).toEqual([]);
  }
  if (answer.status >= 500) {
    const codes = results.flatMap((r) => ((r as { errors?: GraphQLErrorLike[] })?.errors ?? []).map((e) => e?.extensions?.code));
    expect(codes.length > 0 && codes.every((c) => c === 'INTERNAL_SERVER_ERROR'), `a 5xx that is not a masked internal error: ${label}`).toBe(true);
  }
}

/**
 * V8's full collection, reachable without --expose-gc: the flag is set at run time and `gc` taken from a fresh
 * context. Measured after it, memory is what is still referenced, not garbage a later collection would free.
 */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed();
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Collects garbage, then reads the memory still used. */
export function memoryNow(): { heapUsed: number; arrayBuffers: number } {
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

/**
 * Growth allowed across one fuzz suite, measured after a full collection. Generous on purpose: caches fill up
 * to their bounds (Apollo's parsed documents, graphql-ws's), and it is meant to catch the leaks of hundreds of
 * MB the issue found (pending updates, kept ids and variables), not to measure.
 */
export const MEMORY_GROWTH_BOUND = 150 * 1024 * 1024;

/** Fails when heap or array buffers grew by more than MEMORY_GROWTH_BOUND since `before`. */
export function expectMemoryBounded(before: { heapUsed: number; arrayBuffers: number }, what: string): void {
  const after = memoryNow();
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const heapGrowth = after.heapUsed - before.heapUsed;
  const bufferGrowth = after.arrayBuffers - before.arrayBuffers;
  const report = `${what}: heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, array buffers ${mb(before.arrayBuffers)} -> ${mb(after.arrayBuffers)}`;
  if (process.env.FUZZ_REPORT) console.log(report);
  expect(heapGrowth, report).toBeLessThan(MEMORY_GROWTH_BOUND);
  expect(bufferGrowth, report).toBeLessThan(MEMORY_GROWTH_BOUND);
}

export interface RawExchange {
  /** Everything the server sent. */
  bytes: Buffer;
  /** The status of the first line, when the server sent an HTTP status line (0 otherwise). */
  status: number;
  /** The code of the first close frame after a 101, when there is one. */
  closeCode?: number;
  /** False when the server neither closed the connection nor answered before `giveUpMs`. */
  ended: boolean;
}

/** The close code of the first websocket frame after a 101's headers, if that frame is a close frame. */
export function closeCodeAfter101(bytes: Buffer): number | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const frame = bytes.subarray(end + 4);
  if (frame.length < 2 || (frame[0] & 0x0f) !== 0x8) return undefined;
  // A close frame may carry no code at all (CloseCode.NoStatusReceived on the receiving side).
  return frame.length >= 4 ? frame.readUInt16BE(2) : CloseCode.NoStatusReceived;
}

/**
 * Writes `chunks` on a fresh TCP connection, then half-closes it as a client that has said everything does,
 * and collects what the server sends until it closes. A server that takes its time is waited for up to
 * `giveUpMs` (a liveness bound, far above any real answer time): `ended` false means it never answered nor
 * closed.
 */
export function rawExchange(port: number, chunks: (string | Uint8Array)[], giveUpMs = 30_000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const bytes = Buffer.concat(received);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(bytes.subarray(0, 20).toString('latin1'))?.[1] ?? 0);
      resolve({ bytes, status, closeCode: status === 101 ? closeCodeAfter101(bytes) : undefined, ended });
    };
    const timer = setTimeout(() => finish(false), giveUpMs);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      socket.end();
    });
    socket.on('data', (chunk) => received.push(chunk));
    // A reset by the server (it may refuse what it read) ends the exchange as a close does.
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}
