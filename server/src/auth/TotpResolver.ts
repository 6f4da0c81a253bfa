/**
 * Two-factor sign-in over GraphQL (contract v1.1 "People"): a person enrols themselves
 * (`beginTotpEnrollment`, then `confirmTotpEnrollment` with a code of the new secret) and turns it off with a
 * current code (`disableTotp`); `login` asks for the code (AuthResolver.ts, localLogin.ts). A lost device has
 * one way back, an admin's `resetTotp`, recorded in the activity log. `User.totpEnabled` and
 * `User.totpEnrollmentRequired` are read by the person, admins and their organisation's partner admin.
 *
 * Decisions:
 * - Only for password accounts. Microsoft (Entra ID) accounts sign in through Microsoft, whose own
 *   multi-factor rules apply, and service accounts never sign in: for both `beginTotpEnrollment` answers
 *   BAD_USER_INPUT, not FORBIDDEN, because no right is missing: the operation does not apply to that kind of
 *   account, whoever asks (FORBIDDEN would suggest someone else might be allowed to).
 * - Every operation acts on the caller's own account (there is no user argument): nobody enrols or turns off
 *   anyone else's second factor. An admin can only clear it (`resetTotp`), never set it.
 * - Not with an access token (`pst_`, or an app's Entra token): the second factor is a sign-in credential,
 *   and a token does not mint credentials (policies/accessToken.ts). Otherwise a leaked WRITE token alone could
 *   turn on a second factor only its holder has: the person could no longer sign in, and confirming would end
 *   their sessions while the token carried on. FORBIDDEN, whatever the code.
 * - Wrong codes count like wrong passwords (LocalLogin.checkCode: the address's window, the account's lock).
 * - Confirming ends the person's other sessions (this one carries on): a session opened with the password
 *   alone, perhaps by whoever learnt it, does not outlive the second factor being turned on.
 * - `resetPassword` does not clear TOTP: a forgotten password and a lost phone are different losses, and a
 *   set-password link that went astray must not also remove the second factor (`setPasswordWithToken` asks for
 *   the code when TOTP is on).
 */
