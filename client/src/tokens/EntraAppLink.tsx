/**
 * Admins: which Microsoft Entra application speaks for a service account. A tool that signs in to Entra as
 * itself (client credentials) gets an app-only token; once its application (client) id is linked here, that
 * token acts as the service account, read-only with the app role Plansync.Read, read and write with
 * Plansync.ReadWrite. Linking is a form in a dialog; unlinking asks first, since the tool stops at once.
 */
import { useState, type FormEvent } from 'react';
import { useMutation } from '@apollo/client/react';
import { SetServiceAccountEntraAppDocument } from '../graphql/generated';
import { ConfirmDialog, Modal } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';

/** What an admin needs to know to fill the field, said once for both forms. */
export function EntraAppExplanation({ optional = false }: { optional?: boolean }) {
  return (
    <span className="muted small">
      {optional && 'Optional. '}A tool that signs in to Microsoft Entra ID as itself (client credentials) then acts as this account: give its
      application (client) id, from the app registration’s overview. Its token must hold one of Plansync’s app roles:
      Plansync.Read (read only) or Plansync.ReadWrite.
    </span>
  );
}

interface Account {
  id: string;
  displayName: string;
  entraAppId?: string | null;
}

/** The link in a service account's row: the app id, and Link / Change / Unlink. */
export function EntraAppCell({ account }: { account: Account }) {
  const [editing, setEditing] = useState(false);
  const [unlinking, setUnlinking] = useState(false);
  const linked = account.entraAppId ?? null;
  return (
    <>
      {linked ? <code className="entra-app-id">{linked}</code> : <span className="muted">None</span>}{' '}
      <button type="button" className="link" onClick={() => setEditing(true)} aria-label={`${linked ? 'Change' : 'Link'} the Entra application of ${account.displayName}`}>
        {linked ? 'Change' : 'Link'}
      </button>
      {linked && (
        <>
          {' '}
          <button type="button" className="link" onClick={() => setUnlinking(true)} aria-label={`Unlink the Entra application of ${account.displayName}`}>
            Unlink
          </button>
        </>
      )}
      {editing && <LinkDialog account={account} onDone={() => setEditing(false)} />}
      {unlinking && linked && <UnlinkDialog account={account} appId={linked} onDone={() => setUnlinking(false)} />}
    </>
  );
}

function LinkDialog({ account, onDone }: { account: Account; onDone: () => void }) {
  const [appId, setAppId] = useState(account.entraAppId ?? '');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [link, { loading }] = useMutation(SetServiceAccountEntraAppDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await link({ variables: { userId: account.id, entraAppId: appId.trim() } });
      onDone();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <Modal title={`Entra application of ${account.displayName}`} onCancel={onDone}>
      <form className="stacked-form" aria-label="Link an Entra application" onSubmit={submit}>
        <label>
          Application (client) id
          <input value={appId} onChange={(e) => setAppId(e.target.value)} required autoFocus spellCheck={false}
            placeholder="00000000-0000-0000-0000-000000000000" pattern="\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\s*" />
        </label>
        <EntraAppExplanation />
        {account.entraAppId && <p className="small">The application linked now stops working for this account at once, and its open connections close.</p>}
        {problem && <div className="form-problem" role="alert">{problem.message}</div>}
        <div className="form-actions">
          <button type="submit" disabled={loading}>{loading ? 'Linking…' : 'Link application'}</button>
          <button type="button" className="secondary" onClick={onDone}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}

function UnlinkDialog({ account, appId, onDone }: { account: Account; appId: string; onDone: () => void }) {
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [unlink, { loading }] = useMutation(SetServiceAccountEntraAppDocument);
  const confirm = async () => {
    setProblem(null);
    try {
      await unlink({ variables: { userId: account.id, entraAppId: null } });
      onDone();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <ConfirmDialog
      title={`Unlink the Entra application of ${account.displayName}?`}
      problem={problem}
      busy={loading}
      confirmLabel="Unlink"
      busyLabel="Unlinking…"
      danger
      onConfirm={() => void confirm()}
      onCancel={onDone}
    >
      <p>
        The application <code>{appId}</code> stops acting as this account at once: its requests are refused and its open connections
        close. Its tokens stay refused if you link it again; it signs in anew.
      </p>
    </ConfirmDialog>
  );
}
