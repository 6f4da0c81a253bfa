/**
 * People over GraphQL: `users` (scoped in the query: policies/user.ts; deleted people are not listed),
 * `setUserAccess` (admins; the person's open sockets follow at once, on USER_ACCESS_CHANGED; an activity entry),
 * and a person's details (role, units, organisation, whether they are active, their last sign-in, their access
 * grants), which only those who may read them see, on every path a User is reached, events included.
 *
 * Out of scope: what the signed-in person may do (`me { can }`, AbilitiesResolver.ts); creating, deactivating
 * and deleting people (PeopleAdminResolver.ts) and their passwords and locks (auth/AccountResolver.ts).
 */
import { Collection } from '@mikro-orm/core';
import { recordActivity } from '../activity/activityLog.js';
import { AccessGrant } from './AccessGrant.js';
import { keepAnActiveAdmin, unitsByCode } from './people.js';
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { BusinessUnit } from './BusinessUnit.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { RoleEnum, type Role } from './role.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadOrganization } from '../policies/organization.js';
import { canManageUsers, canReadUserDetails, canReadUserDetailsWithoutOrganization, readableUsers } from '../policies/user.js';
import type { Viewer } from '../policies/viewer.js';
import { Organization } from './Organization.js';
import { User } from './User.js';
import { CloseCode } from '../../../schema/codes.js';

/** A User as resolvers see it: the entity, or the plain snapshot an event carries. */
export
type UserLike = Pick<User, 'id'> & Partial<Pick<User, 'businessUnits' | 'organization' | 'role'>>;

/** The organisation id of a person as a resolver meets them (loaded when the parent did not carry it). */
async function organizationIdOf(ctx: GraphQLContext, user: UserLike): Promise<string | null> {
  if (user.organization !== undefined) return user.organization?.id ?? null;
  return (await ctx.em.findOne(User, { id: user.id }))?.organization?.id ?? null;
}

/**
 * Whether the viewer may read this person's details (policies/user.ts): synchronous for everyone but a
 * partner admin looking at someone else, whose organisation decides.
 */
export function mayReadDetails(viewer: Viewer, ctx: GraphQLContext, user: UserLike): boolean | Promise<boolean> {
  const known = canReadUserDetailsWithoutOrganization(viewer, user.id);
  if (known !== null) return known;
  return organizationIdOf(ctx, user).then((organizationId) => canReadUserDetails(viewer, { id: user.id, organizationId }));
}

