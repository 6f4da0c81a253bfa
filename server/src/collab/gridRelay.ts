/**
 * Grid documents open on several instances, kept in step through Redis: one channel per document
 * (`<prefix>:grid:<docName>`) carries its updates and its presence.
 *
 * - Every change this instance accepts (a validated client update, an API edit: the document's 'update'
 *   for any origin but loading and relaying) is published once, with our instance id and who made it.
 * - A change from another instance is applied with a relay origin: broadcast to our peers, but never
 *   validated, stored or projected again (the accepting instance does that, once).
 * - Presence the same way: what our peers announce (and their departures) goes out; what comes in is relayed
 *   to our peers.
 * - Nothing is echoed in a loop: our own messages come back from Redis and are skipped by instance id, and
 *   relayed changes are never published again.
 * - Joining: the channel is subscribed before the document is read from PostgreSQL (messages meanwhile wait),
 *   then we say hello with our state vector; instances holding the document answer with what we lack (from
 *   memory: including what they have not stored yet) and with their peers' presence.
 * - Catching up: when Redis comes back (and now and then while it is away), every open document re-reads what
 *   is stored and says hello again. Yjs merges idempotently, so a change that arrives twice does no harm, and
 *   a change lost on the way arrives from storage or from its instance. A document that received a writer's
 *   later change without an earlier one says hello at once (the part it could not integrate was dropped, never
 *   held: see GridDocument), and the answer brings it complete.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { isChangeSource } from '../budget/CellChange.js';
import type { Logger } from '../log.js';
import type { RedisLink, ResyncReason } from '../realtime/redisLink.js';
import type { GridDocument } from './GridDocument.js';
import type { Author, RelayOrigin } from './origins.js';
import type { GridStore } from './gridStore.js';

const Kind = { Update: 0, Awareness: 1, Hello: 2 } as const;
/** A document missing a change asks the others after this short wait (the change may be on its way)... */
const HELLO_DEBOUNCE_MS = 100;
/** ...and, if it stays missing (its instance died before storing it), at most this often. */
const PENDING_HELLO_INTERVAL_MS = 2000;

type Message =
  | { kind: typeof Kind.Update; from: string; by: Author | null; update: Uint8Array }
  | { kind: typeof Kind.Awareness; from: string; update: Uint8Array }
  | { kind: typeof Kind.Hello; from: string; stateVector: Uint8Array };

