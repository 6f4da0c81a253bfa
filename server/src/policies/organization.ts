/** Partner organisations: admins see all; a person sees their own. */
import type { Viewer } from './viewer.js';

export function canReadOrganization(viewer: Viewer, organization: { id: string }): boolean {
  return viewer.role === 'ADMIN' || viewer.organizationId === organization.id;
}
