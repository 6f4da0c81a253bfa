/**
 * Two-factor sign-in for the signed-in person: turning it on (a new secret shown as a QR code for the
 * authenticator app and as text to type in, then a code from the app to confirm) and off (with a current code).
 * Used by the account page and by the page that people whose role requires it see until they have enrolled.
 *
 * The secret is shown once, while enrolling, and kept nowhere but this component's state; the server stores it
 * encrypted and never shows it again.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation } from '@apollo/client/react';
import QRCode from 'qrcode';
import {
  BeginTotpEnrollmentDocument,
  ConfirmTotpEnrollmentDocument,
  DisableTotpDocument,
  MeDocument,
} from '../graphql/generated';
import { problemOf } from '../common/errors';
import { CodeInput } from './CodeInput';

/** The secret in groups of four, as it is easier to type; apps accept it with or without the spaces. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

function Enrol({ onEnabled }: { onEnabled?: () => void }) {
  const [begin, begun] = useMutation(BeginTotpEnrollmentDocument);
  const [confirm, confirming] = useMutation(ConfirmTotpEnrollmentDocument, { refetchQueries: [MeDocument], awaitRefetchQueries: true });
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const enrollment = begun.data?.beginTotpEnrollment;

  useEffect(() => {
    if (!enrollment) return;
    let live = true;
    QRCode.toDataURL(enrollment.otpauthUri, { margin: 1, width: 220, errorCorrectionLevel: 'M' })
      .then((url) => live && setQr(url))
      .catch(() => live && setQr(null));
    return () => {
      live = false;
    };
  }, [enrollment]);

  async function start() {
    setProblem(null);
    setCode('');
    try {
      await begin();
    } catch (error) {
      setProblem(problemOf(error).message);
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      await confirm({ variables: { code: code.replace(/\s/g, '') } });
      onEnabled?.();
    } catch (error) {
      setProblem(problemOf(error).message);
    }
  }

  if (!enrollment) {
    return (
      <div className="stack">
        <p>Use an authenticator app (Microsoft Authenticator, Google Authenticator, 1Password…) to sign in with a code as well as your password.</p>
        {problem && <p role="alert" className="error">{problem}</p>}
        <div><button type="button" onClick={start} disabled={begun.loading}>{begun.loading ? 'Preparing…' : 'Set up two-factor sign-in'}</button></div>
      </div>
    );
  }
  return (
    <div className="enrol" data-testid="totp-enrolment">
      <ol className="steps">
        <li>
          Scan this QR code with your authenticator app.
          <div className="qr">{qr ? <img src={qr} alt="QR code for your authenticator app" width={220} height={220} /> : <span className="muted">Drawing the QR code…</span>}</div>
        </li>
        <li>
          Or type this key into the app (time-based, 6 digits):
          <code className="secret" data-testid="totp-secret" data-secret={enrollment.secret}>{grouped(enrollment.secret)}</code>
        </li>
        <li>
          Enter the 6-digit code the app now shows.
          <form onSubmit={submit} aria-label="Confirm two-factor sign-in" className="inline-form">
            <CodeInput value={code} onChange={setCode} label="6-digit code" autoFocus />
            <button type="submit" disabled={confirming.loading}>{confirming.loading ? 'Checking…' : 'Turn on'}</button>
          </form>
        </li>
      </ol>
      {problem && <p role="alert" className="error">{problem}</p>}
      <p className="muted small">The key is shown only now. Turning two-factor sign-in on signs you out everywhere else.</p>
    </div>
  );
}

function Disable() {
  const [disable, disabling] = useMutation(DisableTotpDocument, { refetchQueries: [MeDocument], awaitRefetchQueries: true });
  const [code, setCode] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      await disable({ variables: { code: code.replace(/\s/g, '') } });
    } catch (error) {
      setProblem(problemOf(error).message);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Turn off two-factor sign-in" className="stack">
      <p>To turn it off, enter a current code from your authenticator app. Lost your phone? An admin can turn it off for you.</p>
      <div className="inline-form">
        <CodeInput value={code} onChange={setCode} label="6-digit code" />
        <button type="submit" className="secondary" disabled={disabling.loading}>{disabling.loading ? 'Checking…' : 'Turn off'}</button>
      </div>
      {problem && <p role="alert" className="error">{problem}</p>}
    </form>
  );
}

/** The two-factor section: its state, and what the person can do about it. */
export function TwoFactor({ enabled, onEnabled }: { enabled: boolean; onEnabled?: () => void }) {
  return (
    <div className="stack">
      <p>
        Status:{' '}
        {enabled ? <span className="badge good" data-testid="totp-status">On</span> : <span className="badge neutral" data-testid="totp-status">Off</span>}
      </p>
      {enabled ? <Disable /> : <Enrol onEnabled={onEnabled} />}
    </div>
  );
}
