import { Migration } from '@mikro-orm/migrations';

export class Migration20261121060256_GridStorage extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "grid_snapshot" ("doc_name" text not null, "state" bytea not null, "last_update_id" bigint not null, "updated_at" timestamptz not null default now(), constraint "grid_snapshot_pkey" primary key ("doc_name"));`);

    this.addSql(`create table "grid_update" ("id" bigserial primary key, "doc_name" text not null, "update" bytea not null, "created_at" timestamptz not null default now());`);
    this.addSql(`create index "grid_update_doc_name_id_index" on "grid_update" ("doc_name", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "grid_snapshot" cascade;`);

    this.addSql(`drop table if exists "grid_update" cascade;`);
  }

}
