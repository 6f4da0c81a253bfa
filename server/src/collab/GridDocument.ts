/**
 * One open grid document: the Y.Doc of a plan's business unit, its presence, its connections, and the one
 * pipeline every change to it goes through.
 *
 * The pipeline. Whatever its source (a connection, the API, another instance, storage; see origins.ts), a change
 * enters through one of the `apply*` methods below, which run it in a transaction of its own with a `GridOrigin`,
 * and within that same transaction:
 *   1. cut out content written under client ids other connections hold (clientIds.ts);
 *   2. apply it, then validate what it changed: anything but an editable cell of this unit with a valid value
 *      (other root types, nested types, list content under `cells`, wrong keys, values out of range) is reverted,
 *      so the net change is valid and the refused content is garbage-collected before anything is encoded;
 *   3. never hold what cannot be integrated yet: Yjs would keep structs whose dependencies are missing and apply
 *      them, unvalidated, inside whichever later transaction supplies them (credited to its author). They are
 *      dropped instead and the sender is asked for them again (a sync request); they come back, complete, as a
 *      change of their own.
 * Then one listener, the only one on the document, runs the parts in one visible order decided from the origin
 * (`routeOf`): broadcast to this instance's connections, relay to other instances, append to the update log,
 * project into rows and audit. A part that throws is logged and does not stop the others.
 *
 * Presence is vouched for by the server (presence.ts) and relayed by the same listener pattern.
 */
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import type { CellValue, EditableColumn } from '../budget/columns.js';
import { arrivalOfMessageInHand } from './arrivalClock.js';
import { CELLS_MAP, cellChangeProblem, cellKey } from './cellRules.js';
import { ClientIdOwners, type Writer } from './clientIds.js';
import { LOAD_ORIGIN, STRUCTURE_ORIGIN, isGridOrigin, routeOf, type ApiOrigin, type Author, type ConnectionOrigin, type GridOrigin, type RelayOrigin } from './origins.js';
import { vetAwarenessUpdate, type PresenceIdentity, type VettedAwareness } from './presence.js';
import { encodeAwareness, encodeUpdate, websocketFrame } from './protocol.js';
import { deleteMapContent, deleteSequenceContent, dropPendingStructs, mapValueWriter, treatAsLocal } from '../internals/yjsStore.js';

export interface GridPeer {
  send(frame: Uint8Array): void;
  /**
   * Sends broadcast messages, in order: `framed` is all of them as consecutive websocket frames, built once for
   * every peer (one write to the socket for the lot).
   */
  sendFramed(messages: readonly Uint8Array[], framed: Buffer): void;
  /** The one awareness client id this peer announced (owned until it leaves). */
  presenceId?: number;
  /** Who the peer is, for its presence. */
  readonly identity: PresenceIdentity;
  readonly userId: string;
  /** The peer as the writer of its client ids (clientIds.ts). */
  readonly writer: Writer;
}

/** One cell a change settled: its key and value (undefined: the key was deleted, i.e. the cell cleared). */
export interface SettledCell {
  key: string;
  lineId: string;
  column: EditableColumn;
  value: unknown;
}

/** What a transaction did, once validated: handed to every part of the pipeline. */
export interface DocumentChange {
  /** The Yjs update of the net change (refused content already reverted). */
  update: Uint8Array;
  origin: GridOrigin;
  /** Cells the change settled, in no particular order. */
  cells: SettledCell[];
  /** Keys (or "<root type>") whose change was refused and reverted. */
  rejected: string[];
}

export interface ApplyResult {
  /** Keys (or "<root type>") whose change was refused and reverted. */
  rejected: string[];
  /** How many cell changes were accepted. */
  accepted: number;
  /** Part of the update depended on changes the server has not seen: it was dropped; ask the sender again. */
  missing: boolean;
  /** Client ids held by other connections that the update wrote under: that content was cut out, the rest applied. */
  foreignClientIds: number[];
}

/** The parts a change goes to after the broadcast, in this order (GridServer provides them). */
export interface DocumentParts {
  relay?(update: Uint8Array, author: Author | null): void;
  relayPresence?(update: Uint8Array): void;
  store?(update: Uint8Array): void;
  project?(change: DocumentChange): void;
  /** A part threw, or a transaction arrived without a GridOrigin (a bug): logged, the rest goes on. */
  onError(part: string, err: unknown): void;
  /**
   * A turn's broadcasts were written to every connection, `seconds` after the first grid message that queued one
   * arrived (arrivalClock.ts); not called for a turn of broadcasts no grid message queued.
   */
  onForwarded?(seconds: number): void;
}

