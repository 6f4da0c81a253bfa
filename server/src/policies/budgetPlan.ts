/** Budget plans hold no figures of their own: anyone who may read some unit's budget may list them. */
import type { Viewer } from './viewer.js';
import { readableUnits } from './businessUnit.js';

export function canReadPlans(viewer: Viewer): boolean {
  return readableUnits(viewer).kind !== 'none';
}
