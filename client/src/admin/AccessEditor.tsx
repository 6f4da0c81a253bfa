/**
 * Changing one person's role and business units (admins). Nothing is sent until the admin has read the
 * change back in a confirmation dialog, because it takes effect at once: the person's open grid and
 * GraphQL connections follow the new rights (server/src/directory/UserResolver.ts).
 */
import { useState } from 'react';
import { ConfirmDialog } from '../common/Dialogs';
import { useMutation } from '@apollo/client/react';
import { SetUserAccessDocument, type AdminUsersQuery, type Role } from '../graphql/generated';
import { problemOf, type ProblemInfo } from '../common/errors';
import { roleLabel } from '../common/format';

type User = AdminUsersQuery['users'][number];
export const ROLES: Role[] = ['ADMIN', 'ANALYST', 'BU_LEADER', 'VIEWER', 'PARTNER_ADMIN', 'PARTNER_USER'];
const PARTNER_ROLES: Role[] = ['PARTNER_ADMIN', 'PARTNER_USER'];

const unitNames = (codes: string[], units: readonly { code: string; name: string }[]) =>
  codes.length === 0 ? 'no unit' : codes.map((c) => units.find((u) => u.code === c)?.name ?? c).sort().join(', ');

function ConfirmAccessChange({ user, role, codes, units, busy, problem, onConfirm, onCancel }: {
  user: User; role: Role; codes: string[]; units: readonly { code: string; name: string }[];
  busy: boolean; problem: ProblemInfo | null; onConfirm: () => void; onCancel: () => void;
}) {
  const before = user.businessUnits.map((u) => u.code);
  const sameUnits = [...before].sort().join() === [...codes].sort().join();
  return (
    <ConfirmDialog title={`Change ${user.displayName}’s access?`} problem={problem} busy={busy}
      confirmLabel="Confirm change" busyLabel="Saving…" onConfirm={onConfirm} onCancel={onCancel}>
      <dl className="change-summary">
        <dt>Role</dt>
        <dd>{role === user.role ? `${roleLabel(role)} (unchanged)` : <>{roleLabel(user.role)} → <strong>{roleLabel(role)}</strong></>}</dd>
        <dt>Business units</dt>
        <dd>{sameUnits ? `${unitNames(codes, units)} (unchanged)` : <>{unitNames(before, units)} → <strong>{unitNames(codes, units)}</strong></>}</dd>
      </dl>
      <p className="small muted">It takes effect at once: their open grids and live views reconnect with the new rights.</p>
    </ConfirmDialog>
  );
}

export function AccessEditor({ user, units, onDone }: {
  user: User; units: readonly { code: string; name: string }[]; onDone: (saved: boolean) => void;
}) {
  const [role, setRole] = useState<Role>(user.role);
  const [codes, setCodes] = useState<string[]>(user.businessUnits.map((u) => u.code));
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<ProblemInfo | null>(null);
  const [save, { loading }] = useMutation(SetUserAccessDocument);
  const unchanged = role === user.role && [...codes].sort().join() === user.businessUnits.map((u) => u.code).sort().join();

  const confirm = async () => {
    setProblem(null);
    try {
      await save({ variables: { userId: user.id, role, businessUnitCodes: codes } });
      setConfirming(false);
      onDone(true);
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  return (
    <div className="access-editor" role="group" aria-label={`Access of ${user.displayName}`}>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            // Partner roles are for people of a partner organisation only (the server refuses the rest).
            <option key={r} value={r} disabled={PARTNER_ROLES.includes(r) && !user.organization}>{roleLabel(r)}</option>
          ))}
        </select>
      </label>
      <fieldset className="unit-choices">
        <legend>Business units</legend>
        {units.map((unit) => (
          <label key={unit.code} className="check">
            <input
              type="checkbox"
              checked={codes.includes(unit.code)}
              onChange={(e) => setCodes(e.target.checked ? [...codes, unit.code] : codes.filter((c) => c !== unit.code))}
            />
            {unit.name}
          </label>
        ))}
      </fieldset>
      <div className="form-actions">
        <button type="button" disabled={unchanged} onClick={() => { setProblem(null); setConfirming(true); }}>Review change…</button>
        <button type="button" className="secondary" onClick={() => onDone(false)}>Cancel</button>
      </div>
      {confirming && (
        <ConfirmAccessChange user={user} role={role} codes={codes} units={units} busy={loading} problem={problem}
          onConfirm={() => void confirm()} onCancel={() => { setConfirming(false); setProblem(null); }} />
      )}
    </div>
  );
}
