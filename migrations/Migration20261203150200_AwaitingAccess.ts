import { Migration } from '@mikro-orm/migrations';

/**
 * `app_user.awaiting_access`: a person their first Microsoft sign-in created without access (their groups
 * mapped to no role, so VIEWER with no units), until an admin gives them access or their groups bring a role
 * (server/src/auth/entraTokens.ts). The people already in that state are marked: Entra people without a
 * password, organisation or unit whose role is still VIEWER.
 */
export class Migration20261203150200_AwaitingAccess extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "app_user" add column "awaiting_access" boolean not null default false;`);
    this.addSql(`update "app_user" u set "awaiting_access" = true
      where u."entra_object_id" is not null and u."password_hash" is null and u."organization_id" is null
        and u."role" = 'VIEWER' and u."deleted_at" is null and u."kind" = 'PERSON'
        and not exists (select 1 from "user_business_unit" m where m."user_id" = u."id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "app_user" drop column "awaiting_access";`);
  }

}
