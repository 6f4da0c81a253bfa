/**
 * Presence (y-protocols awareness) as the server vouches for it.
 *
 * A client's awareness message is a list of (client id, clock, JSON state). Left alone, any connection could set,
 * spoof or remove anyone's state, in any size and number. Here a connection's message is accepted only for the one
 * client id that connection owns (the first it announces, when no other connection on this instance holds it), and
 * the state is rebuilt from what the server knows: the person's name, email and colour come from their token, and
 * the only field the client chooses is the cell it has selected, which must be an editable cell of this unit (or
 * null). Everything else is dropped. A read-only connection may announce itself the same way: presence is not an
 * edit.
 *
 * Out of scope: how often a connection may send presence (GridConnection coalesces), and presence relayed from
 * other instances (they vetted it before publishing).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { parseCellKey } from './cellRules.js';

/** Longest state JSON read at all; a real one is under 200 bytes. */
export const MAX_AWARENESS_STATE_BYTES = 4096;

const PALETTE = ['#e5484d', '#3e63dd', '#30a46c', '#f76b15', '#8e4ec6', '#12a594', '#d6409f', '#ad7f58'];

/** A stable colour per person: the web client's own rule (client/src/grid/useGridDocument.ts), so both agree. */
export function presenceColor(email: string): string {
  let h = 0;
  for (const ch of email) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export interface PresenceIdentity {
  name: string;
  email: string;
}

/** The state the server stands behind: who (from the token) and which cell (checked). */
export interface VouchedPresence {
  user: { name: string; email: string; color: string };
  cell: string | null;
}

export interface VettedAwareness {
  /** The update to apply: only the owned client id, with a rebuilt state (or null to remove it). */
  update: Uint8Array;
  clientId: number;
}

export class PresenceError extends Error {}

/**
 * Checks a connection's awareness update and rebuilds it (see the header). `ownedId` is the client id the
 * connection owns already (undefined before its first announcement); `isTaken(id)` says whether another
 * connection holds that id. Throws PresenceError for a malformed message; returns null when it asks for
 * nothing this connection may do (someone else's id, a second id).
 */
export function vetAwarenessUpdate(
  update: Uint8Array,
  ownedId: number | undefined,
  isTaken: (clientId: number) => boolean,
  identity: PresenceIdentity,
  lineIds: ReadonlySet<string>,
): VettedAwareness | null {
  let entries: { clientId: number; clock: number; json: string }[];
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    // One entry is what a client sends; a few more (stale ids of its own) are tolerated but never applied.
    if (count > 16) throw new PresenceError('too many awareness entries');
    entries = [];
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const length = decoding.peekVarUint(decoder);
      if (length > MAX_AWARENESS_STATE_BYTES * 4) throw new PresenceError('awareness state too large');
      const json = decoding.readVarString(decoder);
      if (json.length > MAX_AWARENESS_STATE_BYTES) throw new PresenceError('awareness state too large');
      entries.push({ clientId, clock, json });
    }
    if (decoding.hasContent(decoder)) throw new PresenceError('trailing bytes after the awareness update');
  } catch (err) {
    if (err instanceof PresenceError) throw err;
    throw new PresenceError(`malformed awareness update: ${(err as Error).message}`);
  }
  const mine = entries.filter((e) => (ownedId === undefined ? !isTaken(e.clientId) : e.clientId === ownedId));
  if (mine.length === 0) return null;
  // Before owning an id, the first eligible entry decides; after, only the owned id's last entry counts.
  const entry = ownedId === undefined ? mine[0] : mine[mine.length - 1];
  let state: unknown;
  try {
    state = JSON.parse(entry.json);
  } catch {
    throw new PresenceError('awareness state is not JSON');
  }
  const vouched = state === null ? null : vouch(state, identity, lineIds);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, entry.clientId);
  encoding.writeVarUint(encoder, entry.clock);
  encoding.writeVarString(encoder, JSON.stringify(vouched));
  return { update: encoding.toUint8Array(encoder), clientId: entry.clientId };
}

/** The state the server stands behind, whatever the client claimed. */
export function vouch(state: unknown, identity: PresenceIdentity, lineIds: ReadonlySet<string>): VouchedPresence {
  const claimed = typeof state === 'object' && state !== null ? (state as Record<string, unknown>).cell : null;
  const cell = typeof claimed === 'string' && claimed.length <= 80 && parseCellKey(claimed, lineIds) ? claimed : null;
  return { user: { name: identity.name, email: identity.email, color: presenceColor(identity.email) }, cell };
}
