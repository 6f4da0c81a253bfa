/**
 * The select_organization step's input (and offboard_partner's start input): a choice among the organisations
 * the person may see that are not offboarded, instead of an id to paste. `organizations` lists new ones too,
 * which have nobody in them yet.
 */
import { useQuery } from '@apollo/client/react';
import { PickableOrganizationsDocument } from '../graphql/generated';
import type { WidgetProps } from '../common/schemaForm/SchemaForm';
import { PickerSelect } from './PickerSelect';

export function OrganizationPicker(props: WidgetProps) {
  const { data, loading, error } = useQuery(PickableOrganizationsDocument, { fetchPolicy: 'cache-and-network' });
  const options = (data?.organizations ?? []).filter((o) => !o.offboardedAt).map((o) => ({ value: o.id, label: o.name }));
  return <PickerSelect {...props} options={options} loading={loading} error={error} things="organisations" placeholder="Choose an organisation…" />;
}
