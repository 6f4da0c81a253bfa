/**
 * Where a change to a server grid document comes from: one union, and one decision of what each part of the
 * pipeline does with it (GridDocument runs the parts, in the order of `ChangeRoute`).
 *
 * Every Yjs transaction on a server document carries one of these as its origin; a transaction with any
 * other origin is a bug (GridDocument refuses to route it and logs it).
 */
import type { ChangeSource } from '../budget/CellChange.js';
import type { Writer } from './clientIds.js';

/** Who made a change, as the audit log and `budgetLineChanged` name them. */
export interface Author {
  userId: string;
  source: ChangeSource;
}

/** A grid client's update, received on one of this instance's connections: validated, then attributed to `author`. */
export interface ConnectionOrigin {
  kind: 'connection';
  author: Author;
  /** The connection it came from, as the writer of its client ids (clientIds.ts). */
  writer: Writer;
}

/** An API edit (`updateBudgetLine`), already authorised and validated by the writer. */
export interface ApiOrigin {
  kind: 'api';
  author: Author;
}

/**
 * A change another instance accepted (or stored): validated again here (defence in depth), relayed to our
 * peers, never stored or projected as ours. `by` is who made it when the message says so (a relayed edit), null
 * for a catch-up (a hello answer, or what storage holds).
 */
export interface RelayOrigin {
  kind: 'relay';
  relayedFrom: string;
  by: Author | null;
}

/** The stored state, read when the document is loaded (or seeded from rows): nothing is re-sent or re-stored. */
export interface LoadOrigin {
  kind: 'load';
}

/**
 * Lines removed from the unit (removeBudgetLines): their cells leave the document. The rows and the audit log
 * know already (the lines are gone, their history kept), so it is not projected; every instance removes them
 * from its own copy on the same event (GridServer), so it is not relayed either; it is sent to this instance's
 * connections, whose grids drop the cells, and stored, so that the stored state forgets them too.
 */
export interface StructureOrigin {
  kind: 'structure';
}

export type GridOrigin = ConnectionOrigin | ApiOrigin | RelayOrigin | LoadOrigin | StructureOrigin;

export const LOAD_ORIGIN: LoadOrigin = Object.freeze({ kind: 'load' });
export const STRUCTURE_ORIGIN: StructureOrigin = Object.freeze({ kind: 'structure' });

const KINDS = new Set(['connection', 'api', 'relay', 'load', 'structure']);

export function isGridOrigin(origin: unknown): origin is GridOrigin {
  return typeof origin === 'object' && origin !== null && KINDS.has((origin as { kind?: unknown }).kind as string);
}

/** What each part of the pipeline does with a change of this origin. */
export interface ChangeRoute {
  /** Sent to this instance's connections (encoded once). */
  broadcast: boolean;
  /** Published on Redis for the other instances. */
  relay: boolean;
  /** Appended to the document's update log in PostgreSQL. */
  store: boolean;
  /** Projected into rows and audit as the author's change ('own'); or only where it moves a cell we wrote ('settle'). */
  project: 'own' | 'settle' | 'none';
  /** Who the change is attributed to (null: not said; the projection looks the author up). */
  author: Author | null;
}

/** The one decision: what happens to a change, from where it came. */
export function routeOf(origin: GridOrigin): ChangeRoute {
  switch (origin.kind) {
    case 'connection':
    case 'api':
      return { broadcast: true, relay: true, store: true, project: 'own', author: origin.author };
    case 'relay':
      // The accepting instance stored and projected it once; relaying it again would loop.
      return { broadcast: true, relay: false, store: false, project: 'settle', author: origin.by };
    case 'load':
      return { broadcast: false, relay: false, store: false, project: 'none', author: null };
    case 'structure':
      return { broadcast: true, relay: false, store: true, project: 'none', author: null };
  }
}
