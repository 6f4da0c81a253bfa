/**
 * A person's page (`/admin/users/<id>`, admins): who they are, their status, role, units and organisation,
 * what other systems gave them (access grants), their recent sign-ins, what admins did about them (the
 * activity log's entries whose subject is their email) and what they did themselves (whose actor they are), and the actions on them: change access, reset the
 * password (a new one-time link), deactivate or reactivate, unlock, delete.
 *
 * There is no `user(id)` query: the person comes from `users` (loaded once for the table anyway, people.ts
 * says why that is fine at this scale), found by id; someone not in it (deleted, or a made-up id) is "not
 * found", as the server would answer.
 */
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useQuery } from '@apollo/client/react';
import { AccessUnitsDocument, AdminUsersDocument, PersonDetailsDocument, type PersonDetailsQuery } from '../graphql/generated';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, roleLabel } from '../common/format';
import { useNow } from '../common/useNow';
import { AccessEditor } from './AccessEditor';
import { actionLabel, detailsText } from './activityFormat';
import { ACTION_DONE, PersonActionDialog, type PersonAction } from './peopleActions';
import { PersonSignIns } from './PersonSignIns';
import { statusLabel, statusOf, unitList } from './people';

export function PersonPage() {
  const { userId } = useParams();
  const navigate = useNavigate();
  const users = useQuery(AdminUsersDocument, { fetchPolicy: 'cache-and-network' });
  const units = useQuery(AccessUnitsDocument);
  const person = users.data?.users.find((u) => u.id === userId);
  const details = useQuery(PersonDetailsDocument, { variables: { subject: person?.email ?? '' }, skip: !person, fetchPolicy: 'cache-and-network' });
  const [action, setAction] = useState<PersonAction | null>(null);
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const now = useNow(true, 60_000);

  if (users.error && !users.data) return <ErrorMessage error={users.error} retry={() => void users.refetch()} />;
  if (!users.data) return <Loading what="this person" />;
  if (!person) {
    return (
      <div className="admin-page">
        <p><Link to="/admin/users">← All people</Link></p>
        <div className="panel"><p>There is nobody with this address (they may have been deleted).</p></div>
      </div>
    );
  }
  const status = statusOf(person, now);
  const grants = details.data?.users.find((u) => u.id === person.id)?.accessGrants;
  const activity = details.data?.activityLog.edges.map((e) => e.node);
  const theirActions = details.data?.theirActions.edges.map((e) => e.node);

  return (
    <div className="admin-page person-page">
      <p className="breadcrumb"><Link to="/admin/users">← All people</Link></p>
      <div className="page-head">
        <h1>{person.displayName}</h1>
        <span className={`badge ${status === 'ACTIVE' ? 'good' : status === 'LOCKED' ? 'warn' : 'neutral'}`} data-testid="person-status">
          {statusLabel(person, formatDateTime, now)}
        </span>
        {person.kind === 'SERVICE' && <span className="tag">Service account</span>}
        <span className="spacer" />
      </div>
      {notice && <div className="banner info" role="status">{notice}</div>}
      <div className="person-actions" role="toolbar" aria-label={`Actions on ${person.displayName}`}>
        <button type="button" className="secondary" onClick={() => { setNotice(null); setEditing(true); }} disabled={editing}>Change access…</button>
        {person.kind === 'PERSON' && (
          <button type="button" className="secondary" onClick={() => { setNotice(null); setAction('reset'); }} disabled={!person.active}>Reset password…</button>
        )}
        {status === 'LOCKED' && <button type="button" className="secondary" onClick={() => { setNotice(null); setAction('unlock'); }}>Unlock…</button>}
        {/* A lost phone's only way back, and an admin's alone (resetTotp): recorded as TOTP_DISABLED. */}
        {person.totpEnabled && (
          <button type="button" className="secondary" onClick={() => { setNotice(null); setAction('resetTotp'); }}>Turn off two-factor…</button>
        )}
        {person.active
          ? <button type="button" className="secondary danger-text" onClick={() => { setNotice(null); setAction('deactivate'); }}>Deactivate…</button>
          : <button type="button" className="secondary" onClick={() => { setNotice(null); setAction('reactivate'); }}>Reactivate…</button>}
        <button type="button" className="secondary danger-text" onClick={() => { setNotice(null); setAction('delete'); }}>Delete…</button>
      </div>
      {editing && (
        <section className="panel">
          <AccessEditor user={person} units={units.data?.businessUnits ?? []} onDone={(saved) => {
            setEditing(false);
            if (saved) setNotice(`Saved ${person.displayName}’s access.`);
          }} />
        </section>
      )}
      <div className="admin-columns person-columns">
        <section className="panel" aria-labelledby="identity-title">
          <h2 id="identity-title">Identity and access</h2>
          <dl className="facts">
            <dt>Email</dt><dd>{person.email}</dd>
            <dt>Role</dt><dd><span className="badge neutral" data-role={person.role}>{roleLabel(person.role)}</span></dd>
            <dt>Business units</dt><dd data-testid="person-units">{unitList(person) || <span className="muted">None</span>}</dd>
            <dt>Organisation</dt><dd>{person.organization
              ? <Link to={`/admin/organizations/${person.organization.id}`}>{person.organization.name}</Link>
              : <span className="muted">None (one of us)</span>}</dd>
            <dt>Kind</dt><dd>{person.kind === 'SERVICE' ? 'Service account (no sign-in: access tokens or a linked Entra application)' : 'Person'}</dd>
            {person.kind === 'SERVICE' && (
              <>
                <dt>Entra application</dt>
                <dd data-testid="person-entra-app">
                  {person.entraAppId ? <code>{person.entraAppId}</code> : <span className="muted">None</span>}{' '}
                  <Link to="/tokens">{person.entraAppId ? 'Change on the Tokens page' : 'Link one on the Tokens page'}</Link>
                </dd>
              </>
            )}
            <dt>Last sign-in</dt><dd>{person.lastSignInAt ? formatDateTime(person.lastSignInAt) : <span className="muted">Never</span>}</dd>
            <dt>Two-factor</dt><dd>{person.totpEnabled ? 'On (authenticator app)' : 'Off'}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="grants-title">
          <h2 id="grants-title">Access in other systems</h2>
          {details.error && !details.data && <ErrorMessage error={details.error} retry={() => void details.refetch()} />}
          {!grants && !details.error && <Loading what="their access grants" />}
          {grants && grants.length === 0 && <p className="muted">Nothing granted by onboarding workflows.</p>}
          {grants && grants.length > 0 && (
            <table className="data" aria-label="Access grants">
              <thead><tr><th scope="col">System</th><th scope="col">Name</th><th scope="col">Granted</th></tr></thead>
              <tbody>
                {grants.map((g, i) => (
                  <tr key={`${g.system}/${g.name}/${i}`}><td>{g.system}</td><td>{g.name}</td><td className="nowrap">{formatDateTime(g.grantedAt)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <PersonSignIns email={person.email} />
      <ActivityPanel id="person-activity-title" title="What admins did about them" label="Activity about this person"
        entries={activity} error={Boolean(details.error)} showActor />
      <ActivityPanel id="person-actions-title" title="What they did" label="Activity by this person"
        entries={theirActions} error={Boolean(details.error)} showSubject />
      {action && (
        <PersonActionDialog person={person} action={action} onDone={(done) => {
          setAction(null);
          if (!done) return;
          if (done === 'delete') {
            navigate('/admin/users', { replace: true });
            return;
          }
          setNotice(ACTION_DONE[done](person.displayName));
          void details.refetch();
        }} />
      )}
    </div>
  );
}

type ActivityRow = PersonDetailsQuery['activityLog']['edges'][number]['node'];

/** A short table of activity entries: about the person (who did it matters) or by them (to whom matters). */
function ActivityPanel({ id, title, label, entries, error, showActor, showSubject }: {
  id: string; title: string; label: string; entries: ActivityRow[] | undefined; error: boolean;
  showActor?: boolean; showSubject?: boolean;
}) {
  return (
    <section className="panel" aria-labelledby={id}>
      <div className="list-head">
        <h2 id={id}>{title}</h2>
        <Link to="/admin/activity" className="small">Whole activity log</Link>
      </div>
      {!entries && !error && <Loading what="their activity" />}
      {entries && entries.length === 0 && <p className="muted empty">Nothing yet.</p>}
      {entries && entries.length > 0 && (
        <table className="data" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">When</th>
              {showActor && <th scope="col">Who</th>}
              <th scope="col">What</th>
              {showSubject && <th scope="col">About</th>}
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id} data-action={entry.action}>
                <td className="nowrap">{formatDateTime(entry.at)}</td>
                {showActor && <td>{entry.actor?.email ?? <span className="muted">Plansync</span>}</td>}
                <td>{actionLabel(entry.action)}</td>
                {showSubject && <td>{entry.subject}</td>}
                <td className="muted small">{detailsText(entry.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
