import { Migration } from '@mikro-orm/migrations';

/**
 * The review loop (CONTRACT.md v1.1, "The grid's history, notifications and the review loop"):
 * - budget_submission: `version` (0 before any submit, +1 at each submit), and the finance review's outcome of
 *   the current version (`review_comment`, `reviewed_by_id`, `reviewed_at`), cleared when it is submitted again
 *   or reopened (the version's own record keeps them).
 * - submission_version: one row per submit, written in the submit's transaction (the unit frozen), holding what
 *   was submitted as one jsonb array of lines (id, productCategory, region, quarter, budgetAmount, forecastSales,
 *   comment, priorYearActual) with its total and line count; the review's outcome is copied onto it. One row read
 *   answers a diff or a publish, at 10,000 lines too (about 1.5 MB), and nothing grows per line.
 * - budget_plan.require_complete_submission: a plan may refuse submissions with lines lacking a budget.
 * - SUBMISSION_REVIEWED notifications now name their actor (the reviewer) and carry the comment from the row.
 */
export class Migration20261203190000_ReviewLoop extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "budget_submission" add column "version" int not null default 0, add column "review_comment" text null, add column "reviewed_by_id" uuid null, add column "reviewed_at" timestamptz null;`);
    this.addSql(`alter table "budget_submission" add constraint "budget_submission_reviewed_by_id_foreign" foreign key ("reviewed_by_id") references "app_user" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "budget_plan" add column "require_complete_submission" boolean not null default false;`);
    this.addSql(`create table "submission_version" ("id" uuid not null primary key, "submission_id" uuid not null references "budget_submission" ("id") on delete cascade, "version" int not null, "status" text not null check ("status" in ('SUBMITTED', 'APPROVED', 'REJECTED', 'WITHDRAWN')), "execution_id" uuid null references "workflow_execution" ("id") on delete set null, "submitted_at" timestamptz not null, "submitted_by_id" uuid null references "app_user" ("id") on delete set null, "reviewed_at" timestamptz null, "reviewed_by_id" uuid null references "app_user" ("id") on delete set null, "review_comment" text null, "total" double precision not null, "line_count" int not null, "lines" jsonb not null, constraint "submission_version_submission_id_version_unique" unique ("submission_id", "version"));`);
    this.addSql(`create index "submission_version_execution_id_index" on "submission_version" ("execution_id");`);
    this.addSql(`
create or replace function notification_on_submission_reviewed() returns trigger language plpgsql as $$
declare
  review jsonb;
  comment text;
begin
  select s.input into review from step_execution s where s.execution_id = new.execution_id and s.key = 'finance_review';
  comment := coalesce(nullif(new.review_comment, ''), nullif(review->>'comment', ''));
  insert into notification (recipient_id, kind, message, execution_id, actor_id)
  select r.id, 'SUBMISSION_REVIEWED',
         format('The budget of %s in %s was %s%s%s', b.name, p.name, new.status,
                coalesce(' by ' || (select a.display_name from app_user a where a.id = new.reviewed_by_id), ''),
                coalesce(': ' || comment, '')),
         new.execution_id, new.reviewed_by_id
    from (select m.user_id as id from user_business_unit m join app_user u on u.id = m.user_id
           where m.business_unit_id = new.business_unit_id and u.role = 'BU_LEADER'
          union select new.submitted_by_id where new.submitted_by_id is not null) r,
         business_unit b, budget_plan p
   where b.id = new.business_unit_id and p.id = new.plan_id and notification_is_person(r.id);
  return null;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`
create or replace function notification_on_submission_reviewed() returns trigger language plpgsql as $$
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
    this.addSql(`drop table if exists "submission_version" cascade;`);
    this.addSql(`alter table "budget_plan" drop column "require_complete_submission";`);
    this.addSql(`alter table "budget_submission" drop column "version", drop column "review_comment", drop column "reviewed_by_id", drop column "reviewed_at";`);
  }
}
