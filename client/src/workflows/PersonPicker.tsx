/**
 * The offboard_partner_user start input: a choice among the active people of partner organisations the person
 * may see (an admin: every organisation's; a partner admin: their own organisation's), instead of an id to
 * paste. Whether they may offboard the one chosen is still the server's to say.
 */
import { useQuery } from '@apollo/client/react';
import { PickablePeopleDocument } from '../graphql/generated';
import type { WidgetProps } from '../common/schemaForm/SchemaForm';
import { useSession } from '../auth/MeContext';
import { PickerSelect } from './PickerSelect';

export function PersonPicker(props: WidgetProps) {
  const { me } = useSession();
  const { data, loading, error } = useQuery(PickablePeopleDocument, { fetchPolicy: 'cache-and-network' });
  const people = (data?.users ?? []).filter((u) => u.active && u.organization && u.id !== me.id);
  const options = people.map((p) => ({ value: p.id, label: `${p.displayName} <${p.email}> · ${p.organization!.name}` }));
  return <PickerSelect {...props} options={options} loading={loading} error={error} things="people" placeholder="Choose a person…" />;
}
