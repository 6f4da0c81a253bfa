import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';

/** A partner organisation whose users Plansync onboards (HyOpps' organisations). */
@ObjectType()
@Entity({ tableName: 'organization' })
export class Organization {
  [OptionalProps]?: 'createdAt' | 'offboardedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text', unique: true })
  name!: string;

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  /** When `offboard_partner` finished with it: its people are deactivated and its groups closed. Null while active. */
  @Field(() => Date, { nullable: true, description: 'When the organisation was offboarded (offboard_partner); null while it is active.' })
  @Property({ type: 'datetime', nullable: true })
  offboardedAt: Date | null = null;
}
