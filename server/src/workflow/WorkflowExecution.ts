import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { BudgetPlan } from '../budget/BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { Organization } from '../directory/Organization.js';
import { User } from '../directory/User.js';
import { EXECUTION_STATUSES, ExecutionStatusEnum, type ExecutionStatus } from './statuses.js';

/**
 * One run of a workflow definition. The organisation (onboarding) or the plan and unit (budget submission)
 * it concerns are columns, because visibility depends on them.
 */
@ObjectType()
@Entity({ tableName: 'workflow_execution' })
@Index({ properties: ['status', 'createdAt'] })
@Index({ properties: ['definitionKey', 'createdAt'] })
export class WorkflowExecution {
  [OptionalProps]?: 'status' | 'organization' | 'businessUnit' | 'plan' | 'requestedBy' | 'createdAt' | 'updatedAt' | 'input';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String)
  @Property({ type: 'text' })
  definitionKey!: string;

  @Field(() => ExecutionStatusEnum)
  @Enum({ items: () => [...EXECUTION_STATUSES], nativeEnumName: 'execution_status', default: 'RUNNING' })
  status: ExecutionStatus = 'RUNNING';

  @Property({ type: 'json', nullable: true })
  input: Record<string, unknown> | null = null;

  @ManyToOne({ entity: () => Organization, nullable: true, deleteRule: 'set null' })
  organization: Organization | null = null;

  @ManyToOne({ entity: () => BusinessUnit, nullable: true })
  businessUnit: BusinessUnit | null = null;

  @ManyToOne({ entity: () => BudgetPlan, nullable: true, deleteRule: 'cascade' })
  plan: BudgetPlan | null = null;

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  requestedBy: User | null = null;

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime', defaultRaw: 'now()' })
  updatedAt: Date = new Date();
}
