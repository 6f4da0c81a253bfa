/**
 * People: everyone reads themselves; admins read and manage everyone; partner admins read the people of
 * their own organisation. Nobody else may list users.
 */
import type { Viewer } from './viewer.js';

export interface UserScope {
  id: string;
  organizationId: string | null;
}

/** Which users a list query may return. */
export type UserListScope = { all: true } | { all: false; organizationId: string | null; selfId: string };

export function readableUsers(viewer: Viewer): UserListScope {
  if (viewer.role === 'ADMIN') return { all: true };
  if (viewer.role === 'PARTNER_ADMIN') return { all: false, organizationId: viewer.organizationId, selfId: viewer.userId };
  return { all: false, organizationId: null, selfId: viewer.userId };
}

export function canReadUser(viewer: Viewer, user: UserScope): boolean {
  if (user.id === viewer.userId) return true;
  const scope = readableUsers(viewer);
  return scope.all || (scope.organizationId !== null && scope.organizationId === user.organizationId);
}

/** Changing roles and memberships, and reading the sign-in log, is for admins only. */
export function canManageUsers(viewer: Viewer): boolean {
  return viewer.role === 'ADMIN';
}
