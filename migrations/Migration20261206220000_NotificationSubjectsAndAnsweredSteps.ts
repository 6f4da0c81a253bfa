import { Migration } from '@mikro-orm/migrations';

/**
 * Notifications that say what they are about. A workflow step's notification named only the step ("Finance
 * review" awaits your input): with five units submitting, an analyst's five notifications read the same. Now
 * they name the unit and the plan of a budget submission, or the organisation of a partner workflow:
 * "Finance review" of Sales North in FY2027 Budget awaits your input. A review's outcome is said in words
 * (was rejected by ..., not was REJECTED by ...). The triggers are those of Migration20261203180000_Notifications
 * and Migration20261203190000_ReviewLoop, otherwise unchanged.
 *
 * And a step's "awaits your input" is read once the step no longer waits: answered by anyone who may (an admin,
 * another analyst), or its execution finished or cancelled. It used to stay unread in the bell of everyone else
 * told, asking for what was done. A notification keeps its step (`step_key`) for that.
 */
export class Migration20261206220000_NotificationSubjectsAndAnsweredSteps extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create or replace function notification_subject(p_event workflow_event) returns text language sql stable as $$
  select coalesce(
    (select format(' of %s in %s', b.name, p.name)
       from budget_submission s join business_unit b on b.id = s.business_unit_id join budget_plan p on p.id = s.plan_id
      where s.execution_id = p_event.execution_id limit 1),
    (select format(' of %s', b.name) from business_unit b where b.id = p_event.business_unit_id),
    (select format(' for %s', o.name) from organization o where o.id = p_event.organization_id),
    '');
$$;`);
    this.addSql(`alter table "notification" add column "step_key" text null;`);
    // What the trigger below looks up on every workflow event, and what deleting an execution cascades to: an
    // index, so that neither reads the whole table (every person's cell notifications are in it too).
    this.addSql(`create index "notification_execution_id_index" on "notification" ("execution_id") where "execution_id" is not null;`);
    this.addSql(workflowEventFunction(`notification_subject(new)`, true));
    this.addSql(submissionReviewedFunction(`lower(new.status::text)`));
    this.addSql(`
create function notification_on_step_moved_on() returns trigger language plpgsql as $$
begin
  update notification set read_at = new.at
   where execution_id = new.execution_id and kind = 'STEP_AWAITING_INPUT' and read_at is null
     and (new.step_key is null or step_key = new.step_key);
  return null;
end $$;`);
    // A step that no longer waits (running with its input, done, failed, skipped), or the execution's end.
    this.addSql(`create trigger notification_step_moved_on after insert on workflow_event for each row when ((new.step_key is not null and new.status <> 'AWAITING_INPUT') or (new.step_key is null and new.execution_status in ('COMPLETED', 'FAILED', 'CANCELLED'))) execute function notification_on_step_moved_on();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists notification_step_moved_on on workflow_event;`);
    this.addSql(`drop function if exists notification_on_step_moved_on();`);
    this.addSql(workflowEventFunction(`''`, false));
    this.addSql(`drop index if exists "notification_execution_id_index";`);
    this.addSql(`alter table "notification" drop column "step_key";`);
    this.addSql(submissionReviewedFunction(`new.status`));
    this.addSql(`drop function if exists notification_subject(workflow_event);`);
  }
}

/**
 * The workflow events' notifications; `subject` is text put after the step's name (empty: none); `withStep`:
 * each keeps its step's key.
 */
function workflowEventFunction(subject: string, withStep: boolean): string {
  const stepColumn = withStep ? ', step_key' : '';
  const stepValue = withStep ? ', new.step_key' : '';
  return `
create or replace function notification_on_workflow_event() returns trigger language plpgsql as $$
declare
  step_name text;
  step_error text;
  subject text;
begin
  select s.name, s.error into step_name, step_error from step_execution s where s.execution_id = new.execution_id and s.key = new.step_key;
  subject := ${subject};
  if new.status = 'AWAITING_INPUT' then
    insert into notification (recipient_id, kind, at, message, execution_id${stepColumn})
    select u.id, 'STEP_AWAITING_INPUT', new.at, format('"%s"%s awaits your input', coalesce(step_name, new.step_key), subject), new.execution_id${stepValue}
      from app_user u
     where u.kind = 'PERSON' and u.active and u.deleted_at is null and notification_may_answer(u, new);
  elsif new.status = 'FAILED' then
    insert into notification (recipient_id, kind, at, message, execution_id${stepColumn})
    select u.id, 'STEP_FAILED', new.at, format('"%s"%s failed%s', coalesce(step_name, new.step_key), subject, coalesce(': ' || left(step_error, 500), '')), new.execution_id${stepValue}
      from app_user u
     where u.kind = 'PERSON' and u.active and u.deleted_at is null
       and (u.role = 'ADMIN' or u.id = (select x.requested_by_id from workflow_execution x where x.id = new.execution_id));
  end if;
  return null;
end $$;`;
}

/** A review's outcome to the unit's leaders and whoever submitted; `status` says the outcome. */
function submissionReviewedFunction(status: string): string {
  return `
create or replace function notification_on_submission_reviewed() returns trigger language plpgsql as $$
declare
  review jsonb;
  comment text;
begin
  select s.input into review from step_execution s where s.execution_id = new.execution_id and s.key = 'finance_review';
  comment := coalesce(nullif(new.review_comment, ''), nullif(review->>'comment', ''));
  insert into notification (recipient_id, kind, message, execution_id, actor_id)
  select r.id, 'SUBMISSION_REVIEWED',
         format('The budget of %s in %s was %s%s%s', b.name, p.name, ${status},
                coalesce(' by ' || (select a.display_name from app_user a where a.id = new.reviewed_by_id), ''),
                coalesce(': ' || comment, '')),
         new.execution_id, new.reviewed_by_id
    from (select m.user_id as id from user_business_unit m join app_user u on u.id = m.user_id
           where m.business_unit_id = new.business_unit_id and u.role = 'BU_LEADER'
          union select new.submitted_by_id where new.submitted_by_id is not null) r,
         business_unit b, budget_plan p
   where b.id = new.business_unit_id and p.id = new.plan_id and notification_is_person(r.id);
  return null;
end $$;`;
}
