import { Migration } from '@mikro-orm/migrations';

/**
 * Lines added to and removed from a plan (server/src/budget/planLines.ts):
 * - `removed_budget_line`: what a removed line was (its unit, category, region, quarter, position, last values,
 *   version, last editor) and who removed it when. A removed line leaves `budget_line` for good, so that no read
 *   path (budgetLines, grids, exports, OData, submissions) has to remember to skip it; its audit history stays
 *   readable because `auditLog` answers `line { ... }` from here once the line is gone.
 * - `cell_change.line_id` no longer cascades from `budget_line` (it used to delete a line's audit history with
 *   the line): it is a plain column now, matched against `budget_line`, else `removed_budget_line`.
 * - One line per unit, category, region and quarter in a plan: addBudgetLines answers BAD_USER_INPUT for a line
 *   that already exists, and the constraint holds it against two admins adding the same line at once.
 */
export class Migration20261203150000_PlanLines extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "removed_budget_line" ("id" uuid not null, "plan_id" uuid not null, "business_unit_id" uuid not null, "product_category" text not null, "region" text not null, "quarter" text not null, "position" int not null default 0, "prior_year_actual" double precision null, "budget_amount" double precision null, "forecast_sales" double precision null, "comment" text not null default '', "version" int not null default 1, "updated_at" timestamptz not null default now(), "updated_by_id" uuid null, "removed_at" timestamptz not null default now(), "removed_by_id" uuid null, constraint "removed_budget_line_pkey" primary key ("id"));`);
    this.addSql(`create index "removed_budget_line_plan_id_business_unit_id_index" on "removed_budget_line" ("plan_id", "business_unit_id");`);
    this.addSql(`alter table "removed_budget_line" add constraint "removed_budget_line_plan_id_foreign" foreign key ("plan_id") references "budget_plan" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "removed_budget_line" add constraint "removed_budget_line_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade;`);
    this.addSql(`alter table "removed_budget_line" add constraint "removed_budget_line_updated_by_id_foreign" foreign key ("updated_by_id") references "app_user" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "removed_budget_line" add constraint "removed_budget_line_removed_by_id_foreign" foreign key ("removed_by_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "cell_change" drop constraint "cell_change_line_id_foreign";`);

    this.addSql(`alter table "budget_line" add constraint "budget_line_plan_unit_category_region_quarter_unique" unique ("plan_id", "business_unit_id", "product_category", "region", "quarter");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "budget_line" drop constraint "budget_line_plan_unit_category_region_quarter_unique";`);
    // The audit entries of removed lines go with the constraint's return, as they went before.
    this.addSql(`delete from "cell_change" c where not exists (select 1 from "budget_line" l where l."id" = c."line_id");`);
    this.addSql(`alter table "cell_change" add constraint "cell_change_line_id_foreign" foreign key ("line_id") references "budget_line" ("id") on update cascade on delete cascade;`);
    this.addSql(`drop table if exists "removed_budget_line" cascade;`);
  }

}
