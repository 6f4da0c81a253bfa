/**
 * `/set-password#<token>`: a person opens the one-time link an admin gave them (createUser, resetPassword),
 * chooses a password, and is signed in. Reached without being signed in (main.tsx shows it before the
 * sign-in page).
 *
 * The token lives in the URL's fragment, which browsers never send to a server (no access log, no Referer),
 * and is taken out of the address bar and history as soon as it is read; it only ever travels in the body of
 * the `setPasswordWithToken` mutation. The server judges the password and words what is wrong with it.
 *
 * A reset keeps two-factor sign-in: for such a person the server answers `totpRequired` (and changes nothing),
 * and the page asks for their authenticator code, as the sign-in page does, so a link that went astray is not
 * enough on its own.
 */
import { usePageTitle } from '../common/usePageTitle';
import { useState, type FormEvent } from 'react';
import { CodeInput } from './CodeInput';

/** The rules as the contract states them; the server checks them (PASSWORD_MIN_LENGTH may be set higher). */
const MIN_LENGTH = 10;
const MAX_LENGTH = 256;

/** What a used, expired or unknown link means for the person (the server answers all three alike). */
export const LINK_NOT_VALID = 'This link has already been used or has expired; ask your administrator for a new one.';

let taken: string | null | undefined;

/** A mangled link (a stray %) is still read as it is, and the server says it is not valid, as for any other. */
function safeDecode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The link's token, read from the fragment once and then removed from the address bar and the history entry
 * (so that it is not left behind in this browser). Kept in this module, so that a second read (React's
 * development double render) finds the same token.
 */
export function takeSetPasswordToken(): string | null {
  if (taken !== undefined) return taken;
  const raw = window.location.hash.slice(1);
  taken = raw ? safeDecode(raw) : null;
  if (raw) history.replaceState(history.state, '', window.location.pathname + window.location.search);
  return taken;
}

class LinkProblem extends Error {
  constructor(message: string, readonly field: string | undefined, readonly totpRequired = false) {
    super(message);
  }
}

async function setPasswordWithToken(token: string, password: string, totpCode: string | null): Promise<string> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query:
        'mutation SetPasswordWithToken($token: String!, $password: String!, $totpCode: String) { ' +
        'setPasswordWithToken(token: $token, password: $password, totpCode: $totpCode) { token } }',
      variables: { token, password, totpCode },
    }),
  });
  const body = await res.json().catch(() => null);
  const error = body?.errors?.[0];
  if (error) throw new LinkProblem(error.message, error.extensions?.field, error.extensions?.totpRequired === true);
  if (!res.ok || !body?.data) throw new LinkProblem(`The server answered ${res.status}; please try again.`, undefined);
  return body.data.setPasswordWithToken.token;
}

export function SetPasswordPage({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  usePageTitle('Set your password');
  const [token] = useState(takeSetPasswordToken);
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  // A link the server refused: the form has nothing left to do.
  const [linkRefused, setLinkRefused] = useState(false);
  const [busy, setBusy] = useState(false);
  // Two-factor sign-in is on for this person: their code goes with the password.
  const [codeNeeded, setCodeNeeded] = useState(false);
  const [code, setCode] = useState('');
  const mismatch = again.length > 0 && again !== password;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token) return;
    if (password !== again) {
      setProblem('The two passwords are not the same.');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(await setPasswordWithToken(token, password, codeNeeded ? code.replace(/\s/g, '') : null));
    } catch (error) {
      // The link itself is refused (field `token`): say so plainly. A password the rules refuse: the
      // server's words, and the link stays usable for another try.
      if (error instanceof LinkProblem && error.field === 'token') setLinkRefused(true);
      else if (error instanceof LinkProblem && error.totpRequired) {
        // The first time, the question itself; after a wrong code, the server's words about it.
        if (codeNeeded) setProblem(error.message);
        setCodeNeeded(true);
        setCode('');
      } else setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <section className="card" aria-labelledby="set-password-title">
        <h1 id="set-password-title">{!token || linkRefused ? 'This link does not work' : 'Choose your password'}</h1>
        <p className="muted">Plansync: budgets and onboarding, live.</p>
        {!token || linkRefused ? (
          <>
            <p className="notice" role="alert">
              {token ? LINK_NOT_VALID : 'This page needs the whole link you were given (it ends with # and a long code). Open it again, or ask your administrator for a new one.'}
            </p>
            <p><a href="/">Go to the sign-in page</a></p>
          </>
        ) : (
          <form onSubmit={submit} aria-label="Choose your password">
            <ul className="rules small" aria-label="Password rules">
              <li>At least {MIN_LENGTH} characters (your organisation may ask for more), at most {MAX_LENGTH}.</li>
              <li>Not containing the part of your email before the @.</li>
              <li>A few unrelated words make a strong one that is easy to type.</li>
            </ul>
            <label>
              New password
              <input name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)}
                required maxLength={MAX_LENGTH} autoFocus />
            </label>
            <label>
              The same again
              <input name="again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)}
                required maxLength={MAX_LENGTH} aria-invalid={mismatch || undefined} aria-describedby={mismatch ? 'again-problem' : undefined} />
              {mismatch && <span id="again-problem" className="field-error">Not the same as above yet.</span>}
            </label>
            {codeNeeded && (
              <>
                <p className="notice" role="status">Your account has two-factor sign-in: enter the code your authenticator app shows now.</p>
                <CodeInput value={code} onChange={setCode} label="Authentication code" autoFocus />
              </>
            )}
            {problem && <p role="alert" className="error">{problem}</p>}
            <button type="submit" disabled={busy}>{busy ? 'Saving…' : 'Set password and sign in'}</button>
          </form>
        )}
      </section>
    </main>
  );
}