/** Key of the validation result in a transaction's `meta`. */
const VALIDATED = Symbol('validated');
/** Key, in a transaction's `meta`, of the updates sent ahead it applies (`settle`): they went to the peers as sent. */
const SENT_AHEAD = Symbol('sent ahead');
/**
 * Key, in a transaction's `meta`, set when the net change of a transaction applying updates sent ahead is those
 * updates, as sent (validation changed nothing, nothing was missing): the parts get each one's own bytes
 * (`afterCleanup`), and Yjs is spared encoding the transaction's update again (see `transact`).
 */
const AS_SENT = Symbol('as sent');
const NANOSECONDS_PER_SECOND = 1e9;
/** How long relayed updates sent ahead may wait for their apply when nothing else settles them (`settleTurn`). */
export const RELAYED_SETTLE_MS = 50;

/**
 * An update sent to the peers before it was applied (a writer's, `applyClientUpdate`, or one another instance
 * accepted, `applyRelayedUpdate`); applied by `settle`.
 */
interface UpdateSentAhead {
  update: Uint8Array;
  origin: ConnectionOrigin | RelayOrigin;
  /** The one client id it writes under, and the one cell it sets (`acceptableAsSent`). */
  client: number;
  key: string;
}

interface Validation {
  cells: SettledCell[];
  rejected: string[];
}

