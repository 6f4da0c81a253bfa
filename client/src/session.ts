/** The signed-in session: a token kept in localStorage so it survives a reload. */
const KEY = 'plansync.token';

export function loadToken(): string | null {
  // A Microsoft sign-in comes back as /#token=<jwt>: take it and clean the address bar.
  const fromRedirect = new URLSearchParams(window.location.hash.slice(1)).get('token');
  if (fromRedirect) {
    localStorage.setItem(KEY, fromRedirect);
    history.replaceState(null, '', window.location.pathname);
  }
  const token = localStorage.getItem(KEY);
  if (!token) return null;
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now()) {
      localStorage.removeItem(KEY);
      return null;
    }
  } catch {
    localStorage.removeItem(KEY);
    return null;
  }
  return token;
}

export function saveToken(token: string): void {
  localStorage.setItem(KEY, token);
}

export function clearToken(): void {
  localStorage.removeItem(KEY);
}

export async function graphql<T>(query: string, variables: Record<string, unknown> = {}, token?: string | null): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) {
    const error = new Error(body.errors[0].message) as Error & { code?: string };
    error.code = body.errors[0].extensions?.code;
    throw error;
  }
  return body.data as T;
}
