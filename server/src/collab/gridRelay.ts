/**
 * Grid documents open on several instances, kept in step through Redis: one channel per document
 * (`<prefix>:grid:<docName>`) carries its updates and its presence.
 *
 * - Every change this instance accepts (a validated client update, an API edit: the document's 'update'
 *   for any origin but loading and relaying) is published once, with our instance id and who made it. The
 *   changes of one document accepted in one turn of the event loop go out together, in order, as one Redis
 *   message (one publish, one message to parse and one wake-up on every instance, rather than one per change);
 *   anything else published on the document's channel (presence, a hello, an answer) goes after them.
 * - A change from another instance is applied with a relay origin: broadcast to our peers, but never
 *   validated, stored or projected again (the accepting instance does that, once).
 * - Presence the same way: what our peers announce (and their departures) goes out; what comes in is relayed
 *   to our peers.
 * - Nothing is echoed in a loop: our own messages come back from Redis and are skipped by instance id (by
 *   their first bytes, before anything is decoded), and relayed changes are never published again.
 * - Where the changes go (issue 16: every message costs each receiver a wake-up, the sender's own echo too):
 *   while this instance knows every other instance holding the document (see "Who holds it"), its changes go
 *   to nobody when there is none, to that instance's own channel (`<prefix>:grid-inbox:<instanceId>`, one per
 *   instance, for every document) when there is one, and on the document's channel otherwise, or whenever it is
 *   not sure. Redis delivers what one connection publishes in order, on the channels of one subscriber
 *   connection alike, so a change that goes one way cannot overtake one that went the other.
 * - Who holds it: a hello is published answered, and Redis's answer says how many subscriptions received it:
 *   every instance holding the document then (ours included), and any other subscriber (a person watching with
 *   redis-cli, say, which only keeps us unsure). Each instance holding it answers the hello with what we lack
 *   and then an "answered" message; once as many have answered as received it, we know every holder: anyone
 *   who opens the document later says hello on the channel first, which we receive before anything it sends,
 *   and anything we accepted before that hello is in our answer to it (sent from memory), so nothing is missed
 *   in between. A holder leaving says bye; a holder that dies does not, and keeps us on the document's channel
 *   (safe, only dearer) until our next hello. Every hello of ours starts over, unsure until answered.
 * - A message that cannot be decoded (or forged to look like one) is dropped: at worst a change is missing,
 *   and a later change that depends on it makes the document ask for it again (see "Catching up").
 * - Joining: the channel is subscribed before the document is read from PostgreSQL (messages meanwhile wait),
 *   then we say hello with our state vector; instances holding the document answer with what we lack (from
 *   memory: including what they have not stored yet) and with their peers' presence.
 * - Catching up: when Redis comes back (and now and then while it is away), every open document re-reads what
 *   is stored and says hello again. Yjs merges idempotently, so a change that arrives twice does no harm, and
 *   a change lost on the way arrives from storage or from its instance. A document that received a writer's
 *   later change without an earlier one says hello at once (the part it could not integrate was dropped, never
 *   held: see GridDocument), and the answer brings it complete.
 */
import { randomUUID } from 'node:crypto';
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

/** Updates: several changes in one message, in the order they were accepted (each with who made it). */
const Kind = { Update: 0, Awareness: 1, Hello: 2, Updates: 3, Answered: 4, Bye: 5, Direct: 6 } as const;
/** A document missing a change asks the others after this short wait (the change may be on its way)... */
const HELLO_DEBOUNCE_MS = 100;
/** ...and, if it stays missing (its instance died before storing it), at most this often. */
const PENDING_HELLO_INTERVAL_MS = 2000;

/** A change as it travels: the Yjs update and who made it (null: not said, as in an answer to a hello). */
interface RelayedChange {
  update: Uint8Array;
  by: Author | null;
}

