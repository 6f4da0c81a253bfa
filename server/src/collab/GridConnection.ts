/**
 * One grid websocket: a person connected to one document, with the rights they have on it right now.
 *
 * - Frames are decoded at the edge; a malformed or unknown one closes this connection only
 *   (CloseCode.BadRequest).
 * - A read-only connection (VIEWER, ANALYST, or a unit whose submission is SUBMITTED or APPROVED) may sync
 *   and share presence, but its sync step 2 and update messages are dropped: never applied, broadcast or
 *   stored. Rights can change while connected (`setReadOnly`).
 * - Updates go into the document's pipeline as this person's changes (GridDocument); an update whose
 *   dependencies the server lacks is partly dropped there, and answered here with a sync request.
 * - Presence is vetted by the document and sent at most every PRESENCE_INTERVAL_MS (the latest wins).
 * - Backpressure: a client that does not read what it is sent stops being read from once more than
 *   HIGH_WATER_BYTES wait to be sent (its questions, sync step 1 and query awareness, are answered once, when
 *   it has caught up); beyond MAX_UNSENT_BYTES it is closed (CloseCode.TryAgainLater).
 * - Kept alive and timed out by the server's sweeps (GridServer: every connection pinged every 30 s by one timer
 *   for all, a slice of them at a time (internals/keepaliveSweep.ts), a connection that missed a pong is terminated; one timer for the earliest token expiry, a connection closes
 *   with CloseCode.Unauthorized when its token expires), not by timers of its own.
 *
 * Memory: an idle connection is what most of a server's connections are, so it holds little: no closure, timer or
 * object of its own (the socket's listeners are shared functions, `this` being the socket; the connection is the
 * origin and the writer of its changes itself), and what only a busy or misbehaving client needs (presence and
 * sync pacing, backpressure, refusal logging) in `Pacing`, made on first use.
 *
 * Close codes are the contract's (schema/codes.ts), shared with the client.
 */
import type { WebSocket } from 'ws';
import { CloseCode } from '../../../schema/codes.js';
import { directWriteLeftBytes, unsentBytes, writeFrameDirect } from '../internals/wsSender.js';
import type { Viewer } from '../policies/viewer.js';
import type { GridDocument, GridPeer } from './GridDocument.js';
import { messageArrived, messageHandled } from './arrivalClock.js';
import type { Writer } from './clientIds.js';
import type { Author, ConnectionOrigin } from './origins.js';
import { PresenceError, type PresenceIdentity, type VettedAwareness } from './presence.js';
import type { SharedIdentity } from './sharedViewers.js';
import { decodeClientMessage, encodeAwareness, encodeSyncStep1, encodeSyncStep2, ProtocolError } from './protocol.js';

/** Above this many unsent bytes, nothing more is read from the client until it catches up. */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** Above this many unsent bytes (broadcasts keep coming), the connection is closed (CloseCode.TryAgainLater). */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;
/** How often a paused connection is looked at again. */
const DRAIN_CHECK_MS = 50;
/** At most one presence change per connection this often; later ones replace a waiting one. */
export const PRESENCE_INTERVAL_MS = 100;
const MS_PER_SECOND = 1e3;
/** At most one sync request (for dropped, incomplete updates) per connection this often. */
const SYNC_REQUEST_INTERVAL_MS = 1000;

/** What a connection tells its server; one object for all of a server's connections. */
export interface ConnectionEvents {
  onAccepted(count: number): void;
  /** Changes refused: counted every time; `detail` is given at most once a minute per connection (for the log). */
  onRejected(connection: GridConnection, count: number, detail: { refused: string[]; since: number } | null): void;
  onClosed(connection: GridConnection): void;
  /** The connection's token expires at `atMs` (ms since the epoch): the server closes it then (`expire`). */
  expiresAt(atMs: number): void;
}

