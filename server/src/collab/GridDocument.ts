/**
 * One open grid document: the Y.Doc of a plan's business unit, its awareness, its connections, and the
 * validation every writer's change goes through.
 *
 * Validation applies the client's update and reverts what is not allowed *in the same transaction*, so
 * that observers (the projection), the broadcast and the stored log only ever see the net, valid change;
 * the sender gets the revert with the broadcast and converges back. Applying everything (rather than
 * dropping structs) keeps Yjs's per-client clock continuity intact, so a client's later valid changes are
 * never blocked by an earlier refused one. Reverted content is deleted in that transaction, and Yjs
 * garbage-collects it before the update is encoded: the refused values never leave the server.
 */
import { Awareness, applyAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { CellValue, EditableColumn } from '../budget/columns.js';
import { CELLS_MAP, cellChangeProblem, cellKey } from './cellRules.js';
import { encodeAwareness, encodeUpdate, websocketFrame } from './protocol.js';

/** Who a change comes from: a person (over the grid or the API), or the server itself (loading, seeding). */
export interface EditOrigin {
  userId: string;
  source: 'GRID' | 'API';
}

export const LOAD_ORIGIN = Symbol('load');

/**
 * A change that another instance accepted (or that is stored already): relayed to this instance's peers, but
 * never validated, stored or projected again here; the instance that accepted it did all three. `by` is
 * who made it, when the message says (a relayed edit), null otherwise (a catch-up).
 */
export interface RelayOrigin {
  relayedFrom: string;
  by: EditOrigin | null;
}

export function isRelayOrigin(origin: unknown): origin is RelayOrigin {
  return typeof origin === 'object' && origin !== null && 'relayedFrom' in origin;
}

export interface GridPeer {
  send(frame: Uint8Array): void;
  /** Sends a broadcast message, `framed` being it as a websocket frame built once for every peer. */
  sendFramed(message: Uint8Array, framed: Buffer): void;
  /** Awareness client ids this peer announced, removed when it leaves. */
  awarenessClients: Set<number>;
}

export interface ApplyResult {
  /** Keys (or "<root type>") whose change was refused and reverted. */
  rejected: string[];
  /** How many cell changes were accepted. */
  accepted: number;
}

export class GridDocument {
  readonly doc = new Y.Doc({ gc: true });
  readonly cells: Y.Map<unknown>;
  readonly awareness: Awareness;
  readonly peers = new Set<GridPeer>();
  /** The last valid value of every cell: what a refused change is reverted to. */
  private readonly valid = new Map<string, unknown>();
  /** Set while the document is being unloaded; no new peer may join it. */
  closing = false;

  constructor(
    readonly name: string,
    readonly planId: string,
    readonly unitId: string,
    readonly unitCode: string,
    readonly lineIds: ReadonlySet<string>,
  ) {
    this.cells = this.doc.getMap(CELLS_MAP);
    this.awareness = new Awareness(this.doc);
    // The server itself has no presence.
    this.awareness.setLocalState(null);

    // Every accepted change goes to every peer, the sender too (so a sender whose change was partly
    // reverted converges), encoded once.
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === LOAD_ORIGIN) return;
      this.broadcast(encodeUpdate(update));
    });
    // Awareness is relayed to everyone, the sender included, as the reference server does: the stock
    // client counts these echoes as signs of life and would otherwise drop a quiet connection after 30 s.
    this.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      const changed = [...added, ...updated, ...removed];
      const peer = origin as GridPeer | undefined;
      if (peer && this.peers.has(peer)) {
        added.forEach((id) => peer.awarenessClients.add(id));
        removed.forEach((id) => peer.awarenessClients.delete(id));
      }
      this.broadcast(encodeAwareness(this.awareness, changed));
    });
  }

  /** Loads stored state without broadcasting it, and records it as the valid state. */
  loadState(state: Uint8Array): void {
    Y.applyUpdate(this.doc, state, LOAD_ORIGIN);
    this.valid.clear();
    const refused: string[] = [];
    for (const [key, value] of this.cells.entries()) {
      if (cellChangeProblem(key, value, false, this.lineIds)) refused.push(key);
      else this.valid.set(key, value);
    }
    // Nothing invalid is ever stored; if something is (a line was removed), it must not come back.
    if (refused.length > 0) this.doc.transact(() => refused.forEach((k) => this.cells.delete(k)), LOAD_ORIGIN);
  }

  /** The cells as plain data (what the projection writes into rows). */
  cellValue(lineId: string, column: EditableColumn): unknown {
    return this.cells.get(cellKey(lineId, column));
  }

  /**
   * Applies an update from a writer, keeping only the changes the rules allow (see the header).
   * Throws (before touching the document) when the update cannot be decoded.
   */
  applyClientUpdate(update: Uint8Array, origin: EditOrigin): ApplyResult {
    Y.decodeUpdate(update); // throws on a malformed update, before anything is applied
    const result: ApplyResult = { rejected: [], accepted: 0 };
    this.doc.transact((tr) => {
      Y.applyUpdate(this.doc, update, origin);
      // applyUpdate marks the transaction as remote; our reverts below are local changes, and Yjs would
      // otherwise take our own client id for a clash and pick a new one on every refused change.
      tr.local = true;
      const changed = [...tr.changed].map(([type, keys]) => [type, [...keys]] as const);
      for (const [type, keys] of changed) {
        if (type !== (this.cells as unknown as Y.AbstractType<Y.YEvent<any>>)) {
          result.rejected.push(this.describeType(type));
          clearType(type, tr);
          continue;
        }
        for (const key of keys) {
          if (key === null) continue;
          const deleted = !this.cells.has(key);
          const value = this.cells.get(key);
          const problem = cellChangeProblem(key, value, deleted, this.lineIds);
          if (!problem) {
            if (deleted) this.valid.delete(key);
            else this.valid.set(key, value);
            result.accepted += 1;
          } else if (this.valid.has(key)) {
            result.rejected.push(key);
            this.cells.set(key, this.valid.get(key));
          } else if (!deleted) {
            result.rejected.push(key);
            this.cells.delete(key);
          }
        }
      }
    }, origin);
    return result;
  }

  /** Applies already-authorised, already-validated cell values from the API (null or "" comment clears). */
  applyEdits(lineId: string, values: Partial<Record<EditableColumn, CellValue>>, origin: EditOrigin): void {
    this.doc.transact(() => {
      for (const [column, value] of Object.entries(values) as [EditableColumn, CellValue][]) {
        const key = cellKey(lineId, column);
        if (value === null || (column === 'comment' && value === '')) {
          this.cells.delete(key);
          this.valid.delete(key);
        } else {
          this.cells.set(key, value);
          this.valid.set(key, value);
        }
      }
    }, origin);
  }

  applyAwareness(update: Uint8Array, peer: GridPeer): void {
    applyAwarenessUpdate(this.awareness, update, peer);
  }

  /**
   * Applies a change another instance accepted: broadcast to our peers like any change, not validated again.
   * The cells it settles become the valid values that a refused change is reverted to.
   */
  applyRelayedUpdate(update: Uint8Array, origin: RelayOrigin): void {
    this.doc.transact((tr) => {
      Y.applyUpdate(this.doc, update, origin);
      const keys = tr.changed.get(this.cells as unknown as Y.AbstractType<Y.YEvent<any>>);
      for (const key of keys ?? []) {
        if (key === null) continue;
        if (this.cells.has(key)) this.valid.set(key, this.cells.get(key));
        else this.valid.delete(key);
      }
    }, origin);
  }

  /** Presence relayed from another instance's peers. */
  applyRelayedAwareness(update: Uint8Array, origin: RelayOrigin): void {
    applyAwarenessUpdate(this.awareness, update, origin);
  }

  /** Whether the document waits for changes it has not seen (it received a later one of the same writer). */
  get missesUpdates(): boolean {
    return this.doc.store.pendingStructs !== null || this.doc.store.pendingDs !== null;
  }

  /** Awareness client ids announced by this instance's own peers. */
  localAwarenessClients(): number[] {
    return [...this.peers].flatMap((peer) => [...peer.awarenessClients]);
  }

  addPeer(peer: GridPeer): void {
    this.peers.add(peer);
  }

  /** Removes a peer and its presence; returns how many peers remain. */
  removePeer(peer: GridPeer): number {
    if (this.peers.delete(peer) && peer.awarenessClients.size > 0) {
      removeAwarenessStates(this.awareness, [...peer.awarenessClients], null);
    }
    return this.peers.size;
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }

  /** One message to every peer: encoded once by the caller, framed once here, the same bytes to all. */
  private broadcast(message: Uint8Array): void {
    if (this.peers.size === 0) return;
    const framed = websocketFrame(message);
    for (const peer of this.peers) peer.sendFramed(message, framed);
  }

  private describeType(type: Y.AbstractType<Y.YEvent<any>>): string {
    for (const [name, root] of this.doc.share) if ((root as unknown) === type) return `<root ${name.slice(0, 40)}>`;
    return '<nested type>';
  }
}

/** Deletes every live item of a shared type (a root type nobody may write, or a nested type). */
function clearType(type: Y.AbstractType<Y.YEvent<any>>, tr: Y.Transaction): void {
  type._map.forEach((item) => {
    if (!item.deleted) item.delete(tr);
  });
  for (let item = type._start; item !== null; item = item.right) {
    if (!item.deleted) item.delete(tr);
  }
}
