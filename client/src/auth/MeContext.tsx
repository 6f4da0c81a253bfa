/**
 * Who is signed in, loaded once per session and shared by every view. What they may open and do is the
 * server's answer (`me.can`, `canStart`, `canGiveInput`, `canEdit`…), never derived here from the role.
 */
import { createContext, useContext } from 'react';
import type { MeQuery } from '../graphql/generated';

export type Me = MeQuery['me'];

export interface SessionValue {
  me: Me;
  token: string;
  signOut: () => void;
  /** A socket was closed with CloseCode.Unauthorized: the token is no longer accepted. */
  rejected: () => void;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside of a signed-in view');
  return value;
}
