/**
 * Password accounts over GraphQL: `createUser` and `resetPassword` (admins; each answers a one-time
 * set-password link, accounts.ts), `setPasswordWithToken` (whoever holds the link: it signs them in, like
 * `login`, with its entry in the sign-in log), `changePassword` (the person's other tokens end), `unlockUser`
 * and `User.lockedUntil` (the sign-in limits' locks, signInLimits.ts). Every change writes its activity entry in its transaction; ending tokens
 * publishes TOKENS_REVOKED, on which open sockets re-check and close with CloseCode.Unauthorized.
 *
 * Out of scope: deactivating and deleting people (directory/PeopleAdminResolver.ts), signing in and out
 * (AuthResolver.ts), two-factor sign-in.
 */
import { LockMode } from '@mikro-orm/core';
import { Arg, Ctx, Field, FieldResolver, ID, InputType, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import { recordActivity } from '../activity/activityLog.js';
import { Organization } from '../directory/Organization.js';
import { manageableUser, unitsByCode } from '../directory/people.js';
import { RoleEnum, type Role } from '../directory/role.js';
import { User } from '../directory/User.js';
import { DETAILS_FORBIDDEN, mayReadDetails, type UserLike } from '../directory/UserResolver.js';
import { badUserInput, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { mayMintCredentials } from '../policies/accessToken.js';
import { canManageUsers } from '../policies/user.js';
import { AuthPayload } from './AuthResolver.js';
import { withInvitationMail } from './invitationMail.js';
import { SignInEvent } from './SignInEvent.js';
import { TOTP_CODE_NEEDED_MESSAGE, TOTP_CODE_WRONG_MESSAGE } from './localLogin.js';
import { mustEnrolTotp, totpRequired } from './totp.js';
import { viewerFromUser } from './viewers.js';

@ObjectType({ description: 'A person and their one-time set-password link, shown this once.' })
export class UserInvitation {
  @Field(() => User)
  user!: User;

  @Field(() => String, { description: '`<base>/set-password#<token>`: lets the person choose a password once, before expiresAt.' })
  setPasswordUrl!: string;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'Whether the link was also e-mailed to the person: true once the mail server took it, false when sending failed (the link ' +
      'above still works: pass it on), null when no mail server is configured (SMTP_URL).',
  })
  emailSent!: boolean | null;
}

@InputType()
export class CreateUserInput {
  @Field(() => String)
  email!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => RoleEnum)
  role!: Role;

  @Field(() => [String], { nullable: true })
  businessUnitCodes?: string[] | null;

  @Field(() => ID, { nullable: true })
  organizationId?: string | null;
}

const MAX_EMAIL_LENGTH = 320;
const MAX_DISPLAY_NAME_LENGTH = 200;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

