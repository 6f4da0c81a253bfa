import { Migration } from '@mikro-orm/migrations';

export class Migration20261203080637_SignInLimitsAndRevokedTokens extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "sign_in_rate" ("address" text not null, "window_started_at" timestamptz not null, "failures" int not null, constraint "sign_in_rate_pkey" primary key ("address"));`);
    this.addSql(`create index "sign_in_rate_window_started_at_index" on "sign_in_rate" ("window_started_at");`);

    this.addSql(`create table "revoked_token" ("token_id" text not null, "user_id" uuid null, "expires_at" timestamptz not null, "revoked_at" timestamptz not null default now(), constraint "revoked_token_pkey" primary key ("token_id"));`);
    this.addSql(`create index "revoked_token_expires_at_index" on "revoked_token" ("expires_at");`);

    this.addSql(`alter table "revoked_token" add constraint "revoked_token_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);

    // Per email before, per account and address now: the old counts mean nothing in the new key.
    this.addSql(`delete from "login_throttle";`);
    this.addSql(`alter table "login_throttle" drop constraint "login_throttle_pkey";`);

    this.addSql(`alter table "login_throttle" add column "user_id" uuid not null;`);
    this.addSql(`alter table "login_throttle" add constraint "login_throttle_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "login_throttle" rename column "email" to "address";`);
    this.addSql(`create index "login_throttle_last_failure_at_index" on "login_throttle" ("last_failure_at");`);
    this.addSql(`alter table "login_throttle" add constraint "login_throttle_pkey" primary key ("user_id", "address");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sign_in_rate" cascade;`);

    this.addSql(`drop table if exists "revoked_token" cascade;`);

    this.addSql(`delete from "login_throttle";`);
    this.addSql(`alter table "login_throttle" drop constraint "login_throttle_user_id_foreign";`);

    this.addSql(`drop index "login_throttle_last_failure_at_index";`);
    this.addSql(`alter table "login_throttle" drop constraint "login_throttle_pkey";`);
    this.addSql(`alter table "login_throttle" drop column "user_id";`);

    this.addSql(`alter table "login_throttle" rename column "address" to "email";`);
    this.addSql(`alter table "login_throttle" add constraint "login_throttle_pkey" primary key ("email");`);
  }

}
