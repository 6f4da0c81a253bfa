import { Collection } from '@mikro-orm/core';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { SignInEvent } from '../auth/SignInEvent.js';
import { BusinessUnit } from '../budget/BusinessUnit.js';
import { badUserInput, conflict, forbidden, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { RoleEnum, type Role } from './role.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canReadOrganization } from '../policies/organization.js';
import { canManageUsers, readableUsers } from '../policies/user.js';
import { Organization } from './Organization.js';
import { User } from './User.js';

/** A User as resolvers see it: the entity, or the plain snapshot an event carries. */
type UserLike = Pick<User, 'id'> & Partial<Pick<User, 'businessUnits' | 'organization'>>;

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => [BusinessUnit], { description: 'The business units this person belongs to.' })
  async businessUnits(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<BusinessUnit[]> {
    requireViewer(ctx);
    if (user.businessUnits instanceof Collection && user.businessUnits.isInitialized()) {
      return user.businessUnits.getItems();
    }
    const loaded = await ctx.em.findOne(User, { id: user.id }, { populate: ['businessUnits'] });
    return loaded?.businessUnits.getItems() ?? [];
  }

  @FieldResolver(() => Organization, {
    nullable: true,
    description: "The person's partner organisation, when the viewer may see it.",
  })
  async organization(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<Organization | null> {
    const viewer = requireViewer(ctx);
    const organizationId =
      user.organization === undefined
        ? (await ctx.em.findOne(User, { id: user.id }))?.organization?.id
        : user.organization?.id;
    if (!organizationId || !canReadOrganization(viewer, { id: organizationId })) return null;
    return ctx.em.findOne(Organization, { id: organizationId });
  }

  @Query(() => [User], {
    description: 'People the caller may see: everyone for admins, their organisation for partner admins, else themselves.',
  })
  async users(@Ctx() ctx: GraphQLContext): Promise<User[]> {
    const viewer = requireViewer(ctx);
    const scope = readableUsers(viewer);
    const where = scope.all
      ? {}
      : scope.organizationId
        ? { $or: [{ organization: scope.organizationId }, { id: scope.selfId }] }
        : { id: scope.selfId };
    return ctx.em.find(User, where, { populate: ['businessUnits', 'organization'], orderBy: { email: 'asc' } });
  }

  @Mutation(() => User, {
    description:
      "Sets a person's role and business units (admins only). Their open sockets follow at once: grid connections " +
      'become read-only or close (4403), GraphQL sockets close (4403) so that subscriptions restart with the new rights.',
  })
  async setUserAccess(
    @Arg('userId', () => ID) userId: string,
    @Arg('role', () => RoleEnum) role: Role,
    @Arg('businessUnitCodes', () => [String]) businessUnitCodes: string[],
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden('Only admins change roles and units');
    const user = isUuid(userId) ? await ctx.em.findOne(User, { id: userId }, { populate: ['businessUnits', 'organization'] }) : null;
    if (!user) throw notFound('User');
    const codes = [...new Set(businessUnitCodes)];
    const units = codes.length > 0 ? await ctx.em.find(BusinessUnit, { code: { $in: codes } }) : [];
    if (units.length !== codes.length) {
      const unknown = codes.filter((c) => !units.some((u) => u.code === c));
      throw badUserInput(`Unknown business units: ${unknown.join(', ').slice(0, 200)}`, 'businessUnitCodes');
    }
    if ((role === 'PARTNER_ADMIN' || role === 'PARTNER_USER') && !user.organization) {
      throw badUserInput(`${role} is for people of a partner organisation`, 'role');
    }
    if (user.role === 'ADMIN' && role !== 'ADMIN' && (await ctx.em.count(User, { role: 'ADMIN' })) <= 1) {
      throw conflict('This is the last admin: make someone else admin first');
    }
    user.role = role;
    user.businessUnits.set(units);
    await ctx.em.flush();
    ctx.services.events.publish('USER_ACCESS_CHANGED', { userId: user.id });
    return user;
  }

  @Query(() => [SignInEvent], { description: 'The most recent sign-in attempts, newest first. Admins only.' })
  async signInEvents(
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SignInEvent[]> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden();
    if (first < 1 || first > 1000) throw badUserInput('first must be between 1 and 1000', 'first');
    return ctx.em.find(SignInEvent, {}, { orderBy: { id: 'desc' }, limit: first, populate: ['user'] });
  }
}
