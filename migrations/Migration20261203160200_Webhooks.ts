import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks (server/src/webhooks/):
 * - `webhook`: an admin's endpoint, the events it takes, and its signing secret encrypted at rest (AES-256-GCM,
 *   a key derived from the token signing key: the server must recover it to sign, a database dump alone must not).
 * - `webhook_delivery`: one event for one webhook, its attempts and the last answer; deleted with its webhook,
 *   which is how a deleted webhook's pending deliveries stop (the job finds no row and does nothing).
 * - `webhook_outbox`: the transactional outbox. Triggers write a row in the SAME transaction as the change
 *   (a submission's status, a workflow event, a PLAN_CREATED or VALUES_IMPORTED activity entry), so an event
 *   can never be lost between the commit and the enqueue, whatever code path made the change and whichever
 *   process dies when. The dispatcher (webhooks/dispatcher.ts) moves rows to deliveries and pg-boss jobs in
 *   one transaction, under FOR UPDATE SKIP LOCKED: one instance per event. Rows are only written while some
 *   active webhook takes the event, so the table stays empty on servers without webhooks.
 */
export class Migration20261203160200_Webhooks extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "webhook" ("id" uuid not null default gen_random_uuid(), "url" text not null, "events" text[] not null, "description" text null, "secret" text not null, "active" boolean not null default true, "created_at" timestamptz not null default now(), "created_by_id" uuid null, constraint "webhook_pkey" primary key ("id"));`);
    this.addSql(`create table "webhook_delivery" ("id" uuid not null default gen_random_uuid(), "webhook_id" uuid not null references "webhook" ("id") on delete cascade, "event" text not null, "payload" jsonb not null, "status" text not null default 'PENDING', "attempts" int not null default 0, "response_status" int null, "last_error" text null, "created_at" timestamptz not null default now(), "at" timestamptz not null default now(), constraint "webhook_delivery_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_delivery_webhook_id_created_at_index" on "webhook_delivery" ("webhook_id", "created_at");`);
    this.addSql(`create table "webhook_outbox" ("id" bigserial primary key, "event" text not null, "data" jsonb not null, "at" timestamptz not null default now());`);
    this.addSql(`
create function webhook_outbox_add(p_event text, p_data jsonb) returns void language plpgsql as $$
begin
  if exists (select 1 from webhook w where w.active and p_event = any(w.events)) then
    insert into webhook_outbox (event, data) values (p_event, p_data);
  end if;
end $$;`);
    this.addSql(`
create function webhook_on_submission() returns trigger language plpgsql as $$
begin
  perform webhook_outbox_add('submission.status_changed', jsonb_build_object(
    'submissionId', new.id, 'planId', new.plan_id, 'planName', (select name from budget_plan where id = new.plan_id),
    'businessUnit', (select jsonb_build_object('id', id, 'code', code, 'name', name) from business_unit where id = new.business_unit_id),
    'status', new.status, 'previousStatus', old.status, 'executionId', new.execution_id));
  return null;
end $$;`);
    this.addSql(`create trigger webhook_submission_status after update of status on budget_submission for each row when (old.status is distinct from new.status) execute function webhook_on_submission();`);
    this.addSql(`
create function webhook_on_workflow_event() returns trigger language plpgsql as $$
declare
  kind text := case
    when new.step_key is not null and new.status = 'FAILED' then 'workflow.step_failed'
    when new.step_key is not null and new.status = 'AWAITING_INPUT' then 'workflow.step_awaiting_input'
    when new.step_key is null and new.status = 'COMPLETED' then 'workflow.execution_completed'
    when new.step_key is null and new.status = 'FAILED' then 'workflow.execution_failed'
  end;
begin
  if kind is not null then
    perform webhook_outbox_add(kind, jsonb_build_object(
      'executionId', new.execution_id, 'definitionKey', new.definition_key, 'stepKey', new.step_key, 'status', new.status,
      'executionStatus', new.execution_status, 'organizationId', new.organization_id, 'businessUnitId', new.business_unit_id,
      'eventCursor', new.id::text));
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger webhook_workflow_event after insert on workflow_event for each row execute function webhook_on_workflow_event();`);
    this.addSql(`
create function webhook_on_activity() returns trigger language plpgsql as $$
begin
  if new.action = 'PLAN_CREATED' then
    perform webhook_outbox_add('plan.created', jsonb_build_object('planId', new.details->'planId', 'name', new.subject,
      'fiscalYear', new.details->'fiscalYear', 'copyFromPlanId', new.details->'copyFromPlanId', 'createdBy', new.actor_email));
  elsif new.action = 'VALUES_IMPORTED' then
    perform webhook_outbox_add('budget.values_imported', jsonb_build_object('subject', new.subject, 'details', coalesce(new.details, '{}'::jsonb),
      'importedBy', new.actor_email));
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger webhook_activity after insert on activity_entry for each row when (new.action in ('PLAN_CREATED', 'VALUES_IMPORTED')) execute function webhook_on_activity();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists webhook_activity on activity_entry;`);
    this.addSql(`drop trigger if exists webhook_workflow_event on workflow_event;`);
    this.addSql(`drop trigger if exists webhook_submission_status on budget_submission;`);
    this.addSql(`drop function if exists webhook_on_activity(), webhook_on_workflow_event(), webhook_on_submission(), webhook_outbox_add(text, jsonb);`);
    this.addSql(`drop table if exists "webhook_outbox", "webhook_delivery", "webhook" cascade;`);
  }

}
