/**
 * Whose Yjs client ids are whose, in one server document.
 *
 * Yjs trusts that one client id is one writer: content at a (client, clock) the document already has is skipped
 * as a duplicate. So a connection that writes under someone else's client id, ahead of their clock, makes their
 * next real edit look like a duplicate: the server drops it, nobody is told, and replicas diverge. Here every
 * client id that writes is held by the connection that first extends it (and its person); writing new content
 * under an id held by another open connection is refused (the whole update: dropping part of one client's structs
 * would block its later ones). An id whose connection has closed passes to the next connection of the same person
 * (the stock client reconnects with the same document, so the same id). The server's own id (reverts) is the
 * server's.
 *
 * An id is also claimed by announcing presence with it (the stock client's awareness id is its document's client
 * id, and presence is how other people learn ids), so nobody can claim an id they only saw in someone's presence.
 * Ids found in stored state are free until someone extends them (they were written before this process started;
 * after a crash, a peer may resend another's unsaved edits, and is then credited with them). Ids extended by
 * another instance are held by the person it says made the change.
 */
import * as Y from 'yjs';

export const SERVER_OWNER = '#server';

/** Who writes under an id: a person, and the connection on this instance when it came from one. */
export interface Writer {
  userId: string;
  connection?: object;
}

export class ClientIdOwners {
  private readonly owners = new Map<number, Writer>();

  constructor(serverClientId: number, private readonly isOpen: (connection: object) => boolean) {
    this.owners.set(serverClientId, { userId: SERVER_OWNER });
  }

  /**
   * The client ids `update` writes new content for (beyond what `doc` has) that another writer holds.
   * Throws when the update's structs cannot be read.
   */
  foreignWriters(doc: Y.Doc, update: Uint8Array, writer: Writer): { foreign: number[]; writes: number[] } {
    const { to } = Y.parseUpdateMeta(update);
    const foreign: number[] = [];
    const writes: number[] = [];
    for (const [client, end] of to) {
      if (end <= Y.getState(doc.store, client)) continue; // nothing new for this id: a duplicate, harmless
      writes.push(client);
      if (!this.mayWrite(client, writer)) foreign.push(client);
    }
    return { foreign, writes };
  }

  /**
   * After an update was applied: the ids whose clock moved in it are `writer`'s from now on. `among`: the ids the
   * update could have moved (foreignWriters' `writes`), so that a document with thousands of past writers is not
   * walked whole on every update; absent, every id of the document is looked at.
   */
  claim(transaction: Y.Transaction, writer: Writer, among?: readonly number[]): void {
    // Called inside the transaction, before Yjs computes its afterState: the store's state is the state after.
    const store = transaction.doc.store;
    const moved = (client: number) => Y.getState(store, client) !== (transaction.beforeState.get(client) ?? 0);
    if (among) {
      for (const client of among) if (moved(client) && this.mayWrite(client, writer)) this.owners.set(client, writer);
      return;
    }
    for (const client of store.clients.keys()) if (moved(client) && this.mayWrite(client, writer)) this.owners.set(client, writer);
  }

  /** Whether `writer` (its very connection) holds `client` now. */
  holds(client: number, writer: Writer): boolean {
    return this.owners.get(client) === writer;
  }

  /** A connection announced presence under `client` (see the header): it holds that id, if it may. */
  reserve(client: number, writer: Writer): void {
    if (this.mayWrite(client, writer)) this.owners.set(client, writer);
  }

  /**
   * A connection closed: its ids stay its person's (the same person's next connection may take them over), but
   * the connection itself is let go, or a document open all day would keep every connection that ever wrote.
   */
  release(writer: Writer): void {
    if (!writer.connection) return;
    const released: Writer = { userId: writer.userId };
    for (const [client, holder] of this.owners) if (holder === writer) this.owners.set(client, released);
  }

  private mayWrite(client: number, writer: Writer): boolean {
    const holder = this.owners.get(client);
    if (holder === undefined || holder === writer) return true;
    if (holder.userId !== writer.userId) return false;
    // The same person: from another connection only once the holding one has closed (a reconnect).
    return !holder.connection || holder.connection === writer.connection || !this.isOpen(holder.connection);
  }
}
