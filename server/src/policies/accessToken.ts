/**
 * Access tokens (auth/AccessTokenResolver.ts). Anyone signed in makes and revokes their own; admins also make
 * them for service accounts (which cannot sign in, so nobody else could) and read and revoke everyone's.
 * A call made with an access token makes no token and no service account: a leaked token cannot mint more
 * credentials, which would outlive its own revocation. What a token may do is never more than what its owner
 * may: it names its owner, whose current role and units the other policies judge; its scopes only narrow.
 */
import { noteConsulted } from './consulted.js';
import { viaAccessToken, type Viewer } from './viewer.js';

export interface TokenOwnerScope {
  id: string;
  kind: 'PERSON' | 'SERVICE';
}

/**
 * Whether the viewer may make or change credentials (tokens, service accounts, the second factor of their
 * sign-in) at all: not with an access token.
 */
export function mayMintCredentials(viewer: Viewer): boolean {
  noteConsulted();
  return !viaAccessToken(viewer);
}

/** Making a token for `owner`: oneself, or (admins) a service account. */
export function canCreateAccessTokenFor(viewer: Viewer, owner: TokenOwnerScope): boolean {
  noteConsulted();
  if (!mayMintCredentials(viewer)) return false;
  if (owner.id === viewer.userId) return true;
  return viewer.role === 'ADMIN' && owner.kind === 'SERVICE';
}

/** Whose tokens a list shows: everyone's to admins, one's own to anyone else. */
export function readsEveryonesTokens(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}

/** Reading or revoking a token: its owner, or admins. Anyone else is answered as for a missing token. */
export function canManageAccessToken(viewer: Viewer, token: { ownerId: string }): boolean {
  noteConsulted();
  return token.ownerId === viewer.userId || viewer.role === 'ADMIN';
}

/** Making a service account: admins, signed in (not with a token). */
export function canCreateServiceAccount(viewer: Viewer): boolean {
  noteConsulted();
  return mayMintCredentials(viewer) && viewer.role === 'ADMIN';
}

/**
 * Linking a service account to an Entra application, or unlinking it (auth/ServiceAccountEntraAppResolver.ts),
 * and reading which app is linked: admins, signed in. The app's tokens are credentials of the account, so this
 * is minting credentials: not with a token.
 */
export function canLinkEntraApp(viewer: Viewer): boolean {
  noteConsulted();
  return mayMintCredentials(viewer) && viewer.role === 'ADMIN';
}

/** Reading which Entra application a service account is linked to: admins (with any credentials). */
export function canReadEntraAppLink(viewer: Viewer): boolean {
  noteConsulted();
  return viewer.role === 'ADMIN';
}
