/**
 * Access tokens (`/tokens`): what a script, Excel or Power BI signs in with. Everyone lists, makes and revokes
 * their own; admins see everyone's, make service accounts (accounts for tools, which cannot sign in) and
 * tokens for them. A new token is shown once, with a copy button: the server keeps only its hash.
 */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  AccessTokensDocument,
  AccessUnitsDocument,
  CreateAccessTokenDocument,
  CreateServiceAccountDocument,
  RevokeAccessTokenDocument,
  ServiceAccountsDocument,
  type AccessTokenRowFragment,
  type Role,
  type TokenScope,
} from '../graphql/generated';
import { useSession } from '../auth/MeContext';
import { ConfirmDialog } from '../common/Dialogs';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime, roleLabel } from '../common/format';
import { ErrorMessage, Loading } from '../common/Status';
import { EntraAppCell, EntraAppExplanation } from './EntraAppLink';

/** The expiries offered; the server takes 1 to 365 days and makes it 90 when none is given. */
const EXPIRIES = [7, 30, 90, 180, 365] as const;
const SERVICE_ROLES: Role[] = ['VIEWER', 'ANALYST', 'BU_LEADER', 'ADMIN'];

const scopeLabel = (scopes: readonly TokenScope[]) => (scopes.includes('WRITE') ? 'Read and write' : 'Read only');

export function TokensPage() {
  const { me } = useSession();
  const admin = me.can.manageUsers;
  const tokens = useQuery(AccessTokensDocument, { fetchPolicy: 'cache-and-network' });
  const [created, setCreated] = useState<{ token: string; name: string; owner: string } | null>(null);
  const [revoking, setRevoking] = useState<AccessTokenRowFragment | null>(null);
  const [revoked, setRevoked] = useState<string | null>(null);
  const list = tokens.data?.accessTokens;
  return (
    <div className="admin-page tokens-page">
      <div className="page-head">
        <h1>Access tokens</h1>
      </div>
      <p className="muted">
        A token lets a script or a tool act as {admin ? 'you, or as a service account,' : 'you'} without a password: send it as{' '}
        <code>Authorization: Bearer pst_…</code>, or, in Excel and Power BI (OData feed, exports), as the password of Basic
        sign-in with any user name. A read-only token changes nothing; no token can do more than its owner may.
      </p>
      {created && <NewToken created={created} onDone={() => setCreated(null)} />}
      {revoked && <p className="success" role="status">{revoked} was revoked: it stops working at once.</p>}
      <section className="panel">
        <NewTokenForm admin={admin} onCreated={(c) => { setRevoked(null); setCreated(c); }} />
      </section>
      <section className="panel" aria-labelledby="tokens-title">
        <h2 id="tokens-title">{admin ? 'Everyone\'s tokens' : 'Your tokens'}</h2>
        {tokens.error && !tokens.data && <ErrorMessage error={tokens.error} retry={() => void tokens.refetch()} />}
        {!tokens.data && !tokens.error && <Loading what="the tokens" />}
        {list && list.length === 0 && <p className="muted empty">No token yet.</p>}
        {list && list.length > 0 && (
          <table className="data tokens" aria-label="Access tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                {admin && <th scope="col">Owner</th>}
                <th scope="col">Access</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col"><span className="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => {
                const expired = new Date(t.expiresAt).getTime() <= Date.now();
                return (
                  <tr key={t.id} data-token={t.name}>
                    <td>{t.name}</td>
                    {admin && (
                      <td>
                        {t.owner.displayName} <span className="muted small">{t.owner.kind === 'SERVICE' ? '(service account)' : t.owner.email}</span>
                      </td>
                    )}
                    <td>{scopeLabel(t.scopes)}</td>
                    <td className="nowrap">{formatDateTime(t.createdAt)}</td>
                    <td className="nowrap">{expired ? <span className="error">Expired {formatDateTime(t.expiresAt)}</span> : formatDateTime(t.expiresAt)}</td>
                    <td className="nowrap">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : <span className="muted">Never</span>}</td>
                    <td className="actions">
                      <button type="button" className="secondary small-button" onClick={() => { setRevoked(null); setRevoking(t); }}>Revoke</button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      {admin && <ServiceAccounts />}
      {revoking && (
        <RevokeDialog
          token={revoking}
          onDone={(done) => {
            setRevoking(null);
            if (done) setRevoked(revoking.name);
          }}
        />
      )}
    </div>
  );
}

/** The token just made, this once. */
function NewToken({ created, onDone }: { created: { token: string; name: string; owner: string }; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('yes');
    } catch {
      // Clipboard refused (an insecure origin, a denied permission): the field is selected to copy by hand.
      setCopied('failed');
    }
  };
  return (
    <section className="panel invitation new-token" data-testid="new-token" aria-label="Your new token">
      <label>
        Token “{created.name}” for {created.owner}
        <span className="copy-row">
          <input readOnly value={created.token} aria-label="New token" onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => void copy()}>{copied === 'yes' ? 'Copied' : 'Copy token'}</button>
        </span>
      </label>
      {copied === 'failed' && <p className="field-error">Could not copy: select the token and copy it yourself.</p>}
      <p className="banner warn small" role="note">
        Copy it now: it will not be shown again. Keep it like a password; if it leaks, revoke it.
      </p>
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onDone}>Done, I have copied it</button>
      </div>
    </section>
  );
}

