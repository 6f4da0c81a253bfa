import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';

/** A business unit (SALES_NORTH, ...): the unit of budget ownership and of row-level security. */
// Simple resolvers: read by graphql-js directly (a unit is in every line of a budgetLines answer).
@ObjectType({ simpleResolvers: true })
@Entity({ tableName: 'business_unit' })
export class BusinessUnit {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text', unique: true })
  code!: string;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;
}
