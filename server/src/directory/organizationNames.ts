/**
 * One organisation per name, case aside. A `new_partner` run claims its name from its start, not only once
 * its first automatic step creates the row: two admins onboarding "Beta Corp" at once would otherwise both be
 * let through, both runs would provision Infrabot and Studio, and the second would fail on the unique index
 * (with the SQL for its error) after those calls, again on every retry.
 *
 * Checked under a transaction-scoped advisory lock on the lower-cased name, so that two starts (or a start and
 * a rename) to one name at once are decided one after the other. SQL by table name: the directory does not
 * reach into the workflow's entities.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** `new_partner` runs not finished whose organisation is not created yet: their name is taken. */
const CLAIMED_BY_ONBOARDING_SQL = `SELECT 1 FROM workflow_execution
  WHERE definition_key = 'new_partner' AND status NOT IN ('COMPLETED', 'CANCELLED') AND organization_id IS NULL
    AND lower(btrim(input->>'organizationName')) = lower(?) AND id IS DISTINCT FROM ?::uuid
  LIMIT 1`;

/**
 * Why `name` cannot be an organisation's (new, or renamed to it), or null when it is free. Call it inside the
 * transaction that takes the name: it holds the name's lock until that transaction ends.
 */
export async function organizationNameTaken(
  tx: EntityManager,
  name: string,
  except: { organizationId?: string; executionId?: string } = {},
): Promise<string | null> {
  await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', [`organization-name:${name.toLowerCase()}`]);
  const existing = await tx.execute('SELECT 1 FROM organization WHERE lower(name) = lower(?) AND id IS DISTINCT FROM ?::uuid LIMIT 1', [name, except.organizationId ?? null]);
  if (existing.length > 0) return `An organisation named "${name}" already exists`;
  const claimed = await tx.execute(CLAIMED_BY_ONBOARDING_SQL, [name, except.executionId ?? null]);
  if (claimed.length > 0) return `An onboarding of "${name}" is under way: finish or cancel it first`;
  return null;
}
