import { Migration } from '@mikro-orm/migrations';

/**
 * Two-factor sign-in (server/src/auth/totp.ts), on `app_user`:
 * - `totp_secret`: the confirmed TOTP secret, encrypted (AES-256-GCM with a key derived from the token signing
 *   key, so that a dump of the database alone does not give the secrets away); null while TOTP is off.
 * - `totp_enabled_at`: when it was confirmed; null while off (what `totpEnabled` answers from).
 * - `totp_last_step`: the 30-second step of the last code accepted, so that a code is never accepted twice.
 * - `totp_pending_secret` and `totp_pending_at`: an enrolment begun and not yet confirmed (encrypted likewise);
 *   it turns nothing on.
 */
export class Migration20261203150100_Totp extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "app_user" add column "totp_secret" text null, add column "totp_enabled_at" timestamptz null, add column "totp_last_step" bigint null, add column "totp_pending_secret" text null, add column "totp_pending_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "app_user" drop column "totp_secret", drop column "totp_enabled_at", drop column "totp_last_step", drop column "totp_pending_secret", drop column "totp_pending_at";`);
  }

}