function encodeMessage(from: string, write: (e: encoding.Encoder) => void): Buffer {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, from);
  write(encoder);
  const bytes = encoding.toUint8Array(encoder);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeMessage(raw: Buffer): Message | null {
  try {
    const decoder = decoding.createDecoder(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    const from = decoding.readVarString(decoder);
    const kind = decoding.readVarUint(decoder);
    switch (kind) {
      case Kind.Update: {
        const userId = decoding.readVarString(decoder);
        const source = decoding.readVarString(decoder);
        const update = decoding.readVarUint8Array(decoder);
        const by = userId ? ({ userId, source: isChangeSource(source) ? source : 'GRID' } satisfies Author) : null;
        return { kind, from, by, update };
      }
      case Kind.Awareness:
        return { kind, from, update: decoding.readVarUint8Array(decoder) };
      case Kind.Hello:
        return { kind, from, stateVector: decoding.readVarUint8Array(decoder) };
      default:
        return null;
    }
  } catch {
    return null;
  }
}

export class GridRelay {
  private readonly joined = new Map<string, RelayedDocument>();
  private readonly stopResync: () => void;

  constructor(
    readonly link: RedisLink,
    readonly store: GridStore,
    readonly log: Logger,
  ) {
    this.stopResync = link.onResync((reason) => void this.resync(reason));
  }

  /**
   * Starts following a document before it is read from storage: what other instances send meanwhile is kept
   * and applied by `attach`. Resolves once Redis confirmed the subscription (at once while Redis is away).
   */
  async join(docName: string): Promise<RelayedDocument> {
    const relayed = new RelayedDocument(this, docName);
    this.joined.set(docName, relayed);
    await relayed.subscribe();
    return relayed;
  }

  forget(relayed: RelayedDocument): void {
    if (this.joined.get(relayed.docName) === relayed) this.joined.delete(relayed.docName);
  }

  stop(): void {
    this.stopResync();
    for (const relayed of [...this.joined.values()]) relayed.leave();
  }

  /** Catches every open document up with what is stored, and with what the other instances hold. */
  private async resync(reason: ResyncReason): Promise<void> {
    const documents = [...this.joined.values()];
    if (reason === 'reconnected' && documents.length > 0) this.log.info({ documents: documents.length }, 'catching grid documents up');
    for (const relayed of documents) await relayed.catchUp();
  }
}

export class RelayedDocument {
  private readonly channel: string;
  private document?: GridDocument;
  private buffered: Buffer[] = [];
  private left = false;
  private helloTimer?: NodeJS.Timeout;
  private lastPendingHello = 0;
  private readonly onMessage = (raw: Buffer) => this.receive(raw);

  constructor(
    private readonly relay: GridRelay,
    readonly docName: string,
  ) {
    this.channel = relay.link.channel(`grid:${docName}`);
  }

  async subscribe(): Promise<void> {
    await this.relay.link.subscribe(this.channel, this.onMessage);
  }

  /**
   * The document is loaded: apply what arrived meanwhile, and say hello. From now on the document's pipeline
   * hands us what to publish (`publishUpdate`, `publishPresence`).
   */
  attach(document: GridDocument): void {
    if (this.left) return;
    this.document = document;
    for (const raw of this.buffered.splice(0)) this.receive(raw);
    this.hello();
  }

  /** Stops following the document (it is being unloaded). */
  leave(): void {
    if (this.left) return;
    this.left = true;
    clearTimeout(this.helloTimer);
    this.relay.link.unsubscribe(this.channel, this.onMessage);
    this.relay.forget(this);
  }

  /** Applies what is stored (changes this instance missed), then asks the others for what is not stored yet. */
  async catchUp(): Promise<void> {
    const document = this.document;
    if (!document || this.left) return;
    try {
      const state = await this.relay.store.readState(this.docName);
      if (state && !this.left && document.applyRelayedUpdate(state, this.origin(null)).missing) this.helloSoon();
    } catch (err) {
      this.relay.log.warn({ err, docName: this.docName }, 'catching a grid document up from storage failed');
    }
    this.hello();
  }

  private origin(by: Author | null): RelayOrigin {
    return { kind: 'relay', relayedFrom: this.relay.link.instanceId, by };
  }

  private publish(write: (e: encoding.Encoder) => void): void {
    this.relay.link.publish(this.channel, encodeMessage(this.relay.link.instanceId, write));
  }

  /** A change this instance accepted (the pipeline decides which: origins.ts), with who made it. */
  publishUpdate(update: Uint8Array, by: Author | null): void {
    if (this.left) return;
    this.publish((e) => {
      encoding.writeVarUint(e, Kind.Update);
      encoding.writeVarString(e, by?.userId ?? '');
      encoding.writeVarString(e, by?.source ?? '');
      encoding.writeVarUint8Array(e, update);
    });
  }

  /**
   * Presence of this instance's own peers (vetted by the document; relayed presence is the other instance's to
   * send, and outdated presence times out on every instance alike).
   */
  publishPresence(update: Uint8Array): void {
    if (this.left) return;
    this.publish((e) => {
      encoding.writeVarUint(e, Kind.Awareness);
      encoding.writeVarUint8Array(e, update);
    });
  }

  private sendAwareness(clients: number[]): void {
    this.publishPresence(encodeAwarenessUpdate(this.document!.awareness, clients));
  }

  /** Our state vector: every instance holding the document answers with what we lack. */
  private hello(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    const document = this.document;
    if (!document || this.left) return;
    const stateVector = Y.encodeStateVector(document.doc);
    this.publish((e) => {
      encoding.writeVarUint(e, Kind.Hello);
      encoding.writeVarUint8Array(e, stateVector);
    });
  }

  private receive(raw: Buffer): void {
    if (this.left) return;
    const document = this.document;
    if (!document) {
      this.buffered.push(raw);
      return;
    }
    const message = decodeMessage(raw);
    if (!message || message.from === this.relay.link.instanceId) return;
    try {
      switch (message.kind) {
        case Kind.Update:
          // Part of it depends on a change not seen yet (on its way, or lost): dropped, and asked for again.
          if (document.applyRelayedUpdate(message.update, this.origin(message.by)).missing) this.helloSoon();
          break;
        case Kind.Awareness:
          document.applyRelayedAwareness(message.update, this.origin(null));
          break;
        case Kind.Hello: {
          const diff = Y.encodeStateAsUpdate(document.doc, message.stateVector);
          this.publish((e) => {
            encoding.writeVarUint(e, Kind.Update);
            encoding.writeVarString(e, '');
            encoding.writeVarString(e, '');
            encoding.writeVarUint8Array(e, diff);
          });
          const present = document.localAwarenessClients().filter((id) => document.awareness.getStates().has(id));
          if (present.length > 0) this.sendAwareness(present);
          break;
        }
      }
    } catch (err) {
      this.relay.log.error({ err, docName: this.docName }, 'applying a relayed grid message failed');
    }
  }

  private helloSoon(): void {
    if (this.helloTimer) return;
    const wait = Math.max(HELLO_DEBOUNCE_MS, this.lastPendingHello + PENDING_HELLO_INTERVAL_MS - Date.now());
    this.helloTimer = setTimeout(() => {
      this.lastPendingHello = Date.now();
      this.hello();
    }, wait);
  }
}
