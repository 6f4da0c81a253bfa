/**
 * The two migrations of Entra people's access, on a database that already has people: the ones a Microsoft
 * sign-in left without access are marked waiting (20261203150200), and every Entra person's role counts as
 * given by their groups, as it was until then (20261203150210). Run on a real, fresh database, stopped just
 * before them, filled as the earlier schema allows, then brought up to date.
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ormOptions } from '../db/orm.js';
import { entities } from '../entities.js';
import { createTestDatabase } from '../testing/testDatabase.js';

describe('migrations: waiting for access, role from groups', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let orm: MikroORM;
  const sql = (text: string, params: unknown[] = []) => orm.em.getConnection().execute(text, params);

  beforeAll(async () => {
    database = await createTestDatabase();
    orm = await MikroORM.init(ormOptions(database.url, entities));
    await orm.getMigrator().up({ to: 'Migration20261203150100_Totp' });
    await sql(`INSERT INTO business_unit (id, code, name) VALUES (gen_random_uuid(), 'FINANCE', 'Finance')`);
    await sql(`INSERT INTO organization (id, name) VALUES (gen_random_uuid(), 'Acme')`);
    const person = (email: string, role: string, extra: string, values: string) =>
      sql(`INSERT INTO app_user (id, email, display_name, role${extra}) VALUES (gen_random_uuid(), ?, ?, ?${values})`, [email, email, role]);
    // Signed in with Microsoft, no mapped group: VIEWER, no unit, no organisation, no password. Waiting.
    await person('waiting@contoso.example', 'VIEWER', ', entra_object_id', ", 'oid-1'");
    // Entra people who have access: a role, a unit, an organisation.
    await person('analyst@contoso.example', 'ANALYST', ', entra_object_id', ", 'oid-2'");
    await person('viewer@contoso.example', 'VIEWER', ', entra_object_id', ", 'oid-3'");
    await sql(`INSERT INTO user_business_unit (user_id, business_unit_id) SELECT u.id, b.id FROM app_user u, business_unit b WHERE u.email = 'viewer@contoso.example'`);
    await person('partner@contoso.example', 'VIEWER', ', entra_object_id, organization_id', ", 'oid-4', (SELECT id FROM organization)");
    // Deleted, or not an Entra person at all: never waiting.
    await person('gone@contoso.example', 'VIEWER', ', entra_object_id, deleted_at', ", 'oid-5', now()");
    await person('local@example.com', 'VIEWER', ', password_hash', ", 'argon2-hash'");
    await orm.getMigrator().up();
  });
  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
  });

  it('marks only the Entra people left without access as waiting, and every Entra role as from groups', async () => {
    const rows = await sql(`SELECT email, awaiting_access, role_from_groups FROM app_user ORDER BY email`);
    expect(rows).toEqual([
      { email: 'analyst@contoso.example', awaiting_access: false, role_from_groups: true },
      { email: 'gone@contoso.example', awaiting_access: false, role_from_groups: true },
      { email: 'local@example.com', awaiting_access: false, role_from_groups: false },
      { email: 'partner@contoso.example', awaiting_access: false, role_from_groups: true },
      { email: 'viewer@contoso.example', awaiting_access: false, role_from_groups: true },
      { email: 'waiting@contoso.example', awaiting_access: true, role_from_groups: true },
    ]);
  });

  it('goes down and up again', async () => {
    await orm.getMigrator().down({ to: 'Migration20261203150100_Totp' });
    const columns = await sql(`SELECT column_name FROM information_schema.columns WHERE table_name = 'app_user' AND column_name IN ('awaiting_access', 'role_from_groups')`);
    expect(columns).toEqual([]);
    await orm.getMigrator().up();
    expect(await sql(`SELECT count(*)::int AS n FROM app_user WHERE awaiting_access`)).toEqual([{ n: 1 }]);
  });
});
