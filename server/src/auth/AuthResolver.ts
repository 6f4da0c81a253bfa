/**
 * Signing in and out over GraphQL: `login` (email and password, with limits: localLogin.ts), `renewSession`
 * (a fresh token for a signed-in session, up to SESSION_MAX_HOURS after its sign-in), `signOut` (ends the
 * token it is called with; its open sockets close on TOKENS_REVOKED) and `me`.
 *
 * Out of scope: Microsoft sign-in (entraSignIn.ts, plain HTTP routes) and the sign-in log
 * (SignInLogResolver.ts).
 */
import { Arg, Ctx, Field, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { User } from '../directory/User.js';
import type { Viewer } from '../policies/viewer.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { forbidden } from '../errors.js';
import { AUTH_TIME_CLAIM } from './tokens.js';
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

  @Mutation(() => AuthPayload, {
    description:
      'A new token for the session it is called with, so that someone at work is not sent to sign in mid-edit: it lasts ' +
      'JWT_TTL_SECONDS, but never past SESSION_MAX_HOURS after the sign-in (then the person signs in again). The token it ' +
      'replaces keeps working until it expires. Only a sign-in session renews: an access token or an Entra token answers FORBIDDEN.',
  })
  async renewSession(@Ctx() ctx: GraphQLContext): Promise<AuthPayload> {
    const viewer = requireViewer(ctx);
    const startedAt = viewer.sessionStartedAtMs;
    if (startedAt === undefined) throw forbidden('Only a signed-in session can be renewed; an access token or a Microsoft token cannot');
    const { tokens, config } = ctx.services;
    // The session's end is fixed at its sign-in: renewals move a token's expiry up to it, never beyond. (Never
    // shorter than one token's lifetime: the first token already lives that long.)
    const sessionEnd = Math.floor(startedAt / 1000) + Math.max(config.sessionMaxHours * 3600, tokens.lifetimeSeconds);
    if (sessionEnd - Date.now() / 1000 < 60) {
      throw forbidden(`This session started more than ${config.sessionMaxHours} hours ago and cannot be renewed: sign in again`);
    }
    const token = await tokens.sign(viewer.userId, { [AUTH_TIME_CLAIM]: Math.floor(startedAt / 1000) }, sessionEnd);
    const verified = (await tokens.verify(token))!;
    const user = await ctx.em.findOneOrFail(User, { id: viewer.userId }, { populate: ['businessUnits', 'organization'] });
    return { token, user, viewer: { ...viewer, expiresAt: verified.expiresAt, tokenId: verified.tokenId, issuedAtMs: verified.issuedAtMs } };
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
