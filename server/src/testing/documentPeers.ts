/**
 * In-process stand-ins for what a connection is to a GridDocument (its GridPeer, writer and origin), and the
 * updates a real Yjs client doc produces: for tests that drive one document without sockets (sentAhead.test,
 * forwardTime.test).
 */
import * as Y from 'yjs';
import type { GridDocument, GridPeer } from '../collab/GridDocument.js';
import type { ConnectionOrigin } from '../collab/origins.js';

/** A peer that records the messages broadcast to it, and is its own writer and origin, as a connection is. */
export class TestPeer implements GridPeer, ConnectionOrigin {
  readonly kind = 'connection' as const;
  readonly received: Uint8Array[] = [];
  readonly identity = { name: 'Test', email: 'test@example.com' };
  constructor(readonly userId: string) {}
  get author() {
    return { userId: this.userId, source: 'GRID' as const };
  }
  get writer() {
    return this;
  }
  send(frame: Uint8Array): void {
    this.received.push(frame);
  }
  sendFramed(messages: readonly Uint8Array[]): void {
    this.received.push(...messages);
  }
}

/** Makes changes on a client doc and answers the update each produces, as the client would send it. */
export function editsOf(client: Y.Doc) {
  return (change: (cells: Y.Map<unknown>) => void): Uint8Array => {
    let update: Uint8Array | undefined;
    const capture = (u: Uint8Array) => (update = u);
    client.on('update', capture);
    client.transact(() => change(client.getMap('cells')));
    client.off('update', capture);
    return update!;
  };
}

/**
 * Two connections on `document`, a writer and an observer, and the writer's client doc, up to date with the
 * document, as the stock client is once synced.
 */
export function writerAndObserver(document: GridDocument) {
  const writer = new TestPeer('user-writer');
  const observer = new TestPeer('user-observer');
  document.addPeer(writer);
  document.addPeer(observer);
  const client = new Y.Doc();
  Y.applyUpdate(client, Y.encodeStateAsUpdate(document.doc));
  return { writer, observer, client };
}
