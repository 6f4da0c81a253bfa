/**
 * Partner organisations: admins see all; a person sees their own. What is inside one (its studio companies,
 * its groups in other tools, its people) only admins and the organisation's own partner admin read; renaming
 * and deleting one is for admins.
 */
import { noteConsulted } from './consulted.js';
import { ALL, NONE, some, type Scope } from './scope.js';
import type { Viewer } from './viewer.js';

export function canReadOrganization(viewer: Viewer, organization: { id: string }): boolean {
  return viewer.role === 'ADMIN' || viewer.organizationId === organization.id;
}

/** Its studio companies, system groups and people: admins, and the partner admin of this organisation. */
export function canReadOrganizationDetails(viewer: Viewer, organization: { id: string }): boolean {
  return viewer.role === 'ADMIN' || (viewer.role === 'PARTNER_ADMIN' && viewer.organizationId === organization.id);
}

/** Renaming and deleting organisations: admins only. */
export function canManageOrganization(viewer: Viewer): boolean {
  return viewer.role === 'ADMIN';
}

/** The organisations a list query may return. */
export function readableOrganizations(viewer: Viewer): Scope<{ id: string }> {
  noteConsulted();
  if (viewer.role === 'ADMIN') return ALL;
  return viewer.organizationId ? some({ id: viewer.organizationId }) : NONE;
}
