import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Failed sign-ins per email address, kept for unknown addresses too: a locked-out address must answer
 * exactly like any other failure, so lockout may never reveal whether an account exists.
 */
@Entity({ tableName: 'login_throttle' })
export class LoginThrottle {
  [OptionalProps]?: 'failures' | 'lockedUntil' | 'lastFailureAt';

  @PrimaryKey({ type: 'text' })
  email!: string;

  @Property({ type: 'integer', default: 0 })
  failures: number = 0;

  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  lastFailureAt: Date = new Date();
}