import { LockMode } from '@mikro-orm/postgresql';
import { Arg, Ctx, Field, FieldResolver, ID, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import { recordActivity } from '../activity/activityLog.js';
import { manageableUser } from '../directory/people.js';
import { User } from '../directory/User.js';
import { DETAILS_FORBIDDEN, mayReadDetails, type UserLike } from '../directory/UserResolver.js';
import { badUserInput, conflict, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { mayMintCredentials } from '../policies/accessToken.js';
import { mustEnrolTotp } from './totp.js';

@ObjectType({ description: 'A new two-factor secret, shown once: scan otpauthUri as a QR code, or type the secret in.' })
export class TotpEnrollment {
  @Field(() => String, { description: 'The base32 secret, for typing into an authenticator app by hand.' })
  secret!: string;

  @Field(() => String, { description: '`otpauth://totp/Plansync:<email>?secret=…&issuer=Plansync`: what the QR code holds.' })
  otpauthUri!: string;
}

const NOT_FOR_THIS_ACCOUNT =
  'Two-factor sign-in is for accounts that sign in with a password: Microsoft accounts use Microsoft\'s own, and service accounts do not sign in';
const WRONG_CODE = 'That code is not right, or was used already, or there were too many attempts: enter the current code from your authenticator app';

const NOT_WITH_A_TOKEN = 'Two-factor sign-in is turned on and off signed in, not with an access token';

@Resolver(() => User)
export class TotpResolver {
  @FieldResolver(() => Boolean, {
    description:
      "Whether the person signs in with a second factor (TOTP). Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  async totpEnabled(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return (await totpRowOf(ctx, user)).totpEnabledAt !== null;
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether the person must enrol in two-factor sign-in before doing anything else (their role is in REQUIRE_TOTP_ROLES, they ' +
      "sign in with a password, and TOTP is not on). Only the person, admins and their organisation's partner admin read it.",
  })
  async totpEnrollmentRequired(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return mustEnrolTotp(await totpRowOf(ctx, user), ctx.services.config.requireTotpRoles);
  }

  @FieldResolver(() => Boolean, {
    description:
      'Whether the person signs in with a password (false for people who sign in with Microsoft only, for service accounts, and ' +
      "before a set-password link was used): what changePassword and two-factor sign-in apply to. Only the person, admins and their organisation's partner admin read it.",
  })
  async hasPassword(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return (await totpRowOf(ctx, user)).passwordHash !== null;
  }

  @Mutation(() => TotpEnrollment, {
    description:
      "Begins the caller's enrolment in two-factor sign-in: a new secret, which turns nothing on until confirmTotpEnrollment. " +
      'Accounts without a password (Microsoft, service accounts): BAD_USER_INPUT. Already on: CONFLICT. Not with an access token: FORBIDDEN.',
  })
  async beginTotpEnrollment(@Ctx() ctx: GraphQLContext): Promise<TotpEnrollment> {
    const viewer = requireViewer(ctx);
    if (!mayMintCredentials(viewer)) throw forbidden(NOT_WITH_A_TOKEN);
    return ctx.em.transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, { id: viewer.userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (user.kind !== 'PERSON' || user.passwordHash === null) throw badUserInput(NOT_FOR_THIS_ACCOUNT);
      if (user.totpEnabledAt) throw conflict('Two-factor sign-in is on already: turn it off (with a code) before enrolling another device');
      return Object.assign(new TotpEnrollment(), ctx.services.totp.begin(user));
    });
  }

  @Mutation(() => Boolean, {
    description:
      "Turns on two-factor sign-in for the caller with a code of the secret beginTotpEnrollment gave. A wrong code: BAD_USER_INPUT (counted like a failed sign-in). The caller's other sessions end; this one carries on. Not with an access token: FORBIDDEN.",
  })
  async confirmTotpEnrollment(@Arg('code', () => String) code: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    if (!mayMintCredentials(viewer)) throw forbidden(NOT_WITH_A_TOKEN);
    const { totp, localLogin } = ctx.services;
    await ctx.em.transactional(async (tx) => {
      // Locked for the transaction: two confirmations at once (or a new begin meanwhile) cannot both act.
      const user = await tx.findOneOrFail(User, { id: viewer.userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (user.totpEnabledAt) throw conflict('Two-factor sign-in is on already');
      const secret = totp.pendingSecret(user);
      if (!secret) throw badUserInput('Begin the enrolment first (it lasts 30 minutes): no new secret is waiting for a code', 'code');
      let step: number | null = null;
      const ok = await localLogin.checkCode(ctx.em, user.id, ctx.ip, async () => (step = await totp.matchingStep(secret, code, null)) !== null);
      if (!ok || step === null) throw badUserInput(WRONG_CODE, 'code');
      totp.enable(user, step);
      user.endTokens(viewer.tokenId ?? null);
      recordActivity(tx, viewer, 'TOTP_ENABLED', user.email);
    });
    ctx.services.events.publish('TOKENS_REVOKED', { userId: viewer.userId });
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Turns off the caller's two-factor sign-in, with a current code. A wrong or used code: BAD_USER_INPUT (counted like a failed sign-in). Not on: BAD_USER_INPUT. Not with an access token: FORBIDDEN.",
  })
  async disableTotp(@Arg('code', () => String) code: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    if (!mayMintCredentials(viewer)) throw forbidden(NOT_WITH_A_TOKEN);
    const { totp, localLogin } = ctx.services;
    await ctx.em.transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, { id: viewer.userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!user.totpEnabledAt) throw badUserInput('Two-factor sign-in is not on', 'code');
      const ok = await localLogin.checkCode(ctx.em, user.id, ctx.ip, () => totp.accept(tx, user, code));
      if (!ok) throw badUserInput(WRONG_CODE, 'code');
      totp.disable(user);
      recordActivity(tx, viewer, 'TOTP_DISABLED', user.email, { by: 'self' });
    });
    return true;
  }

  @Mutation(() => User, {
    description:
      "Turns off a person's two-factor sign-in (admins), for a lost or replaced device: they sign in with their password alone, " +
      'and enrol again (at once, when REQUIRE_TOTP_ROLES names their role). Recorded as TOTP_DISABLED.',
  })
  async resetTotp(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    return ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      const wasOn = user.totpEnabledAt !== null;
      ctx.services.totp.disable(user);
      recordActivity(tx, viewer, 'TOTP_DISABLED', user.email, { by: 'admin', wasOn });
      return user;
    });
  }
}

/** The person's row, once the viewer may read their details (FORBIDDEN otherwise). */
async function totpRowOf(ctx: GraphQLContext, user: UserLike): Promise<User> {
  const viewer = requireViewer(ctx);
  if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
  if (user instanceof User) return user;
  return ctx.em.findOneOrFail(User, { id: user.id });
}
