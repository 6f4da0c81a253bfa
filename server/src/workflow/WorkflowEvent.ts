import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Every status change of an execution or a step, in commit order: `id` is the cursor subscribers resume
 * from. Rows are inserted under a transaction-level lock (see transitions.ts), so ids become visible in the
 * order they were assigned and a reader never skips one that commits late. The last three columns
 * (definition, organisation, unit) are what visibility rules need, so replay filters in SQL and fan-out
 * filters without a query. The record events carry, and its mapping from this row, are in events.ts.
 */
@Entity({ tableName: 'workflow_event' })
@Index({ properties: ['executionId', 'id'] })
export class WorkflowEvent {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'uuid' })
  executionId!: string;

  /** Null for a change of the execution's own status. */
  @Property({ type: 'text', nullable: true })
  stepKey!: string | null;

  @Property({ type: 'text' })
  status!: string;

  /** The execution's status after this change. */
  @Property({ type: 'text' })
  executionStatus!: string;

  @Property({ type: 'datetime' })
  at!: Date;

  @Property({ type: 'text' })
  definitionKey!: string;

  @Property({ type: 'uuid', nullable: true })
  organizationId!: string | null;

  @Property({ type: 'uuid', nullable: true })
  businessUnitId!: string | null;
}
