/**
 * What an admin does to people, shared by the users table and a person's page: creating a person, the
 * one-time set-password link (shown once, with a copy button and its expiry), and the confirmations of
 * resetting a password, deactivating, reactivating, deleting and unlocking, each saying what happens.
 *
 * The server decides and words every refusal (the last admin, a taken email): its message is shown as is.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  AdminUsersDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DeleteUserDocument,
  PeopleOrganizationsDocument,
  ReactivateUserDocument,
  ResetPasswordDocument,
  ResetTotpDocument,
  UnlockUserDocument,
  type Role,
} from '../graphql/generated';
import { Modal } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime, roleLabel } from '../common/format';
import { ROLES } from './AccessEditor';
import type { Person } from './people';

const PARTNER_ROLES: Role[] = ['PARTNER_ADMIN', 'PARTNER_USER'];


export interface Invitation {
  setPasswordUrl: string;
  expiresAt: string;
}

/**
 * The set-password link, this once: the server keeps only its hash, so it cannot be shown again (a new one
 * is a password reset, which ends this one).
 */
export function InvitationLink({ invitation, who }: { invitation: Invitation; who: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(invitation.setPasswordUrl);
      setCopied('yes');
    } catch {
      // Clipboard refused (an insecure origin, a denied permission): the field is selected to copy by hand.
      setCopied('failed');
    }
  };
  return (
    <div className="invitation" data-testid="invitation">
      <label>
        Set-password link for {who}
        <span className="copy-row">
          <input readOnly value={invitation.setPasswordUrl} aria-label="Set-password link" onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => void copy()}>{copied === 'yes' ? 'Copied' : 'Copy link'}</button>
        </span>
      </label>
      {copied === 'failed' && <p className="field-error">Could not copy: select the link and copy it yourself.</p>}
      <p className="small">
        It works once, until <strong data-testid="invitation-expiry">{formatDateTime(invitation.expiresAt)}</strong>. Send it to them yourself,
        by a channel you trust.
      </p>
      <p className="banner warn small" role="note">This link will not be shown again. If it is lost, reset their password for a new one.</p>
    </div>
  );
}

function UnitChoices({ units, codes, onChange }: {
  units: readonly { code: string; name: string }[]; codes: string[]; onChange: (codes: string[]) => void;
}) {
  return (
    <fieldset className="unit-choices">
      <legend>Business units</legend>
      {units.map((unit) => (
        <label key={unit.code} className="check">
          <input type="checkbox" checked={codes.includes(unit.code)}
            onChange={(e) => onChange(e.target.checked ? [...codes, unit.code] : codes.filter((c) => c !== unit.code))} />
          {unit.name}
        </label>
      ))}
      {units.length === 0 && <span className="muted small">No business units yet.</span>}
    </fieldset>
  );
}

export { UnitChoices };

