/** The sign-in log: every attempt, local or Microsoft, with its outcome. Admins only (policies/user.ts). */
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { badUserInput, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { canManageUsers } from '../policies/user.js';
import { SignInEvent, SignInMethodEnum, type SignInMethod } from './SignInEvent.js';

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
}
