/**
 * `/account`: the signed-in person's own account: who they are, their password (changePassword: the person's
 * other sessions end, this one carries on with the same token, so nothing changes in this browser) and
 * two-factor sign-in (TwoFactor.tsx). People who sign in with Microsoft only have neither here: Microsoft
 * looks after their password and second factor.
 *
 * Also the page people whose role requires two-factor sign-in (REQUIRE_TOTP_ROLES) see instead of the app
 * until they have turned it on (`TotpEnrollmentRequiredPage`): the server answers nothing else for them yet.
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from '@apollo/client/react';
import { Link } from 'react-router';
import { ChangePasswordDocument } from '../graphql/generated';
import { problemOf } from '../common/errors';
import { roleLabel } from '../common/format';
import { useSession } from './MeContext';
import { TwoFactor } from './TwoFactor';

function ChangePassword() {
  const [change, changing] = useMutation(ChangePasswordDocument);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const mismatch = again.length > 0 && again !== next;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setDone(false);
    if (next !== again) {
      setProblem('The two new passwords are not the same.');
      return;
    }
    setProblem(null);
    try {
      await change({ variables: { currentPassword: current, newPassword: next } });
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
    } catch (error) {
      setProblem(problemOf(error).message);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Change password" className="stack narrow">
      <label>
        Current password
        <input name="currentPassword" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
      </label>
      <label>
        New password
        <input name="newPassword" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required maxLength={256} />
      </label>
      <label>
        The new password again
        <input name="again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} required maxLength={256}
          aria-invalid={mismatch || undefined} />
        {mismatch && <span className="field-error">Not the same as above yet.</span>}
      </label>
      <p className="muted small">At least 10 characters (your organisation may ask for more), not containing the part of your email before the @.</p>
      {problem && <p role="alert" className="error">{problem}</p>}
      {done && <p role="status" className="success">Password changed. You stay signed in here; your other sessions have been signed out.</p>}
      <div><button type="submit" disabled={changing.loading}>{changing.loading ? 'Saving…' : 'Change password'}</button></div>
    </form>
  );
}

export function AccountPage() {
  const { me } = useSession();
  return (
    <div className="account">
      <h1>Your account</h1>
      <section className="panel" aria-labelledby="account-who">
        <h2 id="account-who">{me.displayName}</h2>
        <dl className="facts">
          <dt>Email</dt><dd>{me.email}</dd>
          <dt>Role</dt><dd>{roleLabel(me.role)}</dd>
          {me.organization && <><dt>Organisation</dt><dd>{me.organization.name}</dd></>}
          {me.businessUnits.length > 0 && <><dt>Business units</dt><dd>{me.businessUnits.map((u) => u.name).join(', ')}</dd></>}
        </dl>
      </section>
      {me.hasPassword ? (
        <>
          <section className="panel" aria-labelledby="account-password">
            <h2 id="account-password">Password</h2>
            <ChangePassword />
          </section>
          <section className="panel" aria-labelledby="account-totp">
            <h2 id="account-totp">Two-factor sign-in</h2>
            <TwoFactor enabled={me.totpEnabled} />
          </section>
        </>
      ) : (
        <section className="panel">
          <p className="muted">You sign in with Microsoft: your password and second factor are managed there.</p>
        </section>
      )}
      <section className="panel" aria-labelledby="account-tokens">
        <h2 id="account-tokens">Access tokens</h2>
        <p className="muted">
          Scripts, Excel and Power BI sign in as you with an access token instead of your password. <Link to="/tokens">Manage your tokens</Link>
        </p>
      </section>
    </div>
  );
}

/** What a person whose role requires two-factor sign-in sees until they have turned it on. */
export function TotpEnrollmentRequiredPage() {
  const { me, signOut } = useSession();
  return (
    <main className="signin">
      <section className="card wide-card" aria-labelledby="enrol-title">
        <h1 id="enrol-title">Set up two-factor sign-in</h1>
        <p className="notice" role="status">
          As {/^[AEIOU]/.test(me.role) ? 'an' : 'a'} {roleLabel(me.role)}, you need two-factor sign-in before you can use Plansync. It takes a minute: you will
          need an authenticator app on your phone.
        </p>
        <TwoFactor enabled={me.totpEnabled} />
        <p className="muted small">
          Signed in as {me.email}. <button type="button" className="link" onClick={signOut}>Sign out</button>
        </p>
      </section>
    </main>
  );
}
