import { Migration } from '@mikro-orm/migrations';

/**
 * Plans are administered (budget/planAdmin.ts): each has a status, OPEN or CLOSED (a closed plan is read-only on
 * every path until reopened), the time it was created, and a name no other plan has (createBudgetPlan answers
 * BAD_USER_INPUT for a taken name; the constraint holds it against two admins creating the same one at once).
 * Existing plans are open, and are taken to have been created now.
 */
export class Migration20261203130200_PlanStatus extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "plan_status" as enum ('OPEN', 'CLOSED');`);
    this.addSql(`alter table "budget_plan" add column "status" "plan_status" not null default 'OPEN', add column "created_at" timestamptz not null default now();`);
    this.addSql(`alter table "budget_plan" add constraint "budget_plan_name_unique" unique ("name");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "budget_plan" drop constraint "budget_plan_name_unique";`);
    this.addSql(`alter table "budget_plan" drop column "status", drop column "created_at";`);
    this.addSql(`drop type if exists "plan_status";`);
  }

}
