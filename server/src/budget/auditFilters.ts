/**
 * The audit log's filters as the query applies them, and the cursor kind that ties a cursor to them: a
 * cursor is "<kind>:<id>" (graphql/connections.ts), and with filters the kind carries a digest of them, so a
 * cursor given out for one filtered view is refused (BAD_USER_INPUT) by any other instead of paging it
 * silently. Unfiltered cursors keep the kind they always had (`lineId` is not part of the digest: it narrows
 * as before, with the cursors it always had), and a plan, the filter added last, joins the digest only when
 * given, so that the cursors of the other filters stay good across the upgrade that added it.
 */
import { createHash } from 'node:crypto';
import { badUserInput } from '../errors.js';

const BASE_KIND = 'cell_change';
/** Longer than any column name or email: nothing to look for. */
const MAX_FILTER_LENGTH = 320;

export interface AuditFilters {
  /** A plan's id, checked by the caller (it must name a plan the person may read). */
  planId: string | null;
  businessUnitCode: string | null;
  /** Lower-cased, as accounts store it. */
  userEmail: string | null;
  column: string | null;
  since: Date | null;
  until: Date | null;
}

function text(value: string | null, argument: string, lowerCase = false): string | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (trimmed.length > MAX_FILTER_LENGTH) throw badUserInput(`${argument} is longer than ${MAX_FILTER_LENGTH} characters`, argument);
  return lowerCase ? trimmed.toLowerCase() : trimmed;
}

/** Empty texts are no filter; `since` after `until` is BAD_USER_INPUT (a range that holds nothing is a mistake). */
export function normalizeAuditFilters(args: AuditFilters): AuditFilters {
  if (args.since != null && args.until != null && args.since.getTime() > args.until.getTime()) {
    throw badUserInput('since must not be after until', 'since');
  }
  return {
    planId: text(args.planId, 'planId'),
    businessUnitCode: text(args.businessUnitCode, 'businessUnitCode'),
    userEmail: text(args.userEmail, 'userEmail', true),
    column: text(args.column, 'column'),
    since: args.since,
    until: args.until,
  };
}

export function auditCursorKind(filters: AuditFilters): string {
  const given = [filters.businessUnitCode, filters.userEmail, filters.column, filters.since?.toISOString() ?? null, filters.until?.toISOString() ?? null];
  if (filters.planId !== null) given.push(filters.planId);
  if (given.every((value) => value === null)) return BASE_KIND;
  const digest = createHash('sha256').update(JSON.stringify(given)).digest('hex').slice(0, 16);
  return `${BASE_KIND}-${digest}`;
}
