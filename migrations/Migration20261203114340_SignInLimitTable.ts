import { Migration } from '@mikro-orm/migrations';

/**
 * The sign-in limits move onto rate-limiter-flexible (server/src/auth/signInLimits.ts): one table of counters in
 * the library's shape replaces the per-address windows (sign_in_rate) and the per-account locks
 * (login_throttle). The columns must stay in this order: the library inserts `VALUES (key, points, expire)`.
 * `key` is text rather than the library's varchar(255), so that no address, however long, fails a sign-in;
 * `expire` is in milliseconds since the epoch, as the library keeps it. What still counts is carried over, so
 * that an upgrade, like a restart, lifts no lock and opens no window early: current windows, current locks
 * and runs of failures (forgotten a day after the last one, as the old pruning did).
 */
export class Migration20261203114340_SignInLimitTable extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "sign_in_limit" ("key" text not null, "points" int not null default 0, "expire" bigint null, constraint "sign_in_limit_pkey" primary key ("key"));`);
    // For pruning: rows whose window or lock ended an hour ago are deleted.
    this.addSql(`create index "sign_in_limit_expire_index" on "sign_in_limit" ("expire");`);

    this.addSql(`insert into "sign_in_limit" ("key", "points", "expire")
      select 'address:' || "address", "failures", (extract(epoch from "window_started_at" + interval '1 minute') * 1000)::bigint
      from "sign_in_rate" where "window_started_at" > now() - interval '1 minute';`);
    this.addSql(`insert into "sign_in_limit" ("key", "points", "expire")
      select 'account:' || "user_id" || '@' || "address", "failures",
             (extract(epoch from coalesce("locked_until", "last_failure_at" + interval '1 day')) * 1000)::bigint
      from "login_throttle" where "locked_until" > now() or ("locked_until" is null and "failures" > 0);`);

    this.addSql(`drop table if exists "login_throttle" cascade;`);

    this.addSql(`drop table if exists "sign_in_rate" cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sign_in_limit" cascade;`);

    this.addSql(`create table "login_throttle" ("address" text not null, "failures" int4 not null default 0, "locked_until" timestamptz(6) null, "last_failure_at" timestamptz(6) not null default now(), "user_id" uuid not null, constraint "login_throttle_pkey" primary key ("user_id", "address"));`);
    this.addSql(`create index "login_throttle_last_failure_at_index" on "login_throttle" ("last_failure_at");`);

    this.addSql(`create table "sign_in_rate" ("address" text not null, "window_started_at" timestamptz(6) not null, "failures" int4 not null, constraint "sign_in_rate_pkey" primary key ("address"));`);
    this.addSql(`create index "sign_in_rate_window_started_at_index" on "sign_in_rate" ("window_started_at");`);

    this.addSql(`alter table "login_throttle" add constraint "login_throttle_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade;`);
  }

}
