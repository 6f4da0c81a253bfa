/**
 * The y-websocket wire protocol, as the stock `WebsocketProvider` speaks it: every frame is binary and
 * starts with a varuint message type. Sync messages carry a y-protocols sync sub-type (step 1, step 2,
 * update); awareness messages carry an awareness update. Pure encoders and a decoder that throws on
 * anything it does not understand, so a malformed frame is always caught at the edge.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

export const MessageType = { Sync: 0, Awareness: 1, Auth: 2, QueryAwareness: 3 } as const;
export const SyncType = {
  Step1: syncProtocol.messageYjsSyncStep1,
  Step2: syncProtocol.messageYjsSyncStep2,
  Update: syncProtocol.messageYjsUpdate,
} as const;

export type ClientMessage =
  | { kind: 'syncStep1'; stateVector: Uint8Array }
  | { kind: 'syncStep2' | 'update'; update: Uint8Array }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'queryAwareness' };

export class ProtocolError extends Error {}

/** Decodes one frame from a client; throws ProtocolError for anything malformed or unknown. */
export function decodeClientMessage(frame: Uint8Array): ClientMessage {
  try {
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    let message: ClientMessage;
    switch (type) {
      case MessageType.Sync: {
        const syncType = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (syncType === SyncType.Step1) message = { kind: 'syncStep1', stateVector: payload };
        else if (syncType === SyncType.Step2) message = { kind: 'syncStep2', update: payload };
        else if (syncType === SyncType.Update) message = { kind: 'update', update: payload };
        else throw new ProtocolError(`unknown sync message type ${syncType}`);
        break;
      }
      case MessageType.Awareness:
        message = { kind: 'awareness', update: decoding.readVarUint8Array(decoder) };
        break;
      case MessageType.QueryAwareness:
        message = { kind: 'queryAwareness' };
        break;
      default:
        throw new ProtocolError(`unknown message type ${type}`);
    }
    if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes after the message');
    return message;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed message: ${(err as Error).message}`);
  }
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** Sync step 1: our state vector, asking the client for what we lack. */
export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    syncProtocol.writeSyncStep1(e, doc);
  });
}

/** Sync step 2: everything the client lacks, given its state vector. */
export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    syncProtocol.writeSyncStep2(e, doc, stateVector);
  });
}

/** An incremental update, broadcast to every connection of a document. */
export function encodeUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Sync);
    syncProtocol.writeUpdate(e, update);
  });
}

/**
 * A server-to-client websocket frame of one binary message, header and payload in one buffer (RFC 6455: FIN,
 * opcode 2, unmasked, no extension). Built once per broadcast and written as is to every receiver's socket,
 * instead of each send framing the message again (a header allocation, two writes, a writev).
 */
export function websocketFrame(message: Uint8Array): Buffer {
  const length = message.byteLength;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const framed = Buffer.allocUnsafe(headerLength + length);
  framed[0] = 0x82;
  if (length < 126) {
    framed[1] = length;
  } else if (length < 65536) {
    framed[1] = 126;
    framed.writeUInt16BE(length, 2);
  } else {
    framed[1] = 127;
    framed.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    framed.writeUInt32BE(length >>> 0, 6);
  }
  framed.set(message, headerLength);
  return framed;
}

export function encodeAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.Awareness);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  });
}
