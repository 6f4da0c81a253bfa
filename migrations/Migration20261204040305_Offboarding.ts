import { Migration } from '@mikro-orm/migrations';

/**
 * Offboarding (issue 17): when an organisation was offboarded (`offboard_partner`), and when offboarding
 * archived or closed a Studio company or a tool's group of it in its system.
 */
export class Migration20261204040305_Offboarding extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "organization" add column "offboarded_at" timestamptz null;`);

    this.addSql(`alter table "system_group" add column "closed_at" timestamptz null;`);

    this.addSql(`alter table "studio_company" add column "closed_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "organization" drop column "offboarded_at";`);

    this.addSql(`alter table "studio_company" drop column "closed_at";`);

    this.addSql(`alter table "system_group" drop column "closed_at";`);
  }

}
