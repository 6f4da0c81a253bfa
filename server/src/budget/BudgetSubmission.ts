import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { User } from '../directory/User.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';

export const SUBMISSION_STATUSES = ['DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED'] as const;
export type SubmissionStatus = (typeof SUBMISSION_STATUSES)[number];
export const SubmissionStatusEnum = Object.fromEntries(SUBMISSION_STATUSES.map((s) => [s, s])) as {
  [K in SubmissionStatus]: K;
};
registerEnumType(SubmissionStatusEnum, {
  name: 'SubmissionStatus',
  description: 'Where a unit budget is in review. SUBMITTED and APPROVED units are read-only; REJECTED opens again.',
});

/** A unit's submission of its budget in a plan: one row per plan and unit, created with the plan. */
@ObjectType()
@Entity({ tableName: 'budget_submission' })
@Unique({ properties: ['plan', 'businessUnit'] })
export class BudgetSubmission {
  [OptionalProps]?: 'status' | 'submittedAt' | 'submittedBy' | 'executionId' | 'version' | 'reviewComment' | 'reviewedBy' | 'reviewedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => BudgetPlan, deleteRule: 'cascade' })
  plan!: BudgetPlan;

  @Field(() => BusinessUnit)
  @ManyToOne({ entity: () => BusinessUnit })
  businessUnit!: BusinessUnit;

  @Field(() => SubmissionStatusEnum)
  @Enum({ items: () => [...SUBMISSION_STATUSES], nativeEnumName: 'submission_status', default: 'DRAFT' })
  status: SubmissionStatus = 'DRAFT';

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  submittedAt: Date | null = null;

  @Field(() => User, { nullable: true })
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  submittedBy: User | null = null;

  @Field(() => Int, { description: 'How many times the unit was submitted: 0 before the first submit, +1 at each (submissionVersions).' })
  @Property({ type: 'integer', default: 0 })
  version: number = 0;

  @Field(() => String, { nullable: true, description: "The finance reviewer's comment on the current version (null until reviewed; cleared at the next submit or a reopen)." })
  @Property({ type: 'text', nullable: true })
  reviewComment: string | null = null;

  @Field(() => User, { nullable: true, description: 'Who approved or rejected the current version.' })
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  reviewedBy: User | null = null;

  @Field(() => Date, { nullable: true, description: 'When the current version was approved or rejected.' })
  @Property({ type: 'datetime', nullable: true })
  reviewedAt: Date | null = null;

  /** The budget_submission workflow execution that reviews it (set by the workflow engine). */
  @Property({ type: 'uuid', nullable: true })
  executionId: string | null = null;
}
