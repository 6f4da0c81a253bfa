/**
 * A hand-driven y-websocket client for attack tests: a plain ws socket that sends whatever frames a test builds
 * (hand-made Yjs updates, awareness for other people's ids, garbage), while keeping a Y.Doc of what the server
 * sent, so a test can see exactly what the server let through.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import WebSocket from 'ws';
import * as Y from 'yjs';

export interface RawGridClient {
  ws: WebSocket;
  /** What the server sent us: its document as we received it. */
  doc: Y.Doc;
  /** Presence as the server relayed it. */
  awareness: awarenessProtocol.Awareness;
  /** Sync step 1 messages received (the first one at connect; later ones are the server asking for data). */
  syncRequests: number;
  /** Bytes received so far. */
  received: number;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server's sync step 2 (its whole document) has arrived. */
  synced: Promise<void>;
  sendUpdate(update: Uint8Array): void;
  sendSyncStep2(update: Uint8Array): void;
  sendAwareness(update: Uint8Array): void;
  send(frame: Uint8Array): void;
  close(): void;
}

export function frameOf(write: (e: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/**
 * A copy of `source` that writes as `clientId` (someone else's, for an attack): the id is set after the state is
 * applied, or Yjs, seeing "its own" id advanced by a remote change, would pick a new one.
 */
export function replicaOf(source: Y.Doc, clientId?: number): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source));
  if (clientId !== undefined) doc.clientID = clientId;
  return doc;
}

export function updateFrame(update: Uint8Array): Uint8Array {
  return frameOf((e) => {
    encoding.writeVarUint(e, 0);
    syncProtocol.writeUpdate(e, update);
  });
}

export function awarenessFrame(update: Uint8Array): Uint8Array {
  return frameOf((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, update);
  });
}

/** An awareness update of hand-picked entries (any client id, clock and state). */
export function awarenessUpdateOf(entries: { clientId: number; clock: number; state: unknown }[]): Uint8Array {
  return frameOf((e) => {
    encoding.writeVarUint(e, entries.length);
    for (const entry of entries) {
      encoding.writeVarUint(e, entry.clientId);
      encoding.writeVarUint(e, entry.clock);
      encoding.writeVarString(e, JSON.stringify(entry.state));
    }
  });
}

export function connectRawGrid(baseUrl: string, docName: string, token: string): RawGridClient {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/yjs/${encodeURIComponent(docName)}?token=${encodeURIComponent(token)}`);
  ws.binaryType = 'nodebuffer';
  const doc = new Y.Doc();
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(null);
  let markSynced: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  // An Awareness runs a timer until destroyed, which would keep this client and its document alive for good.
  ws.on('close', () => awareness.destroy());
  const client: RawGridClient = {
    ws,
    doc,
    awareness,
    syncRequests: 0,
    received: 0,
    closed,
    synced,
    sendUpdate: (update) => client.send(updateFrame(update)),
    sendSyncStep2: (update) =>
      client.send(
        frameOf((e) => {
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
          encoding.writeVarUint8Array(e, update);
        }),
      ),
    sendAwareness: (update) => client.send(awarenessFrame(update)),
    send: (frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    close: () => ws.close(),
  };
  ws.on('message', (data: Buffer) => {
    client.received += data.byteLength;
    const decoder = decoding.createDecoder(new Uint8Array(data));
    const type = decoding.readVarUint(decoder);
    if (type === 0) {
      const syncType = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (syncType === syncProtocol.messageYjsSyncStep1) {
        client.syncRequests += 1;
      } else {
        Y.applyUpdate(doc, payload, 'server');
        if (syncType === syncProtocol.messageYjsSyncStep2) markSynced();
      }
    } else if (type === 1) {
      awarenessProtocol.applyAwarenessUpdate(awareness, decoding.readVarUint8Array(decoder), 'server');
    }
  });
  // Ask for the server's document, as the stock client does on open.
  ws.on('open', () =>
    ws.send(
      frameOf((e) => {
        encoding.writeVarUint(e, 0);
        syncProtocol.writeSyncStep1(e, doc);
      }),
    ),
  );
  return client;
}
