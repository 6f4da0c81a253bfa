import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';

/** A budget round ("FY2027 Budget"): every business unit gets its lines and its submission in it. */
@ObjectType()
@Entity({ tableName: 'budget_plan' })
export class BudgetPlan {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  fiscalYear!: number;
}
