/**
 * Presence (awareness) states as this client reads them: other people's states arrive from the network and
 * are never trusted. A state is shown only when it has the shape our own client sends: a name and an email
 * that are strings of bounded length, a `#rrggbb` colour (it goes into inline styles), and a cell that is
 * null or an editable cell of a line of this unit. A state with a bad cell is shown without the cell; any
 * other deviation hides the state. Nothing here throws, whatever the input.
 *
 * Out of scope: which client ids a connection may speak for (the server vouches for that).
 */
// With its extension: the unit test (client/test/presenceState.test.ts) is typechecked as Node ESM.
import { isEditable } from './cells.js';

export interface PresenceUser {
  name: string;
  color: string;
  email: string;
}

export interface PresenceState {
  user: PresenceUser;
  /** The cell the person has selected, `<lineId>/<column>`. */
  cell: string | null;
}

export const MAX_NAME = 120;
export const MAX_EMAIL = 254;
/** A line id (a UUID) and the longest editable column name, with room to spare. */
export const MAX_CELL = 80;
/** People shown in the presence list at most; any more are counted, not drawn. */
export const MAX_PEOPLE_SHOWN = 12;

const COLOR = /^#[0-9a-fA-F]{6}$/;

function boundedString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A person's awareness state if it is one we can show, else null. `isLine` says whether a line id belongs
 * to this unit's grid; without it any line id passes (the presence list shows no cells).
 */
export function readPresence(state: unknown, isLine: (lineId: string) => boolean = () => true): PresenceState | null {
  try {
    if (!isRecord(state) || !isRecord(state.user)) return null;
    const { name, email, color } = state.user;
    if (!boundedString(name, MAX_NAME) || !boundedString(email, MAX_EMAIL)) return null;
    if (typeof color !== 'string' || !COLOR.test(color)) return null;
    return { user: { name, email, color }, cell: readCell(state.cell, isLine) };
  } catch {
    // A getter or proxy cannot come from JSON, but a state set locally could be anything.
    return null;
  }
}

function readCell(cell: unknown, isLine: (lineId: string) => boolean): string | null {
  if (!boundedString(cell, MAX_CELL)) return null;
  const slash = cell.indexOf('/');
  if (slash <= 0) return null;
  const lineId = cell.slice(0, slash);
  return isEditable(cell.slice(slash + 1)) && isLine(lineId) ? cell : null;
}

/**
 * States read per change at most: a unit's real audience is a few dozen people, and a flood of fake ones
 * (300,000 were sent once) must not cost this page a pass over all of them at every presence change.
 */
export const MAX_STATES_READ = 500;

/** Everyone else's presence that can be shown (a person with several tabs has several). */
export function othersPresence(states: ReadonlyMap<number, unknown>, selfId: number, isLine?: (lineId: string) => boolean): PresenceState[] {
  const others: PresenceState[] = [];
  let read = 0;
  for (const [clientId, state] of states) {
    if (clientId === selfId) continue;
    if (++read > MAX_STATES_READ) break;
    const presence = readPresence(state, isLine);
    if (presence) others.push(presence);
  }
  return others;
}
