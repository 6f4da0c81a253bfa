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
 * - Ping every 30 s; a connection that missed a pong is terminated. It closes with CloseCode.Unauthorized when
 *   its token expires.
 *
 * Close codes are the contract's (schema/codes.ts), shared with the client.
 */
import type { WebSocket } from 'ws';
import { CloseCode } from '../../../schema/codes.js';
import { directFrameWriter, type FrameWriter } from '../internals/wsSender.js';
import type { Viewer } from '../policies/viewer.js';
import type { GridDocument, GridPeer } from './GridDocument.js';
import type { Writer } from './clientIds.js';
import type { ConnectionOrigin } from './origins.js';
import { PresenceError, type PresenceIdentity, type VettedAwareness } from './presence.js';
import { decodeClientMessage, encodeAwareness, encodeSyncStep1, encodeSyncStep2, ProtocolError } from './protocol.js';

const PING_INTERVAL_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Above this many unsent bytes, nothing more is read from the client until it catches up. */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** Above this many unsent bytes (broadcasts keep coming), the connection is closed (CloseCode.TryAgainLater). */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;
/** How often a paused connection is looked at again. */
const DRAIN_CHECK_MS = 50;
/** At most one presence change per connection this often; later ones replace a waiting one. */
export const PRESENCE_INTERVAL_MS = 100;
/** At most one sync request (for dropped, incomplete updates) per connection this often. */
const SYNC_REQUEST_INTERVAL_MS = 1000;

export interface ConnectionEvents {
  onAccepted(count: number): void;
  /** Changes refused: counted every time; `detail` is given at most once a minute per connection (for the log). */
  onRejected(count: number, detail: { refused: string[]; since: number } | null): void;
  onClosed(connection: GridConnection): void;
}

export class GridConnection implements GridPeer {
  presenceId?: number;
  readonly origin: ConnectionOrigin;
  readonly writer: Writer;
  private pingTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private drainTimer?: NodeJS.Timeout;
  private presenceTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private alive = true;
  private started = false;
  private closed = false;
  private paused = false;
  /** Questions that arrived while the client was not reading: answered once it has caught up. */
  private deferred: { syncStep1?: Uint8Array; queryAwareness?: boolean } = {};
  /** Presence waiting for its slot (the latest one the client sent). */
  private waitingPresence?: VettedAwareness;
  private lastPresenceAt = 0;
  private lastSyncRequestAt = 0;
  /** Refusals not logged yet, and when the last log line was written. */
  private unloggedRefusals: string[] = [];
  private unloggedCount = 0;
  private lastRefusalLogAt = 0;
  /** Writes a pre-framed broadcast straight to the socket (internals/wsSender.ts); undefined: through ws. */
  private readonly writeFramed?: FrameWriter;

  constructor(
    private readonly socket: WebSocket,
    private currentViewer: Viewer,
    readonly identity: PresenceIdentity,
    readonly document: GridDocument,
    private readOnly: boolean,
    private readonly events: ConnectionEvents,
  ) {
    this.writer = { userId: currentViewer.userId, connection: this };
    this.origin = { kind: 'connection', author: { userId: currentViewer.userId, source: 'GRID' }, writer: this.writer };
    this.writeFramed = directFrameWriter(socket);
  }

  /** Who is connected, with the rights they have now. */
  get viewer(): Viewer {
    return this.currentViewer;
  }

  get userId(): string {
    return this.currentViewer.userId;
  }

  /** The person's role or units changed while connected. */
  updateViewer(viewer: Viewer, readOnly: boolean): void {
    this.currentViewer = viewer;
    this.setReadOnly(readOnly);
  }

  get isReadOnly(): boolean {
    return this.readOnly;
  }

  /** Rights changed while connected (a submission, a role change): applies from the next message on. */
  setReadOnly(readOnly: boolean): void {
    const reopened = this.readOnly && !readOnly;
    this.readOnly = readOnly;
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
    this.started = true;
    this.document.addPeer(this);
    this.send(encodeSyncStep1(this.document.doc));
    const present = [...this.document.awareness.getStates().keys()];
    if (present.length > 0) this.send(encodeAwareness(this.document.awareness, present));
    this.socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    this.socket.on('pong', () => {
      this.alive = true;
    });
    this.socket.on('close', () => this.cleanup());
    this.socket.on('error', () => this.close(CloseCode.BadRequest, 'socket error'));
    this.pingTimer = setInterval(() => {
      if (!this.alive) return this.socket.terminate();
      this.alive = false;
      this.socket.ping();
    }, PING_INTERVAL_MS);
    this.scheduleExpiry();
    for (const frame of buffered) this.handle(frame);
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    // No per-send callback: on a broadcast to many peers it is pure overhead; a failed write surfaces as the
    // socket's 'error' event, which closes the connection.
    this.socket.send(frame);
    this.checkBackpressure();
  }

