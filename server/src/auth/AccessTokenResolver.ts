/**
 * Access tokens and service accounts (contract: "Tools and scripts"). A token is `pst_` and 32 random bytes,
 * shown once by `createAccessToken`; only its SHA-256 is stored (auth/accessTokenSecrets.ts says why not
 * argon2). auth/viewers.ts accepts it wherever a sign-in token is accepted; the policies decide here who makes,
 * reads and revokes which (policies/accessToken.ts).
 *
 * Expiry: every token expires. `expiresInDays` is 1 to 365; left out (or null), 90 days: a token forgotten in
 * a script or a spreadsheet should not work for ever, and a year is the longest a tool should go without its
 * credentials being looked at again. Service accounts' tokens follow the same rule.
 */
import { LockMode } from '@mikro-orm/core';
import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { randomBytes } from 'node:crypto';
import { recordActivity } from '../activity/activityLog.js';
import { unitsByCode } from '../directory/people.js';
import { RoleEnum, type Role } from '../directory/role.js';
import { User } from '../directory/User.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { isUuid } from '../ids.js';
import {
  canCreateAccessTokenFor,
  canCreateServiceAccount,
  canManageAccessToken,
  mayMintCredentials,
  readsEveryonesTokens,
} from '../policies/accessToken.js';
import type { TokenScope } from '../policies/viewer.js';
import { AccessToken, TokenScopeEnum } from './AccessToken.js';
import { hashAccessToken, newAccessTokenText } from './accessTokenSecrets.js';
import { asTaken, entraAppIdArgument, linkEntraApp } from './ServiceAccountEntraAppResolver.js';

export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;
/**
 * Tokens in use (neither revoked nor expired) one person or service account may hold. Each token has a rate limit
 * of its own (RATE_LIMIT_PER_MINUTE, per token as the contract has it), so without a bound anyone could multiply
 * their allowance by minting tokens (found in a security QA pass: 60 made in a row, none refused). Excel, Power BI
 * and a few scripts need a handful; the bound only stops the multiplying.
 */
export const MAX_TOKENS_IN_USE = 25;
const MAX_NAME_LENGTH = 100;
const DAY_MS = 24 * 60 * 60 * 1000;

@ObjectType({ description: 'A token just made: `token` is shown this once (only its hash is kept) and starts with "pst_".' })
export class NewAccessToken {
  @Field(() => String)
  token!: string;

  @Field(() => AccessToken)
  accessToken!: AccessToken;
}

function tokenName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > MAX_NAME_LENGTH) throw badUserInput(`A name has 1 to ${MAX_NAME_LENGTH} characters`, 'name');
  return trimmed;
}

/** WRITE implies READ (a change answers with what it changed); stored in one order. */
function normalScopes(scopes: readonly TokenScope[]): TokenScope[] {
  if (scopes.length === 0) throw badUserInput('Give at least one scope: READ or WRITE', 'scopes');
  return scopes.includes('WRITE') ? ['READ', 'WRITE'] : ['READ'];
}

function expiryDays(days: number | null | undefined): number {
  if (days == null) return DEFAULT_TOKEN_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) {
    throw badUserInput(`expiresInDays is 1 to ${MAX_TOKEN_DAYS} (left out: ${DEFAULT_TOKEN_DAYS})`, 'expiresInDays');
  }
  return days;
}

/** A service account's address: unique, and in a domain that can never receive mail (RFC 2606 `.invalid`). */
function serviceAccountEmail(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'service';
  return `${slug}.${randomBytes(4).toString('hex')}@service-account.invalid`;
}

