/**
 * Business units are the unit of budget security: who may read a unit's lines, audit entries and
 * submission, and who may write its cells. Every other budget policy is built from these.
 */
import { noteConsulted } from './consulted.js';
import { ALL, NONE, some, type Scope } from './scope.js';
import type { Viewer } from './viewer.js';

/** Units as a list query scopes them: a non-empty set of ids when not all and not none. */
export type UnitScope = Scope<{ unitIds: ReadonlySet<string> }>;

function theirUnits(viewer: Viewer): UnitScope {
  return viewer.unitIds.size > 0 ? some({ unitIds: viewer.unitIds }) : NONE;
}

/** Which units a viewer may read. */
export function readableUnits(viewer: Viewer): UnitScope {
  noteConsulted();
  switch (viewer.role) {
    case 'ADMIN':
    case 'ANALYST':
      return ALL;
    case 'BU_LEADER':
    case 'VIEWER':
      return theirUnits(viewer);
    case 'PARTNER_ADMIN':
    case 'PARTNER_USER':
      return NONE;
  }
}

/** Units whose cells the viewer's role lets them write (a locked submission may still forbid it). */
export function writableUnits(viewer: Viewer): UnitScope {
  noteConsulted();
  switch (viewer.role) {
    case 'ADMIN':
      return ALL;
    case 'BU_LEADER':
      return theirUnits(viewer);
    case 'ANALYST':
    case 'VIEWER':
    case 'PARTNER_ADMIN':
    case 'PARTNER_USER':
      return NONE;
  }
}

export function inScope(scope: UnitScope, unitId: string): boolean {
  return scope.kind === 'all' || (scope.kind === 'some' && scope.where.unitIds.has(unitId));
}

/** The unit ids a query is limited to: null for every unit, an empty list for none. */
export function unitIdsOf(scope: UnitScope): string[] | null {
  if (scope.kind === 'all') return null;
  return scope.kind === 'some' ? [...scope.where.unitIds] : [];
}

export function canReadUnit(viewer: Viewer, unitId: string): boolean {
  return inScope(readableUnits(viewer), unitId);
}

export function canWriteUnit(viewer: Viewer, unitId: string): boolean {
  return inScope(writableUnits(viewer), unitId);
}

/** Creating business units is for admins only. */
export function canManageUnits(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
