import { Migration } from '@mikro-orm/migrations';

/**
 * `submission.status_changed` webhooks also carry the submission's version and the review of it (the review loop,
 * Migration20261203190000_ReviewLoop): `version`, `reviewComment`, `reviewedAt` and `reviewedBy` (an email).
 */
export class Migration20261203190100_ReviewLoopWebhook extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create or replace function webhook_on_submission() returns trigger language plpgsql as $$
begin
  perform webhook_outbox_add('submission.status_changed', jsonb_build_object(
    'submissionId', new.id, 'planId', new.plan_id, 'planName', (select name from budget_plan where id = new.plan_id),
    'businessUnit', (select jsonb_build_object('id', id, 'code', code, 'name', name) from business_unit where id = new.business_unit_id),
    'status', new.status, 'previousStatus', old.status, 'executionId', new.execution_id,
    'version', new.version, 'reviewComment', new.review_comment, 'reviewedAt', new.reviewed_at,
    'reviewedBy', (select email from app_user where id = new.reviewed_by_id)));
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`
create or replace function webhook_on_submission() returns trigger language plpgsql as $$
begin
  perform webhook_outbox_add('submission.status_changed', jsonb_build_object(
    'submissionId', new.id, 'planId', new.plan_id, 'planName', (select name from budget_plan where id = new.plan_id),
    'businessUnit', (select jsonb_build_object('id', id, 'code', code, 'name', name) from business_unit where id = new.business_unit_id),
    'status', new.status, 'previousStatus', old.status, 'executionId', new.execution_id));
  return null;
end $$;`);
  }
}
