/**
 * Writing a buffer to a TCP socket's libuv handle directly, past Node's Writable machinery: node:net's private
 * `socket._handle` (a TCPWrap) and the `WriteWrap` request of `process.binding('stream_wrap')`.
 *
 * Relies on Node 20 (checked on 20.20, lib/internal/stream_base_commons.js `writeGeneric`): when a socket's
 * Writable holds nothing (nothing buffered, not corked, connected, not ended), `socket.write(buffer)` calls
 * `handle.writeBuffer(req, buffer)` at once, with a fresh `WriteWrap` as `req`; libuv writes what the kernel
 * takes and queues the rest, in order, ahead of anything written to the handle after it. Making that one call
 * ourselves therefore puts the same bytes on the wire in the same order.
 *
 * Why we reach in: a broadcast writes the same frame to every socket of a document (or every subscriber of a
 * live event), and in a process as large as the server every stream of every kind (HTTP, PostgreSQL, Redis,
 * zlib, files) goes through the same Writable and net.Socket functions, whose property loads V8 then serves
 * from its megamorphic cache. Measured (issue 16): 0.5-0.7 us of the 2-3 us of user CPU per socket write in a
 * microbenchmark whose process had written to a few other kinds of streams; in the grid fan-out scenario (1
 * writer, 1,000 observers) Plansync's CPU per update per observer went from 0.99-1.07x the reference's to
 * 0.80-0.94x in the same rounds.
 *
 * What the Writable no longer sees: a write libuv could not finish at once waits in the handle's own queue,
 * which the Writable does not count; `queuedBytes` says how much, and backpressure adds it (wsSender.ts
 * `unsentBytes`). A write that fails destroys the socket (without an error: ws closes the connection on its
 * 'close'), as a failed `socket.write` would.
 *
 * Fallback: when the socket holds something already, or Node's internals are not as described, the buffer goes
 * through `socket.write`: the same bytes, only slower. socketWrite.test.ts fails, saying what changed, so that a
 * Node upgrade cannot turn this off (or break it) unnoticed.
 */
import type { Socket } from 'node:net';

/** The request object libuv's write takes (its C++ class needs one made by this constructor, not any object). */
interface WriteRequest {
  handle: TcpHandle;
  oncomplete: (this: WriteRequest, status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | null;
  socket: Socket;
}

interface TcpHandle {
  writeBuffer(req: WriteRequest, buffer: Buffer): number;
  writeQueueSize: number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

/** Node's stream_wrap binding, or undefined when this Node does not offer it as described. */
const streamWrap = loadStreamWrap();

function loadStreamWrap(): StreamWrapBinding | undefined {
  try {
    // process.binding is deprecated (DEP0111, a warning only under --pending-deprecation); its stream_wrap is
    // the only way to the WriteWrap that a handle's writeBuffer takes.
    const binding = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof binding.WriteWrap !== 'function' || !(binding.streamBaseState instanceof Int32Array) || typeof binding.kLastWriteWasAsync !== 'number') return undefined;
    return binding as StreamWrapBinding;
  } catch {
    return undefined;
  }
}

/** The socket's stream handle (`writeQueueSize`, a native getter, is not read here: this runs on every write). */
function handleOf(socket: Socket): TcpHandle | undefined {
  const handle = (socket as unknown as { _handle?: Partial<TcpHandle> | null })._handle;
  return handle && typeof handle.writeBuffer === 'function' ? (handle as TcpHandle) : undefined;
}

/** A write that libuv finished later: a failure closes the socket, as Node's own completion would. */
function onWriteComplete(this: WriteRequest, status: number): void {
  this.buffer = null;
  if (status < 0 && !this.socket.destroyed) this.socket.destroy();
}

/** Whether writes to this socket can go to its handle directly (for tests: false means they use `socket.write`). */
export function writesDirectly(socket: Socket): boolean {
  return streamWrap !== undefined && typeof handleOf(socket)?.writeQueueSize === 'number' && writableStateOf(socket) !== undefined;
}

/** The fields of the socket's Writable state that say whether it holds anything (node:stream's WritableState). */
interface WritableState {
  length: number;
  corked: number;
  ending: boolean;
  destroyed: boolean;
}

/**
 * The socket's Writable state, read once: its public getters (`writableLength`, `writableCorked`, ...) each read
 * it again, through the same megamorphic loads this module exists to avoid.
 */
function writableStateOf(socket: Socket): WritableState | undefined {
  const state = (socket as unknown as { _writableState?: Partial<WritableState> | null })._writableState;
  return state && typeof state.length === 'number' && typeof state.corked === 'number' ? (state as WritableState) : undefined;
}

/** Whether the last `writeToSocket` left bytes waiting (in the handle or the Writable): see `writeToSocket`. */
let leftBytes = false;

/**
 * Writes `buffer` to the socket: straight to its handle when the socket's Writable holds nothing (see the
 * header), else through `socket.write`. The buffer must not change afterwards (libuv may still be sending it).
 * Answers whether bytes wait to be sent after it (libuv queued part of it, or it went through the Writable):
 * when not, the kernel took everything, and nothing waits in the handle either (libuv writes at once only when
 * its queue is empty), so there is no backpressure to look at.
 */
export function writeToSocket(socket: Socket, buffer: Buffer): boolean {
  const handle = streamWrap && handleOf(socket);
  const state = writableStateOf(socket);
  if (!handle || !state || socket.connecting || state.length !== 0 || state.corked !== 0 || state.ending || state.destroyed) {
    socket.write(buffer);
    return (leftBytes = true);
  }
  const req = new streamWrap.WriteWrap();
  req.handle = handle;
  req.oncomplete = onWriteComplete;
  req.async = false;
  req.bytes = 0;
  req.buffer = null;
  req.socket = socket;
  const err = handle.writeBuffer(req, buffer);
  if (err !== 0) {
    socket.destroy();
    return (leftBytes = false);
  }
  if (!streamWrap.streamBaseState[streamWrap.kLastWriteWasAsync]) return (leftBytes = false);
  // Written in part: libuv sends the rest later, from this buffer, which the request keeps alive until then.
  req.buffer = buffer;
  return (leftBytes = true);
}

/** Whether the last `writeToSocket` left bytes waiting: the caller that wants to look at backpressure. */
export function lastWriteLeftBytes(): boolean {
  return leftBytes;
}

/** Bytes written to the socket's handle that the kernel has not taken yet (not counted by the Writable). */
export function queuedBytes(socket: Socket): number {
  const queued = (socket as unknown as { _handle?: Partial<TcpHandle> | null })._handle?.writeQueueSize;
  return typeof queued === 'number' ? queued : 0;
}
