/**
 * The select_organization step's input (and offboard_partner's start input): a choice among the organisations
 * the person may see that are not offboarded, instead of an id to paste. `organizations` lists new ones too,
 * which have nobody in them yet.
 */
import { useQuery } from '@apollo/client/react';
import { PickableOrganizationsDocument } from '../graphql/generated';
import type { WidgetProps } from '../common/schemaForm/SchemaForm';

export function OrganizationPicker({ id, value, onChange, invalid, describedBy, required }: WidgetProps) {
  const { data, loading, error } = useQuery(PickableOrganizationsDocument, { fetchPolicy: 'cache-and-network' });
  const organizations = (data?.organizations ?? []).filter((o) => !o.offboardedAt);
  return (
    <>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        aria-required={required || undefined}
        disabled={loading && organizations.length === 0}
      >
        <option value="">{loading && organizations.length === 0 ? 'Loading organisations…' : 'Choose an organisation…'}</option>
        {organizations.map((o) => (
          <option key={o.id} value={o.id}>{o.name}</option>
        ))}
      </select>
      {error && <p className="field-error">Could not load the organisations: {error.message}</p>}
    </>
  );
}
