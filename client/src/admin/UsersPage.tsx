/**
 * People (`/admin/users`): admins search and filter everyone, open a person's page, create people (with a
 * one-time set-password link), change roles and units one at a time or for a selection, deactivate a
 * selection, export the filtered rows as CSV, and read the sign-in log. A partner admin reads the people of
 * their own organisation, with the same search and export, and changes nothing. The server decides who
 * appears (`users`) and who may change what; filtering is done here (people.ts says why).
 */
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '@apollo/client/react';
import { AccessUnitsDocument, AdminUsersDocument } from '../graphql/generated';
import { useSession } from '../auth/MeContext';
import { download } from '../common/csv';
import { ErrorMessage, Loading } from '../common/Status';
import { formatDateTime, formatTime, roleLabel } from '../common/format';
import { useNow } from '../common/useNow';
import { AccessEditor, ROLES } from './AccessEditor';
import { BulkChangeDialog, type BulkKind } from './BulkChange';
import { CreatePersonDialog } from './peopleActions';
import { filterPeople, NO_FILTERS, NO_UNIT, peopleCsv, statusLabel, statusOf, unitList, type PeopleFilters, type Person } from './people';

export function UsersPage() {
  const { me } = useSession();
  // Whoever may manage people (admins) changes them and reads the sign-in log; a partner admin only reads.
  const isAdmin = me.can.manageUsers;
  const users = useQuery(AdminUsersDocument, { fetchPolicy: 'cache-and-network' });
  const units = useQuery(AccessUnitsDocument, { skip: !isAdmin });
  const [filters, setFilters] = useState<PeopleFilters>(NO_FILTERS);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [editing, setEditing] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [bulk, setBulk] = useState<BulkKind | null>(null);
  // Locks end by themselves: re-read the clock each minute, so "Locked until" turns "Active" on time.
  const now = useNow(true, 60_000);
  const allUnits = units.data?.businessUnits ?? [];
  const everyone = users.data?.users;
  const shown = useMemo(() => (everyone ? filterPeople(everyone, filters, now) : []), [everyone, filters, now]);
  // Only what is both selected and shown is acted on: a filter never hides someone a bulk change would touch.
  const chosen = shown.filter((p) => selected.has(p.id));
  const allShownChosen = shown.length > 0 && chosen.length === shown.length;
  const filtered = filters !== NO_FILTERS && JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const columns = isAdmin ? 11 : 9;
  // Units to filter by: the admin's list of every unit, else the ones the people shown belong to.
  const unitOptions = isAdmin
    ? allUnits
    : [...new Map((everyone ?? []).flatMap((p) => p.businessUnits).map((u) => [u.code, u])).values()];

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const toggleAll = (on: boolean) => setSelected(on ? new Set(shown.map((p) => p.id)) : new Set());
  const exportCsv = () => {
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '');
    download(`plansync-people-${stamp}.csv`, peopleCsv(shown, roleLabel, now));
  };

  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Users</h1>
        {!isAdmin && me.organization && <span className="muted">People of {me.organization.name}</span>}
        <span className="spacer" />
        <button type="button" className="secondary" onClick={exportCsv} disabled={shown.length === 0}>
          Export CSV ({shown.length})
        </button>
        {isAdmin && <button type="button" onClick={() => { setSaved(null); setCreating(true); }}>New person…</button>}
      </div>
      {saved && <div className="banner info" role="status">{saved}</div>}
      <section className="panel" aria-labelledby="people-title">
        <h2 id="people-title" className="visually-hidden">People</h2>
        <form className="filters" role="search" aria-label="Filter people" onSubmit={(e) => e.preventDefault()}>
          <label className="grow">
            Search
            <input type="search" value={filters.search} placeholder="Name or email" onChange={(e) => setFilters({ ...filters, search: e.target.value })} />
          </label>
          <label>
            Role
            <select value={filters.role} onChange={(e) => setFilters({ ...filters, role: e.target.value })}>
              <option value="">Any role</option>
              {ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
            </select>
          </label>
          <label>
            Business unit
            <select value={filters.unit} onChange={(e) => setFilters({ ...filters, unit: e.target.value })}>
              <option value="">Any unit</option>
              {unitOptions.map((u) => <option key={u.code} value={u.code}>{u.name}</option>)}
              <option value={NO_UNIT}>No unit</option>
            </select>
          </label>
          <label>
            Status
            <select value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value as PeopleFilters['status'] })}>
              <option value="">Any status</option>
              <option value="ACTIVE">Active</option>
              <option value="DEACTIVATED">Deactivated</option>
              <option value="LOCKED">Locked now</option>
            </select>
          </label>
          {filtered && (
            <div className="filter-actions">
              <button type="button" className="secondary" onClick={() => setFilters(NO_FILTERS)}>Clear filters</button>
            </div>
          )}
        </form>
        {isAdmin && chosen.length > 0 && (
          <div className="bulk-bar" role="toolbar" aria-label="Change the selected people">
            <strong data-testid="selected-count">{chosen.length} selected</strong>
            <button type="button" className="secondary small-button" onClick={() => setBulk('role')}>Change role…</button>
            <button type="button" className="secondary small-button" onClick={() => setBulk('units')}>Change units…</button>
            <button type="button" className="secondary small-button danger-text" onClick={() => setBulk('deactivate')}>Deactivate…</button>
            <span className="spacer" />
            <button type="button" className="link" onClick={() => setSelected(new Set())}>Clear selection</button>
          </div>
        )}
        {users.error && !users.data && <ErrorMessage error={users.error} retry={() => void users.refetch()} />}
        {!users.data && !users.error && <Loading what="people" />}
        {everyone && (
          <>
            <p className="muted small count-line" aria-live="polite" data-testid="people-count">
              {filtered ? `${shown.length} of ${everyone.length} people match` : `${everyone.length} people`}
            </p>
            <div className="table-scroll">
              <table className="data people-table" aria-label="People">
                <thead>
                  <tr>
                    {isAdmin && (
                      <th scope="col" className="select">
                        <input type="checkbox" aria-label="Select everyone shown" checked={allShownChosen} onChange={(e) => toggleAll(e.target.checked)} />
                      </th>
                    )}
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Business units</th>
                    {isAdmin && <th scope="col">Organisation</th>}
                    <th scope="col">Status</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Last sign-in</th>
                    <th scope="col">2FA</th>
                    {isAdmin && <th scope="col"><span className="visually-hidden">Actions</span></th>}
                  </tr>
                </thead>
                <tbody>
                  {shown.map((user) => (
                    <UserRows key={user.id} user={user} isAdmin={isAdmin} editing={editing === user.id} columns={columns}
                      units={allUnits} now={now} selected={selected.has(user.id)} onSelect={(on) => toggle(user.id, on)}
                      onEdit={() => { setSaved(null); setEditing(user.id); }}
                      onDone={(didSave) => {
                        setEditing(null);
                        if (didSave) setSaved(`Saved ${user.displayName}’s access.`);
                      }} />
                  ))}
                </tbody>
              </table>
            </div>
            {shown.length === 0 && <p className="muted empty">{filtered ? 'Nobody matches these filters.' : 'Nobody here yet.'}</p>}
          </>
        )}
      </section>
      {creating && (
        <CreatePersonDialog units={allUnits} onClose={(email) => {
          setCreating(false);
          if (email) setSaved(`Created ${email}. Their link is not shown again; reset their password for a new one.`);
        }} />
      )}
      {bulk && (
        <BulkChangeDialog kind={bulk} people={chosen} units={allUnits} onClose={(succeeded) => {
          setBulk(null);
          if (succeeded.length === 0) return;
          // Who went through leaves the selection; whoever was refused stays selected, to fix and retry.
          setSelected(new Set([...selected].filter((id) => !succeeded.includes(id))));
          void users.refetch();
        }} />
      )}
    </div>
  );
}

