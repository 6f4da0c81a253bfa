import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../directory/User.js';
import type { TokenScope } from '../policies/viewer.js';

/**
 * A personal access token or a service account's (auth/accessTokens.ts): what a script sends as
 * `Bearer pst_…` or as the password of HTTP Basic. Only the SHA-256 of the token is kept (`tokenHash`); the
 * token itself is shown once, when it is made. A token is refused once revoked, expired, or when its owner
 * is deactivated or deleted (auth/viewers.ts).
 */
@Entity({ tableName: 'access_token' })
@Index({ properties: ['owner'] })
export class AccessToken {
  [OptionalProps]?: 'createdAt' | 'lastUsedAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  owner!: User;

  @Property({ type: 'text' })
  name!: string;

  /** READ, or READ and WRITE: what the token may do, within what its owner may. */
  @Property({ type: 'text[]' })
  scopes!: TokenScope[];

  /** Hex SHA-256 of the whole token text (`pst_…`). */
  @Property({ type: 'text', unique: true, hidden: true })
  tokenHash!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** Written at most about once a minute per token (auth/viewers.ts), not at every request. */
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
