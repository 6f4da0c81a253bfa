/** Audit entries are visible exactly where the line they describe is: the history respects row-level security. */
import type { Viewer } from './viewer.js';
import { canReadUnit, readableUnits, type UnitScope } from './businessUnit.js';

export function canReadCellChange(viewer: Viewer, change: { unitId: string }): boolean {
  return canReadUnit(viewer, change.unitId);
}

/** The units whose audit entries a list query may return. */
export function readableCellChanges(viewer: Viewer): UnitScope {
  return readableUnits(viewer);
}
