/**
 * The workflow's live events: the record every status change writes (one `workflow_event` row) and
 * publishes, its mapping from the stored row, and the bus topics that carry it. Subscribers and their filters
 * need nothing else: the record names the execution's definition, organisation and unit (policies decide on
 * those) and carries the execution as of the event.
 */
import type { ExecutionStatus } from './statuses.js';

/** A workflow event as stored and as published: everything subscribers and their filters need. */
export interface WorkflowEventRecord {
  cursor: string;
  executionId: string;
  stepKey: string | null;
  status: string;
  executionStatus: ExecutionStatus;
  at: Date;
  definitionKey: string;
  organizationId: string | null;
  businessUnitId: string | null;
  /**
   * The cursor of the event committed just before this one ("0" for the first), on live events only: the
   * chain that lets every instance deliver events in order, with no gap (eventSequencer.ts).
   */
  previousCursor?: string;
  /** The execution as of this event, so a subscriber renders it without a query. */
  execution: { id: string; definitionKey: string; status: ExecutionStatus; createdAt: Date; updatedAt: Date };
}

export interface StoredEventRow {
  id: string;
  execution_id: string;
  step_key: string | null;
  status: string;
  execution_status: ExecutionStatus;
  at: Date;
  definition_key: string;
  organization_id: string | null;
  business_unit_id: string | null;
  created_at: Date;
}

export function fromRow(row: StoredEventRow): WorkflowEventRecord {
  return {
    cursor: String(row.id),
    executionId: row.execution_id,
    stepKey: row.step_key,
    status: row.status,
    executionStatus: row.execution_status,
    at: new Date(row.at),
    definitionKey: row.definition_key,
    organizationId: row.organization_id,
    businessUnitId: row.business_unit_id,
    execution: {
      id: row.execution_id,
      definitionKey: row.definition_key,
      status: row.execution_status,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.at),
    },
  };
}

export type WorkflowTopics = {
  /** As published by the instance that committed it, in whatever order instances' messages arrive. */
  WORKFLOW_EVENT: WorkflowEventRecord;
  /** Local: every workflow event exactly once, in cursor order (workflow/eventSequencer.ts). */
  WORKFLOW_EVENT_ORDERED: WorkflowEventRecord;
};

/** Committed events cross to the other instances; each instance orders them itself. */
export const WORKFLOW_CLUSTER_TOPICS = ['WORKFLOW_EVENT'] as const satisfies readonly (keyof WorkflowTopics)[];
