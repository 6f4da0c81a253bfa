/**
 * The offboard_partner_user start input: a choice among the active people of partner organisations the person
 * may see (an admin: every organisation's; a partner admin: their own organisation's), instead of an id to
 * paste. Whether they may offboard the one chosen is still the server's to say.
 */
import { useQuery } from '@apollo/client/react';
import { PickablePeopleDocument } from '../graphql/generated';
import type { WidgetProps } from '../common/schemaForm/SchemaForm';
import { useSession } from '../auth/MeContext';

export function PersonPicker({ id, value, onChange, invalid, describedBy, required }: WidgetProps) {
  const { me } = useSession();
  const { data, loading, error } = useQuery(PickablePeopleDocument, { fetchPolicy: 'cache-and-network' });
  const people = (data?.users ?? []).filter((u) => u.active && u.organization && u.id !== me.id);
  return (
    <>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        aria-required={required || undefined}
        disabled={loading && people.length === 0}
      >
        <option value="">{loading && people.length === 0 ? 'Loading people…' : 'Choose a person…'}</option>
        {people.map((p) => (
          <option key={p.id} value={p.id}>{`${p.displayName} <${p.email}> · ${p.organization!.name}`}</option>
        ))}
      </select>
      {error && <p className="field-error">Could not load the people: {error.message}</p>}
    </>
  );
}
