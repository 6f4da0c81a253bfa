/**
 * Changing several people at once (admins): their role, their business units, or deactivating them.
 *
 * Sent as one call per person, one after the other, with each person's outcome shown, rather than as one
 * atomic batch mutation: each change is the ordinary `setUserAccess` / `deactivateUser` with its own activity
 * entry and its own effect on the person's open sockets, and a refusal for one person (the last admin, a
 * partner role for someone outside a partner organisation) says nothing about the others. Doing the rest and
 * listing who was refused and why lets the admin fix those few, where an all-or-nothing batch would send them
 * back to find the one row that stopped thirty. Calls go one at a time so that the server's last-admin check
 * sees each earlier change (several admins demoted together cannot each be "not the last").
 */
import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { DeactivateUserDocument, SetUserAccessDocument, type Role } from '../graphql/generated';
import { problemOf } from '../common/errors';
import { roleLabel } from '../common/format';
import { ROLES } from './AccessEditor';
import { Modal } from '../common/Dialogs';
import { UnitChoices } from './peopleActions';
import type { Person } from './people';

export type BulkKind = 'role' | 'units' | 'deactivate';
type UnitMode = 'add' | 'remove' | 'replace';

interface Outcome {
  id: string;
  ok: boolean;
  message: string;
}

const TITLES: Record<BulkKind, (n: number) => string> = {
  role: (n) => `Change the role of ${n} ${n === 1 ? 'person' : 'people'}`,
  units: (n) => `Change the business units of ${n} ${n === 1 ? 'person' : 'people'}`,
  deactivate: (n) => `Deactivate ${n} ${n === 1 ? 'person' : 'people'}?`,
};

/** The units a person has after the change. */
function unitsAfter(person: Person, mode: UnitMode, codes: string[]): string[] {
  const current = person.businessUnits.map((u) => u.code);
  if (mode === 'replace') return [...codes];
  if (mode === 'add') return [...new Set([...current, ...codes])];
  return current.filter((c) => !codes.includes(c));
}

export function BulkChangeDialog({ kind, people, units, onClose }: {
  kind: BulkKind; people: readonly Person[]; units: readonly { code: string; name: string }[];
  /** The ids whose change went through (to leave the selection), or none when cancelled. */
  onClose: (succeeded: string[]) => void;
}) {
  const [role, setRole] = useState<Role>('VIEWER');
  const [mode, setMode] = useState<UnitMode>('add');
  const [codes, setCodes] = useState<string[]>([]);
  const [outcomes, setOutcomes] = useState<Outcome[] | null>(null);
  const [running, setRunning] = useState(false);
  const [setAccess] = useMutation(SetUserAccessDocument);
  const [deactivate] = useMutation(DeactivateUserDocument);

  const run = async () => {
    setRunning(true);
    const results: Outcome[] = [];
    for (const person of people) {
      try {
        if (kind === 'deactivate') await deactivate({ variables: { userId: person.id } });
        else {
          const businessUnitCodes = kind === 'units' ? unitsAfter(person, mode, codes) : person.businessUnits.map((u) => u.code);
          await setAccess({ variables: { userId: person.id, role: kind === 'role' ? role : person.role, businessUnitCodes } });
        }
        results.push({ id: person.id, ok: true, message: kind === 'deactivate' ? 'Deactivated' : 'Saved' });
      } catch (error) {
        results.push({ id: person.id, ok: false, message: problemOf(error).message });
      }
      // Shown as they come, so a long run visibly progresses.
      setOutcomes([...results]);
    }
    setRunning(false);
  };

  const done = outcomes !== null && !running;
  const close = () => onClose(outcomes?.filter((o) => o.ok).map((o) => o.id) ?? []);
  const outcomeOf = (id: string) => outcomes?.find((o) => o.id === id);
  const failed = outcomes?.filter((o) => !o.ok).length ?? 0;

  return (
    <Modal title={TITLES[kind](people.length)} onCancel={() => (running ? undefined : close())} wide>
      {outcomes === null && kind === 'role' && (
        <label>
          New role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{roleLabel(r)}</option>)}
          </select>
        </label>
      )}
      {outcomes === null && kind === 'units' && (
        <>
          <fieldset className="unit-modes">
            <legend className="visually-hidden">How</legend>
            {(['add', 'remove', 'replace'] as const).map((m) => (
              <label key={m} className="check">
                <input type="radio" name="unit-mode" checked={mode === m} onChange={() => setMode(m)} />
                {m === 'add' ? 'Add these units' : m === 'remove' ? 'Remove these units' : 'Replace their units with these'}
              </label>
            ))}
          </fieldset>
          <UnitChoices units={units} codes={codes} onChange={setCodes} />
        </>
      )}
      {outcomes === null && kind === 'deactivate' && (
        <p>They are signed out everywhere at once: their open grids and views close and signing in fails. You can reactivate them later.</p>
      )}
      {outcomes === null && kind !== 'deactivate' && (
        <p className="small muted">Each person’s change takes effect at once, one after the other; their open grids and views follow their new rights.</p>
      )}
      <ul className="bulk-people" aria-label="People in this change">
        {people.map((p) => {
          const outcome = outcomeOf(p.id);
          return (
            <li key={p.id} data-bulk-user={p.email} data-outcome={outcome ? (outcome.ok ? 'ok' : 'refused') : undefined}>
              <span>{p.displayName} <span className="muted">{p.email}</span></span>
              {outcome?.ok && <span className="badge good">{outcome.message}</span>}
              {outcome && !outcome.ok && <span className="refusal" role="note">Refused: {outcome.message}</span>}
            </li>
          );
        })}
      </ul>
      {done && (
        <p role="status" className={failed ? 'banner warn' : 'banner info'}>
          {failed === 0 ? `Done: all ${outcomes.length} changed.` : `${outcomes.length - failed} changed, ${failed} refused (see above): the rest went through.`}
        </p>
      )}
      <div className="form-actions">
        {outcomes === null ? (
          <>
            <button type="button" className={kind === 'deactivate' ? 'danger' : undefined} onClick={() => void run()}
              disabled={kind === 'units' && codes.length === 0 && mode !== 'replace'}>
              {kind === 'deactivate' ? 'Deactivate' : 'Apply to all'}
            </button>
            <button type="button" className="secondary" onClick={() => onClose([])}>Cancel</button>
          </>
        ) : (
          <button type="button" onClick={close} disabled={running}>{running ? 'Working…' : 'Close'}</button>
        )}
      </div>
    </Modal>
  );
}
