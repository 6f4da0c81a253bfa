import { Migration } from '@mikro-orm/migrations';

/**
 * Access tokens (server/src/auth/AccessToken.ts): personal tokens and service accounts' tokens for scripts
 * and tools. `token_hash` is the hex SHA-256 of the token, never the token: the token is 32 random bytes, so a
 * fast hash is as safe as a slow one (nobody can guess their way through 2^256 values, which is what argon2's
 * cost guards against for passwords people choose), and a unique index on it finds the row in one lookup at
 * every request, which a salted argon2 hash could not.
 */
export class Migration20261203160000_AccessTokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "access_token" ("id" uuid not null, "owner_id" uuid not null, "name" text not null, "scopes" text[] not null, "token_hash" text not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "access_token_pkey" primary key ("id"));`);
    this.addSql(`create index "access_token_owner_id_index" on "access_token" ("owner_id");`);
    this.addSql(`alter table "access_token" add constraint "access_token_token_hash_unique" unique ("token_hash");`);
    this.addSql(`alter table "access_token" add constraint "access_token_owner_id_foreign" foreign key ("owner_id") references "app_user" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "access_token" cascade;`);
  }
}