export class GridDocument {
  /** The document itself; outside this class, through `doc`, which applies what was sent ahead first. */
  private readonly ydoc = new Y.Doc({ gc: true });
  private readonly cellMap: Y.Map<unknown>;
  readonly awareness: Awareness;
  readonly peers = new Set<GridPeer>();
  /** The unit's lines: only their cells may be written (addLines, removeLines follow the plan's structure). */
  private readonly lines: Set<string>;
  /** Lines removed while the document is open: a removed line's id never comes back, so none is added again. */
  private readonly removed = new Set<string>();
  /** The last valid value of every cell: what a refused change is reverted to. */
  private readonly valid = new Map<string, unknown>();
  private readonly writers: ClientIdOwners;
  /** Set while the document is being unloaded; no new peer may join it. */
  closing = false;
  /**
   * Set from the start of a submission until the unit is editable again: no connection's change is accepted
   * (each is dropped, as from a read-only connection), so what is reviewed is what was submitted.
   */
  frozen = false;
  parts: DocumentParts = { onError: () => undefined };
  /** Broadcast messages of this event-loop turn, sent together when it ends (`flushBroadcasts`). */
  private outgoing: Uint8Array[] = [];
  /** When the first grid message that queued one of them arrived (0n: none did yet): `parts.onForwarded`. */
  private outgoingSince = 0n;
  private flushScheduled = false;
  /** Writers' updates already sent to the peers, applied when the turn's broadcasts have gone (`settle`). */
  private sentAhead: UpdateSentAhead[] = [];
  /** Whether `sentAhead` holds an update of this instance's own (a writer's here), not only relayed ones. */
  private ownSentAhead = false;
  /** The later settle of relayed updates alone (`settleTurn`), while one is due. */
  private relayedSettle: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    readonly planId: string,
    readonly unitId: string,
    readonly unitCode: string,
    lineIds: Iterable<string>,
  ) {
    this.lines = new Set(lineIds);
    this.cellMap = this.ydoc.getMap(CELLS_MAP);
    this.awareness = new Awareness(this.ydoc);
    // The server itself has no presence.
    this.awareness.setLocalState(null);
    this.writers = new ClientIdOwners(this.ydoc.clientID, (connection) => this.peers.has(connection as GridPeer));
    this.ydoc.on('update', this.onUpdate);
    this.ydoc.on('afterTransactionCleanup', (tr: Y.Transaction) => this.afterCleanup(tr));
    this.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) =>
      this.afterPresence([...added, ...updated, ...removed], origin),
    );
  }

  /**
   * Loads stored state without sending it anywhere; whatever in it is not valid (a line removed) is dropped, and
   * so is what depends on a change the log lacks (`missing` in the result: the caller says so in the log).
   */
  loadState(state: Uint8Array): ApplyResult {
    this.valid.clear();
    return this.transact(LOAD_ORIGIN, () => Y.applyUpdate(this.ydoc, state, LOAD_ORIGIN));
  }

  /** The cells map, every accepted change applied: for reading it. */
  get cells(): Y.Map<unknown> {
    this.settle();
    return this.cellMap;
  }

  /** The Y.Doc, every accepted change applied (what was sent ahead included): for reading it. */
  get doc(): Y.Doc {
    this.settle();
    return this.ydoc;
  }

  /** The unit's lines, whose cells the document may hold. */
  get lineIds(): ReadonlySet<string> {
    return this.lines;
  }

  /** Lines added to the unit (addBudgetLines): their cells are editable from now on. Nothing in the document changes. */
  addLines(lineIds: Iterable<string>): void {
    for (const id of lineIds) if (!this.removed.has(id)) this.lines.add(id);
  }

  /**
   * Lines removed from the unit (removeBudgetLines): their cells may no longer be written, and the ones the
   * document holds are deleted, as a change of STRUCTURE_ORIGIN (sent to the connections and stored, neither
   * projected nor audited: see origins.ts). Returns how many cells went.
   */
  removeLines(lineIds: Iterable<string>): number {
    // What was sent ahead was accepted while the lines were there: applied first, then deleted with them.
    this.settle();
    const gone = new Set(lineIds);
    for (const id of gone) {
      this.lines.delete(id);
      this.removed.add(id);
    }
    const keys = [...this.cellMap.keys()].filter((key) => gone.has(key.slice(0, key.indexOf('/'))));
    // Forgotten first: validation would otherwise put a deleted cell of a line it no longer knows back.
    for (const key of keys) this.valid.delete(key);
    if (keys.length > 0) this.transact(STRUCTURE_ORIGIN, () => keys.forEach((key) => this.cellMap.delete(key)));
    return keys.length;
  }

  /** The cells as plain data (what the projection writes into rows). */
  cellValue(lineId: string, column: EditableColumn): unknown {
    this.settle();
    return this.cellMap.get(cellKey(lineId, column));
  }

  /**
   * A writer's update, from one of this instance's connections (see the header). Throws when it cannot be
   * decoded; whatever was applied before the bad bytes is validated all the same.
   */
  applyClientUpdate(update: Uint8Array, origin: ConnectionOrigin, kind: 'update' | 'syncStep2' = 'update'): ApplyResult {
    const writer = origin.writer;
    if (kind === 'update' && this.peers.size > 0) {
      const plain = this.acceptableAsSent(update, writer);
      if (plain !== null) {
        // Sent to the peers and to the other instances now, applied once the turn's broadcasts have gone: see
        // `acceptableAsSent`.
        this.sentAhead.push({ update, origin, client: plain.client, key: plain.key });
        this.ownSentAhead = true;
        this.broadcast(encodeUpdate(update));
        const relay = this.parts.relay;
        if (relay) this.run('relay', () => relay(update, origin.author));
        return { rejected: [], accepted: 1, missing: false, foreignClientIds: [] };
      }
    }
    this.settle();
    const { foreign: foreignClientIds, writes } = this.writers.foreignWriters(this.ydoc, update, writer);
    // Content under ids other connections hold is cut out; the rest is applied. (A legitimate copy of someone's
    // change, in a sync step 2 after a crash, comes again with the sync request below, once its owner resent it.)
    const own = foreignClientIds.length > 0 ? Y.diffUpdate(update, stateVectorFrom(foreignClientIds)) : update;
    const result = this.transact(origin, (tr) => {
      Y.applyUpdate(this.ydoc, own, origin);
      // A sync step 2 is everything the client has that the server lacks, other people's changes included (after a
      // server crash, say): it claims no id; an update is the client's own change.
      if (kind === 'update') this.writers.claim(tr, writer, writes);
    });
    result.foreignClientIds = foreignClientIds;
    if (foreignClientIds.length > 0) result.missing = true;
    return result;
  }

  /** Applies already-authorised, already-validated cell values from the API (null or "" comment clears). */
  applyEdits(lineId: string, values: Partial<Record<EditableColumn, CellValue>>, origin: ApiOrigin): ApplyResult {
    return this.applyEditBatch([{ lineId, values }], origin);
  }

  /**
   * A batch of API edits (updateBudgetLines), each already authorised and validated, as ONE transaction: one
   * validation pass, one update broadcast to the peers, stored and relayed, and one projection of all its cells,
   * rather than one round of the pipeline per line.
   */
  applyEditBatch(edits: readonly { lineId: string; values: Partial<Record<EditableColumn, CellValue>> }[], origin: ApiOrigin): ApplyResult {
    return this.transact(origin, () => {
      for (const { lineId, values } of edits) {
        for (const [column, value] of Object.entries(values) as [EditableColumn, CellValue][]) {
          const key = cellKey(lineId, column);
          if (value === null || (column === 'comment' && value === '')) this.cellMap.delete(key);
          // -0 passes every rule (it is not below 0), but the grid would show it as "-0": stored as the 0 it means.
          else this.cellMap.set(key, value === 0 ? 0 : value);
        }
      }
    });
  }

  /**
   * A change another instance accepted (or what storage holds, on a catch-up): validated like any other. A plain
   * cell edit goes to the peers before it is applied, as a writer's does here (`acceptableAsSent`): so an edit
   * made on another instance reaches this one's peers as soon as a local one would, rather than after its Yjs
   * apply and validation.
   */
  applyRelayedUpdate(update: Uint8Array, origin: RelayOrigin): ApplyResult {
    if (this.peers.size > 0) {
      const plain = this.acceptableAsSent(update, null);
      if (plain !== null) {
        this.sentAhead.push({ update, origin, client: plain.client, key: plain.key });
        this.broadcast(encodeUpdate(update));
        return { rejected: [], accepted: 1, missing: false, foreignClientIds: [] };
      }
    }
    return this.transact(origin, (tr) => {
      Y.applyUpdate(this.ydoc, update, origin);
      if (origin.by) this.writers.claim(tr, { userId: origin.by.userId }, soleWriter(update));
    });
  }

  /**
   * A peer's presence message, as the server vouches for it (presence.ts): null when it holds nothing for this
   * peer's own client id (the stock client also re-sends the others' presence it received: ignored). The first
   * vetted message makes its client id the peer's (and its person's to write with). Throws PresenceError when it
   * is malformed.
   */
  vetPeerAwareness(update: Uint8Array, peer: GridPeer): VettedAwareness | null {
    const isTaken = (id: number) => {
      if (!this.awareness.getStates().has(id)) return false;
      for (const other of this.peers) if (other.presenceId === id) return other !== peer && other.userId !== peer.userId;
      return true; // present through another instance
    };
    const vetted = vetAwarenessUpdate(update, peer.presenceId, isTaken, peer.identity, this.lineIds);
    if (vetted && peer.presenceId === undefined) {
      // Taken over from another connection of the same person (a reconnect before the old socket closed).
      for (const other of this.peers) if (other !== peer && other.presenceId === vetted.clientId) other.presenceId = undefined;
      peer.presenceId = vetted.clientId;
      this.writers.reserve(vetted.clientId, peer.writer);
    }
    return vetted;
  }

  /** Applies a peer's vetted presence (relayed to every peer and to the other instances). */
  applyPeerAwareness(vetted: VettedAwareness, peer: GridPeer): void {
    if (peer.presenceId !== vetted.clientId || !this.peers.has(peer)) return;
    applyAwarenessUpdate(this.awareness, vetted.update, peer);
  }

  /** Presence relayed from another instance's peers (vetted there). */
  applyRelayedAwareness(update: Uint8Array, origin: RelayOrigin): void {
    applyAwarenessUpdate(this.awareness, update, origin);
  }

  /** Awareness client ids announced by this instance's own peers. */
  localAwarenessClients(): number[] {
    return [...this.peers].flatMap((peer) => (peer.presenceId === undefined ? [] : [peer.presenceId]));
  }

  addPeer(peer: GridPeer): void {
    this.peers.add(peer);
  }

  /** Removes a peer and its presence; returns how many peers remain. */
  removePeer(peer: GridPeer): number {
    this.settle();
    this.writers.release(peer.writer);
    if (this.peers.delete(peer) && peer.presenceId !== undefined) {
      const id = peer.presenceId;
      peer.presenceId = undefined;
      if (![...this.peers].some((p) => p.presenceId === id)) removeAwarenessStates(this.awareness, [id], null);
    }
    return this.peers.size;
  }

  destroy(): void {
    this.settle();
    this.outgoing = [];
    this.awareness.destroy();
    this.ydoc.destroy();
  }

  /**
   * Whether a writer's update can go to the peers before it is applied, and if so the client id it writes under
   * and the cell it sets.
   * Most edits are one cell set by its owner: one value item under one cell key, and the deletion of that cell's
   * earlier value. Such an update is checked here by decoding it, against exactly what the pipeline would check
   * once it is applied (the key an editable cell of this unit, the value valid, the client id this connection's,
   * every struct it depends on already here), and then sent to the peers at once, so that its propagation does
   * not wait for Yjs to integrate it; it is relayed to the other instances at once too. The apply (which
   * validates it again, and stores and projects it) runs when the turn's broadcasts have gone. Anything else
   * (several structs, other types, deletions of other content, content not yet integrable, an id not yet this
   * connection's) takes the ordinary path, which applies whatever waits first (`settle`).
   *
   * `writer` null: a change another instance accepted (`applyRelayedUpdate`). Its client id is not checked
   * against this instance's connections, as the ordinary path for relayed changes does not check it either: the
   * accepting instance vouched for who wrote it; everything else is checked the same.
   *
   * Several updates may wait at once (under load, every socket read in one turn): each is checked against what
   * the document holds, never against another waiting update, so one that builds on a waiting update (the same
   * client id's next clock, an earlier value not applied yet, its deletion) is not taken and goes the ordinary
   * way, after the waiting ones are applied. The waiting ones are therefore independent of each other, and
   * applying them in order gives what applying them in any order would. So a busy turn's edits all reach the
   * peers before any of them is integrated, rather than each waiting for the applies of those read before it.
   */
  private acceptableAsSent(update: Uint8Array, writer: Writer | null): { client: number; key: string } | null {
    let decoded: ReturnType<typeof Y.decodeUpdate>;
    try {
      decoded = Y.decodeUpdate(update);
    } catch {
      return null; // the ordinary path says what is wrong with it
    }
    const { structs, ds } = decoded;
    if (structs.length !== 1) return null;
    const item = structs[0];
    if (!(item instanceof Y.Item) || !(item.content instanceof Y.ContentAny) || item.content.arr.length !== 1) return null;
    const store = this.ydoc.store;
    const client = item.id.client;
    if ((writer !== null && !this.writers.holds(client, writer)) || item.id.clock !== Y.getState(store, client) || item.rightOrigin !== null) return null;
    let key: string;
    if (item.origin === null) {
      // A key set for the first time: the update names the root type and the key.
      if ((item.parent as unknown) !== CELLS_MAP || typeof item.parentSub !== 'string') return null;
      key = item.parentSub;
    } else {
      // A key set again: placed after its earlier value, whose parent and key it takes.
      const left = this.cellItem(item.origin);
      if (!left) return null;
      key = left.parentSub!;
    }
    if (cellChangeProblem(key, item.content.arr[0], false, this.lines)) return null;
    for (const [deletedClient, ranges] of ds.clients) {
      const structsOfClient = store.clients.get(deletedClient);
      for (const { clock, len } of ranges) {
        if (!structsOfClient || clock + len > Y.getState(store, deletedClient)) return null;
        for (let i = Y.findIndexSS(structsOfClient, clock); i < structsOfClient.length && structsOfClient[i].id.clock < clock + len; i++) {
          const deleted = structsOfClient[i];
          if (deleted instanceof Y.GC) continue; // gone already: deleting it again does nothing
          if (!(deleted instanceof Y.Item) || deleted.parent !== this.cellMap || deleted.parentSub !== key) return null;
        }
      }
    }
    return { client, key };
  }

  /** The item of the cells map holding `id`, or null (not here, collected, or not a cell). */
  private cellItem(id: Y.ID): Y.Item | null {
    if (id.clock >= Y.getState(this.ydoc.store, id.client)) return null;
    const found = Y.getItem(this.ydoc.store, id);
    return found instanceof Y.Item && found.parent === this.cellMap && typeof found.parentSub === 'string' ? found : null;
  }

  /**
   * Applies the updates already sent to the peers and relayed (`acceptableAsSent`), in the order they came,
   * through the pipeline like any change: validated, stored and projected, but neither broadcast nor relayed
   * again. Runs when the turn's broadcasts have gone (relayed updates alone may wait a little longer:
   * `settleTurn`), and before anything else reads or changes the document.
   *
   * All of them in ONE transaction: Yjs walks every client id the document has ever had at the start and the end
   * of each transaction (its state vectors), so a busy turn's edits applied one transaction each cost that walk
   * per edit (bench/pipeline-micro.mjs: ~50 us an edit with 250 past writers, ~200 with 1,000), and together
   * once. They are independent of each other (see `acceptableAsSent`), so applying them together gives what
   * applying them one by one would; each is still stored as its own bytes and projected with its own author
   * (`afterSentAhead`).
   */
  settle(): void {
    if (this.sentAhead.length === 0) return;
    const pending = this.sentAhead;
    this.sentAhead = [];
    this.ownSentAhead = false;
    clearTimeout(this.relayedSettle);
    this.relayedSettle = undefined;
    try {
      const result = this.transact(pending[0].origin, (tr) => {
        tr.meta.set(SENT_AHEAD, pending);
        for (const { update, origin, client } of pending) {
          try {
            // Nested: joins this transaction.
            Y.applyUpdate(this.ydoc, update, origin);
          } catch (err) {
            this.parts.onError('settle', err); // one update that fails does not keep the others out
            continue;
          }
          if (origin.kind === 'connection') this.writers.claim(tr, origin.writer, [client]);
          else if (origin.by) this.writers.claim(tr, { userId: origin.by.userId }, [client]);
        }
      });
      // The check ahead is meant to accept only what validation accepts: a refusal here is a bug (the peers got
      // the refused content, then its revert with this transaction's update, so they still end up valid).
      if (result.rejected.length > 0 || result.missing) {
        this.parts.onError('settle', new Error(`an update sent ahead was then refused (${result.rejected.join(', ') || 'missing dependencies'})`));
      }
    } catch (err) {
      this.parts.onError('settle', err);
    }
  }

  /**
   * What a turn's end settles (`flushBroadcasts`): the updates sent ahead at once when one of them is a writer's
   * here, which this instance stores and projects; relayed ones alone a little later (`RELAYED_SETTLE_MS`), or
   * with the next turn that settles, whichever comes first.
   *
   * A relayed update needs nothing of its apply soon: its peers have it already (sent ahead), and the instance
   * that accepted it stores and projects it. Nothing reads the document without settling first (`doc`, `cells`,
   * `cellValue`, every change), and a change that builds on a relayed update still waiting is not taken ahead
   * (`acceptableAsSent` looks at the document only), so the wait changes no outcome. It saves transactions: with
   * the writers split over two instances, each instance applies every edit, and at 50 writers hardly two edits
   * share a turn, so each relayed edit used to cost a Yjs transaction of its own, whose fixed cost (a walk over
   * every client id the document has had, at its start and its end) is most of applying a plain edit. Waiting,
   * the relayed edits join the next settle of this instance's own writers' edits, or each other.
   */
  settleTurn(): void {
    if (this.sentAhead.length === 0) return;
    if (this.ownSentAhead) return this.settle();
    if (this.relayedSettle) return;
    this.relayedSettle = setTimeout(() => {
      this.relayedSettle = undefined;
      this.settle();
    }, RELAYED_SETTLE_MS);
    this.relayedSettle.unref();
  }

  /**
   * Runs `apply` in a transaction with `origin`, then validates what it changed and drops what could not be
   * integrated, in the same transaction (so no observer, broadcast or store sees anything else).
   */
  private transact(origin: GridOrigin, apply: (tr: Y.Transaction) => void): ApplyResult {
    this.settle();
    const result: ApplyResult = { rejected: [], accepted: 0, missing: false, foreignClientIds: [] };
    let failure: unknown;
    try {
      this.ydoc.transact((tr) => {
        try {
          apply(tr);
        } catch (err) {
          failure = err; // what was applied before the bad bytes is validated below all the same
        }
        // applyUpdate marks the transaction as remote; our reverts are local changes, and Yjs would otherwise
        // take our own client id for a clash and pick a new one on every refused change.
        treatAsLocal(tr);
        result.missing = dropPendingStructs(this.ydoc);
        const validation = this.validate(tr);
        tr.meta.set(VALIDATED, validation);
        result.rejected = validation.rejected;
        result.accepted = validation.cells.length;
        if (tr.meta.has(SENT_AHEAD) && validation.rejected.length === 0 && !result.missing) {
          // The net change is the update the peers got: Yjs need not encode it again for the 'update' event,
          // which it does only while someone listens (`afterCleanup` hands the parts those bytes instead).
          tr.meta.set(AS_SENT, true);
          this.ydoc.off('update', this.onUpdate);
          this.listening = false;
        }
      }, origin);
    } finally {
      // Listening again once the transaction is cleaned up; or at once, when this is a change a part made while
      // an as-sent one was handed over: Yjs cleans this one up after the as-sent one, so it is encoded as usual,
      // and the as-sent one, encoded too now that someone listens, is not handed over twice (`onUpdate`).
      this.listenForUpdates();
    }
    if (failure) throw failure;
    return result;
  }

  /** The document's 'update' listener (off while an as-sent transaction is cleaned up: see `transact`). */
  private readonly onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction): void => {
    // Listening again already (a part changed the document during the cleanup): this one was handled.
    if (tr.meta.has(AS_SENT)) return;
    this.afterChange(update, origin, tr);
  };

  private listening = true;

  private listenForUpdates(): void {
    if (this.listening) return;
    this.ydoc.on('update', this.onUpdate);
    this.listening = true;
  }

  /** Yjs has cleaned a transaction up: an as-sent one goes to the parts here, with the bytes sent ahead. */
  private afterCleanup(tr: Y.Transaction): void {
    if (tr.meta.has(AS_SENT)) this.afterSentAhead(null, tr.meta.get(SENT_AHEAD) as UpdateSentAhead[], tr.meta.get(VALIDATED) as Validation);
  }

  /** Reverts every change of `tr` the rules do not allow; returns the cells it settled and what it refused. */
  private validate(tr: Y.Transaction): Validation {
    const cells: SettledCell[] = [];
    const rejected: string[] = [];
    const changed = [...tr.changed].map(([type, keys]) => [type, [...keys]] as const);
    for (const [type, keys] of changed) {
      if (type !== (this.cellMap as unknown as Y.AbstractType<Y.YEvent<any>>)) {
        rejected.push(this.describeType(type));
        // A root type nobody may write, or a nested type: all its content goes.
        deleteMapContent(type, tr);
        deleteSequenceContent(type, tr);
        continue;
      }
      for (const key of keys) {
        if (key === null) {
          // Sequence content inserted under the map (a Y.Map has no use for it): never a cell.
          rejected.push('<list content in cells>');
          deleteSequenceContent(type, tr);
          continue;
        }
        const deleted = !this.cellMap.has(key);
        const value = this.cellMap.get(key);
        const problem = cellChangeProblem(key, value, deleted, this.lineIds);
        if (!problem) {
          if (deleted) this.valid.delete(key);
          else this.valid.set(key, value);
          const slash = key.indexOf('/');
          cells.push({ key, lineId: key.slice(0, slash), column: key.slice(slash + 1) as EditableColumn, value: deleted ? undefined : value });
        } else if (this.valid.has(key)) {
          rejected.push(key);
          this.cellMap.set(key, this.valid.get(key));
        } else if (!deleted) {
          rejected.push(key);
          this.cellMap.delete(key);
        }
      }
    }
    return { cells, rejected };
  }

  /** The only listener of the document's updates: the parts, in order, for the change's origin. */
  private afterChange(update: Uint8Array, origin: unknown, tr: Y.Transaction): void {
    const validation = tr.meta.get(VALIDATED) as Validation | undefined;
    if (!isGridOrigin(origin) || !validation) {
      // Only the apply* methods may change the document; anything else would skip validation and attribution.
      this.parts.onError('pipeline', new Error(`grid document ${this.name} changed outside the pipeline`));
      return;
    }
    const sentAhead = tr.meta.get(SENT_AHEAD) as UpdateSentAhead[] | undefined;
    if (sentAhead) return this.afterSentAhead(update, sentAhead, validation);
    const route = routeOf(origin);
    const change: DocumentChange = { update, origin, cells: validation.cells, rejected: validation.rejected };
    // A relayed change that had to be reverted here: the revert is ours, and must reach storage and the others.
    const reverted = origin.kind === 'relay' && validation.rejected.length > 0;
    const parts = this.parts;
    if (route.broadcast) this.run('broadcast', () => this.broadcast(encodeUpdate(update)));
    if ((route.relay || reverted) && parts.relay) this.run('relay', () => parts.relay!(update, route.author));
    if ((route.store || reverted) && parts.store) this.run('store', () => parts.store!(update));
    if (route.project !== 'none' && parts.project && change.cells.length > 0) this.run('project', () => parts.project!(change));
  }

  /**
   * The parts for a transaction that applied updates sent ahead (`settle`). Each is its own change to the parts:
   * stored as its own bytes when its origin stores, and projected with its own author and the cells it won.
   * `net`: null when the transaction's net change is exactly those updates (AS_SENT: the peers and the other
   * instances have it all). Otherwise (a bug: see `settle`) it is the net update with validation's reverts in it:
   * sent to the peers, to the other instances without an author (each update went to them with its own already,
   * and a relayed author would claim every id in it), and stored, before the projections.
   */
  private afterSentAhead(net: Uint8Array | null, entries: readonly UpdateSentAhead[], validation: Validation): void {
    const parts = this.parts;
    if (net !== null) {
      const reverted = validation.rejected.length > 0;
      if (reverted) this.run('broadcast', () => this.broadcast(encodeUpdate(net)));
      if (reverted && parts.relay) this.run('relay', () => parts.relay!(net, null));
      if ((reverted || entries.some((e) => routeOf(e.origin).store)) && parts.store) this.run('store', () => parts.store!(net));
    }
    const cellsOf = this.attribute(entries, validation.cells);
    entries.forEach((entry, i) => {
      const route = routeOf(entry.origin);
      if (net === null && route.store && parts.store) this.run('store', () => parts.store!(entry.update));
      const cells = cellsOf[i];
      if (route.project !== 'none' && parts.project && cells.length > 0) {
        this.run('project', () => parts.project!({ update: entry.update, origin: entry.origin, cells, rejected: [] }));
      }
    });
  }

  /**
   * Which of `entries` each settled cell is the change of: the one that set its key; when several set it in the
   * same turn (concurrently: none had seen the others'), the one whose value won (written under its client id),
   * so that the cell is credited to whoever wrote the value it now holds, once.
   */
  private attribute(entries: readonly UpdateSentAhead[], cells: readonly SettledCell[]): SettledCell[][] {
    if (entries.length === 1) return [cells as SettledCell[]];
    const cellsOf: SettledCell[][] = entries.map(() => []);
    const setters = new Map<string, number[]>();
    entries.forEach(({ key }, i) => {
      const found = setters.get(key);
      if (found) found.push(i);
      else setters.set(key, [i]);
    });
    for (const cell of cells) {
      const candidates = setters.get(cell.key);
      if (!candidates) {
        // Validation settled a cell none of them set: not possible for plain edits; credited to the first, not lost.
        cellsOf[0].push(cell);
        continue;
      }
      let chosen = candidates[candidates.length - 1];
      if (candidates.length > 1) {
        const winner = mapValueWriter(this.cellMap, cell.key);
        chosen = candidates.find((i) => entries[i].client === winner) ?? chosen;
      }
      cellsOf[chosen].push(cell);
    }
    return cellsOf;
  }

  /**
   * Presence changed: relayed to everyone, the sender included, as the reference server does (the stock client
   * counts these echoes as signs of life and would otherwise drop a quiet connection after 30 s); and to the
   * other instances when it is our peers' own.
   */
  private afterPresence(changed: number[], origin: unknown): void {
    if (changed.length === 0) return;
    this.run('broadcast', () => this.broadcast(encodeAwareness(this.awareness, changed)));
    // Ours: a peer's own presence (its origin is the peer, a connection), or its removal when it left (null).
    // Not what another instance relayed, nor what the awareness timed out (every instance times out its own).
    const ours = origin !== 'timeout' && !(isGridOrigin(origin) && origin.kind === 'relay');
    const relayPresence = this.parts.relayPresence;
    if (ours && relayPresence) this.run('relay', () => relayPresence(encodeAwarenessUpdate(this.awareness, changed)));
  }

  private run(part: string, action: () => void): void {
    try {
      action();
    } catch (err) {
      this.parts.onError(part, err);
    }
  }

  /**
   * One message to every peer, encoded once by the caller. Sent when this turn of the event loop ends, with
   * every other broadcast of the turn: framed once, written once to each socket. Under load many updates arrive
   * in one turn (every socket that became readable is read before `setImmediate` callbacks run), and a write to
   * a socket costs a system call whatever it carries: so the busier the document, the fewer writes per update,
   * where a server that writes each update to each socket at once (the reference y-websocket server) pays
   * updates x peers writes and queues behind them. Yjs updates and presence commute (a client applies them in
   * any order, twice harmlessly), so holding them for the rest of the turn reorders nothing that matters; sync
   * answers to one peer go at once.
   */
  private broadcast(message: Uint8Array): void {
    if (this.peers.size === 0) return;
    this.outgoing.push(message);
    if (this.outgoingSince === 0n) this.outgoingSince = arrivalOfMessageInHand();
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(flushBroadcasts, this);
  }

  /** Sends the turn's broadcasts (see `broadcast`). */
  sendOutgoing(): void {
    this.flushScheduled = false;
    const messages = this.outgoing;
    const since = this.outgoingSince;
    this.outgoingSince = 0n;
    if (messages.length === 0) return;
    this.outgoing = [];
    if (this.peers.size === 0) return;
    const framed = messages.length === 1 ? websocketFrame(messages[0]) : Buffer.concat(messages.map(websocketFrame));
    for (const peer of this.peers) {
      try {
        peer.sendFramed(messages, framed);
      } catch (err) {
        this.parts.onError('broadcast', err);
      }
    }
    if (since !== 0n) this.parts.onForwarded?.(Number(process.hrtime.bigint() - since) / NANOSECONDS_PER_SECOND);
  }

  private describeType(type: Y.AbstractType<Y.YEvent<any>>): string {
    for (const [name, root] of this.ydoc.share) if ((root as unknown) === type) return `<root ${name.slice(0, 40)}>`;
    return '<nested type>';
  }
}

function flushBroadcasts(document: GridDocument): void {
  document.sendOutgoing();
  document.settleTurn();
}

/**
 * The one client id an update writes under, read from its header, when it writes under one only (a relayed
 * edit, nearly always): so that claiming it does not walk every id of the document. Undefined otherwise.
 */
function soleWriter(update: Uint8Array): number[] | undefined {
  try {
    const decoder = decoding.createDecoder(update);
    if (decoding.readVarUint(decoder) !== 1) return undefined;
    decoding.readVarUint(decoder); // how many structs
    return [decoding.readVarUint(decoder)];
  } catch {
    return undefined;
  }
}

/** A state vector that is past every clock of `clients` (and says nothing of others): diffing with it cuts them out. */
function stateVectorFrom(clients: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, clients.length);
  for (const client of clients) {
    encoding.writeVarUint(encoder, client);
    encoding.writeVarUint(encoder, Number.MAX_SAFE_INTEGER);
  }
  return encoding.toUint8Array(encoder);
}
