import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../directory/User.js';

export const SIGN_IN_METHODS = ['PASSWORD', 'ENTRA_ID'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];
export const SignInMethodEnum = Object.fromEntries(SIGN_IN_METHODS.map((s) => [s, s])) as { [K in SignInMethod]: K };
registerEnumType(SignInMethodEnum, { name: 'SignInMethod' });

/** Every sign-in attempt, successful or not: the sign-in log admins read. */
@ObjectType()
@Entity({ tableName: 'sign_in_event' })
@Index({ properties: ['at'] })
export class SignInEvent {
  [OptionalProps]?: 'at' | 'user' | 'ip';

  @Field(() => ID)
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  /** The address as typed (lower-cased), even when no account has it. */
  @Field(() => String)
  @Property({ type: 'text' })
  email!: string;

  @Field(() => User, { nullable: true })
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  user: User | null = null;

  @Field(() => SignInMethodEnum)
  @Enum({ items: () => [...SIGN_IN_METHODS], nativeEnumName: 'sign_in_method' })
  method!: SignInMethod;

  @Field(() => Boolean)
  @Property({ type: 'boolean' })
  success!: boolean;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  ip: string | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  at: Date = new Date();
}
