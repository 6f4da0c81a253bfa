import { Collection } from '@mikro-orm/core';
import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { SignInEvent } from '../auth/SignInEvent.js';
import { BusinessUnit } from '../budget/BusinessUnit.js';
import { badUserInput, forbidden } from '../errors.js';
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
