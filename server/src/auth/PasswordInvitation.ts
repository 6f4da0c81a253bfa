import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../directory/User.js';

/**
 * A one-time set-password link (`createUser`, `resetPassword`, `npm run create-admin`), by the SHA-256 of its
 * token: the token itself is shown once and never stored. Used once (`usedAt`), before `expiresAt`
 * (INVITATION_TTL_HOURS); a newer one for the same person replaces it (accounts.ts).
 */
@Entity({ tableName: 'password_invitation' })
@Unique({ properties: ['tokenHash'] })
export class PasswordInvitation {
  [OptionalProps]?: 'createdAt' | 'usedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Index()
  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: User;

  /** base64url of the SHA-256 of the token. */
  @Property({ type: 'text' })
  tokenHash!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}