/** At most this many frames, and bytes (two of the largest frames GridServer takes), wait while a socket's person and document are looked up. */
const MAX_BUFFERED_FRAMES = 100;
const MAX_BUFFERED_BYTES = 2 * 1024 * 1024;

/**
 * A socket whose person and document are being looked up (GridServer.connect): what it sends meanwhile waits
 * here, in order, for the connection to handle once it starts.
 */
export class PendingSocket {
  readonly buffered: Uint8Array[] = [];
  private bytes = 0;
  /** The socket closed before the connection started. */
  closed = false;

  constructor(private readonly socket: WebSocket) {}

  buffer(data: Buffer): void {
    this.bytes += data.byteLength;
    if (this.buffered.length >= MAX_BUFFERED_FRAMES || this.bytes > MAX_BUFFERED_BYTES) {
      this.socket.close(CloseCode.BadRequest, 'too many messages before sync');
      return;
    }
    this.buffered.push(new Uint8Array(data));
  }
}

/** What a socket carries, for the shared listeners below: its connection, or its state until that starts. */
const CONNECTION = Symbol('gridConnection');
type ConnectedSocket = WebSocket & { [CONNECTION]?: GridConnection | PendingSocket };

function onSocketMessage(this: ConnectedSocket, data: Buffer, isBinary: boolean): void {
  const holder = this[CONNECTION];
  if (!(holder instanceof GridConnection)) return holder?.buffer(data);
  messageArrived(process.hrtime.bigint());
  try {
    holder.receive(data, isBinary);
  } finally {
    messageHandled();
  }
}
function onSocketPong(this: ConnectedSocket): void {
  const holder = this[CONNECTION];
  if (holder instanceof GridConnection) holder.alive = true;
}
function onSocketClose(this: ConnectedSocket): void {
  const holder = this[CONNECTION];
  if (holder instanceof GridConnection) holder.cleanup();
  else if (holder) holder.closed = true;
}
function onSocketError(this: ConnectedSocket): void {
  const holder = this[CONNECTION];
  if (holder instanceof GridConnection) holder.close(CloseCode.BadRequest, 'socket error');
  else this.terminate();
}

/**
 * Gives a socket just accepted its listeners, for good: shared functions that hand what comes to its pending
 * state now, and to its connection once that starts. Never removed and added again: removing a listener
 * deletes a property of the socket's listener table, which turns it into a dictionary for the socket's
 * lifetime (about 0.2 KB more per idle connection, issue 16).
 */
export function listenToSocket(socket: WebSocket): PendingSocket {
  const pending = new PendingSocket(socket);
  (socket as ConnectedSocket)[CONNECTION] = pending;
  socket.on('message', onSocketMessage);
  socket.on('pong', onSocketPong);
  socket.on('close', onSocketClose);
  socket.on('error', onSocketError);
  return pending;
}

/** State only a busy or misbehaving client needs: made on first use, dropped with the connection. */
interface Pacing {
  /** Presence waiting for its slot (the latest one the client sent), and its timer. */
  waitingPresence?: VettedAwareness;
  presenceTimer?: NodeJS.Timeout;
  lastPresenceAt: number;
  syncTimer?: NodeJS.Timeout;
  lastSyncRequestAt: number;
  /** Backpressure: set while the client is not read from; questions that arrived meanwhile, answered once it caught up. */
  drainTimer?: NodeJS.Timeout;
  deferredSyncStep1?: Uint8Array;
  deferredQueryAwareness?: boolean;
  /** Refusals not logged yet, and when the last log line was written. */
  unloggedRefusals: string[];
  unloggedCount: number;
  lastRefusalLogAt: number;
}

/** A connection's yes/no state, as bits of one number (a field each would cost every connection a slot each). */
const ALIVE = 1;
const STARTED = 2;
const CLOSED = 4;
const READ_ONLY = 8;

export class GridConnection implements GridPeer, ConnectionOrigin, Writer {
  presenceId?: number;
  private flags = ALIVE;
  private pacing?: Pacing;

