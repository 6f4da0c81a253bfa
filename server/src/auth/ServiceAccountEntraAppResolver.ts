/**
 * Linking a service account to a Microsoft Entra application (admins): that application's app-only tokens
 * (client credentials) then speak for the account, within the app roles the tenant granted it
 * (auth/entraAppTokens.ts). `setServiceAccountEntraApp` links, relinks or (null) unlinks; createServiceAccount
 * links at creation through `linkEntraApp` below. `User.entraAppId` is read by admins.
 *
 * An app id is a GUID (stored lower-case); one app per account and one account per app (BAD_USER_INPUT when
 * the app is linked to another account, deleted ones aside: a deletion unlinks). Unlinking or relinking ends the
 * account's Entra tokens issued until then (`User.endTokens`): requests with them are refused at once on every
 * instance, sockets opened with them close (TOKENS_REVOKED), and they stay refused if the app is linked again.
 * Each link and unlink writes its activity entry in the same transaction.
 *
 * Out of scope: verifying the tokens (entraTokens.ts, entraAppTokens.ts), the account's access tokens (pst_,
 * AccessTokenResolver.ts), which a link leaves alone.
 */
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { recordActivity, type Actor } from '../activity/activityLog.js';
import { User } from '../directory/User.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import { canLinkEntraApp, canReadEntraAppLink } from '../policies/accessToken.js';
import { normalEntraAppId } from './entraAppTokens.js';

const TAKEN = 'This Entra application is already linked to another service account';

/** The app id as stored, or BAD_USER_INPUT (field `entraAppId`) when it is not a GUID. */
export function entraAppIdArgument(value: string): string {
  const appId = normalEntraAppId(value);
  if (!appId) throw badUserInput('An Entra application (client) id is a GUID, as the app registration shows it', 'entraAppId');
  return appId;
}

/**
 * Links `account` (a service account, in `tx`) to `appId`, or unlinks it (null), with its activity entry; true
 * when something changed. BAD_USER_INPUT when another account has the app (checked here; the unique index
 * decides between two links at once, see `asTaken`). Any earlier link's tokens end (`endTokens`): the caller
 * publishes TOKENS_REVOKED once committed.
 */
export async function linkEntraApp(tx: EntityManager, actor: Actor, account: User, appId: string | null): Promise<boolean> {
  const before = account.entraAppId;
  if (before === appId) return false;
  if (appId && (await tx.count(User, { entraAppId: appId, id: { $ne: account.id } }))) throw badUserInput(TAKEN, 'entraAppId');
  account.entraAppId = appId;
  if (before) {
    account.endTokens();
    recordActivity(tx, actor, 'SERVICE_ACCOUNT_ENTRA_APP_UNLINKED', account.email, { userId: account.id, entraAppId: before });
  }
  if (appId) recordActivity(tx, actor, 'SERVICE_ACCOUNT_ENTRA_APP_LINKED', account.email, { userId: account.id, entraAppId: appId });
  return true;
}

/** A unique violation on the app id (two links of one app at once): the same answer as a link already there. */
export async function asTaken<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw badUserInput(TAKEN, 'entraAppId');
    throw err;
  }
}

@Resolver(() => User)
export class ServiceAccountEntraAppResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description:
      'For a service account: the Microsoft Entra application (client) id whose app-only tokens speak for it (setServiceAccountEntraApp). ' +
      'Admins only; null for anyone else and for people.',
  })
  async entraAppId(@Root() user: User, @Ctx() ctx: GraphQLContext): Promise<string | null> {
    const viewer = requireViewer(ctx);
    if (!canReadEntraAppLink(viewer)) return null;
    if (user.entraAppId !== undefined) return user.entraAppId;
    return (await ctx.em.findOne(User, { id: user.id }, { fields: ['entraAppId'] }))?.entraAppId ?? null;
  }

  @Mutation(() => User, {
    description:
      "Links a service account to a Microsoft Entra application (client) id, or unlinks it (entraAppId null), admins signed in: the app's " +
      'app-only tokens for this API then speak for the account, READ with the app role Plansync.Read, READ and WRITE with Plansync.ReadWrite. ' +
      'Not a GUID, or the app linked to another account: BAD_USER_INPUT. Not a service account: NOT_FOUND. Unlinking or relinking ends ' +
      'the tokens of the app linked before at once (their sockets close).',
  })
  async setServiceAccountEntraApp(
    @Arg('userId', () => ID) userId: string,
    @Arg('entraAppId', () => String, { nullable: true }) entraAppId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    const viewer = requireViewer(ctx);
    if (!canLinkEntraApp(viewer)) throw forbidden('Only admins, signed in, link service accounts to Entra applications');
    const appId = entraAppId == null ? null : entraAppIdArgument(entraAppId);
    const { account, changed } = await asTaken(() =>
      ctx.em.transactional(async (tx) => {
        const account = isUuid(userId) ? await tx.findOne(User, { id: userId, kind: 'SERVICE', deletedAt: null }) : null;
        if (!account) throw notFound('Service account');
        return { account, changed: await linkEntraApp(tx, viewer, account, appId) };
      }),
    );
    // Committed: sockets opened with the earlier app's tokens re-check and close, here and on every instance.
    if (changed) ctx.services.events.publish('TOKENS_REVOKED', { userId: account.id });
    return account;
  }
}