/**
 * On the document's channel: changes (Update and Updates), presence, a hello (with its session and round: an
 * instance that does not know them, an earlier version, sends neither), the answered message that follows an
 * answer to a hello, and a bye. On an instance's own channel: changes for one of its documents (Direct).
 */
type Message =
  | { kind: typeof Kind.Update; from: string; changes: RelayedChange[] }
  | { kind: typeof Kind.Awareness; from: string; update: Uint8Array }
  | { kind: typeof Kind.Hello; from: string; stateVector: Uint8Array; session: string; round: number }
  | { kind: typeof Kind.Answered; from: string; to: string; toSession: string; round: number; session: string }
  | { kind: typeof Kind.Bye; from: string; session: string }
  | { kind: typeof Kind.Direct; from: string; docName: string; changes: RelayedChange[] };

/** At most this many changes in one message (a larger turn goes out as several messages, in order). */
const MAX_CHANGES_PER_MESSAGE = 256;

/** The first bytes of every message we publish (our instance id, as encodeMessage writes it). */
function senderPrefix(from: string): Buffer {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, from);
  return Buffer.from(encoding.toUint8Array(encoder));
}

function writeChange(e: encoding.Encoder, { update, by }: RelayedChange): void {
  encoding.writeVarString(e, by?.userId ?? '');
  encoding.writeVarString(e, by?.source ?? '');
  encoding.writeVarUint8Array(e, update);
}

function readChange(decoder: decoding.Decoder): RelayedChange {
  const userId = decoding.readVarString(decoder);
  const source = decoding.readVarString(decoder);
  const update = decoding.readVarUint8Array(decoder);
  const by = userId ? ({ userId, source: isChangeSource(source) ? source : 'GRID' } satisfies Author) : null;
  return { update, by };
}

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
    const message = readMessage(decoder);
    // A length that runs past the end (the bytes may be a view into a larger buffer): not a message of ours.
    return decoder.pos <= raw.byteLength ? message : null;
  } catch {
    return null;
  }
}

function readMessage(decoder: decoding.Decoder): Message | null {
  const from = decoding.readVarString(decoder);
  const kind = decoding.readVarUint(decoder);
  switch (kind) {
    case Kind.Update:
      return { kind, from, changes: [readChange(decoder)] };
    case Kind.Updates: {
      const changes = readChanges(decoder);
      return changes && { kind: Kind.Update, from, changes };
    }
    case Kind.Awareness:
      return { kind, from, update: decoding.readVarUint8Array(decoder) };
    case Kind.Hello: {
      const stateVector = decoding.readVarUint8Array(decoder);
      // An earlier version's hello ends here.
      if (!decoding.hasContent(decoder)) return { kind, from, stateVector, session: '', round: 0 };
      return { kind, from, stateVector, session: decoding.readVarString(decoder), round: decoding.readVarUint(decoder) };
    }
    case Kind.Answered:
      return { kind, from, to: decoding.readVarString(decoder), toSession: decoding.readVarString(decoder), round: decoding.readVarUint(decoder), session: decoding.readVarString(decoder) };
    case Kind.Bye:
      return { kind, from, session: decoding.readVarString(decoder) };
    case Kind.Direct: {
      const docName = decoding.readVarString(decoder);
      const changes = readChanges(decoder);
      return changes && { kind, from, docName, changes };
    }
    default:
      return null;
  }
}

/** A count and that many changes, read whole before anything is applied: a message cut short is dropped entirely. */
function readChanges(decoder: decoding.Decoder): RelayedChange[] | null {
  const count = decoding.readVarUint(decoder);
  if (count < 1 || count > MAX_CHANGES_PER_MESSAGE) return null;
  const changes: RelayedChange[] = [];
  for (let i = 0; i < count; i++) changes.push(readChange(decoder));
  return changes;
}

function writeChanges(e: encoding.Encoder, changes: RelayedChange[]): void {
  encoding.writeVarUint(e, changes.length);
  for (const change of changes) writeChange(e, change);
}