  constructor(
    private readonly socket: WebSocket,
    /** Who is connected and their name next to their cursor: shared with their other connections (sharedViewers.ts). */
    private shared: SharedIdentity,
    readonly document: GridDocument,
    readOnly: boolean,
    private readonly events: ConnectionEvents,
  ) {
    if (readOnly) this.flags |= READ_ONLY;
  }

  /** Answered the last ping (the server's keep-alive sweep). */
  get alive(): boolean {
    return (this.flags & ALIVE) !== 0;
  }

  set alive(alive: boolean) {
    this.flags = alive ? this.flags | ALIVE : this.flags & ~ALIVE;
  }

  private get started(): boolean {
    return (this.flags & STARTED) !== 0;
  }

  private get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }

  private get readOnly(): boolean {
    return (this.flags & READ_ONLY) !== 0;
  }

  /** Who is connected, with the rights they have now. */
  get viewer(): Viewer {
    return this.shared.viewer;
  }

  get userId(): string {
    return this.shared.viewer.userId;
  }

  /** Who the person is, for their presence (presence.ts). */
  get identity(): PresenceIdentity {
    return { name: this.shared.displayName, email: this.shared.viewer.email };
  }

  // The connection is the origin of the changes it applies (origins.ts) and the writer of its client ids
  // (clientIds.ts): no object of their own per connection.
  get kind(): 'connection' {
    return 'connection';
  }

  get author(): Author {
    return { userId: this.shared.viewer.userId, source: 'GRID' };
  }

  get writer(): Writer {
    return this;
  }

  get connection(): object {
    return this;
  }

  /** The person's role or units changed while connected. */
  updateViewer(shared: SharedIdentity, readOnly: boolean): void {
    this.shared = shared;
    this.events.expiresAt(this.expiresAtMs);
    this.setReadOnly(readOnly);
  }

  get isReadOnly(): boolean {
    return this.readOnly;
  }

  /** Rights changed while connected (a submission, a role change): applies from the next message on. */
  setReadOnly(readOnly: boolean): void {
    const reopened = this.readOnly && !readOnly;
    this.flags = readOnly ? this.flags | READ_ONLY : this.flags & ~READ_ONLY;
    // What the client sent while read-only was dropped, so the server lacks those structs, and the client's
    // later changes would be incomplete. Asking for a sync (step 1) gets them back, validated like any other
    // change, and unblocks the client's later edits.
    if (reopened && this.started) this.send(encodeSyncStep1(this.document.doc));
  }

  /**
   * Starts the session: joins the document, sends sync step 1 and the current presence, then handles the
   * messages that arrived while the document was loading, in order.
   */
  start(buffered: Uint8Array[]): void {
    this.flags |= STARTED;
    this.document.addPeer(this);
    this.send(encodeSyncStep1(this.document.doc));
    const present = [...this.document.awareness.getStates().keys()];
    if (present.length > 0) this.send(encodeAwareness(this.document.awareness, present));
    // The socket's listeners (listenToSocket) hand everything to this connection from now on.
    (this.socket as ConnectedSocket)[CONNECTION] = this;
    if (this.expired()) return;
    this.events.expiresAt(this.expiresAtMs);
    for (const frame of buffered) this.handle(frame);
  }

  /** The server's keep-alive sweep: terminates a connection that did not answer the last ping, pings the others. */
  keepAlive(): void {
    if (this.closed) return;
    if (!this.alive) return this.socket.terminate();
    this.alive = false;
    this.socket.ping();
  }

  /** When the connection's token expires, in ms since the epoch (the token says it in seconds). */
  get expiresAtMs(): number {
    return this.shared.viewer.expiresAt * MS_PER_SECOND;
  }

  /** Closes the connection (CloseCode.Unauthorized) once its token has expired; says whether it did. */
  expired(now = Date.now()): boolean {
    if (this.closed || this.expiresAtMs > now) return false;
    this.close(CloseCode.Unauthorized, 'token expired');
    return true;
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    // No per-send callback: on a broadcast to many peers it is pure overhead; a failed write surfaces as the
    // socket's 'error' event, which closes the connection.
    this.socket.send(frame);
    this.checkBackpressure();
  }

  /**
   * Broadcasts of one event-loop turn: `framed` is `messages` as consecutive complete websocket frames
   * (protocol.websocketFrame), built once for every receiver. When ws's sender is idle (no compression or Blob
   * read in progress: always, as we send neither) ws would write each frame to the socket synchronously, so
   * writing the same bytes ourselves, at once, keeps the order of everything sent on this socket
   * (internals/wsSender.ts): one write for them all, no callback, no promise, no allocation per receiver.
   * Otherwise ws queues, and each message goes through ws behind what it holds.
   */
  sendFramed(messages: readonly Uint8Array[], framed: Buffer): void {
    if (this.closed || this.socket.readyState !== 1 /* OPEN */) return;
    if (writeFrameDirect(this.socket, framed)) {
      // The kernel took it all (the usual case): nothing waits for this client, so there is nothing to check.
      if (!directWriteLeftBytes()) return;
    } else {
      for (const message of messages) this.socket.send(message);
    }
    this.checkBackpressure();
  }

  /** Closes the socket with one of the contract's close codes, and lets go of the document. */
  close(code: CloseCode, reason: string): void {
    if (this.closed) return;
    // Reading again, if backpressure had stopped it: else the client's answer to our close frame is never read,
    // and ws holds the connection for its close timeout (30 s). What else it sends is ignored (`handle`).
    if (this.paused) this.socket.resume();
    this.socket.close(code, reason);
    this.cleanup();
  }

  /** A frame from the socket (its shared 'message' listener). */
  receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.close(CloseCode.BadRequest, 'binary frames only');
    this.handle(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private get paused(): boolean {
    return this.pacing?.drainTimer !== undefined;
  }

  private paced(): Pacing {
    return (this.pacing ??= { lastPresenceAt: 0, lastSyncRequestAt: 0, unloggedRefusals: [], unloggedCount: 0, lastRefusalLogAt: 0 });
  }

  private handle(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      const message = decodeClientMessage(frame);
      switch (message.kind) {
        case 'syncStep1':
          if (this.paused) this.paced().deferredSyncStep1 = message.stateVector;
          else this.send(encodeSyncStep2(this.document.doc, message.stateVector));
          break;
        case 'syncStep2':
        case 'update': {
          // Dropped: never applied, broadcast or stored. A frozen document (a submission in progress) counts as
          // read-only for everyone, even before the submission's status reaches this connection.
          if (this.readOnly || this.document.frozen) break;
          const result = this.document.applyClientUpdate(message.update, this, message.kind);
          if (result.accepted > 0) this.events.onAccepted(result.accepted);
          if (result.foreignClientIds.length > 0 || result.rejected.length > 0) {
            this.refused([...result.foreignClientIds.map((id) => `<client id ${id} held by another connection>`), ...result.rejected]);
          }
          if (result.missing) this.requestSync();
          break;
        }
        case 'awareness':
          this.presence(message.update);
          break;
        case 'queryAwareness':
          if (this.paused) this.paced().deferredQueryAwareness = true;
          else this.answerQueryAwareness();
          break;
      }
    } catch (err) {
      this.close(CloseCode.BadRequest, err instanceof ProtocolError || err instanceof PresenceError ? 'malformed message' : 'invalid update');
    }
  }

  private answerQueryAwareness(): void {
    const present = [...this.document.awareness.getStates().keys()];
    if (present.length > 0) this.send(encodeAwareness(this.document.awareness, present));
  }

  /**
   * Presence, vetted at once (so that what is not this connection's own never takes its slot), then applied in
   * its slot: at once if the last one was long enough ago, else the latest waits for the next slot.
   */
  private presence(update: Uint8Array): void {
    const vetted = this.document.vetPeerAwareness(update, this);
    if (!vetted) return;
    const pacing = this.paced();
    const wait = pacing.lastPresenceAt + PRESENCE_INTERVAL_MS - Date.now();
    if (wait <= 0 && !pacing.presenceTimer) return this.applyPresence(vetted);
    pacing.waitingPresence = vetted;
    pacing.presenceTimer ??= setTimeout(() => {
      pacing.presenceTimer = undefined;
      const waiting = pacing.waitingPresence;
      pacing.waitingPresence = undefined;
      if (waiting && !this.closed) this.applyPresence(waiting);
    }, Math.max(wait, 0));
  }

  private applyPresence(vetted: VettedAwareness): void {
    this.paced().lastPresenceAt = Date.now();
    this.document.applyPeerAwareness(vetted, this);
  }

  /** Part of an update could not be integrated (see GridDocument): ask the client for what the server lacks. */
  private requestSync(): void {
    const pacing = this.paced();
    if (pacing.syncTimer) return;
    const wait = Math.max(0, pacing.lastSyncRequestAt + SYNC_REQUEST_INTERVAL_MS - Date.now());
    pacing.syncTimer = setTimeout(() => {
      pacing.syncTimer = undefined;
      pacing.lastSyncRequestAt = Date.now();
      this.send(encodeSyncStep1(this.document.doc));
    }, wait);
  }

  /** Counts refusals; the detail goes to the log at most once a minute per connection, so a client cannot flood it. */
  private refused(refused: string[]): void {
    const pacing = this.paced();
    pacing.unloggedCount += refused.length;
    if (pacing.unloggedRefusals.length < 10) pacing.unloggedRefusals.push(...refused.slice(0, 10 - pacing.unloggedRefusals.length));
    const now = Date.now();
    if (now - pacing.lastRefusalLogAt < 60_000) return this.events.onRejected(this, refused.length, null);
    this.events.onRejected(this, refused.length, { refused: pacing.unloggedRefusals, since: pacing.unloggedCount });
    pacing.lastRefusalLogAt = now;
    pacing.unloggedRefusals = [];
    pacing.unloggedCount = 0;
  }

  /** What waits to be sent to this client: ws's queue, the TCP socket's buffer and its handle's queue. */
  private get unsent(): number {
    return unsentBytes(this.socket);
  }

  private checkBackpressure(): void {
    const unsent = this.unsent;
    if (unsent <= HIGH_WATER_BYTES) return;
    if (unsent > MAX_UNSENT_BYTES) return this.close(CloseCode.TryAgainLater, 'not reading');
    if (this.paused) return;
    this.socket.pause();
    this.paced().drainTimer = setInterval(() => this.resumeIfDrained(), DRAIN_CHECK_MS);
  }

  private resumeIfDrained(): void {
    const pacing = this.pacing;
    if (this.closed || !pacing || this.unsent > HIGH_WATER_BYTES / 4) return;
    clearInterval(pacing.drainTimer);
    pacing.drainTimer = undefined;
    const { deferredSyncStep1, deferredQueryAwareness } = pacing;
    pacing.deferredSyncStep1 = undefined;
    pacing.deferredQueryAwareness = undefined;
    if (deferredSyncStep1) this.send(encodeSyncStep2(this.document.doc, deferredSyncStep1));
    if (deferredQueryAwareness) this.answerQueryAwareness();
    if (!this.paused) this.socket.resume();
  }

  /** The socket closed (its shared 'close' listener) or we closed it: lets go of everything, once. */
  cleanup(): void {
    if (this.closed) return;
    this.flags |= CLOSED;
    const pacing = this.pacing;
    if (pacing) {
      clearInterval(pacing.drainTimer);
      clearTimeout(pacing.presenceTimer);
      clearTimeout(pacing.syncTimer);
    }
    this.events.onClosed(this);
  }
}
