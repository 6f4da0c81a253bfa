/** How activity entries read, on screen and in the CSV export (one place, so both say the same). */
import { toCsv } from '../common/csv';
import type { ActivityLogQuery } from '../graphql/generated';

export type ActivityEntry = ActivityLogQuery['activityLog']['edges'][number]['node'];

/** The contract's actions, in the order the filter offers them, with how people say them. */
export const ACTION_LABELS: Record<string, string> = {
  USER_CREATED: 'Person created',
  USER_ACCESS_CHANGED: 'Access changed',
  PASSWORD_RESET: 'Password reset',
  PASSWORD_CHANGED: 'Password changed',
  USER_DEACTIVATED: 'Person deactivated',
  USER_REACTIVATED: 'Person reactivated',
  USER_DELETED: 'Person deleted',
  USER_UNLOCKED: 'Person unlocked',
  TOTP_ENABLED: 'Two-factor on',
  TOTP_DISABLED: 'Two-factor off',
  ACCESS_TOKEN_CREATED: 'Access token created',
  ACCESS_TOKEN_REVOKED: 'Access token revoked',
  SERVICE_ACCOUNT_CREATED: 'Service account created',
  SERVICE_ACCOUNT_ENTRA_APP_LINKED: 'Service account linked to an Entra app',
  SERVICE_ACCOUNT_ENTRA_APP_UNLINKED: 'Service account unlinked from its Entra app',
  PLAN_CREATED: 'Plan created',
  PLAN_STATUS_CHANGED: 'Plan opened or closed',
  PLAN_SUBMISSION_RULE_CHANGED: 'Complete budgets required or not',
  PLAN_RENAMED: 'Plan renamed',
  LINES_ADDED: 'Lines added',
  LINES_REMOVED: 'Lines removed',
  UNIT_CREATED: 'Business unit created',
  UNIT_RENAMED: 'Business unit renamed',
  VALUES_IMPORTED: 'Values imported',
  ORGANIZATION_RENAMED: 'Organisation renamed',
  ORGANIZATION_DELETED: 'Organisation deleted',
  EXECUTION_CANCELLED: 'Workflow cancelled',
  SUBMISSION_WITHDRAWN: 'Submission withdrawn',
  SUBMISSION_REOPENED: 'Submission reopened',
  WEBHOOK_CREATED: 'Webhook created',
  WEBHOOK_DELETED: 'Webhook deleted',
  ACCESS_REMOVED: 'Access removed (offboarding)',
  PARTNER_GROUP_CLOSED: 'Partner company or group closed',
  ORGANIZATION_OFFBOARDED: 'Organisation offboarded',
};

export const actionLabel = (action: string) => ACTION_LABELS[action] ?? action;

/** The details object in a line ("role: ADMIN → VIEWER, reason: …"), or an em dash. */
export function detailsText(details: unknown): string {
  if (details === null || details === undefined || typeof details !== 'object') return '—';
  const parts = Object.entries(details as Record<string, unknown>).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return parts.length > 0 ? parts.join(', ') : '—';
}

export function activityCsv(entries: readonly ActivityEntry[]): string {
  return toCsv(
    ['at', 'action', 'actor', 'subject', 'details'],
    entries.map((e) => [e.at, e.action, e.actor?.email ?? 'system', e.subject, e.details == null ? '' : JSON.stringify(e.details)]),
  );
}
