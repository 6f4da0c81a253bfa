/**
 * The activity log: one entry for every action of the contract's list ("Activity log" in CONTRACT.md v1.1),
 * written with the EntityManager of the change, so that it commits or rolls back with it: there is never a
 * change without its entry, nor an entry for a change that did not happen.
 *
 * Out of scope: cell edits (the audit log, budget/CellChange.ts, has them) and sign-ins (auth/SignInEvent.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlClient } from '../db/sql.js';
import { ActivityEntry } from './ActivityEntry.js';

export const ACTIVITY_ACTIONS = [
  'USER_CREATED',
  'USER_ACCESS_CHANGED',
  'PASSWORD_RESET',
  'PASSWORD_CHANGED',
  'USER_DEACTIVATED',
  'USER_REACTIVATED',
  'USER_DELETED',
  'USER_UNLOCKED',
  'TOTP_ENABLED',
  'TOTP_DISABLED',
  'ACCESS_TOKEN_CREATED',
  'ACCESS_TOKEN_REVOKED',
  'SERVICE_ACCOUNT_CREATED',
  'SERVICE_ACCOUNT_ENTRA_APP_LINKED',
  'SERVICE_ACCOUNT_ENTRA_APP_UNLINKED',
  'PLAN_CREATED',
  'PLAN_STATUS_CHANGED',
  // Whether the plan's units may be submitted only complete (setBudgetPlanRequireCompleteSubmission): it
  // decides what the units' leaders may do.
  'PLAN_SUBMISSION_RULE_CHANGED',
  'PLAN_RENAMED',
  'LINES_ADDED',
  'LINES_REMOVED',
  'UNIT_CREATED',
  'UNIT_RENAMED',
  'VALUES_IMPORTED',
  'ORGANIZATION_RENAMED',
  'ORGANIZATION_DELETED',
  'EXECUTION_CANCELLED',
  'SUBMISSION_WITHDRAWN',
  'SUBMISSION_REOPENED',
  'WEBHOOK_CREATED',
  'WEBHOOK_DELETED',
  // Offboarding (workflow/offboarding.ts): each access removed in another system, each of an organisation's
  // companies and groups closed there, and the organisation offboarded.
  'ACCESS_REMOVED',
  'PARTNER_GROUP_CLOSED',
  'ORGANIZATION_OFFBOARDED',
] as const;
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/** Who acted: the viewer of the request (its id and email), or null for the system itself. */
export interface Actor {
  userId: string;
  email: string;
}

/**
 * Adds one entry to `em`'s unit of work: it is written by the caller's next flush, inside the caller's
 * transaction when there is one (`em.transactional`), so call it where the change is made.
 */
export function recordActivity(
  em: EntityManager,
  actor: Actor | null,
  action: ActivityAction,
  subject: string,
  details?: Record<string, unknown>,
): ActivityEntry {
  const entry = em.create(ActivityEntry, {
    action,
    actorId: actor?.userId ?? null,
    actorEmail: actor?.email ?? null,
    subject,
    details: details ?? null,
  });
  em.persist(entry);
  return entry;
}

/**
 * The same entry written on a plain SQL transaction's connection (db/sql.ts), for changes made there (the
 * prior-year actuals load, workflow/priorYearActuals.ts): it commits or rolls back with them.
 */
export async function recordActivityOn(
  client: SqlClient,
  actor: Actor | null,
  action: ActivityAction,
  subject: string,
  details?: Record<string, unknown>,
): Promise<void> {
  await client.query(
    'INSERT INTO activity_entry (action, actor_id, actor_email, subject, details) VALUES ($1, $2, $3, $4, $5::jsonb)',
    [action, actor?.userId ?? null, actor?.email ?? null, subject, details ? JSON.stringify(details) : null],
  );
}
