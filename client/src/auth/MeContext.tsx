/** Who is signed in, loaded once per session and shared by every view. */
import { createContext, useContext } from 'react';
import type { MeQuery } from '../graphql/generated';

export type Me = MeQuery['me'];

export interface SessionValue {
  me: Me;
  token: string;
  signOut: () => void;
  /** A socket was closed with 4401: the token is no longer accepted. */
  rejected: () => void;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside of a signed-in view');
  return value;
}

/** What each role may open, for the navigation (the server decides everything for real). */
export function abilities(me: Me) {
  const readsBudgets = me.role !== 'PARTNER_ADMIN' && me.role !== 'PARTNER_USER';
  return {
    grid: readsBudgets && (me.role === 'ADMIN' || me.role === 'ANALYST' || me.businessUnits.length > 0),
    workflows: me.role === 'ADMIN' || me.role === 'PARTNER_ADMIN' || me.role === 'ANALYST' || me.role === 'BU_LEADER',
    users: me.role === 'ADMIN' || me.role === 'PARTNER_ADMIN',
    audit: readsBudgets,
    submissions: me.role === 'ADMIN' || me.role === 'ANALYST',
  };
}
