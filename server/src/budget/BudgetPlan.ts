import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';

export const PLAN_STATUSES = ['OPEN', 'CLOSED'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];
export const PlanStatusEnum = Object.fromEntries(PLAN_STATUSES.map((s) => [s, s])) as { [K in PlanStatus]: K };
registerEnumType(PlanStatusEnum, {
  name: 'PlanStatus',
  description: 'OPEN: units edit and submit their budgets. CLOSED: the plan is read-only on every path until reopened.',
});

/** A budget round ("FY2027 Budget"): every business unit gets its lines and its submission in it. */
@ObjectType()
@Entity({ tableName: 'budget_plan' })
export class BudgetPlan {
  [OptionalProps]?: 'status' | 'createdAt' | 'requireCompleteSubmission';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Unique: plans are told apart by name (migration PlanStatus). */
  @Field(() => String)
  @Property({ type: 'text', unique: true })
  name!: string;

  @Field(() => Int)
  @Property({ type: 'integer' })
  fiscalYear!: number;

  @Field(() => PlanStatusEnum)
  @Enum({ items: () => [...PLAN_STATUSES], nativeEnumName: 'plan_status', default: 'OPEN' })
  status: PlanStatus = 'OPEN';

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => Boolean, { description: 'When true, a unit can be submitted only once every line has a budget amount (submitBudget: BAD_USER_INPUT).' })
  @Property({ type: 'boolean', default: false })
  requireCompleteSubmission: boolean = false;
}
