import { Migration } from '@mikro-orm/migrations';

export class Migration20261121061656_Workflows extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "group_tool" as enum ('metabase', 'teams', 'slack', 'lms');`);
    this.addSql(`create type "studio_environment" as enum ('test', 'prod');`);
    this.addSql(`create type "execution_status" as enum ('RUNNING', 'AWAITING_INPUT', 'FAILED', 'COMPLETED', 'CANCELLED');`);
    this.addSql(`create type "step_kind" as enum ('AUTO', 'MANUAL');`);
    this.addSql(`create type "step_status" as enum ('PENDING', 'RUNNING', 'AWAITING_INPUT', 'SUCCEEDED', 'FAILED', 'SKIPPED');`);
    this.addSql(`create table "system_group" ("id" uuid not null, "organization_id" uuid not null, "tool" "group_tool" not null, "name" text not null, "external_id" text null, "created_at" timestamptz not null default now(), constraint "system_group_pkey" primary key ("id"));`);
    this.addSql(`alter table "system_group" add constraint "system_group_organization_id_tool_unique" unique ("organization_id", "tool");`);

    this.addSql(`create table "studio_company" ("id" uuid not null, "organization_id" uuid not null, "name" text not null, "environment" "studio_environment" not null, "owner_id" uuid null, "external_id" text null, "created_at" timestamptz not null default now(), constraint "studio_company_pkey" primary key ("id"));`);
    this.addSql(`alter table "studio_company" add constraint "studio_company_organization_id_name_environment_unique" unique ("organization_id", "name", "environment");`);

    this.addSql(`create table "access_grant" ("id" uuid not null, "user_id" uuid not null, "system" text not null, "resource" text not null, "granted_at" timestamptz not null default now(), constraint "access_grant_pkey" primary key ("id"));`);
    this.addSql(`alter table "access_grant" add constraint "access_grant_user_id_system_resource_unique" unique ("user_id", "system", "resource");`);

    this.addSql(`create table "workflow_event" ("id" bigserial primary key, "execution_id" uuid not null, "step_key" text null, "status" text not null, "execution_status" text not null, "at" timestamptz not null, "definition_key" text not null, "organization_id" uuid null, "business_unit_id" uuid null);`);
    this.addSql(`create index "workflow_event_execution_id_id_index" on "workflow_event" ("execution_id", "id");`);

    this.addSql(`create table "workflow_execution" ("id" uuid not null, "definition_key" text not null, "status" "execution_status" not null default 'RUNNING', "input" jsonb null, "organization_id" uuid null, "business_unit_id" uuid null, "plan_id" uuid null, "requested_by_id" uuid null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "workflow_execution_pkey" primary key ("id"));`);
    this.addSql(`create index "workflow_execution_definition_key_created_at_index" on "workflow_execution" ("definition_key", "created_at");`);
    this.addSql(`create index "workflow_execution_status_created_at_index" on "workflow_execution" ("status", "created_at");`);

    this.addSql(`create table "step_execution" ("id" uuid not null, "execution_id" uuid not null, "key" text not null, "name" text not null, "position" int not null, "kind" "step_kind" not null, "status" "step_status" not null default 'PENDING', "attempts" int not null default 0, "error" text null, "input" jsonb null, "output" jsonb null, "started_at" timestamptz null, "finished_at" timestamptz null, "retried_by_admin" boolean not null default false, constraint "step_execution_pkey" primary key ("id"));`);
    this.addSql(`alter table "step_execution" add constraint "step_execution_execution_id_key_unique" unique ("execution_id", "key");`);

    this.addSql(`alter table "system_group" add constraint "system_group_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "studio_company" add constraint "studio_company_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "studio_company" add constraint "studio_company_owner_id_foreign" foreign key ("owner_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "access_grant" add constraint "access_grant_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "workflow_execution" add constraint "workflow_execution_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "workflow_execution" add constraint "workflow_execution_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "workflow_execution" add constraint "workflow_execution_plan_id_foreign" foreign key ("plan_id") references "budget_plan" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "workflow_execution" add constraint "workflow_execution_requested_by_id_foreign" foreign key ("requested_by_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "step_execution" add constraint "step_execution_execution_id_foreign" foreign key ("execution_id") references "workflow_execution" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter type "user_role" add value if not exists 'PARTNER_USER' after 'PARTNER_ADMIN';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "step_execution" drop constraint "step_execution_execution_id_foreign";`);

    this.addSql(`drop table if exists "system_group" cascade;`);

    this.addSql(`drop table if exists "studio_company" cascade;`);

    this.addSql(`drop table if exists "access_grant" cascade;`);

    this.addSql(`drop table if exists "workflow_event" cascade;`);

    this.addSql(`drop table if exists "workflow_execution" cascade;`);

    this.addSql(`drop table if exists "step_execution" cascade;`);

    this.addSql(`drop type "group_tool";`);
    this.addSql(`drop type "studio_environment";`);
    this.addSql(`drop type "execution_status";`);
    this.addSql(`drop type "step_kind";`);
    this.addSql(`drop type "step_status";`);
  }

}