export class GridRelay {
  private readonly joined = new Map<string, RelayedDocument>();
  /**
   * False once a hello got more answers than Redis said received it: Redis counts only the subscriptions it
   * holds itself (a cluster node, or a primary whose replicas serve some instances' subscriptions, counts fewer
   * than receive), and a short count would make us sure too early. From then on no document is ever sure, and
   * every change goes on its document's channel, as before issue 16.
   */
  private countsHold = true;
  private readonly stopResync: () => void;
  /** How every message we publish starts: what comes back from Redis with it is ours, skipped undecoded. */
  readonly ownPrefix: Buffer;
  /** This instance's own channel: changes for its documents from the one other instance holding each. */
  private readonly inbox: string;
  private readonly onInboxMessage = (raw: Buffer) => this.receiveDirect(raw);
  private readonly inboxSubscribed: Promise<void>;

  constructor(
    readonly link: RedisLink,
    readonly store: GridStore,
    readonly log: Logger,
  ) {
    this.ownPrefix = senderPrefix(link.instanceId);
    this.stopResync = link.onResync((reason) => void this.resync(reason));
    this.inbox = this.inboxOf(link.instanceId);
    this.inboxSubscribed = link.subscribe(this.inbox, this.onInboxMessage);
  }

  /** The channel of instance `instanceId`'s own messages. */
  inboxOf(instanceId: string): string {
    return this.link.channel(`grid-inbox:${instanceId}`);
  }

  /**
   * Starts following a document before it is read from storage: what other instances send meanwhile is kept
   * and applied by `attach`. Resolves once Redis confirmed the subscription (at once while Redis is away).
   */
  async join(docName: string): Promise<RelayedDocument> {
    // Our own channel is there before anyone can learn that we hold a document (our hello, after `attach`).
    await this.inboxSubscribed;
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
    this.link.unsubscribe(this.inbox, this.onInboxMessage);
  }

  /** Whether Redis's count of a hello's receivers can be trusted (see `countsHold`). */
  get trustsCounts(): boolean {
    return this.countsHold;
  }

  /** A hello got more answers than Redis counted receivers: never trust the counts again (see `countsHold`). */
  countsTooLow(docName: string, counted: number, answered: number): void {
    if (!this.countsHold) return;
    this.countsHold = false;
    this.log.warn(
      { docName, counted, answered },
      "more instances answered a grid hello than Redis counted receivers (a cluster, or subscriptions on replicas?): every grid change goes on its document's channel from now on",
    );
  }

  /** A message on our own channel: changes for one of our documents. */
  private receiveDirect(raw: Buffer): void {
    const message = decodeMessage(raw);
    if (!message || message.kind !== Kind.Direct || message.from === this.link.instanceId) return;
    this.joined.get(message.docName)?.receiveChanges(message.from, message.changes);
  }

  /** Catches every open document up with what is stored, and with what the other instances hold. */
  private async resync(reason: ResyncReason): Promise<void> {
    const documents = [...this.joined.values()];
    // Whatever happened while Redis was away (an instance opening a document, say), we did not hear it: unsure
    // of every document's holders at once, before anything else is published, until the catch-up's hello.
    for (const relayed of documents) relayed.unsure();
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
  /** Changes accepted in this turn of the event loop, published together at its end (`flushChanges`). */
  private outgoing: RelayedChange[] = [];
  private flushImmediate?: NodeJS.Immediate;
  private readonly onMessage = (raw: Buffer) => this.receive(raw);
  private readonly flush = () => this.flushChanges();
  /** Changes sent to our own channel before the document was loaded, applied by `attach`. */
  private bufferedDirect: { from: string; changes: RelayedChange[] }[] = [];
  /**
   * This join's id: our hellos, answers and bye carry it, so that a bye of an earlier join of ours (the document
   * unloaded, then opened again) is not taken for this one's, whatever order the two arrive in.
   */
  private readonly session: string = randomUUID();
  /** The other instances holding the document (as far as we know): instance id -> the session of their join. */
  private readonly holders = new Map<string, string>();
  /** Our latest hello: its number, how many answers it waits for (null: not known yet), and who answered. */
  private round = 0;
  private expectedAnswers: number | null = null;
  private readonly answered = new Set<string>();

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
    for (const { from, changes } of this.bufferedDirect.splice(0)) this.receiveChanges(from, changes);
    this.hello();
  }

