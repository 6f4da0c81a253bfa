import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { User } from '../directory/User.js';

/**
 * Failed sign-ins on one account from one address, and the lock they led to. Per account AND address: a
 * stranger guessing someone's password locks out their own address only, never the owner signing in from
 * elsewhere. Only real accounts get a row (a made-up email writes none here); rows go once their lock and
 * their failures are old (auth/signInLimits.ts).
 */
@Entity({ tableName: 'login_throttle' })
@Index({ properties: ['lastFailureAt'] })
export class LoginThrottle {
  [PrimaryKeyProp]?: ['user', 'address'];
  [OptionalProps]?: 'failures' | 'lockedUntil' | 'lastFailureAt';

  @ManyToOne({ entity: () => User, primary: true, deleteRule: 'cascade' })
  user!: User;

  @PrimaryKey({ type: 'text' })
  address!: string;

  @Property({ type: 'integer', default: 0 })
  failures: number = 0;

  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  lastFailureAt: Date = new Date();
}