  /**
   * A broadcast: `framed` is `message` as a complete websocket frame (protocol.websocketFrame), built once for
   * every receiver. When ws's sender is idle (no compression or Blob read in progress: always, as we send
   * neither) ws would write its frame to the socket synchronously, so writing the same bytes ourselves keeps
   * the order of everything sent on this socket (internals/wsSender.ts); otherwise ws queues, and the message
   * goes through ws behind what it holds. No callback, no promise, no allocation per receiver.
   */
  sendFramed(message: Uint8Array, framed: Buffer): void {
    if (this.closed || this.socket.readyState !== 1 /* OPEN */) return;
    if (!this.writeFramed?.(framed)) this.socket.send(message);
    this.checkBackpressure();
  }

  /** Closes the socket with one of the contract's close codes, and lets go of the document. */
  close(code: CloseCode, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    this.cleanup();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.close(CloseCode.BadRequest, 'binary frames only');
    this.handle(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private handle(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      const message = decodeClientMessage(frame);
      switch (message.kind) {
        case 'syncStep1':
          if (this.paused) this.deferred.syncStep1 = message.stateVector;
          else this.send(encodeSyncStep2(this.document.doc, message.stateVector));
          break;
        case 'syncStep2':
        case 'update': {
          // Dropped: never applied, broadcast or stored. A frozen document (a submission in progress) counts as
          // read-only for everyone, even before the submission's status reaches this connection.
          if (this.readOnly || this.document.frozen) break;
          const result = this.document.applyClientUpdate(message.update, this.origin, message.kind);
          if (result.accepted > 0) this.events.onAccepted(result.accepted);
          const refused = [...result.foreignClientIds.map((id) => `<client id ${id} held by another connection>`), ...result.rejected];
          if (refused.length > 0) this.refused(refused);
          if (result.missing) this.requestSync();
          break;
        }
        case 'awareness':
          this.presence(message.update);
          break;
        case 'queryAwareness':
          if (this.paused) this.deferred.queryAwareness = true;
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
    const wait = this.lastPresenceAt + PRESENCE_INTERVAL_MS - Date.now();
    if (wait <= 0 && !this.presenceTimer) return this.applyPresence(vetted);
    this.waitingPresence = vetted;
    this.presenceTimer ??= setTimeout(() => {
      this.presenceTimer = undefined;
      const waiting = this.waitingPresence;
      this.waitingPresence = undefined;
      if (waiting && !this.closed) this.applyPresence(waiting);
    }, Math.max(wait, 0));
  }

  private applyPresence(vetted: VettedAwareness): void {
    this.lastPresenceAt = Date.now();
    this.document.applyPeerAwareness(vetted, this);
  }

  /** Part of an update could not be integrated (see GridDocument): ask the client for what the server lacks. */
  private requestSync(): void {
    if (this.syncTimer) return;
    const wait = Math.max(0, this.lastSyncRequestAt + SYNC_REQUEST_INTERVAL_MS - Date.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.lastSyncRequestAt = Date.now();
      this.send(encodeSyncStep1(this.document.doc));
    }, wait);
  }

  /** Counts refusals; the detail goes to the log at most once a minute per connection, so a client cannot flood it. */
  private refused(refused: string[]): void {
    this.unloggedCount += refused.length;
    if (this.unloggedRefusals.length < 10) this.unloggedRefusals.push(...refused.slice(0, 10 - this.unloggedRefusals.length));
    const now = Date.now();
    if (now - this.lastRefusalLogAt < 60_000) return this.events.onRejected(refused.length, null);
    this.events.onRejected(refused.length, { refused: this.unloggedRefusals, since: this.unloggedCount });
    this.lastRefusalLogAt = now;
    this.unloggedRefusals = [];
    this.unloggedCount = 0;
  }

  /** What waits to be sent to this client: ws's queue and the TCP socket's buffer. */
  private get unsent(): number {
    return this.socket.bufferedAmount;
  }

  private checkBackpressure(): void {
    const unsent = this.unsent;
    if (unsent <= HIGH_WATER_BYTES) return;
    if (unsent > MAX_UNSENT_BYTES) return this.close(CloseCode.TryAgainLater, 'not reading');
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    this.drainTimer = setInterval(() => this.resumeIfDrained(), DRAIN_CHECK_MS);
  }

  private resumeIfDrained(): void {
    if (this.closed || this.unsent > HIGH_WATER_BYTES / 4) return;
    clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.paused = false;
    const { syncStep1, queryAwareness } = this.deferred;
    this.deferred = {};
    if (syncStep1) this.send(encodeSyncStep2(this.document.doc, syncStep1));
    if (queryAwareness) this.answerQueryAwareness();
    if (!this.paused) this.socket.resume();
  }

  private scheduleExpiry(): void {
    const remaining = this.viewer.expiresAt * 1000 - Date.now();
    if (remaining <= 0) return this.close(CloseCode.Unauthorized, 'token expired');
    this.expiryTimer = setTimeout(() => this.scheduleExpiry(), Math.min(remaining, MAX_TIMER_MS));
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.expiryTimer);
    clearInterval(this.drainTimer);
    clearTimeout(this.presenceTimer);
    clearTimeout(this.syncTimer);
    this.events.onClosed(this);
  }
}
