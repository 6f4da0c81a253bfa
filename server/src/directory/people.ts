/**
 * What the people operations share: loading a person an admin acts on (a deleted person is gone for them),
 * the policy row of a person, and the last-admin rule.
 *
 * Out of scope: the operations themselves (PeopleAdminResolver.ts here, auth/AccountResolver.ts for passwords).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordActivity, type Actor } from '../activity/activityLog.js';
import { badUserInput, conflict } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize, hiddenRow } from '../policies/authorize.js';
import type { UserScope } from '../policies/user.js';
import type { Viewer } from '../policies/viewer.js';
import { BusinessUnit } from './BusinessUnit.js';
import { User } from './User.js';

/** The business units with these codes (each once), or BAD_USER_INPUT naming the codes that name none. */
export async function unitsByCode(em: EntityManager, businessUnitCodes: readonly string[]): Promise<BusinessUnit[]> {
  const codes = [...new Set(businessUnitCodes)];
  const units = codes.length > 0 ? await em.find(BusinessUnit, { code: { $in: codes } }) : [];
  if (units.length !== codes.length) {
    const unknown = codes.filter((c) => !units.some((u) => u.code === c));
    throw badUserInput(`Unknown business units: ${unknown.join(', ').slice(0, 200)}`, 'businessUnitCodes');
  }
  return units;
}

/** The row the User policy decides on. */
export function userScope(user: User): UserScope {
  return { id: user.id, organizationId: user.organization?.id ?? null };
}

/**
 * The person an admin acts on, with units and organisation: NOT_FOUND for an id that names nobody, a deleted
 * person, or one the viewer may not read; FORBIDDEN for someone the viewer reads but may not manage.
 */
export async function manageableUser(em: EntityManager, viewer: Viewer, userId: string): Promise<User> {
  const user = isUuid(userId) ? await em.findOne(User, { id: userId, deletedAt: null }, { populate: ['businessUnits', 'organization'] }) : null;
  if (!user) throw hiddenRow(viewer, 'manage', 'User');
  authorize(viewer, 'manage', 'User', userScope(user), () => 'Only admins manage people');
  return user;
}

/**
 * CONFLICT when taking `user` away (deactivating, deleting, or giving another role) would leave no active
 * admin. Call it inside the change's transaction: it locks the active admins' rows, so that two admins taking
 * each other away at once cannot both pass.
 *
 * Only people count: a service account with the ADMIN role never signs in (it acts through tokens, which may
 * not exist or may be READ only), so an admin account left to it alone would leave nobody to administer
 * Plansync but whoever has a shell on the server. Taking a service account away never takes the last person.
 */
export async function keepAnActiveAdmin(tx: EntityManager, user: User, what: string): Promise<void> {
  if (user.role !== 'ADMIN' || !user.active || user.kind !== 'PERSON') return;
  const admins = await tx.execute<{ id: string }[]>(
    `SELECT id FROM app_user WHERE role = 'ADMIN' AND active AND deleted_at IS NULL AND kind = 'PERSON' FOR UPDATE`,
  );
  if (admins.filter((a) => a.id !== user.id).length === 0) {
    throw conflict(`This is the last admin (the last active person who is one): make someone else admin before you ${what} them`);
  }
}

/**
 * Revokes the person's access tokens (auth/AccessToken.ts) with their sign-in tokens: the viewer lookup
 * already refuses them while the person is inactive, and this keeps them ended after a reactivation too, as
 * their sign-in tokens stay ended. SQL by table name: the directory does not reach into auth's entities.
 */
export async function endAccessTokens(tx: EntityManager, userId: string): Promise<void> {
  await tx.execute('UPDATE access_token SET revoked_at = now() WHERE owner_id = ? AND revoked_at IS NULL', [userId]);
}

/**
 * Ends the person's unused set-password links (auth/accounts.ts): a link is a way in like a token, and one
 * given out before a deactivation (a reset whose mail went astray, say) must not work after a reactivation.
 * SQL by table name, as endAccessTokens.
 */
export async function endSetPasswordLinks(tx: EntityManager, userId: string): Promise<void> {
  await tx.execute('DELETE FROM password_invitation WHERE user_id = ? AND used_at IS NULL', [userId]);
}

/**
 * Ends a person's access in Plansync, in the caller's transaction (deactivateUser, and the offboarding
 * workflows): `active` false, every sign-in and access token and unused set-password link of theirs ended,
 * one USER_DEACTIVATED entry.
 * False when they were already inactive (nothing changes then). The caller publishes TOKENS_REVOKED for them
 * once committed, so that their open sockets close. The last-admin rule is the caller's (keepAnActiveAdmin).
 */
export async function deactivatePerson(tx: EntityManager, actor: Actor | null, user: User, details?: Record<string, unknown>): Promise<boolean> {
  if (!user.active) return false;
  user.active = false;
  user.endTokens();
  await endAccessTokens(tx, user.id);
  await endSetPasswordLinks(tx, user.id);
  recordActivity(tx, actor, 'USER_DEACTIVATED', user.email, details);
  return true;
}
