import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Failed sign-ins per address in the current one-minute window (LOGIN_FAILURES_PER_MINUTE), whatever the
 * emails: one row per address, counted atomically in PostgreSQL so that every instance and every concurrent
 * attempt shares the count. Rows of windows long over are deleted (auth/signInLimits.ts).
 */
@Entity({ tableName: 'sign_in_rate' })
@Index({ properties: ['windowStartedAt'] })
export class SignInRate {
  @PrimaryKey({ type: 'text' })
  address!: string;

  @Property({ type: 'datetime' })
  windowStartedAt!: Date;

  /** Failures, plus attempts still in flight (each reserves one before hashing; a success gives it back). */
  @Property({ type: 'integer' })
  failures!: number;
}
