/**
 * The signed-in session: the token kept in localStorage so that it survives a reload, its expiry, and
 * one place that signs out (on request, on expiry, or when the server says the token is no good).
 */
const KEY = 'plansync.token';

export interface Session {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

function decodeExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** A valid token from a Microsoft sign-in redirect (/#token=...) or from storage, or null. */
export function loadSession(): Session | null {
  const fromRedirect = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromRedirect) {
    localStorage.setItem(KEY, fromRedirect);
    history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  const token = localStorage.getItem(KEY);
  const expiresAt = token ? decodeExpiry(token) : null;
  if (!token || !expiresAt || expiresAt <= Date.now()) {
    localStorage.removeItem(KEY);
    return null;
  }
  return { token, expiresAt };
}

export function saveSession(token: string): Session | null {
  localStorage.setItem(KEY, token);
  return loadSession();
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

/** Why the person was sent back to the sign-in page, shown there once. */
export type SignOutReason = 'signed-out' | 'expired' | 'rejected';
