import { Migration } from '@mikro-orm/migrations';

/**
 * A service account may be linked to one Microsoft Entra application (client) id: that app's app-only access
 * tokens (client credentials) then speak for the account (server/src/auth/entraAppTokens.ts). Unique: one app
 * speaks for one account, never several, so that a token names exactly one viewer.
 */
export class Migration20261203170200_ServiceAccountEntraApp extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "app_user" add column "entra_app_id" text null;`);
    this.addSql(`alter table "app_user" add constraint "app_user_entra_app_id_unique" unique ("entra_app_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "app_user" drop constraint if exists "app_user_entra_app_id_unique";`);
    this.addSql(`alter table "app_user" drop column if exists "entra_app_id";`);
  }
}