function NewTokenForm({ admin, onCreated }: { admin: boolean; onCreated: (c: { token: string; name: string; owner: string }) => void }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('READ');
  const [days, setDays] = useState<number>(90);
  const [owner, setOwner] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const accounts = useQuery(ServiceAccountsDocument, { skip: !admin, fetchPolicy: 'cache-and-network' });
  const serviceAccounts = (accounts.data?.users ?? []).filter((u) => u.kind === 'SERVICE' && u.active);
  const [create, { loading }] = useMutation(CreateAccessTokenDocument, { refetchQueries: [AccessTokensDocument], awaitRefetchQueries: true });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const { data } = await create({
        variables: { name: name.trim(), scopes: [scope], expiresInDays: days, serviceAccountId: owner || null },
      });
      if (data) {
        const { token, accessToken } = data.createAccessToken;
        onCreated({ token, name: accessToken.name, owner: owner ? accessToken.owner.displayName : 'you' });
        setName('');
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form className="stacked-form" aria-label="New token" onSubmit={submit}>
      <h2>New token</h2>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} placeholder="What it is for, e.g. Power BI budget report" />
      </label>
      {admin && (
        <label>
          For
          <select value={owner} onChange={(e) => setOwner(e.target.value)} aria-label="Token for">
            <option value="">Yourself</option>
            {serviceAccounts.map((a) => <option key={a.id} value={a.id}>{a.displayName} (service account, {roleLabel(a.role)})</option>)}
          </select>
        </label>
      )}
      <fieldset>
        <legend>Access</legend>
        <label className="choice">
          <input type="radio" name="scope" value="READ" checked={scope === 'READ'} onChange={() => setScope('READ')} />
          Read only: queries, OData feed, exports, grids without editing
        </label>
        <label className="choice">
          <input type="radio" name="scope" value="WRITE" checked={scope === 'WRITE'} onChange={() => setScope('WRITE')} />
          Read and write: also changes and imports, as far as its owner may
        </label>
      </fieldset>
      <label>
        Expires after
        <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
          {EXPIRIES.map((d) => <option key={d} value={d}>{d} days</option>)}
        </select>
      </label>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
      <div className="form-actions">
        <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create token'}</button>
      </div>
    </form>
  );
}

