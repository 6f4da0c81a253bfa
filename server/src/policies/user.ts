/**
 * People: everyone reads themselves; admins read and manage everyone; partner admins read the people of
 * their own organisation. Nobody else may list users.
 *
 * Others appear in what a viewer may read (a line's last editor, an audit entry's author, who submitted a
 * unit): of them the viewer learns who they are (id, email, display name), never their details (role,
 * business units, organisation), which only those who may read the person see (`canReadUserDetails`).
 */
import { noteConsulted } from './consulted.js';
import { ALL, some, type Scope } from './scope.js';
import type { Viewer } from './viewer.js';

export interface UserScope {
  id: string;
  organizationId: string | null;
}

/** Which users a list query may return. */
export type UserListScope = Scope<{ organizationId: string | null; selfId: string }>;

export function readableUsers(viewer: Viewer): UserListScope {
  noteConsulted();
  if (viewer.role === 'ADMIN') return ALL;
  if (viewer.role === 'PARTNER_ADMIN') return some({ organizationId: viewer.organizationId, selfId: viewer.userId });
  return some({ organizationId: null, selfId: viewer.userId });
}

export function canReadUser(viewer: Viewer, user: UserScope): boolean {
  if (user.id === viewer.userId) return true;
  const scope = readableUsers(viewer);
  if (scope.kind !== 'some') return scope.kind === 'all';
  return scope.where.organizationId !== null && scope.where.organizationId === user.organizationId;
}

/**
 * Whether the viewer may read a person's details (role, business units, organisation): themselves, admins,
 * and the partner admin of the person's organisation. A User reached through another row (an editor, an
 * author, a submitter) shows these fields only to them.
 */
export function canReadUserDetails(viewer: Viewer, user: UserScope): boolean {
  return canReadUser(viewer, user);
}

/**
 * The same decision when the person's organisation is not at hand: true or false when it does not matter
 * (oneself, admins, anyone but a partner admin), null when it must be looked up.
 */
export function canReadUserDetailsWithoutOrganization(viewer: Viewer, userId: string): boolean | null {
  if (userId === viewer.userId || viewer.role === 'ADMIN') return true;
  if (viewer.role !== 'PARTNER_ADMIN' || !viewer.organizationId) return false;
  return null;
}

/** Changing roles and memberships, and reading the sign-in log, is for admins only. */
export function canManageUsers(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
