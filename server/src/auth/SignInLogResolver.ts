/**
 * The sign-in log: every attempt, local or Microsoft, with its outcome; what it adds up to (failed attempts
 * per address typed); the accounts failed attempts have locked now (signInLimits.ts); and the people a
 * Microsoft sign-in created who wait for access (entraTokens.ts). What an admin's sign-in page shows. Admins
 * only (policies/user.ts).
 */
import { Arg, Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { User } from '../directory/User.js';
import { badUserInput, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { canManageUsers } from '../policies/user.js';
import { SignInEvent, SignInMethodEnum, type SignInMethod } from './SignInEvent.js';

@ObjectType({ description: 'The failed sign-in attempts with one address (as typed), over a period.' })
export class FailedSignInSummary {
  @Field(() => String, { description: 'The address as typed (lower-cased), even when no account has it.' })
  email!: string;

  @Field(() => User, { nullable: true, description: 'The account with that address now; null when there is none.' })
  user!: User | null;

  @Field(() => Int)
  failures!: number;

  @Field(() => Int, { description: 'How many different network addresses the failures came from.' })
  addresses!: number;

  @Field(() => Date, { description: 'The latest failure.' })
  lastAt!: Date;
}

@ObjectType({
  description:
    'An account failed attempts have locked now. A lock holds for the network address the failures came from ' +
    'only (the owner still signs in from elsewhere), so an account may be locked from several at once.',
})
export class LockedAccount {
  @Field(() => User)
  user!: User;

  @Field(() => Date, { description: 'When the last of its locks ends (User.lockedUntil).' })
  lockedUntil!: Date;

  @Field(() => [String], { description: 'The network addresses it is locked for (an IPv6 address as its /64), the longest lock first.' })
  addresses!: string[];
}

/** The most rows failedSignIns answers. */
const MAX_FAILED_SIGN_INS = 500;

@Resolver()
export class SignInLogResolver {
  @Query(() => [SignInEvent], {
    description:
      'The most recent sign-in attempts, newest first. Admins only. Every filter given must hold: `email` is the ' +
      'address as typed, compared without regard to case; `since` includes that instant.',
  })
  async signInEvents(
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('email', () => String, { nullable: true }) email: string | null,
    @Arg('userId', () => ID, { nullable: true }) userId: string | null,
    @Arg('success', () => Boolean, { nullable: true }) success: boolean | null,
    @Arg('method', () => SignInMethodEnum, { nullable: true }) method: SignInMethod | null,
    @Arg('since', () => Date, { nullable: true }) since: Date | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<SignInEvent[]> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden();
    if (first < 1 || first > 1000) throw badUserInput('first must be between 1 and 1000', 'first');
    const where: Record<string, unknown> = {};
    // The log stores the address lower-cased (SignInEvent.email), so lower-casing the filter is the whole
    // case-insensitive comparison, and the equality can still use an index.
    if (email != null) where.email = email.trim().toLowerCase();
    if (userId != null) {
      // A malformed id names nobody, so it matches no attempt (it must not reach the uuid column).
      if (!isUuid(userId)) return [];
      where.user = userId;
    }
    if (success != null) where.success = success;
    if (method != null) where.method = method;
    if (since != null) where.at = { $gte: since };
    return ctx.em.find(SignInEvent, where, { orderBy: { id: 'desc' }, limit: first, populate: ['user'] });
  }

  @Query(() => [FailedSignInSummary], {
    description:
      'Failed sign-in attempts per address typed, since `since` (inclusive; default: the whole log, 90 days), the most ' +
      `failures first. Admins only. At most ${MAX_FAILED_SIGN_INS} addresses.`,
  })
  async failedSignIns(
    @Arg('since', () => Date, { nullable: true }) since: Date | null,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Ctx() ctx: GraphQLContext,
  ): Promise<FailedSignInSummary[]> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden();
    if (first < 1 || first > MAX_FAILED_SIGN_INS) throw badUserInput(`first must be between 1 and ${MAX_FAILED_SIGN_INS}`, 'first');
    const rows = await ctx.em.getConnection().execute<{ email: string; failures: number; addresses: number; last_at: Date | string }[]>(
      `SELECT email, count(*)::int AS failures, count(DISTINCT ip)::int AS addresses, max(at) AS last_at
       FROM sign_in_event WHERE NOT success ${since ? 'AND at >= ?' : ''}
       GROUP BY email ORDER BY failures DESC, last_at DESC, email LIMIT ?`,
      since ? [since, first] : [first],
    );
    // The account with the address now (emails are stored lower-cased on both sides); a deleted person is
    // listed nowhere, so their failures show the address alone.
    const users = rows.length ? await ctx.em.find(User, { email: { $in: rows.map((r) => r.email) }, deletedAt: null }) : [];
    const byEmail = new Map(users.map((u) => [u.email, u]));
    return rows.map((r) => ({
      email: r.email,
      user: byEmail.get(r.email) ?? null,
      failures: r.failures,
      addresses: r.addresses,
      lastAt: new Date(r.last_at),
    }));
  }

  @Query(() => [LockedAccount], {
    description: 'The accounts failed sign-ins have locked now, from any address, the longest lock first. Admins only; unlockUser lifts them.',
  })
  async lockedUsers(@Ctx() ctx: GraphQLContext): Promise<LockedAccount[]> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden();
    const locks = await ctx.services.localLogin.locksInForce(ctx.em);
    if (locks.length === 0) return [];
    const users = await ctx.em.find(User, { id: { $in: [...new Set(locks.map((l) => l.userId))] }, deletedAt: null });
    const byId = new Map(users.map((u) => [u.id, u]));
    const accounts = new Map<string, LockedAccount>();
    // Longest lock first, as locksInForce orders them: an account's first row is its latest end.
    for (const lock of locks) {
      const user = byId.get(lock.userId);
      if (!user) continue;
      const account = accounts.get(user.id);
      if (account) account.addresses.push(lock.address);
      else accounts.set(user.id, { user, lockedUntil: lock.until, addresses: [lock.address] });
    }
    return [...accounts.values()];
  }

  @Query(() => [User], {
    description:
      'The people their first Microsoft sign-in created without access (User.awaitingAccess), the latest first. Admins only; ' +
      'setUserAccess gives them access.',
  })
  async usersAwaitingAccess(@Ctx() ctx: GraphQLContext): Promise<User[]> {
    const viewer = requireViewer(ctx);
    if (!canManageUsers(viewer)) throw forbidden();
    return ctx.em.find(User, { awaitingAccess: true, deletedAt: null }, { populate: ['businessUnits', 'organization'], orderBy: { createdAt: 'desc', id: 'asc' } });
  }
}
