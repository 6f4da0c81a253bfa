/** Partner organisations: admins see all; a person sees their own. */
import { noteConsulted } from './consulted.js';
import { ALL, NONE, some, type Scope } from './scope.js';
import type { Viewer } from './viewer.js';

export function canReadOrganization(viewer: Viewer, organization: { id: string }): boolean {
  return viewer.role === 'ADMIN' || viewer.organizationId === organization.id;
}

/** The organisations a list query may return. */
export function readableOrganizations(viewer: Viewer): Scope<{ id: string }> {
  noteConsulted();
  if (viewer.role === 'ADMIN') return ALL;
  return viewer.organizationId ? some({ id: viewer.organizationId }) : NONE;
}
