import { Migration } from '@mikro-orm/migrations';

/**
 * Each audit entry names its plan (`cell_change.plan_id`), so that the audit log can be read for one plan
 * (auditLog's `planId`). Every plan has the same units and lines, so a unit filter alone mixes FY2027's changes
 * with FY2028's, and reaching the plan through the line would take a join to two tables (live and removed
 * lines) that the keyset pages could not use an index for. Entries written before are given their line's plan,
 * from the live line or else from what the removed line was (removed_budget_line keeps its plan).
 */
export class Migration20261207080000_AuditPlan extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "cell_change" add column "plan_id" uuid null;`);
    this.addSql(`update "cell_change" c set "plan_id" = l."plan_id" from "budget_line" l where l."id" = c."line_id";`);
    this.addSql(`update "cell_change" c set "plan_id" = r."plan_id" from "removed_budget_line" r where r."id" = c."line_id" and c."plan_id" is null;`);
    this.addSql(`alter table "cell_change" alter column "plan_id" set not null;`);
    this.addSql(`alter table "cell_change" add constraint "cell_change_plan_id_foreign" foreign key ("plan_id") references "budget_plan" ("id") on update cascade;`);
    this.addSql(`create index "cell_change_plan_id_id_index" on "cell_change" ("plan_id", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "cell_change" drop column "plan_id";`);
  }
}
