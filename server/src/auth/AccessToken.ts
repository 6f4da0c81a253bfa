import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../directory/User.js';
import { TOKEN_SCOPES, type TokenScope } from '../policies/viewer.js';

export const TokenScopeEnum = Object.fromEntries(TOKEN_SCOPES.map((s) => [s, s])) as { [K in TokenScope]: K };
registerEnumType(TokenScopeEnum, {
  name: 'TokenScope',
  description: 'READ: queries, OData, exports, read-only grids. WRITE: also mutations, imports and grid edits. Never beyond what the owner may.',
});

/**
 * A personal access token or a service account's (auth/accessTokens.ts): what a script sends as
 * `Bearer pst_…` or as the password of HTTP Basic. Only the SHA-256 of the token is kept (`tokenHash`); the
 * token itself is shown once, when it is made. A token is refused once revoked, expired, or when its owner
 * is deactivated or deleted (auth/viewers.ts).
 */
@ObjectType({ description: 'An access token (its text is shown once, when made: NewAccessToken.token).' })
@Entity({ tableName: 'access_token' })
@Index({ properties: ['owner'] })
export class AccessToken {
  [OptionalProps]?: 'createdAt' | 'lastUsedAt' | 'revokedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => User, { description: 'Whose rights the token carries: a person, or a service account.' })
  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  owner!: User;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  /** READ, or READ and WRITE: what the token may do, within what its owner may. */
  @Field(() => [TokenScopeEnum])
  @Property({ type: 'text[]' })
  scopes!: TokenScope[];

  /** Hex SHA-256 of the whole token text (`pst_…`). */
  @Property({ type: 'text', unique: true, hidden: true })
  tokenHash!: string;

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** Written at most about once a minute per token (auth/viewers.ts), not at every request. */
  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
