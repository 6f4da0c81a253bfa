/**
 * Notifications as they are stored, read and published live. Rows are written by database triggers
 * (migrations/Migration20261203180000_Notifications.ts), except a reopened budget's (submissionReopened.ts: its
 * reason is the request's, not the row's); each instance reads back the
 * rows PostgreSQL announces (notificationFeed.ts) and publishes them on its own bus under NOTIFICATION_ADDED.
 */
export const NOTIFICATION_KINDS = ['CELL_OVERWRITTEN', 'SUBMISSION_REVIEWED', 'STEP_AWAITING_INPUT', 'STEP_FAILED'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationRecord {
  id: string;
  recipientId: string;
  kind: NotificationKind;
  at: Date;
  readAt: Date | null;
  message: string;
  lineId: string | null;
  /** The unit of the line, when there is one: whether the recipient may still read it decides delivery. */
  businessUnitId: string | null;
  column: string | null;
  actorId: string | null;
  executionId: string | null;
}

export type NotificationTopics = {
  /** A notification committed, on every instance (each hears PostgreSQL's announcement itself): local only. */
  NOTIFICATION_ADDED: NotificationRecord;
};

export interface StoredNotificationRow {
  id: string;
  recipient_id: string;
  kind: NotificationKind;
  at: Date;
  read_at: Date | null;
  message: string;
  line_id: string | null;
  business_unit_id: string | null;
  column_name: string | null;
  actor_id: string | null;
  execution_id: string | null;
}

export function fromRow(row: StoredNotificationRow): NotificationRecord {
  return {
    id: String(row.id),
    recipientId: row.recipient_id,
    kind: row.kind,
    at: new Date(row.at),
    readAt: row.read_at === null ? null : new Date(row.read_at),
    message: row.message,
    lineId: row.line_id,
    businessUnitId: row.business_unit_id,
    column: row.column_name,
    actorId: row.actor_id,
    executionId: row.execution_id,
  };
}

/** The columns every read selects (`n` the notification, `l` its line, left-joined). */
export const NOTIFICATION_COLUMNS =
  'n.id, n.recipient_id, n.kind, n.at, n.read_at, n.message, n.line_id, coalesce(l.business_unit_id, e.business_unit_id) AS business_unit_id, n.column_name, n.actor_id, n.execution_id';
/**
 * What NOTIFICATION_COLUMNS reads from: the notification, the line of a cell's and the execution of a workflow's,
 * whose units (a budget submission's) are the notification's unit.
 */
export const NOTIFICATION_SOURCES =
  'notification n LEFT JOIN budget_line l ON l.id = n.line_id LEFT JOIN workflow_execution e ON e.id = n.execution_id';