export const DETAILS_FORBIDDEN = "Only the person, admins and their organisation's partner admin see a person's role, units and organisation";

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => RoleEnum, {
    description: "What the person may do. Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  role(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Role | Promise<Role> {
    const viewer = requireViewer(ctx);
    const roleOf = async () => user.role ?? (await ctx.em.findOneOrFail(User, { id: user.id })).role;
    const allowed = mayReadDetails(viewer, ctx, user);
    if (allowed === true && user.role) return user.role;
    return Promise.resolve(allowed).then((ok) => {
      if (!ok) throw forbidden(DETAILS_FORBIDDEN);
      return roleOf();
    });
  }

  @FieldResolver(() => [BusinessUnit], {
    description:
      "The business units this person belongs to. Only the person, admins and their organisation's partner admin read them: FORBIDDEN for anyone else.",
  })
  async businessUnits(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<BusinessUnit[]> {
    const viewer = requireViewer(ctx);
    if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
    if (user.businessUnits instanceof Collection && user.businessUnits.isInitialized()) {
      return user.businessUnits.getItems();
    }
    const loaded = await ctx.em.findOne(User, { id: user.id }, { populate: ['businessUnits'] });
    return loaded?.businessUnits.getItems() ?? [];
  }

  @FieldResolver(() => Organization, {
    nullable: true,
    description:
      "The person's partner organisation, when the viewer may see it and may read the person's details (the person, admins, their organisation's partner admin).",
  })
  async organization(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<Organization | null> {
    const viewer = requireViewer(ctx);
    const organizationId = await organizationIdOf(ctx, user);
    if (!organizationId || !canReadOrganization(viewer, { id: organizationId })) return null;
    if (!canReadUserDetails(viewer, { id: user.id, organizationId })) return null;
    return ctx.em.findOne(Organization, { id: organizationId });
  }

  @FieldResolver(() => Boolean, {
    description:
      "False while the person is deactivated: they cannot sign in and every token of theirs is refused. Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  async active(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return (await detailsOf(ctx, user)).active;
  }

  @FieldResolver(() => Date, {
    nullable: true,
    description:
      "When the person last signed in; null before the first time. Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  async lastSignInAt(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<Date | null> {
    return (await detailsOf(ctx, user)).lastSignInAt;
  }

  @FieldResolver(() => [AccessGrant], {
    description:
      "What the person was given access to in other systems (by onboarding workflows). Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  async accessGrants(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<AccessGrant[]> {
    const viewer = requireViewer(ctx);
    if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
    return ctx.em.find(AccessGrant, { user: user.id }, { orderBy: { grantedAt: 'asc', id: 'asc' } });
  }

  @Query(() => [User], {
    description: 'People the caller may see: everyone for admins, their organisation for partner admins, else themselves.',
  })
  async users(@Ctx() ctx: GraphQLContext): Promise<User[]> {
    const viewer = requireViewer(ctx);
    const scope = readableUsers(viewer);
    if (scope.kind === 'none') return [];
    const only = scope.kind === 'some' ? scope.where : null;
    const where = !only
      ? { deletedAt: null }
      : only.organizationId
        ? { deletedAt: null, $or: [{ organization: only.organizationId }, { id: only.selfId }] }
        : { deletedAt: null, id: only.selfId };
    return ctx.em.find(User, where, { populate: ['businessUnits', 'organization'], orderBy: { email: 'asc' } });
  }

  @Mutation(() => User, {
    description:
      "Sets a person's role and business units (admins only). Their open sockets follow at once: grid connections " +
      `become read-only or close (${CloseCode.Forbidden}), GraphQL sockets close (${CloseCode.Forbidden}) so that subscriptions restart with the new rights.`,
  })
  async setUserAccess(
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => RoleEnum) role: Role,
    @Arg('businessUnitCodes', () => [String]) businessUnitCodes: string[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden('Only admins change roles and units');
    const user = await ctx.em.transactional(async (tx) => {
      const user = isUuid(userId)
        ? await tx.findOne(User, { id: userId, deletedAt: null }, { populate: ['businessUnits', 'organization'] })
        : null;
      if (!user) throw notFound('User');
      const units = await unitsByCode(tx, businessUnitCodes);
      if ((role === 'PARTNER_ADMIN' || role === 'PARTNER_USER') && !user.organization) {
        throw badUserInput(`${role} is for people of a partner organisation`, 'role');
      }
      if (role !== 'ADMIN') await keepAnActiveAdmin(tx, user, 'demote');
      const before = { role: user.role, businessUnitCodes: user.businessUnits.getItems().map((u) => u.code).sort() };
      user.role = role;
      user.businessUnits.set(units);
      // An admin decided what the person may do, even if it is VIEWER without units: nobody waits any more,
      // and a Microsoft sign-in whose groups map to no role leaves it as it is (auth/entraTokens.ts).
      user.awaitingAccess = false;
      user.roleFromGroups = false;
      recordActivity(tx, viewer, 'USER_ACCESS_CHANGED', user.email, {
        before,
        after: { role, businessUnitCodes: units.map((u) => u.code).sort() },
      });
      return user;
    });
    ctx.services.events.publish('USER_ACCESS_CHANGED', { userId: user.id });
    return user;
  }
}

/** The person's row for their details (`active`, `lastSignInAt`), once the viewer may read them. */
async function detailsOf(ctx: GraphQLContext, user: UserLike): Promise<User> {
  const viewer = requireViewer(ctx);
  if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
  if (user instanceof User) return user;
  return ctx.em.findOneOrFail(User, { id: user.id });
}
