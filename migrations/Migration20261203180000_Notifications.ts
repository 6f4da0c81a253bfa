import { Migration } from '@mikro-orm/migrations';

/**
 * Notifications (server/src/notifications/): one row per person and event, written by triggers in the
 * transaction of the change itself, as the webhooks' outbox is (Migration20261203160200_Webhooks), so every
 * path that makes the change notifies (grid, API, batches, imports, restores, the actuals load, the workflow
 * engine of any instance) and nothing is written for a change that rolls back:
 * - CELL_OVERWRITTEN: a `cell_change` by a person over the value another person set last (the previous change
 *   of the same line and column), to that other person.
 * - SUBMISSION_REVIEWED: a submission becoming APPROVED or REJECTED, to the unit's leaders and whoever
 *   submitted it, with the reviewer's comment (the finance_review step's input). A deferred trigger: it runs
 *   at commit, when the step's input written in the same transaction is there whatever the order of writes.
 * - STEP_AWAITING_INPUT: a `workflow_event` of a manual step awaiting input, to the people who may give it.
 *   `notification_may_answer` mirrors policies/workflowExecution.ts `canProvideStepInput` and the steps'
 *   inputRoles (workflow/definitions.ts); notifications.test.ts checks the two agree for every role.
 * - STEP_FAILED: a `workflow_event` of a failed step, to the admins and whoever started the execution.
 * Recipients are active people (never service accounts). Whether a person may still read a cell's unit is
 * decided when the notification is read (notifications/notifications.ts), by the policies.
 * Live delivery: each new row is announced with pg_notify, which PostgreSQL sends at commit to every
 * instance listening (notifications/notificationFeed.ts).
 */
export class Migration20261203180000_Notifications extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "notification" ("id" bigserial primary key, "recipient_id" uuid not null references "app_user" ("id") on delete cascade, "kind" text not null, "at" timestamptz not null default now(), "read_at" timestamptz null, "message" text not null, "line_id" uuid null references "budget_line" ("id") on delete cascade, "column_name" text null, "actor_id" uuid null references "app_user" ("id") on delete set null, "execution_id" uuid null references "workflow_execution" ("id") on delete cascade);`);
    this.addSql(`create index "notification_recipient_id_id_index" on "notification" ("recipient_id", "id" desc);`);
    this.addSql(`create index "notification_unread_index" on "notification" ("recipient_id", "id" desc) where "read_at" is null;`);
    this.addSql(`
create function notification_announce() returns trigger language plpgsql as $$
begin
  perform pg_notify('plansync_notification', new.id::text);
  return null;
end $$;`);
    this.addSql(`create trigger notification_announce after insert on notification for each row execute function notification_announce();`);
    this.addSql(`
create function notification_is_person(p_user uuid) returns boolean language sql stable as $$
  select exists (select 1 from app_user u where u.id = p_user and u.kind = 'PERSON' and u.active and u.deleted_at is null);
$$;`);
    this.addSql(`
create function notification_on_cell_change() returns trigger language plpgsql as $$
declare
  previous uuid;
begin
  select c.user_id into previous from cell_change c
   where c.line_id = new.line_id and c.column_name = new.column_name and c.id < new.id
   order by c.id desc limit 1;
  if previous is null or previous = new.user_id or not notification_is_person(previous) or not notification_is_person(new.user_id) then
    return null;
  end if;
  insert into notification (recipient_id, kind, at, message, line_id, column_name, actor_id)
  select previous, 'CELL_OVERWRITTEN', new.at,
         format('%s changed %s of %s / %s / %s (%s), which you set last', a.display_name, new.column_name, l.product_category, l.region, l.quarter, b.code),
         new.line_id, new.column_name, new.user_id
    from app_user a, budget_line l, business_unit b
   where a.id = new.user_id and l.id = new.line_id and b.id = l.business_unit_id;
  return null;
end $$;`);
    this.addSql(`create trigger notification_cell_change after insert on cell_change for each row when (new.user_id is not null) execute function notification_on_cell_change();`);
    this.addSql(`
