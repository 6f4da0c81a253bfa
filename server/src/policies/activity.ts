/** The activity log (who did what to whom) is for admins only: it names every person and every change of access. */
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

export function canReadActivityLog(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
