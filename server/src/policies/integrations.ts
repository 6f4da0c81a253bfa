/**
 * The integrations' status (which are configured, the last call to each, its error) is for admins only: the
 * errors name workspaces, datasets, teams and webhook receivers, and the list says what the deployment runs.
 */
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

export function canReadIntegrationStatus(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
