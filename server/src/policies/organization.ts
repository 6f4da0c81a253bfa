/** Partner organisations: admins see all; a person sees their own. */
import { noteConsulted } from './consulted.js';
import type { Viewer } from './viewer.js';

export function canReadOrganization(viewer: Viewer, organization: { id: string }): boolean {
  return viewer.role === 'ADMIN' || viewer.organizationId === organization.id;
}

/** The organisations a list query may return. */
export function readableOrganizations(viewer: Viewer): { all: true } | { all: false; id: string } | { all: false; none: true } {
  noteConsulted();
  if (viewer.role === 'ADMIN') return { all: true };
  return viewer.organizationId ? { all: false, id: viewer.organizationId } : { all: false, none: true };
}
