import { Arg, Ctx, Field, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { User } from '../directory/User.js';
import type { Viewer } from '../policies/viewer.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';

@ObjectType({ description: 'A signed-in session: the token to send as `Authorization: Bearer <token>`.' })
export class AuthPayload {
  @Field(() => String)
  token!: string;

  @Field(() => User)
  user!: User;

  viewer!: Viewer;
}

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, {
    description: 'Signs in with email and password. Every failure answers alike, whatever its reason.',
  })
  async login(
    @Arg('email', () => String) email: string,
    @Arg('password', () => String) password: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthPayload> {
    const session = await ctx.services.localLogin.login(ctx.em, email, password, ctx.ip);
    // The rest of this response (the user's units, organisation) is resolved as the person who just signed in.
    ctx.viewer = session.viewer;
    return session;
  }

  @Query(() => User, { description: 'The signed-in person.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    return ctx.em.findOneOrFail(User, { id: viewer.userId }, { populate: ['businessUnits', 'organization'] });
  }
}
