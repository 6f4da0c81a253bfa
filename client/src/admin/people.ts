/**
 * The users table's model, without React: a person's status as the table shows it, the filters, and the CSV
 * of the filtered rows.
 *
 * Filtering happens here, in the browser, over the whole `users` list: an organisation has hundreds of people,
 * not hundreds of thousands, the list is loaded once for the table anyway, and every keystroke of the search
 * answers without a round trip. If the list ever grows past a few thousand, `users` should take the filters
 * and page, as `activityLog` does.
 *
 * Out of scope: who appears in the list at all (the server's `users` decides, policies/user.ts).
 */
import type { PersonRowFragment } from '../graphql/generated.js';
import { toCsv } from '../common/csv.js';

export type Person = PersonRowFragment;

/** active, deactivated, or locked (active, but failed sign-ins locked them until `lockedUntil`). */
export type PersonStatus = 'ACTIVE' | 'DEACTIVATED' | 'LOCKED';

/** A lock in the past is over: `now` decides, so the table can say so without a refetch. */
export function statusOf(person: Person, now = Date.now()): PersonStatus {
  if (!person.active) return 'DEACTIVATED';
  if (person.lockedUntil && Date.parse(person.lockedUntil) > now) return 'LOCKED';
  return 'ACTIVE';
}

export interface PeopleFilters {
  /** Part of the name or email, any case. */
  search: string;
  /** A Role, or '' for any. */
  role: string;
  /** A business unit code, '' for any, or NO_UNIT for people without one. */
  unit: string;
  /** '' (anyone), or a PersonStatus. */
  status: '' | PersonStatus;
}

export const NO_FILTERS: PeopleFilters = { search: '', role: '', unit: '', status: '' };
export const NO_UNIT = '-';

export function filterPeople(people: readonly Person[], filters: PeopleFilters, now = Date.now()): Person[] {
  const needle = filters.search.trim().toLowerCase();
  return people.filter((p) => {
    if (needle && !p.displayName.toLowerCase().includes(needle) && !p.email.toLowerCase().includes(needle)) return false;
    if (filters.role && p.role !== filters.role) return false;
    if (filters.unit === NO_UNIT ? p.businessUnits.length > 0 : filters.unit && !p.businessUnits.some((u) => u.code === filters.unit)) return false;
    if (filters.status && statusOf(p, now) !== filters.status) return false;
    return true;
  });
}

/** "Active", "Deactivated", "Locked until <when>" (`formatWhen` writes the time, short for today). */
export function statusLabel(person: Person, formatWhen: (iso: string) => string, now = Date.now()): string {
  const status = statusOf(person, now);
  if (status === 'LOCKED') return `Locked until ${formatWhen(person.lockedUntil!)}`;
  return status === 'ACTIVE' ? 'Active' : 'Deactivated';
}

export const unitList = (person: Person) => person.businessUnits.map((u) => u.name).sort().join(', ');

/**
 * The rows as CSV (common/csv.ts: quoting, and text a spreadsheet would run as a formula neutralised; a
 * display name is typed by an admin or comes from Entra ID, so it may start with = or @). Times are ISO, so
 * that a spreadsheet sorts them. `roleLabel` names a role as the page does (common/format.tsx, which is JSX and
 * stays out of this module so that tests load it without a bundler).
 */
export function peopleCsv(people: readonly Person[], roleLabel: (role: string) => string, now = Date.now()): string {
  return toCsv(
    ['Name', 'Email', 'Role', 'Kind', 'Business units', 'Organisation', 'Status', 'Locked until', 'Last sign-in', 'Two-factor'],
    people.map((p) => [
      p.displayName,
      p.email,
      roleLabel(p.role),
      p.kind === 'SERVICE' ? 'Service' : 'Person',
      p.businessUnits.map((u) => u.code).sort().join(' '),
      p.organization?.name ?? '',
      statusOf(p, now) === 'DEACTIVATED' ? 'Deactivated' : statusOf(p, now) === 'LOCKED' ? 'Locked' : 'Active',
      statusOf(p, now) === 'LOCKED' ? p.lockedUntil : '',
      p.lastSignInAt ?? '',
      p.totpEnabled ? 'On' : 'Off',
    ]),
  );
}