@Resolver()
export class AccessTokenResolver {
  @Mutation(() => NewAccessToken, {
    description:
      `Makes an access token for yourself, or (admins) for a service account (serviceAccountId). expiresInDays: 1 to ${MAX_TOKEN_DAYS}, ` +
      `left out ${DEFAULT_TOKEN_DAYS}. The token is answered this once. Called with an access token: FORBIDDEN (a token mints no tokens).`,
  })
  async createAccessToken(
    @Arg('name', () => String) name: string,
    @Arg('scopes', () => [TokenScopeEnum]) scopes: TokenScope[],
    @Arg('expiresInDays', () => Int, { nullable: true }) expiresInDays: number | null,
    @Arg('serviceAccountId', () => ID, { nullable: true }) serviceAccountId: string | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<NewAccessToken> {
    const viewer = requireViewer(ctx);
    if (!mayMintCredentials(viewer)) throw forbidden('An access token cannot make tokens: sign in to make one');
    const wanted = { name: tokenName(name), scopes: normalScopes(scopes), days: expiryDays(expiresInDays) };
    return ctx.em.transactional(async (tx) => {
      let owner: User | null;
      if (serviceAccountId == null) {
        owner = await tx.findOne(User, { id: viewer.userId });
      } else {
        if (!canCreateAccessTokenFor(viewer, { id: '', kind: 'SERVICE' })) throw forbidden('Only admins make tokens for service accounts');
        owner = isUuid(serviceAccountId) ? await tx.findOne(User, { id: serviceAccountId, kind: 'SERVICE', deletedAt: null }) : null;
        if (!owner) throw notFound('Service account');
      }
      if (!owner || !canCreateAccessTokenFor(viewer, owner)) throw forbidden();
      if (!owner.active) throw badUserInput('This service account is deactivated', 'serviceAccountId');
      // One instant for both, so that the expiry is exactly the days asked after the creation.
      const now = new Date();
      // The owner's row locked, so that two creations at once cannot both find room for one more.
      await tx.lock(owner, LockMode.PESSIMISTIC_WRITE);
      const inUse = await tx.count(AccessToken, { owner: owner.id, revokedAt: null, expiresAt: { $gt: now } });
      if (inUse >= MAX_TOKENS_IN_USE) {
        throw badUserInput(
          `${owner.kind === 'SERVICE' ? 'This service account has' : 'You have'} ${inUse} access tokens in use, the most one may hold: revoke one no longer needed first`,
          serviceAccountId == null ? 'name' : 'serviceAccountId',
        );
      }
      const token = newAccessTokenText();
      const row = tx.create(AccessToken, {
        createdAt: now,
        owner,
        name: wanted.name,
        scopes: wanted.scopes,
        tokenHash: hashAccessToken(token),
        expiresAt: new Date(now.getTime() + wanted.days * DAY_MS),
      });
      recordActivity(tx, viewer, 'ACCESS_TOKEN_CREATED', wanted.name, {
        tokenId: row.id,
        owner: owner.email,
        scopes: wanted.scopes,
        expiresAt: row.expiresAt.toISOString(),
      });
      return { token, accessToken: row };
    });
  }

  @Query(() => [AccessToken], {
    description: 'Access tokens not revoked, newest first (expired ones too, until revoked): your own; admins: everyone\'s.',
  })
  async accessTokens(@Ctx() ctx: GraphQLContext): Promise<AccessToken[]> {
    const viewer = requireViewer(ctx);
    const where = readsEveryonesTokens(viewer) ? { revokedAt: null } : { revokedAt: null, owner: viewer.userId };
    return ctx.em.find(AccessToken, where, { populate: ['owner'], orderBy: { createdAt: 'desc', id: 'asc' } });
  }

  @Mutation(() => Boolean, {
    description:
      'Revokes an access token at once, on every instance (its open sockets close): your own, or (admins) anyone\'s. ' +
      'Someone else\'s, a revoked or an unknown one: NOT_FOUND.',
  })
  async revokeAccessToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    const viewer = requireViewer(ctx);
    const revoked = await ctx.em.transactional(async (tx) => {
      const row = isUuid(id) ? await tx.findOne(AccessToken, { id, revokedAt: null }, { populate: ['owner'] }) : null;
      // Someone else's token is answered as a missing one: its existence is not theirs to learn.
      if (!row || !canManageAccessToken(viewer, { ownerId: row.owner.id })) throw notFound('Access token');
      row.revokedAt = new Date();
      recordActivity(tx, viewer, 'ACCESS_TOKEN_REVOKED', row.name, { tokenId: row.id, owner: row.owner.email });
      return row;
    });
    // Committed: the open sockets using it close, here and on every other instance.
    ctx.services.events.publish('TOKENS_REVOKED', { userId: revoked.owner.id, tokenId: revoked.id });
    return true;
  }

  @Mutation(() => User, {
    description:
      'Makes a service account (admins, signed in): kind SERVICE, no password and no sign-in; its tools use access tokens an admin ' +
      'makes for it (createAccessToken with serviceAccountId), or an Entra application linked to it (entraAppId, setServiceAccountEntraApp). ' +
      'Partner roles need an organisation: BAD_USER_INPUT.',
  })
  async createServiceAccount(
    @Arg('name', () => String) name: string,
    @Arg('role', () => RoleEnum) role: Role,
    @Arg('businessUnitCodes', () => [String], { nullable: true }) businessUnitCodes: string[] | null,
    @Arg('entraAppId', () => String, {
      nullable: true,
      description: 'A Microsoft Entra application (client) id to link at once (see setServiceAccountEntraApp).',
    })
    entraAppId: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    const viewer = requireViewer(ctx);
    if (!canCreateServiceAccount(viewer)) throw forbidden('Only admins, signed in, make service accounts');
    const displayName = tokenName(name);
    if (role === 'PARTNER_ADMIN' || role === 'PARTNER_USER') throw badUserInput('A service account cannot have a partner role', 'role');
    const appId = entraAppId == null ? null : entraAppIdArgument(entraAppId);
    return asTaken(() => ctx.em.transactional(async (tx) => {
      const units = await unitsByCode(tx, businessUnitCodes ?? []);
      const user = tx.create(User, { email: serviceAccountEmail(displayName), displayName, role, kind: 'SERVICE' });
      user.businessUnits.set(units);
      recordActivity(tx, viewer, 'SERVICE_ACCOUNT_CREATED', user.email, {
        userId: user.id,
        name: displayName,
        role,
        businessUnitCodes: units.map((u) => u.code).sort(),
      });
      if (appId) await linkEntraApp(tx, viewer, user, appId);
      return user;
    }));
  }
}
