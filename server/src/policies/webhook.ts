/**
 * Webhooks send the organisation's events to other systems and hold the secrets that sign them: admins only,
 * for reading them and their delivery log as for creating and deleting them.
 */
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

export function canManageWebhooks(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
