import { Migration } from '@mikro-orm/migrations';

/**
 * `app_user.role_from_groups`: whether a person's role came from their Entra groups (server/src/auth/entraTokens.ts),
 * which take it back when they no longer map to a role, or from an admin (setUserAccess), which a Microsoft
 * sign-in leaves alone. Until now every Entra sign-in carrying groups set the role, so the Entra people already
 * here are marked as having theirs from their groups: nothing changes for them until an admin sets their access.
 */
export class Migration20261203150210_RoleFromGroups extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "app_user" add column "role_from_groups" boolean not null default false;`);
    this.addSql(`update "app_user" set "role_from_groups" = true where "entra_object_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "app_user" drop column "role_from_groups";`);
  }

}
