import { Migration } from '@mikro-orm/migrations';

/**
 * People administered in the product (server/src/directory/PeopleAdminResolver.ts, server/src/auth/accounts.ts):
 * - `app_user.active`: a deactivated person signs in like a wrong password and every token of theirs is refused.
 * - `app_user.kind`: PERSON or SERVICE (a service account of the tools).
 * - `app_user.last_sign_in_at`: set by every successful sign-in (the sign-in log is pruned, this is not).
 * - `app_user.tokens_valid_after` and `kept_token_id`: tokens issued before that moment are refused (a password
 *   change, reset or deactivation ends them all at once), except the one a password change was made with.
 * - `app_user.deleted_at`: a deleted person's row stays, deactivated and stripped of their access, so that the
 *   audit and activity entries that name them keep their email; they are listed nowhere any more.
 * - `password_invitation`: one-time set-password links, by the SHA-256 of their token (the token itself is
 *   shown once to the admin and never stored).
 */
export class Migration20261203131500_People extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create type "user_kind" as enum ('PERSON', 'SERVICE');`);
    this.addSql(`alter table "app_user" add column "active" boolean not null default true, add column "kind" "user_kind" not null default 'PERSON', add column "last_sign_in_at" timestamptz null, add column "tokens_valid_after" timestamptz null, add column "kept_token_id" text null, add column "deleted_at" timestamptz null;`);

    this.addSql(`create table "password_invitation" ("id" uuid not null, "user_id" uuid not null, "token_hash" text not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "password_invitation_pkey" primary key ("id"));`);
    this.addSql(`alter table "password_invitation" add constraint "password_invitation_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "password_invitation_user_id_index" on "password_invitation" ("user_id");`);
    this.addSql(`alter table "password_invitation" add constraint "password_invitation_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "password_invitation" cascade;`);
    this.addSql(`alter table "app_user" drop column "active", drop column "kind", drop column "last_sign_in_at", drop column "tokens_valid_after", drop column "kept_token_id", drop column "deleted_at";`);
    this.addSql(`drop type "user_kind";`);
  }

}