create function notification_on_submission_reviewed() returns trigger language plpgsql as $$
declare
  review jsonb;
begin
  select s.input into review from step_execution s where s.execution_id = new.execution_id and s.key = 'finance_review';
  insert into notification (recipient_id, kind, message, execution_id)
  select r.id, 'SUBMISSION_REVIEWED',
         format('The budget of %s in %s was %s%s', b.name, p.name, new.status, coalesce(': ' || nullif(review->>'comment', ''), '')),
         new.execution_id
    from (select m.user_id as id from user_business_unit m join app_user u on u.id = m.user_id
           where m.business_unit_id = new.business_unit_id and u.role = 'BU_LEADER'
          union select new.submitted_by_id where new.submitted_by_id is not null) r,
         business_unit b, budget_plan p
   where b.id = new.business_unit_id and p.id = new.plan_id and notification_is_person(r.id);
  return null;
end $$;`);
    this.addSql(`create constraint trigger notification_submission_reviewed after update of status on budget_submission deferrable initially deferred for each row when (new.status in ('APPROVED', 'REJECTED') and old.status is distinct from new.status) execute function notification_on_submission_reviewed();`);
    this.addSql(`
create function notification_may_answer(p_user app_user, p_event workflow_event) returns boolean language sql stable as $$
  select (case p_user.role
            when 'ADMIN' then true
            when 'PARTNER_ADMIN' then p_event.definition_key = 'new_partner_user' and p_user.organization_id is not null
                                      and p_user.organization_id = p_event.organization_id
            when 'ANALYST' then p_event.definition_key = 'budget_submission'
            when 'BU_LEADER' then p_event.definition_key = 'budget_submission' and p_event.business_unit_id is not null
                                  and exists (select 1 from user_business_unit m where m.user_id = p_user.id and m.business_unit_id = p_event.business_unit_id)
            else false end)
     and (case when p_event.definition_key = 'budget_submission' and p_event.step_key = 'finance_review' then p_user.role in ('ANALYST', 'ADMIN')
               else true end);
$$;`);
    this.addSql(`
create function notification_on_workflow_event() returns trigger language plpgsql as $$
declare
  step_name text;
  step_error text;
begin
  select s.name, s.error into step_name, step_error from step_execution s where s.execution_id = new.execution_id and s.key = new.step_key;
  if new.status = 'AWAITING_INPUT' then
    insert into notification (recipient_id, kind, at, message, execution_id)
    select u.id, 'STEP_AWAITING_INPUT', new.at, format('"%s" awaits your input', coalesce(step_name, new.step_key)), new.execution_id
      from app_user u
     where u.kind = 'PERSON' and u.active and u.deleted_at is null and notification_may_answer(u, new);
  elsif new.status = 'FAILED' then
    insert into notification (recipient_id, kind, at, message, execution_id)
    select u.id, 'STEP_FAILED', new.at, format('"%s" failed%s', coalesce(step_name, new.step_key), coalesce(': ' || left(step_error, 500), '')), new.execution_id
      from app_user u
     where u.kind = 'PERSON' and u.active and u.deleted_at is null
       and (u.role = 'ADMIN' or u.id = (select x.requested_by_id from workflow_execution x where x.id = new.execution_id));
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger notification_workflow_event after insert on workflow_event for each row when (new.step_key is not null and new.status in ('AWAITING_INPUT', 'FAILED')) execute function notification_on_workflow_event();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists notification_workflow_event on workflow_event;`);
    this.addSql(`drop trigger if exists notification_submission_reviewed on budget_submission;`);
    this.addSql(`drop trigger if exists notification_cell_change on cell_change;`);
    this.addSql(`drop function if exists notification_on_workflow_event(), notification_may_answer(app_user, workflow_event), notification_on_submission_reviewed(), notification_on_cell_change(), notification_is_person(uuid);`);
    this.addSql(`drop table if exists "notification" cascade;`);
    this.addSql(`drop function if exists notification_announce();`);
  }

}