@Resolver(() => User)
export class AccountResolver {
  @FieldResolver(() => Date, {
    nullable: true,
    description:
      "Until when the person's account is locked after failed sign-ins (from the address they came from); null when it is not. " +
      "Only the person, admins and their organisation's partner admin read it: FORBIDDEN for anyone else.",
  })
  async lockedUntil(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<Date | null> {
    const viewer = requireViewer(ctx);
    if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
    return ctx.services.localLogin.lockedUntil(ctx.em, user.id);
  }

  @FieldResolver(() => Boolean, {
    description:
      'True for a person their first Microsoft sign-in created without access (their groups mapped to no role: VIEWER, no units), ' +
      "until an admin gives them access (setUserAccess) or their groups bring a role. Only the person, admins and their organisation's " +
      'partner admin read it: FORBIDDEN for anyone else.',
  })
  async awaitingAccess(@Root() user: UserLike, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    if (!(await mayReadDetails(viewer, ctx, user))) throw forbidden(DETAILS_FORBIDDEN);
    if (user instanceof User) return user.awaitingAccess;
    return (await ctx.em.findOneOrFail(User, { id: user.id })).awaitingAccess;
  }

  @Mutation(() => UserInvitation, {
    description:
      'Creates a person without a password (admins) and answers their one-time set-password link. An email already taken: ' +
      'BAD_USER_INPUT. The email of a deleted person brings their account back as this call describes it (their past ' +
      'sign-ins and activity stay theirs).',
  })
  async createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() ctx: GraphQLContext): Promise<UserInvitation> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden('Only admins create people');
    const email = input.email.trim().toLowerCase();
    if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) throw badUserInput('Not an email address', 'email');
    const displayName = input.displayName.trim();
    if (!displayName || displayName.length > MAX_DISPLAY_NAME_LENGTH) {
      throw badUserInput(`A display name has 1 to ${MAX_DISPLAY_NAME_LENGTH} characters`, 'displayName');
    }
    try {
      const invitation = await ctx.em.transactional(async (tx) => {
        // Locked: two creations of a deleted person's email at once bring them back once; the second finds them here.
        const previous = await tx.findOne(User, { email }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (previous && previous.deletedAt === null) throw badUserInput('This email is already taken', 'email');
        const units = await unitsByCode(tx, input.businessUnitCodes ?? []);
        const organization = input.organizationId
          ? isUuid(input.organizationId)
            ? await tx.findOne(Organization, { id: input.organizationId })
            : null
          : null;
        if (input.organizationId && !organization) throw badUserInput('Unknown organisation', 'organizationId');
        if ((input.role === 'PARTNER_ADMIN' || input.role === 'PARTNER_USER') && !organization) {
          throw badUserInput(`${input.role} is for people of a partner organisation: give organizationId`, 'organizationId');
        }
        const deletedAt = previous?.deletedAt ?? null;
        const user = previous
          ? returningPerson(previous, { displayName, role: input.role, organization })
          : tx.create(User, { email, displayName, role: input.role, organization });
        if (previous) await user.businessUnits.init();
        user.businessUnits.set(units);
        const invitation = await ctx.services.accounts.invite(tx, user);
        recordActivity(tx, viewer, 'USER_CREATED', email, {
          role: input.role,
          businessUnitCodes: units.map((u) => u.code).sort(),
          organization: organization?.name ?? null,
          ...(deletedAt && { returningAfterDeletion: deletedAt.toISOString() }),
        });
        return { user, ...invitation };
      });
      // Committed: now the person may get their link by mail too (a failure is reported, it undoes nothing).
      return await withInvitationMail(ctx.services, invitation, 'CREATED');
    } catch (err) {
      // Two creations of one email at once: the unique index decides, with the same answer.
      if ((err as { code?: string }).code === '23505') throw badUserInput('This email is already taken', 'email');
      throw err;
    }
  }

  @Mutation(() => UserInvitation, {
    description:
      "Ends a person's password and every token of theirs at once (admins), and answers a new one-time set-password link.",
  })
  async resetPassword(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<UserInvitation> {
    const viewer = requireViewer(ctx);
    const result = await ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      user.passwordHash = null;
      user.endTokens();
      const invitation = await ctx.services.accounts.invite(tx, user);
      recordActivity(tx, viewer, 'PASSWORD_RESET', user.email);
      return { user, ...invitation };
    });
    ctx.services.events.publish('TOKENS_REVOKED', { userId: result.user.id });
    return withInvitationMail(ctx.services, result, 'RESET');
  }

  @Mutation(() => AuthPayload, {
    description:
      'Chooses a password with a one-time link (createUser, resetPassword) and signs in, as login does. A used, expired or unknown link: BAD_USER_INPUT. ' +
      'With two-factor sign-in on (a reset keeps it), as login: without a valid totpCode UNAUTHENTICATED with extensions.totpRequired, and nothing changes. ' +
      'The new password lifts the locks failed sign-ins put on the account.',
  })
  async setPasswordWithToken(
    @Arg('token', () => String) token: string,
    @Arg('password', () => String) password: string,
    // The authenticator app's 6-digit code, when two-factor sign-in is on (described with the field: an argument's
    // own description would print the contract's one-line signature over several lines).
    @Arg('totpCode', () => String, { nullable: true }) totpCode: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthPayload> {
    const user = await ctx.em.transactional(async (tx) => {
      const user = await ctx.services.accounts.setPasswordWithToken(tx, token, password);
      // A link that went astray must not also get past the second factor: the code, or nothing happens (the
      // transaction rolls back, the link stays usable). Wrong codes count like failed sign-ins.
      if (user.totpEnabledAt) {
        if (!totpCode) throw totpRequired(TOTP_CODE_NEEDED_MESSAGE);
        const accepted = await ctx.services.localLogin.checkCode(ctx.em, user.id, ctx.ip, () => ctx.services.totp.accept(tx, user, totpCode));
        if (!accepted) throw totpRequired(TOTP_CODE_WRONG_MESSAGE);
      }
      // The locks failed sign-ins put on the account guarded a password that is gone: a person locked out who asks
      // for a reset would otherwise be refused with the new one until the lock ran out (as an admin's unlockUser).
      await ctx.services.localLogin.unlock(tx, user.id);
      user.lastSignInAt = new Date();
      // A sign-in like any other, so the sign-in log has it: who used the link, when and from where (a link that
      // went astray shows up there, and "last sign-in" never names a time the log does not).
      tx.create(SignInEvent, { email: user.email, user, method: 'PASSWORD', success: true, ip: ctx.ip });
      return user;
    });
    await ctx.em.populate(user, ['businessUnits', 'organization']);
    const signed = await ctx.services.tokens.sign(user.id);
    const verified = (await ctx.services.tokens.verify(signed))!;
    const viewer = viewerFromUser(user, verified.expiresAt, verified.tokenId, verified.issuedAtMs);
    // The rest of this response is resolved as the person who just signed in (as for login).
    ctx.viewer = mustEnrolTotp(user, ctx.services.config.requireTotpRoles) ? { ...viewer, totpEnrollmentRequired: true } : viewer;
    return Object.assign(new AuthPayload(), { token: signed, user, viewer });
  }

  @Mutation(() => Boolean, {
    description:
      "Changes the caller's password. A wrong current password: BAD_USER_INPUT (counted like failed sign-ins, with the same lock). The person's other tokens stop working (their sockets close); this one carries on. Not with an access token: FORBIDDEN.",
  })
  async changePassword(
    @Arg('currentPassword', () => String) currentPassword: string,
    @Arg('newPassword', () => String) newPassword: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    const viewer = requireViewer(ctx);
    // A password is a sign-in credential, and an access token makes or changes none (policies/accessToken.ts):
    // a leaked token must not be a way to guess at the password, nor to end the person's sessions.
    if (!mayMintCredentials(viewer)) throw forbidden('A password is changed signed in, not with an access token');
    const user = await ctx.em.findOneOrFail(User, { id: viewer.userId });
    ctx.services.accounts.checkPassword(newPassword, user.email, 'newPassword');
    // Counted like sign-in attempts (localLogin.ts): a token does not buy unlimited guesses at the password.
    if (!(await ctx.services.localLogin.checkCurrentPassword(ctx.em, user, currentPassword, ctx.ip))) {
      throw badUserInput('The current password is not right, or there were too many attempts: try again in a few minutes', 'currentPassword');
    }
    await ctx.services.accounts.setPassword(user, newPassword, viewer.tokenId ?? null);
    recordActivity(ctx.em, viewer, 'PASSWORD_CHANGED', user.email);
    await ctx.em.flush();
    ctx.services.events.publish('TOKENS_REVOKED', { userId: user.id });
    return true;
  }

  @Mutation(() => User, { description: "Lifts every lock failed sign-ins put on a person's account (admins)." })
  async unlockUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: GraphQLContext): Promise<User> {
    const viewer = requireViewer(ctx);
    return ctx.em.transactional(async (tx) => {
      const user = await manageableUser(tx, viewer, userId);
      const lockedUntil = await ctx.services.localLogin.lockedUntil(tx, user.id);
      await ctx.services.localLogin.unlock(tx, user.id);
      recordActivity(tx, viewer, 'USER_UNLOCKED', user.email, { lockedUntil: lockedUntil?.toISOString() ?? null });
      return user;
    });
  }
}

/**
 * A deleted person's row made the person `createUser` describes (their email is the same person to every record
 * here, so their past sign-ins and activity entries stay with them). Deletion left it without password, two-factor
 * secrets, units, access grants, links or tokens (PeopleAdminResolver.deleteUser); the rest is set afresh, so that
 * nothing of the old account's access comes back: not its role from Entra groups, nor its link to a Microsoft
 * account (the next Microsoft sign-in with this email links one again, as for anyone an admin created).
 */
function returningPerson(user: User, as: { displayName: string; role: Role; organization: Organization | null }): User {
  user.deletedAt = null;
  user.active = true;
  user.kind = 'PERSON';
  user.displayName = as.displayName;
  user.role = as.role;
  user.roleFromGroups = false;
  user.awaitingAccess = false;
  user.organization = as.organization;
  user.entraObjectId = null;
  user.entraAppId = null;
  user.passwordHash = null;
  user.endTokens();
  return user;
}
