import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { User } from '../directory/User.js';

/**
 * Tokens ended before their expiry (`signOut`), by token id (a Plansync token's `jti`, else a hash of the
 * token). Checked with the viewer lookup on every request and socket; a row is useless once the token would
 * have expired anyway, and is deleted some time after that (signInLimits.ts, `pruneNowAndThen`).
 */
@Entity({ tableName: 'revoked_token' })
@Index({ properties: ['expiresAt'] })
export class RevokedToken {
  @PrimaryKey({ type: 'text' })
  tokenId!: string;

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'cascade' })
  user: User | null = null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  revokedAt: Date = new Date();
}
