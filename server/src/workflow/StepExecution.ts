import { Entity, Enum, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Int, ObjectType } from 'type-graphql';
import { randomUUID } from 'node:crypto';
import { STEP_KINDS, STEP_STATUSES, StepKindEnum, StepStatusEnum, type StepKind, type StepStatus } from './statuses.js';
import { WorkflowExecution } from './WorkflowExecution.js';

/** One step of one execution: its status, attempts, the input it was given and the output it produced. */
@ObjectType('WorkflowStep')
@Entity({ tableName: 'step_execution' })
@Unique({ properties: ['execution', 'key'] })
export class StepExecution {
  [OptionalProps]?: 'status' | 'attempts' | 'error' | 'input' | 'output' | 'startedAt' | 'finishedAt' | 'retriedByAdmin';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => WorkflowExecution, deleteRule: 'cascade' })
  execution!: WorkflowExecution;

  @Field(() => String)
  @Property({ type: 'text' })
  key!: string;

  @Field(() => String)
  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'integer' })
  position!: number;

  @Field(() => StepKindEnum)
  @Enum({ items: () => [...STEP_KINDS], nativeEnumName: 'step_kind' })
  kind!: StepKind;

  @Field(() => StepStatusEnum)
  @Enum({ items: () => [...STEP_STATUSES], nativeEnumName: 'step_status', default: 'PENDING' })
  status: StepStatus = 'PENDING';

  /** How many times the step has started running. */
  @Field(() => Int)
  @Property({ type: 'integer', default: 0 })
  attempts: number = 0;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Field(() => GraphQLJSON, { nullable: true })
  @Property({ type: 'json', nullable: true })
  input: unknown = null;

  @Field(() => GraphQLJSON, { nullable: true })
  @Property({ type: 'json', nullable: true })
  output: unknown = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  startedAt: Date | null = null;

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', nullable: true })
  finishedAt: Date | null = null;

  /** Set when an admin retried the step: simulated failures (SIMULATE_FAILURE_STEPS) stop failing then. */
  @Property({ type: 'boolean', default: false })
  retriedByAdmin: boolean = false;
}
