/**
 * Signing in and out over GraphQL: `login` (email and password, with limits: localLogin.ts), `signOut` (ends
 * the token it is called with; its open sockets close on TOKENS_REVOKED) and `me`.
 *
 * Out of scope: Microsoft sign-in (entraSignIn.ts, plain HTTP routes) and the sign-in log
 * (SignInLogResolver.ts).
 */
import { Arg, Ctx, Field, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { User } from '../directory/User.js';
import type { Viewer } from '../policies/viewer.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { CloseCode } from '../../../schema/codes.js';
import { mustEnrolTotp } from './totp.js';

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
    description:
      'Signs in with email and password. Every failure answers alike, whatever its reason. With two-factor sign-in on, a right ' +
      'password without a valid totpCode answers UNAUTHENTICATED with extensions.totpRequired: true (a wrong code counts as a failed sign-in).',
  })
  async login(
    @Arg('email', () => String) email: string,
    @Arg('password', () => String) password: string,
    // The authenticator app's 6-digit code, when two-factor sign-in is on (described with the field: an argument's
    // own description would print the contract's one-line signature over several lines).
    @Arg('totpCode', () => String, { nullable: true }) totpCode: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthPayload> {
    const session = await ctx.services.localLogin.login(ctx.em, email, password, ctx.ip, totpCode);
    // The rest of this response (the user's units, organisation) is resolved as the person who just signed in.
    // Someone who must enrol in TOTP first (REQUIRE_TOTP_ROLES) reads their own row here and nothing beyond.
    ctx.viewer = mustEnrolTotp(session.user, ctx.services.config.requireTotpRoles) ? { ...session.viewer, totpEnrollmentRequired: true } : session.viewer;
    return session;
  }

  @Mutation(() => Boolean, {
    description:
      'Ends, on the server, the token it is called with: every later request with it answers UNAUTHENTICATED, and ' +
      `the GraphQL and grid sockets opened with it close with ${CloseCode.Unauthorized}. The person's other tokens are not affected.`,
  })
  async signOut(@Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    if (!(await ctx.services.viewers.revoke(ctx.em, viewer))) return false;
    ctx.services.events.publish('TOKENS_REVOKED', { userId: viewer.userId, tokenId: viewer.tokenId! });
    return true;
  }

  @Query(() => User, { description: 'The signed-in person.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    return ctx.em.findOneOrFail(User, { id: viewer.userId }, { populate: ['businessUnits', 'organization'] });
  }
}
