/**
 * graphql-ws's message envelope, written by hand where graphql-ws does not write it for us: the `next` message
 * of a fanned-out subscription result (realtime/fanout.ts), and the error graphql-ws throws when a client sends
 * a message only servers send (realtime/graphqlWs.ts).
 *
 * Relies on graphql-ws 6 (checked on 6.4.2) and its graphql-transport-ws protocol:
 * - a result of subscription `id` is the text `{"id":<id>,"type":"next","payload":<ExecutionResult>}` (what
 *   `stringifyMessage` writes, with the keys in any order), which the client takes from any sender on the socket;
 * - a well-formed client message of type `next`, `error` or `connection_ack` makes the server's `handle` reject
 *   with an Error whose message starts "Unexpected message of type " (src/server.ts, the `default` case).
 *
 * Why we write it ourselves: a live result goes to thousands of subscribers of the same group. graphql-ws would
 * run, per subscriber, an iterator step, an execution, a `JSON.stringify` of the whole message and an awaited
 * send; the fan-out executes and serialises once per group and each subscriber costs copies of its prefix and of
 * the result's bytes (encoded once) and a synchronous write (bench/results.md, section 5: 5,000 subscribers at p99 216 ms, against 1,068 ms
 * for graphql-ws's own server; commit 4c9603c). The error is matched by its text because graphql-ws gives it no
 * code; it is the client's mistake (closed with BadRequest), not ours to log (commit 888ba54).
 *
 * Fallback: for the envelope, none: a protocol change is a new graphql-ws major version, and
 * graphqlWsEnvelope.test.ts (a real graphql-ws client reading what we write) fails first. For the error: when the
 * text changes, such messages are answered like any internal failure (closed with InternalServerError, logged):
 * noisier, no less safe; the test says so.
 *
 * Out of scope: every other message, which graphql-ws writes and reads itself.
 */

/**
 * The start of the `next` message of subscription `id`, computed once per subscriber: append the serialised
 * result and `}` (`nextMessage`).
 */
export function nextMessagePrefix(id: string): string {
  return `{"id":${JSON.stringify(id)},"type":"next","payload":`;
}

/** The `next` message of a subscriber (its `nextMessagePrefix`) for one serialised ExecutionResult. */
export function nextMessage(prefix: string, payloadJson: string): string {
  return prefix + payloadJson + '}';
}

/** Whether `err` is graphql-ws's refusal of a client message of a type only servers send. */
export function isServerOnlyMessageError(err: unknown): boolean {
  return /^Unexpected message of type /.test((err as Error)?.message);
}