/** Creating a person: the form, then (in the same dialog) their one-time link. */
export function CreatePersonDialog({ units, onClose }: {
  units: readonly { code: string; name: string }[]; onClose: (createdEmail: string | null) => void;
}) {
  const organizations = useQuery(PeopleOrganizationsDocument, { fetchPolicy: 'cache-and-network' });
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('VIEWER');
  const [codes, setCodes] = useState<string[]>([]);
  const [organizationId, setOrganizationId] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [created, setCreated] = useState<(Invitation & { email: string; displayName: string }) | null>(null);
  const [create, { loading }] = useMutation(CreateUserDocument, { refetchQueries: [AdminUsersDocument], awaitRefetchQueries: true });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const { data } = await create({
        variables: { input: { email: email.trim(), displayName: displayName.trim(), role, businessUnitCodes: codes, organizationId: organizationId || null } },
      });
      if (data) {
        const { user, setPasswordUrl, expiresAt } = data.createUser;
        setCreated({ email: user.email, displayName: user.displayName, setPasswordUrl, expiresAt });
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  if (created) {
    return (
      <Modal title={`${created.displayName} can now set a password`} onCancel={() => onClose(created.email)} wide>
        <InvitationLink invitation={created} who={created.email} />
        <div className="form-actions">
          <button type="button" onClick={() => onClose(created.email)}>Done</button>
        </div>
      </Modal>
    );
  }
  const partnerRole = PARTNER_ROLES.includes(role);
  return (
    <Modal title="New person" onCancel={() => onClose(null)} wide>
      <form className="stacked-form" aria-label="New person" onSubmit={submit}>
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required maxLength={320} autoFocus />
        </label>
        <label>
          Display name
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} required maxLength={200} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
          </select>
        </label>
        <UnitChoices units={units} codes={codes} onChange={setCodes} />
        <label>
          Organisation
          <select value={organizationId} onChange={(e) => setOrganizationId(e.target.value)} required={partnerRole}>
            <option value="">{partnerRole ? 'Choose their partner organisation…' : 'None (one of us)'}</option>
            {(organizations.data?.organizations ?? []).map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
          </select>
          {partnerRole && <span className="hint">Partner roles are for people of a partner organisation.</span>}
        </label>
        <p className="small muted">They get no password: you receive a link, shown once, with which they choose one.</p>
        {problem && <div className="form-problem" role="alert">{problem.message}</div>}
        <div className="form-actions">
          <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create person'}</button>
          <button type="button" className="secondary" onClick={() => onClose(null)} disabled={loading}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}

export type PersonAction = 'reset' | 'deactivate' | 'reactivate' | 'delete' | 'unlock' | 'resetTotp';

const ACTION_TEXT: Record<PersonAction, { title: (name: string) => string; confirm: string; danger: boolean; body: string }> = {
  reset: {
    title: (name) => `Reset ${name}’s password?`,
    confirm: 'Reset password',
    danger: true,
    body: 'Their password stops working at once and they are signed out everywhere (open grids and views close). You get a new one-time link with which they choose a new password; an earlier unused link stops working.',
  },
  deactivate: {
    title: (name) => `Deactivate ${name}?`,
    confirm: 'Deactivate',
    danger: true,
    body: 'They are signed out everywhere at once: their open grids and views close, every token of theirs is refused, and signing in fails as with a wrong password. Nothing of theirs is removed; you can reactivate them later.',
  },
  reactivate: {
    title: (name) => `Reactivate ${name}?`,
    confirm: 'Reactivate',
    danger: false,
    body: 'They can sign in again with their password (or a set-password link) and have the role and units shown. The sessions they had stay ended.',
  },
  delete: {
    title: (name) => `Delete ${name}?`,
    confirm: 'Delete for good',
    danger: true,
    body: 'This cannot be undone. They are signed out everywhere at once, lose their password, units and access grants, and are listed nowhere any more. The audit and activity logs keep their email, so their past edits stay attributed to them; creating a person with that email later brings this account back with only the access given then. Deleting does not revoke access they have in a partner’s tools: offboard them first (“Offboard a partner user”); the activity log keeps the grants they had.',
  },
  unlock: {
    title: (name) => `Unlock ${name}?`,
    confirm: 'Unlock',
    danger: false,
    body: 'Failed sign-ins locked their account for a while. Unlocking lets them try again at once, from anywhere.',
  },
  resetTotp: {
    title: (name) => `Turn off two-factor sign-in for ${name}?`,
    confirm: 'Turn off two-factor',
    danger: true,
    body: 'For a lost or replaced phone: they sign in with their password alone until they set up two-factor sign-in again (at once, if their role requires it). Recorded in the activity log. Make sure it is really them asking.',
  },
};

/**
 * The confirmation of one action on one person, and its outcome: for a reset, the new link (shown once).
 * `onDone` is told what happened, or null when the admin cancelled.
 */
export function PersonActionDialog({ person, action, onDone }: {
  person: Pick<Person, 'id' | 'displayName' | 'email'>; action: PersonAction; onDone: (done: PersonAction | null) => void;
}) {
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const [invitation, setInvitation] = useState<Invitation | null>(null);
  const refetch = { refetchQueries: [AdminUsersDocument], awaitRefetchQueries: true };
  const [reset] = useMutation(ResetPasswordDocument);
  const [deactivate] = useMutation(DeactivateUserDocument);
  const [reactivate] = useMutation(ReactivateUserDocument);
  const [remove] = useMutation(DeleteUserDocument, refetch);
  const [unlock] = useMutation(UnlockUserDocument);
  const [resetTotp] = useMutation(ResetTotpDocument);
  const text = ACTION_TEXT[action];

  const run = async () => {
    setProblem(null);
    setBusy(true);
    const variables = { userId: person.id };
    try {
      if (action === 'reset') {
        const { data } = await reset({ variables });
        if (data) setInvitation({ setPasswordUrl: data.resetPassword.setPasswordUrl, expiresAt: data.resetPassword.expiresAt });
        return;
      }
      if (action === 'deactivate') await deactivate({ variables });
      if (action === 'reactivate') await reactivate({ variables });
      if (action === 'delete') await remove({ variables });
      if (action === 'unlock') await unlock({ variables });
      if (action === 'resetTotp') await resetTotp({ variables });
      onDone(action);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };

  if (invitation) {
    return (
      <Modal title={`New set-password link for ${person.displayName}`} onCancel={() => onDone('reset')} wide>
        <p>Their old password and sessions have ended.</p>
        <InvitationLink invitation={invitation} who={person.email} />
        <div className="form-actions">
          <button type="button" onClick={() => onDone('reset')}>Done</button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title={text.title(person.displayName)} onCancel={() => onDone(null)}>
      <p>{text.body}</p>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="button" className={text.danger ? 'danger' : undefined} onClick={() => void run()} disabled={busy}>
          {busy ? 'Working…' : text.confirm}
        </button>
        <button type="button" className="secondary" onClick={() => onDone(null)} disabled={busy}>Cancel</button>
      </div>
    </Modal>
  );
}

export const ACTION_DONE: Record<PersonAction, (name: string) => string> = {
  reset: (name) => `${name}’s password was reset.`,
  deactivate: (name) => `${name} is deactivated and signed out everywhere.`,
  reactivate: (name) => `${name} is active again.`,
  delete: (name) => `${name} was deleted.`,
  unlock: (name) => `${name} is unlocked.`,
  resetTotp: (name) => `Two-factor sign-in is off for ${name}.`,
};
