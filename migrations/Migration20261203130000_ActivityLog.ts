import { Migration } from '@mikro-orm/migrations';

/** The activity log (server/src/activity/): who did what to whom, one row per action, never updated. */
export class Migration20261203130000_ActivityLog extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "activity_entry" ("id" bigserial primary key, "at" timestamptz not null default now(), "action" text not null, "actor_id" uuid null, "actor_email" text null, "subject" text not null, "details" jsonb null);`);
    this.addSql(`create index "activity_entry_at_index" on "activity_entry" ("at");`);
    this.addSql(`create index "activity_entry_action_id_index" on "activity_entry" ("action", "id");`);
    this.addSql(`create index "activity_entry_actor_email_id_index" on "activity_entry" ("actor_email", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "activity_entry" cascade;`);
  }
}
