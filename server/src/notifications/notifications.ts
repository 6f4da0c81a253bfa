/**
 * Reading and marking a person's notifications. Always the caller's own (recipient = viewer, in the WHERE
 * clause), and notifications of a unit (a cell's, a budget submission's) only while the caller may read the unit
 * (policies/notification.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { badUserInput } from '../errors.js';
import { notificationUnits } from '../policies/notification.js';
import type { Viewer } from '../policies/viewer.js';
import { fromRow, NOTIFICATION_COLUMNS, NOTIFICATION_SOURCES, type NotificationRecord, type StoredNotificationRow } from './events.js';

export const DEFAULT_NOTIFICATIONS = 50;
export const MAX_NOTIFICATIONS = 200;
/** More ids than a page could ever show are a client's mistake, not something to run. */
const MAX_IDS = 1000;

/**
 * SQL (on NOTIFICATION_SOURCES) for the notifications of a unit the viewer may still see: a cell's (its line's unit)
 * and a budget submission's (its execution's unit: the review's outcome and comment, a step to answer). A leader
 * moved to another unit no longer reads the old unit's, as the execution itself is no longer theirs to read.
 */
function unitCondition(viewer: Viewer): { sql: string; params: unknown[] } {
  const units = notificationUnits(viewer);
  const unit = 'coalesce(l.business_unit_id, e.business_unit_id)';
  if (units.kind === 'all') return { sql: 'TRUE', params: [] };
  if (units.kind === 'none') return { sql: `${unit} IS NULL`, params: [] };
  const ids = [...units.where.unitIds];
  return { sql: `(${unit} IS NULL OR ${unit} IN (${ids.map(() => '?').join(', ')}))`, params: ids };
}

export async function listNotifications(
  em: EntityManager,
  viewer: Viewer,
  options: { first: number | null; unreadOnly: boolean },
): Promise<NotificationRecord[]> {
  // The policy first, before any early answer: a root field that answers without asking it is refused (graphql/policyGuard.ts).
  const units = unitCondition(viewer);
  const first = options.first ?? DEFAULT_NOTIFICATIONS;
  if (!Number.isInteger(first) || first < 0 || first > MAX_NOTIFICATIONS) {
    throw badUserInput(`first must be between 0 and ${MAX_NOTIFICATIONS}`, 'first');
  }
  if (first === 0) return [];
  const rows = await em.getConnection().execute<StoredNotificationRow[]>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM ${NOTIFICATION_SOURCES}
      WHERE n.recipient_id = ? ${options.unreadOnly ? 'AND n.read_at IS NULL' : ''} AND ${units.sql}
      ORDER BY n.id DESC LIMIT ${first}`,
    [viewer.userId, ...units.params],
  );
  return rows.map(fromRow);
}

/** Marks the caller's own unread notifications read (those of `ids`, or all); others' ids are ignored. How many. */
export async function markNotificationsRead(em: EntityManager, viewer: Viewer, ids: string[] | null): Promise<number> {
  // Only the caller's own rows are touched (recipient_id below); the policy is asked before any early answer
  // (an empty list), as the root-field guard requires (graphql/policyGuard.ts).
  notificationUnits(viewer);
  if (ids !== null) {
    if (ids.length > MAX_IDS) throw badUserInput(`At most ${MAX_IDS} ids at once`, 'ids');
    const bad = ids.find((id) => !/^[0-9]{1,18}$/.test(id));
    if (bad !== undefined) throw badUserInput('Not a notification id', 'ids');
    if (ids.length === 0) return 0;
  }
  const rows = await em.getConnection().execute<{ id: string }[]>(
    `UPDATE notification SET read_at = now() WHERE recipient_id = ? AND read_at IS NULL
     ${ids !== null ? `AND id IN (${ids.map(() => '?').join(', ')})` : ''} RETURNING id`,
    [viewer.userId, ...(ids ?? [])],
  );
  return rows.length;
}

/** The notifications of these ids (what the feed announces), whoever they are for. */
export async function loadNotifications(em: EntityManager, ids: string[]): Promise<NotificationRecord[]> {
  if (ids.length === 0) return [];
  const rows = await em.getConnection().execute<StoredNotificationRow[]>(
    `SELECT ${NOTIFICATION_COLUMNS} FROM ${NOTIFICATION_SOURCES}
      WHERE n.id IN (${ids.map(() => '?').join(', ')}) ORDER BY n.id`,
    ids,
  );
  return rows.map(fromRow);
}