  /** Forgets who holds the document, and ignores answers to our hellos so far: our changes go on its channel. */
  unsure(): void {
    this.round++;
    this.expectedAnswers = null;
    this.answered.clear();
    this.holders.clear();
  }

  /** Whether we know every other instance holding the document (see the header: "Who holds it"). */
  get knowsEveryHolder(): boolean {
    return this.expectedAnswers !== null && this.answered.size >= this.expectedAnswers && this.relay.trustsCounts;
  }

  /** A hello answered by more instances than Redis counted: the counts cannot be trusted (see GridRelay.countsHold). */
  private checkCount(): void {
    if (this.expectedAnswers !== null && this.answered.size > this.expectedAnswers) {
      this.relay.countsTooLow(this.docName, this.expectedAnswers + 1, this.answered.size);
    }
  }

  /** Our latest hello's number (for tests and diagnostics). */
  get helloRound(): number {
    return this.round;
  }

  /** This join's id (for tests and diagnostics). */
  get sessionId(): string {
    return this.session;
  }

  /** The other instances holding the document, as far as we know (for tests and diagnostics). */
  get knownHolders(): string[] {
    return [...this.holders.keys()];
  }

  /** Stops following the document (it is being unloaded). */
  leave(): void {
    if (this.left) return;
    // Changes accepted up to now still go out (they are stored; the others should not wait for a hello), then
    // our bye: the others stop sending to us.
    this.publish((e) => {
      encoding.writeVarUint(e, Kind.Bye);
      encoding.writeVarString(e, this.session);
    });
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

  /** Publishes one message on the document's channel, after the changes waiting to go out (order is kept). */
  private publish(write: (e: encoding.Encoder) => void): void {
    this.flushChanges();
    this.relay.link.publish(this.channel, encodeMessage(this.relay.link.instanceId, write));
  }

  /**
   * A change this instance accepted (the pipeline decides which: origins.ts), with who made it. It goes out at
   * the end of this turn of the event loop, with the document's other changes of the same turn.
   */
  publishUpdate(update: Uint8Array, by: Author | null): void {
    if (this.left) return;
    this.outgoing.push({ update, by });
    this.flushImmediate ??= setImmediate(this.flush);
  }

  /** Publishes the changes waiting to go out: one message (several when there are very many), in order. */
  private flushChanges(): void {
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    if (this.outgoing.length === 0 || this.left) return;
    const changes = this.outgoing;
    this.outgoing = [];
    // Where they go (see the header): nowhere, to the one other holder's own channel, or on the document's.
    const sure = this.knowsEveryHolder;
    if (sure && this.holders.size === 0) return;
    const only = sure && this.holders.size === 1 ? this.holders.keys().next().value! : null;
    for (let i = 0; i < changes.length; i += MAX_CHANGES_PER_MESSAGE) {
      const part = changes.slice(i, i + MAX_CHANGES_PER_MESSAGE);
      if (only !== null) {
        this.relay.link.publish(
          this.relay.inboxOf(only),
          encodeMessage(this.relay.link.instanceId, (e) => {
            encoding.writeVarUint(e, Kind.Direct);
            encoding.writeVarString(e, this.docName);
            writeChanges(e, part);
          }),
        );
        continue;
      }
      this.relay.link.publish(
        this.channel,
        encodeMessage(this.relay.link.instanceId, (e) => {
          if (part.length === 1) {
            encoding.writeVarUint(e, Kind.Update);
            writeChange(e, part[0]);
          } else {
            encoding.writeVarUint(e, Kind.Updates);
            writeChanges(e, part);
          }
        }),
      );
    }
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

  /**
   * Our state vector: every instance holding the document answers with what we lack, then says it answered.
   * Published answered, to learn how many received it; until as many answered, we are not sure who holds the
   * document, and our changes go on its channel.
   */
  private hello(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    const document = this.document;
    if (!document || this.left) return;
    // Changes so far go out under what we knew; from here on we are unsure until this hello is answered.
    this.flushChanges();
    this.unsure();
    const round = this.round;
    const stateVector = Y.encodeStateVector(document.doc);
    const message = encodeMessage(this.relay.link.instanceId, (e) => {
      encoding.writeVarUint(e, Kind.Hello);
      encoding.writeVarUint8Array(e, stateVector);
      encoding.writeVarString(e, this.session);
      encoding.writeVarUint(e, round);
    });
    void this.relay.link.publishCounted(this.channel, message).then((receivers) => {
      // Our own subscription is one of the receivers.
      if (receivers === null || receivers <= 0 || this.round !== round || this.left) return;
      this.expectedAnswers = receivers - 1;
      this.checkCount();
    });
  }

  /** Changes another instance accepted (on the document's channel, or on our own), applied in order. */
  receiveChanges(from: string, changes: RelayedChange[]): void {
    if (this.left) return;
    const document = this.document;
    if (!document) {
      this.bufferedDirect.push({ from, changes });
      return;
    }
    for (const change of changes) {
      try {
        // Part of it depends on a change not seen yet (on its way, or lost): dropped, and asked for again.
        if (document.applyRelayedUpdate(change.update, this.origin(change.by)).missing) this.helloSoon();
      } catch (err) {
        // Bytes Yjs cannot read: what it applied before them was validated; the next change still comes.
        this.relay.log.error({ err, docName: this.docName, from }, 'applying a relayed grid change failed');
        this.helloSoon();
      }
    }
  }

  private receive(raw: Buffer): void {
    if (this.left) return;
    // Our own message, back from Redis: skipped before anything is decoded.
    const own = this.relay.ownPrefix;
    if (raw.length >= own.length && raw.compare(own, 0, own.length, 0, own.length) === 0) return;
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
          this.receiveChanges(message.from, message.changes);
          break;
        case Kind.Awareness:
          document.applyRelayedAwareness(message.update, this.origin(null));
          break;
        case Kind.Hello: {
          // Changes accepted before this hello go out where they would have gone without it (the answer carries
          // them to its sender); sent after we learn of the sender, they could reach it before the answer, and
          // lack what only the answer brings.
          this.flushChanges();
          const diff = Y.encodeStateAsUpdate(document.doc, message.stateVector);
          // It holds the document from now on: what we publish next reaches it (`flushChanges` knows it).
          this.holders.set(message.from, message.session);
          this.publish((e) => {
            encoding.writeVarUint(e, Kind.Update);
            writeChange(e, { update: diff, by: null });
          });
          const present = document.localAwarenessClients().filter((id) => document.awareness.getStates().has(id));
          if (present.length > 0) this.sendAwareness(present);
          // After the answer, in order: the hello's sender counts us among the holders that answered.
          if (message.round > 0) {
            this.publish((e) => {
              encoding.writeVarUint(e, Kind.Answered);
              encoding.writeVarString(e, message.from);
              encoding.writeVarString(e, message.session);
              encoding.writeVarUint(e, message.round);
              encoding.writeVarString(e, this.session);
            });
          }
          break;
        }
        case Kind.Answered:
          if (message.to !== this.relay.link.instanceId || message.toSession !== this.session || message.round !== this.round) break;
          this.answered.add(message.from);
          this.holders.set(message.from, message.session);
          this.checkCount();
          break;
        case Kind.Bye:
          if (this.holders.get(message.from) === message.session) this.holders.delete(message.from);
          break;
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
