/**
 * The one notification this code writes itself (the others are written by database triggers, see events.ts):
 * SUBMISSION_REVIEWED to the unit's leaders and whoever submitted, when an admin reopens an approved budget
 * (workflow/reviewActions.ts `reopenSubmission`). The reason is the point of it and is known only to the request
 * (the row's review fields are cleared, the reason is not a column): a trigger could not say it. Written in the
 * reopen's transaction, so it exists exactly when the reopen does; the `notification_announce` trigger announces
 * it at the commit like any other (notificationFeed.ts).
 *
 * The contract's kinds are fixed; a reopen is the review's outcome taken back, so it is told as SUBMISSION_REVIEWED
 * ("... was reopened by <admin>: <reason>"), with the admin as actor and the review's execution, so that the
 * notification is of the unit (shown only while its recipient may read the unit, policies/notification.ts).
 */
import type { EntityManager } from '@mikro-orm/postgresql';

export async function notifySubmissionReopened(tx: EntityManager, submissionId: string, actorId: string, reason: string): Promise<void> {
  // Recipients as the review trigger's (Migration20261206220000): the unit's leaders and whoever submitted it.
  // tx.execute: on the reopen's own transaction.
  await tx.execute(
    `insert into notification (recipient_id, kind, message, execution_id, actor_id)
     select r.id, 'SUBMISSION_REVIEWED',
            format('The budget of %s in %s was reopened%s: %s', b.name, p.name,
                   coalesce(' by ' || (select a.display_name from app_user a where a.id = ?), ''), ?::text),
            s.execution_id, ?
       from budget_submission s
       join business_unit b on b.id = s.business_unit_id
       join budget_plan p on p.id = s.plan_id
       join lateral (select m.user_id as id from user_business_unit m join app_user u on u.id = m.user_id
                      where m.business_unit_id = s.business_unit_id and u.role = 'BU_LEADER'
                     union select s.submitted_by_id where s.submitted_by_id is not null) r on true
      where s.id = ? and r.id <> ? and notification_is_person(r.id)`,
    [actorId, reason, actorId, submissionId, actorId],
    'run',
  );
}
