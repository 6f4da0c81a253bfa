/**
 * People (`/admin/users`): admins see everyone, change roles and units, and read the sign-in log; a partner
 * admin reads the people of their own organisation. The server decides who appears (`users`).
 */
import { useState } from 'react';
import { useQuery } from '@apollo/client/react';
import { AccessUnitsDocument, AdminUsersDocument, type AdminUsersQuery } from '../graphql/generated';
import { useSession } from '../auth/MeContext';
import { ErrorMessage, Loading } from '../common/Status';
import { roleLabel } from '../common/format';
import { AccessEditor } from './AccessEditor';
import { SignInLog } from './SignInLog';

export function UsersPage() {
  const { me } = useSession();
  // Whoever may manage people (admins) edits access and reads the sign-in log; a partner admin only reads.
  const isAdmin = me.can.manageUsers;
  const users = useQuery(AdminUsersDocument, { fetchPolicy: 'cache-and-network' });
  const units = useQuery(AccessUnitsDocument, { skip: !isAdmin });
  const [editing, setEditing] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const allUnits = units.data?.businessUnits ?? [];
  const columns = isAdmin ? 6 : 4;

  return (
    <div className="admin-page">
      <div className="page-head">
        <h1>Users</h1>
        {!isAdmin && me.organization && <span className="muted">People of {me.organization.name}</span>}
      </div>
      {saved && <div className="banner info" role="status">{saved}</div>}
      <section className="panel" aria-labelledby="people-title">
        <h2 id="people-title" className="visually-hidden">People</h2>
        {users.error && !users.data && <ErrorMessage error={users.error} retry={() => void users.refetch()} />}
        {!users.data && !users.error && <Loading what="people" />}
        {users.data && (
          <div className="table-scroll">
            <table className="data" aria-label="People">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Business units</th>
                  {isAdmin && <th scope="col">Organisation</th>}
                  {isAdmin && <th scope="col"><span className="visually-hidden">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {users.data.users.map((user) => (
                  <UserRows key={user.id} user={user} isAdmin={isAdmin} editing={editing === user.id} columns={columns}
                    units={allUnits}
                    onEdit={() => { setSaved(null); setEditing(user.id); }}
                    onDone={(didSave) => {
                      setEditing(null);
                      if (didSave) setSaved(`Saved ${user.displayName}’s access.`);
                    }} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {isAdmin && <SignInLog />}
    </div>
  );
}

function UserRows({ user, isAdmin, editing, columns, units, onEdit, onDone }: {
  user: AdminUsersQuery['users'][number];
  isAdmin: boolean; editing: boolean; columns: number; units: readonly { code: string; name: string }[];
  onEdit: () => void; onDone: (saved: boolean) => void;
}) {
  return (
    <>
      <tr data-user={user.email}>
        <td>{user.displayName}</td>
        <td>{user.email}</td>
        <td><span className="badge neutral" data-role={user.role}>{roleLabel(user.role)}</span></td>
        <td>{user.businessUnits.map((u) => u.name).sort().join(', ') || <span className="muted">—</span>}</td>
        {isAdmin && <td>{user.organization?.name ?? <span className="muted">—</span>}</td>}
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
