/**
 * Notifications are their recipient's own: everyone signed in reads and marks their own, nobody anyone
 * else's. A notification of a unit (about a cell, or a budget submission's review and steps) is shown only while its
 * recipient may still read that unit.
 */
import { canReadUnit, readableUnits, type UnitScope } from './businessUnit.js';
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

/** Whether this viewer may see this notification (live events are checked on their own fields). */
export function canReadNotification(viewer: Viewer, notification: { recipientId: string; businessUnitId: string | null }): boolean {
  noteConsulted();
  if (notification.recipientId !== viewer.userId) return false;
  return notification.businessUnitId === null || canReadUnit(viewer, notification.businessUnitId);
}

/** The units whose cells' notifications a list of the viewer's own may include. */
export function notificationUnits(viewer: Viewer): UnitScope {
  noteConsulted();
  return readableUnits(viewer);
}
