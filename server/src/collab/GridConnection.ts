/**
 * One grid websocket: a person connected to one document, with the rights they have on it right now.
 *
 * - Frames are decoded at the edge; a malformed or unknown one closes this connection only (4400).
 * - A read-only connection (VIEWER, ANALYST, or a unit whose submission is SUBMITTED or APPROVED) may sync
 *   and share presence, but its sync step 2 and update messages are dropped: never applied, broadcast or
 *   stored. Rights can change while connected (`setReadOnly`).
 * - Ping every 30 s; a connection that missed a pong is terminated. It closes with 4401 when its token expires.
 */
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Viewer } from '../policies/viewer.js';
import type { EditOrigin, GridDocument, GridPeer } from './GridDocument.js';
import { decodeClientMessage, encodeAwareness, encodeSyncStep1, encodeSyncStep2, ProtocolError } from './protocol.js';

export const GridCloseCode = {
  /** No valid token, or the token expired. */
  Unauthorized: 4401,
  /** The person may not read this document (or it does not exist: the same answer). */
  Forbidden: 4403,
  /** A frame we could not understand. */
  BadRequest: 4400,
  /** The server is shutting down; the client reconnects. */
  GoingAway: 1001,
} as const;

const PING_INTERVAL_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The parts of a ws 8 WebSocket that a pre-framed broadcast writes through (see `sendFramed`). */
interface WsInternals {
  _socket?: Writable;
  _sender?: { _state?: unknown; _queue?: unknown[] };
}
/** ws's Sender state when nothing is being compressed or read from a Blob: it writes to the socket at once. */
const WS_SENDER_IDLE = 0;

export interface ConnectionEvents {
  onAccepted(count: number): void;
  onRejected(count: number, detail: string[]): void;
  onClosed(connection: GridConnection): void;
}

export class GridConnection implements GridPeer {
  readonly awarenessClients = new Set<number>();
  readonly origin: EditOrigin;
  private pingTimer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private alive = true;
  private started = false;
  private closed = false;
  /** The TCP socket under the websocket, when ws's internals are as this code knows them (else undefined). */
  private readonly rawSocket?: Writable;
  private readonly sender?: { _state?: unknown; _queue?: unknown[] };

  constructor(
    private readonly socket: WebSocket,
    private currentViewer: Viewer,
    readonly document: GridDocument,
    private readOnly: boolean,
    private readonly events: ConnectionEvents,
  ) {
    this.origin = { userId: currentViewer.userId, source: 'GRID' };
    const internals = socket as unknown as WsInternals;
    if (internals._socket && internals._sender && internals._sender._state === WS_SENDER_IDLE && Array.isArray(internals._sender._queue)) {
      this.rawSocket = internals._socket;
      this.sender = internals._sender;
    }
  }

  /** Who is connected, with the rights they have now. */
  get viewer(): Viewer {
    return this.currentViewer;
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
    // What the client sent while read-only was dropped, so the server lacks those structs, and Yjs holds
    // every later change of that client until they arrive. Asking for a sync (step 1) gets them back,
    // validated like any other change, and unblocks the client's later edits.
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
    this.socket.on('error', () => this.close(GridCloseCode.BadRequest, 'socket error'));
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
  }

  /**
   * A broadcast: `framed` is `message` as a complete websocket frame (protocol.websocketFrame), built once for
   * every receiver. When ws's sender is idle (no compression or Blob read in progress: always, as we send
   * neither) ws would write its frame to the socket synchronously, so writing the same bytes ourselves keeps
   * the order of everything sent on this socket; otherwise ws queues, and the message goes through ws behind
   * what it holds. No callback, no promise, no allocation per receiver.
   */
  sendFramed(message: Uint8Array, framed: Buffer): void {
    if (this.closed || this.socket.readyState !== 1 /* OPEN */) return;
    const sender = this.sender;
    if (sender && sender._state === WS_SENDER_IDLE && sender._queue!.length === 0) this.rawSocket!.write(framed);
    else this.socket.send(message);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    this.cleanup();
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.close(GridCloseCode.BadRequest, 'binary frames only');
    this.handle(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  private handle(frame: Uint8Array): void {
    if (this.closed) return;
    try {
      const message = decodeClientMessage(frame);
      switch (message.kind) {
        case 'syncStep1':
          this.send(encodeSyncStep2(this.document.doc, message.stateVector));
          break;
        case 'syncStep2':
        case 'update': {
          if (this.readOnly) break; // dropped: never applied, broadcast or stored
          const result = this.document.applyClientUpdate(message.update, this.origin);
          if (result.accepted > 0) this.events.onAccepted(result.accepted);
          if (result.rejected.length > 0) this.events.onRejected(result.rejected.length, result.rejected);
          break;
        }
        case 'awareness':
          this.document.applyAwareness(message.update, this);
          break;
        case 'queryAwareness':
          this.send(encodeAwareness(this.document.awareness, [...this.document.awareness.getStates().keys()]));
          break;
      }
    } catch (err) {
      this.close(GridCloseCode.BadRequest, err instanceof ProtocolError ? 'malformed message' : 'invalid update');
    }
  }

  private scheduleExpiry(): void {
    const remaining = this.viewer.expiresAt * 1000 - Date.now();
    if (remaining <= 0) return this.close(GridCloseCode.Unauthorized, 'token expired');
    this.expiryTimer = setTimeout(() => this.scheduleExpiry(), Math.min(remaining, MAX_TIMER_MS));
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.expiryTimer);
    this.events.onClosed(this);
  }
}
