/**
 * The signed-in session: the token kept in localStorage so that it survives a reload, its expiry, and
 * one place that signs out (on request, on expiry, or when the server says the token is no good).
 */
const KEY = 'plansync.token';

export interface Session {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** When the token was issued, ms since the epoch: with `expiresAt`, how long it lasts. */
  issuedAt: number;
  /** Who it is for (the token's subject): the signed-in views stay mounted while a renewal changes the token. */
  userId: string;
}

function decodePayload(token: string): { exp?: unknown; iat?: unknown; sub?: unknown } | null {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return null;
  }
}

/** This tab's Microsoft sign-in in progress: the random value the server hands back beside the token. */
const SIGN_IN_STATE_KEY = 'plansync.signInState';

/**
 * Where to send the browser to sign in with Microsoft. The random value stays in this tab (sessionStorage)
 * and comes back as `#token=...&state=...`: only a redirect that carries it is a sign-in this tab started.
 */
export function startMicrosoftSignIn(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const state = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  sessionStorage.setItem(SIGN_IN_STATE_KEY, state);
  return `/auth/microsoft/login?client_state=${state}`;
}

/**
 * The token of a Microsoft sign-in this tab started, from the redirect's fragment, or null. A `/#token=`
 * link from anyone else (their own token, to have the victim work in their account: login CSRF) carries no
 * state or the wrong one and is ignored. The fragment leaves the address bar and history either way, and
 * the stored value is used once.
 */
function takeRedirectToken(): string | null {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get('token');
  if (fragment.has('signInError')) sessionStorage.removeItem(SIGN_IN_STATE_KEY);
  if (!token) return null;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  const expected = sessionStorage.getItem(SIGN_IN_STATE_KEY);
  sessionStorage.removeItem(SIGN_IN_STATE_KEY);
  return expected !== null && fragment.get('state') === expected ? token : null;
}

/** A valid token from this tab's Microsoft sign-in redirect or from storage, or null. */
export function loadSession(): Session | null {
  const fromRedirect = takeRedirectToken();
  if (fromRedirect) localStorage.setItem(KEY, fromRedirect);
  const token = localStorage.getItem(KEY);
  const payload = token ? decodePayload(token) : null;
  const expiresAt = typeof payload?.exp === 'number' ? payload.exp * 1000 : null;
  if (!token || !expiresAt || expiresAt <= Date.now()) {
    localStorage.removeItem(KEY);
    return null;
  }
  const issuedAt = typeof payload?.iat === 'number' ? payload.iat * 1000 : Date.now();
  return { token, expiresAt, issuedAt, userId: typeof payload?.sub === 'string' ? payload.sub : '' };
}

export function saveSession(token: string): Session | null {
  localStorage.setItem(KEY, token);
  return loadSession();
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

/**
 * Ends the token on the server as well (`signOut`), so that a copy of it (another tab, a grid URL in some
 * history or log) stops working at once and its open sockets close. Best effort: the person is signed out
 * in this browser whatever the answer.
 */
export function endTokenOnServer(token: string): void {
  void fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'mutation SignOut { signOut }' }),
    keepalive: true,
  }).catch(() => undefined);
}

/**
 * A new token for the session (`renewSession`): the token, null when the server will not renew it (the
 * session reached SESSION_MAX_HOURS, or the token is no longer accepted), or an Error when it could not be
 * asked (offline, say: worth another try).
 */
export async function renewSessionToken(token: string): Promise<string | null | Error> {
  try {
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation RenewSession { renewSession { token } }' }),
    });
    const body = (await res.json()) as { data?: { renewSession?: { token: string } | null } | null };
    return body.data?.renewSession?.token ?? null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Why the person was sent back to the sign-in page, shown there once. */
export type SignOutReason = 'signed-out' | 'expired' | 'rejected';