function RevokeDialog({ token, onDone }: { token: AccessTokenRowFragment; onDone: (revoked: boolean) => void }) {
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [revoke, { loading }] = useMutation(RevokeAccessTokenDocument, { refetchQueries: [AccessTokensDocument], awaitRefetchQueries: true });
  const confirm = async () => {
    setProblem(null);
    try {
      await revoke({ variables: { id: token.id } });
      onDone(true);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <ConfirmDialog
      title={`Revoke “${token.name}”?`}
      problem={problem}
      busy={loading}
      confirmLabel="Revoke token"
      busyLabel="Revoking…"
      danger
      onConfirm={() => void confirm()}
      onCancel={() => onDone(false)}
    >
      <p>
        Every script, spreadsheet or report using it stops working at once, and its open connections close. This cannot be undone:
        they will need a new token.
      </p>
    </ConfirmDialog>
  );
}

/** Admins: the service accounts, and a form for a new one. */
function ServiceAccounts() {
  const accounts = useQuery(ServiceAccountsDocument, { fetchPolicy: 'cache-and-network' });
  const units = useQuery(AccessUnitsDocument, { fetchPolicy: 'cache-first' });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('VIEWER');
  const [codes, setCodes] = useState<string[]>([]);
  const [entraAppId, setEntraAppId] = useState('');
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [create, { loading }] = useMutation(CreateServiceAccountDocument, { refetchQueries: [ServiceAccountsDocument], awaitRefetchQueries: true });
  const list = (accounts.data?.users ?? []).filter((u) => u.kind === 'SERVICE');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    setDone(null);
    try {
      const { data } = await create({ variables: { name: name.trim(), role, businessUnitCodes: codes, entraAppId: entraAppId.trim() || null } });
      if (data) {
        setDone(data.createServiceAccount.displayName);
        setName('');
        setCodes([]);
        setEntraAppId('');
      }
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <section className="panel" aria-labelledby="service-accounts-title">
      <h2 id="service-accounts-title">Service accounts</h2>
      <p className="muted small">
        Accounts for tools, not people: they cannot sign in, and act only through the tokens you make for them above (choose them under “For”),
        or through the Microsoft Entra application linked to them: a tool that signs in to Entra as itself (client credentials) acts as the
        account, read only with the app role Plansync.Read, read and write with Plansync.ReadWrite.
      </p>
      {accounts.error && !accounts.data && <ErrorMessage error={accounts.error} retry={() => void accounts.refetch()} />}
      {list.length > 0 && (
        <table className="data service-accounts" aria-label="Service accounts">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Business units</th>
              <th scope="col">Status</th>
              <th scope="col">Entra application</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} data-service-account={a.displayName}>
                <td>{a.displayName}</td>
                <td>{roleLabel(a.role)}</td>
                <td>{a.businessUnits.map((u) => u.name).sort().join(', ') || <span className="muted">None</span>}</td>
                <td>{a.active ? 'Active' : 'Deactivated'}</td>
                <td><EntraAppCell account={a} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {accounts.data && list.length === 0 && <p className="muted empty">No service account yet.</p>}
      {done && <p className="success" role="status">Service account {done} was created. Make a token for it above.</p>}
      <form className="stacked-form" aria-label="New service account" onSubmit={submit}>
        <h3>New service account</h3>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {SERVICE_ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
          </select>
        </label>
        <fieldset>
          <legend>Business units</legend>
          {(units.data?.businessUnits ?? []).map((unit) => (
            <label key={unit.code} className="choice">
              <input type="checkbox" checked={codes.includes(unit.code)}
                onChange={(e) => setCodes(e.target.checked ? [...codes, unit.code] : codes.filter((c) => c !== unit.code))} />
              {unit.name}
            </label>
          ))}
        </fieldset>
        <label>
          Entra application (client) id
          <input value={entraAppId} onChange={(e) => setEntraAppId(e.target.value)} spellCheck={false} placeholder="00000000-0000-0000-0000-000000000000" />
        </label>
        <EntraAppExplanation optional />
        {problem && <div className="form-problem" role="alert">{problem.message}</div>}
        <div className="form-actions">
          <button type="submit" disabled={loading}>{loading ? 'Creating…' : 'Create service account'}</button>
        </div>
      </form>
    </section>
  );
}
