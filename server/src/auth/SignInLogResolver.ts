/** The sign-in log: every attempt, local or Microsoft, with its outcome. Admins only (policies/user.ts). */
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { badUserInput, forbidden } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { canManageUsers } from '../policies/user.js';
import { SignInEvent } from './SignInEvent.js';

@Resolver()
export class SignInLogResolver {
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
