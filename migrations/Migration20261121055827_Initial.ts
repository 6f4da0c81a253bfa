import { Migration } from '@mikro-orm/migrations';

export class Migration20261121055827_Initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "user_role" as enum ('ADMIN', 'ANALYST', 'BU_LEADER', 'VIEWER', 'PARTNER_ADMIN');`);
    this.addSql(`create type "sign_in_method" as enum ('PASSWORD', 'ENTRA_ID');`);
    this.addSql(`create type "submission_status" as enum ('DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED');`);
    this.addSql(`create type "change_source" as enum ('GRID', 'API');`);
    this.addSql(`create table "budget_plan" ("id" uuid not null, "name" text not null, "fiscal_year" int not null, constraint "budget_plan_pkey" primary key ("id"));`);

    this.addSql(`create table "business_unit" ("id" uuid not null, "code" text not null, "name" text not null, constraint "business_unit_pkey" primary key ("id"));`);
    this.addSql(`alter table "business_unit" add constraint "business_unit_code_unique" unique ("code");`);

    this.addSql(`create table "login_throttle" ("email" text not null, "failures" int not null default 0, "locked_until" timestamptz null, "last_failure_at" timestamptz not null default now(), constraint "login_throttle_pkey" primary key ("email"));`);

    this.addSql(`create table "organization" ("id" uuid not null, "name" text not null, "created_at" timestamptz not null default now(), constraint "organization_pkey" primary key ("id"));`);
    this.addSql(`alter table "organization" add constraint "organization_name_unique" unique ("name");`);

    this.addSql(`create table "app_user" ("id" uuid not null, "email" text not null, "display_name" text not null, "role" "user_role" not null, "password_hash" text null, "entra_object_id" text null, "organization_id" uuid null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "app_user_pkey" primary key ("id"));`);
    this.addSql(`alter table "app_user" add constraint "app_user_email_unique" unique ("email");`);
    this.addSql(`alter table "app_user" add constraint "app_user_entra_object_id_unique" unique ("entra_object_id");`);

    this.addSql(`create table "sign_in_event" ("id" bigserial primary key, "email" text not null, "user_id" uuid null, "method" "sign_in_method" not null, "success" boolean not null, "ip" text null, "at" timestamptz not null default now());`);
    this.addSql(`create index "sign_in_event_at_index" on "sign_in_event" ("at");`);

    this.addSql(`create table "budget_submission" ("id" uuid not null, "plan_id" uuid not null, "business_unit_id" uuid not null, "status" "submission_status" not null default 'DRAFT', "submitted_at" timestamptz null, "submitted_by_id" uuid null, "execution_id" uuid null, constraint "budget_submission_pkey" primary key ("id"));`);
    this.addSql(`alter table "budget_submission" add constraint "budget_submission_plan_id_business_unit_id_unique" unique ("plan_id", "business_unit_id");`);

    this.addSql(`create table "budget_line" ("id" uuid not null, "plan_id" uuid not null, "business_unit_id" uuid not null, "product_category" text not null, "region" text not null, "quarter" text not null, "position" int not null default 0, "prior_year_actual" double precision null, "budget_amount" double precision null, "forecast_sales" double precision null, "comment" text not null default '', "version" int not null default 1, "updated_at" timestamptz not null default now(), "updated_by_id" uuid null, constraint "budget_line_pkey" primary key ("id"));`);
    this.addSql(`create index "budget_line_plan_id_business_unit_id_position_index" on "budget_line" ("plan_id", "business_unit_id", "position");`);

    this.addSql(`create table "cell_change" ("id" bigserial primary key, "line_id" uuid not null, "business_unit_id" uuid not null, "column_name" text not null, "old_value" text null, "new_value" text null, "user_id" uuid null, "source" "change_source" not null, "at" timestamptz not null default now());`);
    this.addSql(`create index "cell_change_business_unit_id_id_index" on "cell_change" ("business_unit_id", "id");`);
    this.addSql(`create index "cell_change_line_id_id_index" on "cell_change" ("line_id", "id");`);

    this.addSql(`create table "user_business_unit" ("user_id" uuid not null, "business_unit_id" uuid not null, constraint "user_business_unit_pkey" primary key ("user_id", "business_unit_id"));`);

    this.addSql(`alter table "app_user" add constraint "app_user_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "sign_in_event" add constraint "sign_in_event_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "budget_submission" add constraint "budget_submission_plan_id_foreign" foreign key ("plan_id") references "budget_plan" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "budget_submission" add constraint "budget_submission_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade;`);
    this.addSql(`alter table "budget_submission" add constraint "budget_submission_submitted_by_id_foreign" foreign key ("submitted_by_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "budget_line" add constraint "budget_line_plan_id_foreign" foreign key ("plan_id") references "budget_plan" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "budget_line" add constraint "budget_line_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade;`);
    this.addSql(`alter table "budget_line" add constraint "budget_line_updated_by_id_foreign" foreign key ("updated_by_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "cell_change" add constraint "cell_change_line_id_foreign" foreign key ("line_id") references "budget_line" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "cell_change" add constraint "cell_change_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade;`);
    this.addSql(`alter table "cell_change" add constraint "cell_change_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "user_business_unit" add constraint "user_business_unit_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "user_business_unit" add constraint "user_business_unit_business_unit_id_foreign" foreign key ("business_unit_id") references "business_unit" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "budget_submission" drop constraint "budget_submission_plan_id_foreign";`);

    this.addSql(`alter table "budget_line" drop constraint "budget_line_plan_id_foreign";`);

    this.addSql(`alter table "budget_submission" drop constraint "budget_submission_business_unit_id_foreign";`);

    this.addSql(`alter table "budget_line" drop constraint "budget_line_business_unit_id_foreign";`);

    this.addSql(`alter table "cell_change" drop constraint "cell_change_business_unit_id_foreign";`);

    this.addSql(`alter table "user_business_unit" drop constraint "user_business_unit_business_unit_id_foreign";`);

    this.addSql(`alter table "app_user" drop constraint "app_user_organization_id_foreign";`);

    this.addSql(`alter table "sign_in_event" drop constraint "sign_in_event_user_id_foreign";`);

    this.addSql(`alter table "budget_submission" drop constraint "budget_submission_submitted_by_id_foreign";`);

    this.addSql(`alter table "budget_line" drop constraint "budget_line_updated_by_id_foreign";`);

    this.addSql(`alter table "cell_change" drop constraint "cell_change_user_id_foreign";`);

    this.addSql(`alter table "user_business_unit" drop constraint "user_business_unit_user_id_foreign";`);

    this.addSql(`alter table "cell_change" drop constraint "cell_change_line_id_foreign";`);

    this.addSql(`drop table if exists "budget_plan" cascade;`);

    this.addSql(`drop table if exists "business_unit" cascade;`);

    this.addSql(`drop table if exists "login_throttle" cascade;`);

    this.addSql(`drop table if exists "organization" cascade;`);

    this.addSql(`drop table if exists "app_user" cascade;`);

    this.addSql(`drop table if exists "sign_in_event" cascade;`);

    this.addSql(`drop table if exists "budget_submission" cascade;`);

    this.addSql(`drop table if exists "budget_line" cascade;`);

    this.addSql(`drop table if exists "cell_change" cascade;`);

    this.addSql(`drop table if exists "user_business_unit" cascade;`);

    this.addSql(`drop type "user_role";`);
    this.addSql(`drop type "sign_in_method";`);
    this.addSql(`drop type "submission_status";`);
    this.addSql(`drop type "change_source";`);
  }

}