/** A lock ends within the hour, usually today: its time alone says when, the date only when it is not today. */
function formatWhen(iso: string, now: number): string {
  const when = new Date(iso);
  return when.toDateString() === new Date(now).toDateString() ? formatTime(iso) : formatDateTime(iso);
}

function StatusCell({ user, now }: { user: Person; now: number }) {
  const status = statusOf(user, now);
  const tone = status === 'ACTIVE' ? 'good' : status === 'LOCKED' ? 'warn' : 'neutral';
  return <span className={`badge ${tone}`} data-status={status}>{statusLabel(user, (iso) => formatWhen(iso, now), now)}</span>;
}

function UserRows({ user, isAdmin, editing, columns, units, now, selected, onSelect, onEdit, onDone }: {
  user: Person; isAdmin: boolean; editing: boolean; columns: number; units: readonly { code: string; name: string }[];
  now: number; selected: boolean; onSelect: (on: boolean) => void; onEdit: () => void; onDone: (saved: boolean) => void;
}) {
  return (
    <>
      <tr data-user={user.email} className={selected ? 'selected' : undefined}>
        {isAdmin && (
          <td className="select">
            <input type="checkbox" aria-label={`Select ${user.displayName}`} checked={selected} onChange={(e) => onSelect(e.target.checked)} />
          </td>
        )}
        <td>{isAdmin ? <Link to={`/admin/users/${user.id}`}>{user.displayName}</Link> : user.displayName}</td>
        <td className="email">{user.email}</td>
        <td><span className="badge neutral" data-role={user.role}>{roleLabel(user.role)}</span></td>
        <td>{unitList(user) || <span className="muted">—</span>}</td>
        {isAdmin && <td>{user.organization
          ? <Link to={`/admin/organizations/${user.organization.id}`}>{user.organization.name}</Link>
          : <span className="muted">—</span>}</td>}
        <td><StatusCell user={user} now={now} /></td>
        <td>{user.kind === 'SERVICE' ? <span className="tag">Service</span> : 'Person'}</td>
        <td className="nowrap">{user.lastSignInAt ? formatDateTime(user.lastSignInAt) : <span className="muted">Never</span>}</td>
        <td>{user.totpEnabled ? <span className="badge good">On</span> : <span className="muted">Off</span>}</td>
        {isAdmin && (
          <td className="actions">
            {!editing && (
              <button type="button" className="secondary small-button" onClick={onEdit} aria-label={`Change access of ${user.displayName}`}>
                Change access
              </button>
            )}
          </td>
        )}
      </tr>
      {editing && (
        <tr className="editor-row">
          <td colSpan={columns}>
            <AccessEditor user={user} units={units} onDone={onDone} />
          </td>
        </tr>
      )}
    </>
  );
}
