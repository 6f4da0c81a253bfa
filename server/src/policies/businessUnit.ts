/**
 * Business units are the unit of budget security: who may read a unit's lines, audit entries and
 * submission, and who may write its cells. Every other budget policy is built from these.
 */
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

/** Which units a viewer may read: every unit, or exactly these ids (possibly none). */
export type UnitScope = { all: true } | { all: false; unitIds: ReadonlySet<string> };

const NO_UNITS: UnitScope = { all: false, unitIds: new Set() };

export function readableUnits(viewer: Viewer): UnitScope {
  noteConsulted();
  switch (viewer.role) {
    case 'ADMIN':
    case 'ANALYST':
      return { all: true };
    case 'BU_LEADER':
    case 'VIEWER':
      return { all: false, unitIds: viewer.unitIds };
    case 'PARTNER_ADMIN':
    case 'PARTNER_USER':
      return NO_UNITS;
  }
}

/** Units whose cells the viewer's role lets them write (a locked submission may still forbid it). */
export function writableUnits(viewer: Viewer): UnitScope {
  noteConsulted();
  switch (viewer.role) {
    case 'ADMIN':
      return { all: true };
    case 'BU_LEADER':
      return { all: false, unitIds: viewer.unitIds };
    case 'ANALYST':
    case 'VIEWER':
    case 'PARTNER_ADMIN':
    case 'PARTNER_USER':
      return NO_UNITS;
  }
}

export function inScope(scope: UnitScope, unitId: string): boolean {
  return scope.all || scope.unitIds.has(unitId);
}

export function canReadUnit(viewer: Viewer, unitId: string): boolean {
  return inScope(readableUnits(viewer), unitId);
}

export function canWriteUnit(viewer: Viewer, unitId: string): boolean {
  return inScope(writableUnits(viewer), unitId);
}
