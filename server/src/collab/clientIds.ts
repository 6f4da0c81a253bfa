/**
 * Whose Yjs client ids are whose, in one server document.
 *
 * Yjs trusts that one client id is one writer: content at a (client, clock) the document already has is skipped
 * as a duplicate. So a connection that writes under someone else's client id, ahead of their clock, makes their
 * next real edit look like a duplicate: the server drops it, nobody is told, and replicas diverge. Here every
 * client id that writes is claimed by the person whose connection first extends it; writing new content under an
 * id another person holds is refused (the whole update: dropping part of one client's structs would block its
 * later ones). The server's own id (reverts) is held by the server.
 *
 * An id is also claimed by announcing presence with it (the stock client's awareness id is its document's client
 * id, and presence is how other people learn ids), so nobody can claim an id they only saw in someone's presence.
 * Ids found in stored state are free until someone extends them (they were written before this process started;
 * after a crash, a peer may resend another's unsaved edits, and is then credited with them).
 */
import * as Y from 'yjs';

export const SERVER_OWNER = '#server';

export class ClientIdOwners {
  private readonly owners = new Map<number, string>();

  constructor(serverClientId: number) {
    this.owners.set(serverClientId, SERVER_OWNER);
  }

  /**
   * The client ids `update` writes new content for (beyond what `doc` has) that another owner holds.
   * Throws when the update's structs cannot be read.
   */
  foreignWriters(doc: Y.Doc, update: Uint8Array, owner: string): number[] {
    const { to } = Y.parseUpdateMeta(update);
    const foreign: number[] = [];
    for (const [client, end] of to) {
      if (end <= Y.getState(doc.store, client)) continue; // nothing new for this id: a duplicate, harmless
      const holder = this.owners.get(client);
      if (holder !== undefined && holder !== owner) foreign.push(client);
    }
    return foreign;
  }

  /**
   * A connection announced presence under `client` (the stock client uses its document's client id for both):
   * that id is its person's to write with, if nobody writes with it yet. Presence is how ids become known to
   * others, so the owner is always first to reserve its own.
   */
  reserve(client: number, owner: string): void {
    if (!this.owners.has(client)) this.owners.set(client, owner);
  }

  /** After an update was applied: the ids whose clock moved in it are `owner`'s from now on (first come). */
  claim(transaction: Y.Transaction, owner: string): void {
    for (const [client, clock] of transaction.afterState) {
      if (clock !== (transaction.beforeState.get(client) ?? 0) && !this.owners.has(client)) this.owners.set(client, owner);
    }
  }
}
