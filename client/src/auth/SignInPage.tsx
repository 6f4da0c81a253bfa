/**
 * Sign-in: email and password, or Microsoft when the server has Entra ID set up. With two-factor sign-in on,
 * the server answers a right password with `totpRequired`: the form then asks for the code of the
 * authenticator app as well and sends the three together.
 */
import { usePageTitle } from '../common/usePageTitle';
import { useEffect, useState, type FormEvent } from 'react';
import { CodeInput } from './CodeInput';
import { unansweredMessage } from '../common/errors';
import { startMicrosoftSignIn, type SignOutReason } from './session';

const REASONS: Record<SignOutReason, string> = {
  'signed-out': 'You are signed out.',
  expired: 'Your session has expired. Please sign in again.',
  rejected: 'Your session is no longer valid. Please sign in again.',
};

/** A refused sign-in; `totpRequired` when the password was right and a valid code is what is missing. */
class SignInRefused extends Error {
  constructor(message: string, readonly totpRequired: boolean) {
    super(message);
  }
}

async function login(email: string, password: string, totpCode: string | null): Promise<string> {
  let res: Response;
  let body: { data?: { login: { token: string } }; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation Login($email: String!, $password: String!, $totpCode: String) { login(email: $email, password: $password, totpCode: $totpCode) { token } }',
        variables: { email, password, totpCode },
      }),
    });
  } catch (err) {
    throw new SignInRefused(unansweredMessage(err) ?? (err as Error).message, false);
  }
  try {
    body = await res.json();
  } catch (err) {
    throw new SignInRefused(unansweredMessage(err, res.status) ?? (err as Error).message, false);
  }
  const error = body.errors?.[0];
  if (error) throw new SignInRefused(error.message, error.extensions?.totpRequired === true);
  return body.data!.login.token;
}

export function SignInPage({ reason, onSignedIn }: { reason: SignOutReason | null; onSignedIn: (token: string) => void }) {
  usePageTitle('Sign in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [microsoft, setMicrosoft] = useState(false);
  // Asked for once the server said the password needs a code with it; another email starts over.
  const [codeNeeded, setCodeNeeded] = useState(false);
  const [code, setCode] = useState('');

  useEffect(() => {
    fetch('/auth/config')
      .then((r) => (r.ok ? r.json() : { microsoft: false }))
      .then((c) => setMicrosoft(Boolean(c.microsoft)))
      .catch(() => setMicrosoft(false));
    const failure = new URLSearchParams(window.location.hash.slice(1)).get('signInError');
    if (failure) setError(failure === 'account_conflict' ? 'This Microsoft account cannot be linked to the existing Plansync account.' : 'Microsoft sign-in did not complete. Please try again.');
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await login(email, password, codeNeeded ? code.replace(/\s/g, '') : null));
    } catch (err) {
      if (err instanceof SignInRefused && err.totpRequired) {
        // The first time, asking for the code is the whole answer; after a code, the server's words.
        if (codeNeeded) setError(err.message);
        setCodeNeeded(true);
        setCode('');
      } else {
        setError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <section className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Plansync</h1>
        <p className="muted">Budgets and onboarding, live.</p>
        {reason && reason !== 'signed-out' && <p className="notice" role="status">{REASONS[reason]}</p>}
        <form onSubmit={submit} aria-label="Sign in">
          <label>
            Email
            <input name="email" type="email" autoComplete="username" value={email}
              onChange={(e) => { setEmail(e.target.value); setCodeNeeded(false); }} required autoFocus />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" value={password}
              onChange={(e) => setPassword(e.target.value)} required />
          </label>
          {codeNeeded && (
            <div className="code-step" role="group" aria-label="Two-factor sign-in">
              <p className="small">Two-factor sign-in is on for this account: enter the 6-digit code your authenticator app shows.</p>
              <CodeInput value={code} onChange={setCode} label="Authentication code" autoFocus />
            </div>
          )}
          {error && <p role="alert" className="error">{error}</p>}
          <button type="submit" disabled={busy}>{busy ? 'Signing in…' : codeNeeded ? 'Verify and sign in' : 'Sign in'}</button>
        </form>
        {microsoft && (
          <button type="button" className="secondary wide" onClick={() => window.location.assign(startMicrosoftSignIn())}>
            Sign in with Microsoft
          </button>
        )}
        <p className="muted small">Demo accounts use the password <code>plansync-demo</code>, e.g. admin@example.com.</p>
      </section>
    </main>
  );
}
