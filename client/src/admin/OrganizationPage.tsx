/**
 * One partner organisation (`/admin/organizations/:organizationId`, admins): its name (renamed in place),
 * when it was made (and offboarded), its studio companies, its groups in the other tools (those an offboarding
 * closed marked so) and its people (each a link to their page), and deleting it after a confirmation. The server decides whether it may go (not while it has people
 * or unfinished workflows: CONFLICT), and its refusals are shown as it words them.
 */
import { useState, type FormEvent } from 'react';
import { ConfirmDialog } from '../common/Dialogs';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from '@apollo/client/react';
import { DeleteOrganizationDocument, OrganizationDetailsDocument, OrganizationListDocument, RenameOrganizationDocument } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { formatDateTime, roleLabel, StatusBadge } from '../common/format';
import { ErrorMessage, Loading } from '../common/Status';

/** After a company's or group's name: closed by an offboarding, and when. */
function Closed({ at }: { at: string | null }) {
  if (!at) return null;
  return <span className="badge muted small" title={`Closed ${formatDateTime(at)}`}> closed</span>;
}

function DeleteDialog({ name, busy, problem, onConfirm, onCancel }: {
  name: string; busy: boolean; problem: ProblemInfo | null; onConfirm: () => void; onCancel: () => void;
}) {
  return (
    <ConfirmDialog title={`Delete ${name}?`} problem={problem} busy={busy} danger confirmLabel="Delete organisation" busyLabel="Deleting…"
      onConfirm={onConfirm} onCancel={onCancel}>
      <p>Its studio companies and groups go with it. Finished workflows keep their history. This cannot be undone.</p>
    </ConfirmDialog>
  );
}

function RenameForm({ id, name, onDone }: { id: string; name: string; onDone: () => void }) {
  const [draft, setDraft] = useState(name);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [rename, { loading }] = useMutation(RenameOrganizationDocument);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      await rename({ variables: { id, name: draft } });
      onDone();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };
  return (
    <form className="rename-form" aria-label="Rename the organisation" onSubmit={(e) => void submit(e)}>
      <label>
        New name
        <input value={draft} onChange={(e) => setDraft(e.target.value)} autoFocus aria-invalid={problem ? true : undefined} />
      </label>
      <button type="submit" disabled={loading || draft.trim() === ''}>{loading ? 'Saving…' : 'Save'}</button>
      <button type="button" className="secondary" onClick={onDone} disabled={loading}>Cancel</button>
      {problem && <div className="form-problem" role="alert">{problem.message}</div>}
    </form>
  );
}

export function OrganizationPage() {
  const { organizationId = '' } = useParams();
  const navigate = useNavigate();
  const { data, error, loading, refetch } = useQuery(OrganizationDetailsDocument, { variables: { id: organizationId }, fetchPolicy: 'cache-and-network' });
  const [renaming, setRenaming] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [deleteProblem, setDeleteProblem] = useState<ProblemInfo | null>(null);
  const [remove, { loading: deleting }] = useMutation(DeleteOrganizationDocument, { refetchQueries: [OrganizationListDocument] });
  const organization = data?.organization;

  const confirmDelete = async () => {
    if (!organization) return;
    setDeleteProblem(null);
    try {
      await remove({ variables: { id: organization.id } });
      navigate('/admin/organizations', { state: { deleted: organization.name } });
    } catch (err) {
      setDeleteProblem(problemOf(err));
    }
  };

  const back = <Link to="/admin/organizations" className="small">← All organisations</Link>;
  if (error && !data) return <div className="admin-page">{back}<ErrorMessage error={error} retry={() => void refetch()} /></div>;
  if (!data) return <div className="admin-page">{back}<Loading what="the organisation" /></div>;
  if (!organization && !loading) {
    return (
      <div className="admin-page">
        {back}
        <section className="panel"><h1>No such organisation</h1><p className="muted">It does not exist, or no longer does.</p></section>
      </div>
    );
  }
  if (!organization) return <div className="admin-page">{back}<Loading what="the organisation" /></div>;

  return (
    <div className="admin-page organization-page">
      {back}
      <div className="page-head">
        {renaming ? (
          <RenameForm id={organization.id} name={organization.name} onDone={() => setRenaming(false)} />
        ) : (
          <>
            <h1>{organization.name}</h1>
            <button type="button" className="secondary small-button" onClick={() => setRenaming(true)}>Rename…</button>
          </>
        )}
        <span className="spacer" />
        <button type="button" className="secondary danger-text" onClick={() => { setDeleteProblem(null); setConfirming(true); }}>Delete…</button>
      </div>
      <section className="panel" aria-labelledby="organization-facts">
        <h2 id="organization-facts" className="visually-hidden">About</h2>
        <dl className="facts">
          <dt>Created</dt>
          <dd>{formatDateTime(organization.createdAt)}</dd>
          {organization.offboardedAt && (
            <>
              <dt>Offboarded</dt>
              <dd>{formatDateTime(organization.offboardedAt)}: its people are deactivated and its companies and groups closed</dd>
            </>
          )}
          <dt>People</dt>
          <dd>{organization.users.length}</dd>
        </dl>
      </section>

      <section className="panel" aria-labelledby="companies-title">
        <h2 id="companies-title">Studio companies</h2>
        {organization.studioCompanies.length === 0 ? (
          <p className="muted empty">None yet.</p>
        ) : (
          <table className="data" aria-label="Studio companies">
            <thead><tr><th scope="col">Name</th><th scope="col">Environment</th><th scope="col">External id</th></tr></thead>
            <tbody>
              {organization.studioCompanies.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}<Closed at={c.closedAt} /></td>
                  <td><span className="badge">{c.environment}</span></td>
                  <td className="muted small">{c.externalId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" aria-labelledby="groups-title">
        <h2 id="groups-title">Groups in other tools</h2>
        {organization.systemGroups.length === 0 ? (
          <p className="muted empty">None yet.</p>
        ) : (
          <table className="data" aria-label="Groups in other tools">
            <thead><tr><th scope="col">Tool</th><th scope="col">Name</th><th scope="col">External id</th></tr></thead>
            <tbody>
              {organization.systemGroups.map((g) => (
                <tr key={g.id}>
                  <td>{g.tool}</td>
                  <td>{g.name}<Closed at={g.closedAt} /></td>
                  <td className="muted small">{g.externalId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" aria-labelledby="people-title">
        <h2 id="people-title">People</h2>
        {organization.users.length === 0 ? (
          <p className="muted empty">Nobody yet. The new_partner_user workflow adds people.</p>
        ) : (
          <table className="data" aria-label="People of the organisation">
            <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {organization.users.map((u) => (
                <tr key={u.id} data-email={u.email}>
                  <td><Link to={`/admin/users/${u.id}`}>{u.displayName}</Link></td>
                  <td>{u.email}</td>
                  <td><span className="badge neutral" data-role={u.role}>{roleLabel(u.role)}</span></td>
                  <td><StatusBadge status={u.active ? 'SUCCEEDED' : 'CANCELLED'} label={u.active ? 'Active' : 'Deactivated'} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {confirming && (
        <DeleteDialog
          name={organization.name}
          busy={deleting}
          problem={deleteProblem}
          onConfirm={() => void confirmDelete()}
          onCancel={() => setConfirming(false)}
        />
      )}
    </div>
  );
}
