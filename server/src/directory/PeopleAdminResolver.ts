/**
 * Ending and restoring a person's access (admins): `deactivateUser`, `reactivateUser`, `deleteUser`. Ending it
 * ends it everywhere at once: sign-in fails like a wrong password (auth/localLogin.ts), every token of theirs
 * is refused (the viewer lookup reads `active` and `tokensValidAfter`, auth/viewers.ts), and their open GraphQL
 * and grid sockets close with CloseCode.Unauthorized on every instance (TOKENS_REVOKED for the person). Each
 * writes its activity entry in the same transaction. The last active admin can be neither deactivated nor
 * deleted (CONFLICT).
 *
 * Deleting someone does not revoke what they have in a partner's tools (access grants: Studio, Metabase, Teams,
 * Slack, LMS): offboarding does (offboard_partner_user), and the page says to offboard first. The grants they
 * still had are kept in the deletion's activity entry, the record of that access once the person is gone.
 *
 * A deleted person's row stays, deactivated and without password, units or access grants, so that the audit
 * and activity entries, lines and submissions that name them keep their email; they are listed nowhere and
 * every admin operation answers NOT_FOUND for them.
 *
 * Out of scope: creating people and their passwords and locks (auth/AccountResolver.ts), roles and units
 * (UserResolver.ts `setUserAccess`).
 */
import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { recordActivity } from '../activity/activityLog.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { AccessGrant } from './AccessGrant.js';
import { deactivatePerson, endAccessTokens, endSetPasswordLinks, keepAnActiveAdmin, manageableUser } from './people.js';
import { User } from './User.js';
import { CloseCode } from '../../../schema/codes.js';

@Resolver()
export class PeopleAdminResolver {
  @Mutation(() => User, {
    description:
      'Ends a person\'s access (admins): their sign-in fails like a wrong password, every token of theirs is refused, and their ' +
      `GraphQL and grid sockets close with ${CloseCode.Unauthorized}. The last active admin: CONFLICT. Already deactivated: no change.`,
  })
  async deactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    const { user, changed } = await ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      if (!user.active) return { user, changed: false };
      await keepAnActiveAdmin(tx, user, 'deactivate');
      return { user, changed: await deactivatePerson(tx, viewer, user) };
    });
    if (changed) ctx.services.events.publish('TOKENS_REVOKED', { userId: user.id });
    return user;
  }

  @Mutation(() => User, {
    description:
      'Gives a deactivated person their access back (admins). The tokens and unused set-password links they had stay ended: they sign in again.',
  })
  async reactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    return ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      if (user.active) return user;
      user.active = true;
      recordActivity(tx, viewer, 'USER_REACTIVATED', user.email);
      return user;
    });
  }

  @Mutation(() => Boolean, {
    description:
      'Deletes a person (admins): as deactivateUser, and they are listed nowhere any more; the audit and activity entries that ' +
      'name them keep their email. The last active admin: CONFLICT. Access in a partner\'s tools is not revoked (offboard ' +
      'them first); the USER_DELETED activity entry lists the access grants they still had.',
  })
  async deleteUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    const user = await ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      await keepAnActiveAdmin(tx, user, 'delete');
      user.active = false;
      user.deletedAt = new Date();
      user.passwordHash = null;
      // Their two-factor secrets go with the password: a deleted person keeps nothing to sign in with.
      ctx.services.totp.disable(user);
      user.businessUnits.removeAll();
      user.endTokens();
      await endAccessTokens(tx, user.id);
      await endSetPasswordLinks(tx, user.id);
      // The access they had in a partner's tools, kept in the deletion's activity entry: deleting does not revoke it
      // there (offboarding does), and the grants are the only record of it.
      const grants = await tx.find(AccessGrant, { user: user.id }, { orderBy: { system: 'asc', resource: 'asc' } });
      await tx.nativeDelete(AccessGrant, { user: user.id });
      // A service account's Entra app stops speaking for it, and may be linked to another account.
      const entraAppId = user.entraAppId;
      user.entraAppId = null;
      recordActivity(tx, viewer, 'USER_DELETED', user.email, {
        role: user.role,
        ...(entraAppId && { entraAppId }),
        ...(grants.length > 0 && { accessGrants: grants.map((g) => ({ system: g.system, name: g.name })) }),
      });
      return user;
    });
    ctx.services.events.publish('TOKENS_REVOKED', { userId: user.id });
    return true;
  }
}
