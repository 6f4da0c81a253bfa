/**
 * Plansync's web client. For now: sign-in (demo password or Microsoft) and who you are; the budget grid,
 * the workflow monitor and the admin views come with their own issues.
 */
import { StrictMode, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { clearToken, graphql, loadToken, saveToken } from './session';
import './styles.css';

interface Me {
  email: string;
  displayName: string;
  role: string;
  businessUnits: { code: string; name: string }[];
  organization: { name: string } | null;
}

function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [microsoft, setMicrosoft] = useState(false);

  useEffect(() => {
    fetch('/auth/config')
      .then((r) => (r.ok ? r.json() : { microsoft: false }))
      .then((c) => setMicrosoft(Boolean(c.microsoft)))
      .catch(() => setMicrosoft(false));
    const failure = new URLSearchParams(window.location.hash.slice(1)).get('signInError');
    if (failure) setError('Microsoft sign-in did not complete. Please try again.');
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const data = await graphql<{ login: { token: string } }>(
        'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
        { e: email, p: password },
      );
      onSignedIn(data.login.token);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="card">
      <h1>Plansync</h1>
      <p className="muted">Budgets and onboarding, live.</p>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Email
          <input type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      {microsoft && (
        <a className="button secondary" href="/auth/microsoft/login">Sign in with Microsoft</a>
      )}
      <p className="muted small">Demo accounts use the password <code>plansync-demo</code>, e.g. admin@example.com.</p>
    </main>
  );
}

function Home({ token, onSignOut }: { token: string; onSignOut: () => void }) {
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    graphql<{ me: Me }>('{ me { email displayName role businessUnits { code name } organization { name } } }', {}, token)
      .then((d) => setMe(d.me))
      .catch((err: Error & { code?: string }) => (err.code === 'UNAUTHENTICATED' ? onSignOut() : setError(err.message)));
  }, [token, onSignOut]);

  if (error) return <main className="card"><p role="alert" className="error">{error}</p></main>;
  if (!me) return <main className="card"><p>Loading…</p></main>;
  return (
    <main className="card">
      <h1>Plansync</h1>
      <p>
        Signed in as <strong>{me.displayName}</strong> ({me.email}), <span className="badge">{me.role}</span>
      </p>
      {me.businessUnits.length > 0 && <p>Business units: {me.businessUnits.map((u) => u.name).join(', ')}</p>}
      {me.organization && <p>Organisation: {me.organization.name}</p>}
      <p className="muted">The budget grid and the workflow monitor are on their way. The GraphQL API is at <code>/graphql</code>.</p>
      <button onClick={onSignOut}>Sign out</button>
    </main>
  );
}

function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const signOut = () => {
    clearToken();
    setToken(null);
  };
  return token ? <Home token={token} onSignOut={signOut} /> : <SignIn onSignedIn={(t) => { saveToken(t); setToken(t); }} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
