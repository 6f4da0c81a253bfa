/**
 * The `workflowEvents` stream: replay from a cursor, then live, with no gap and no duplicate.
 *
 * 1. Join the live fanout first (realtime/fanout.ts), buffering what arrives.
 * 2. Replay the stored events after the cursor that the viewer may see, in cursor order, up to the
 *    newest stored one (R).
 * 3. Then deliver live events, skipping those with a cursor <= R: they were in the replay. Event ids
 *    become visible in the order they are assigned (transitions.ts), so every event above R that the
 *    replay could not see is still to come live, and nothing below R can appear later.
 * Live events come from the instance's sequencer (eventSequencer.ts): every event of every instance,
 * exactly once, in cursor order. So a subscriber that resumes with `after` on another instance than the
 * one it left gets exactly the events it missed, in order, wherever they were committed.
 * Without `after`, only live events are delivered. The viewer's scope (policies/workflowExecution.ts) is
 * computed once, for the replay's SQL; each live event is checked by the same rule on its own fields, never
 * with a query.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ExecutionResult } from 'graphql';
import { forbidden } from '../errors.js';
import { decodeCursor } from '../graphql/connections.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import { canReadExecution, executionScope, readableExecutions } from '../policies/workflowExecution.js';
import type { Viewer } from '../policies/viewer.js';
import type { LiveDelivery, TopicFanout } from '../realtime/fanout.js';
import { fromRow, type StoredEventRow, type WorkflowEventRecord } from './events.js';
import { WorkflowExecution } from './WorkflowExecution.js';

export const EVENT_CURSOR = 'workflow_event';
const REPLAY_PAGE = 500;


/** SQL conditions (on workflow_event `e`) for the events a viewer may see, mirroring canReadExecution. */
function scopeSql(viewer: Viewer): { sql: string; params: unknown[] } | null {
  const readable = readableExecutions(viewer);
  if (readable.kind === 'none') return null;
  if (readable.kind === 'all') return { sql: 'TRUE', params: [] };
  const scope = readable.where;
  const parts = [`e.definition_key IN (${scope.definitionKeys.map(() => '?').join(', ')})`];
  const params: unknown[] = [...scope.definitionKeys];
  if (scope.organizationId) {
    parts.push('e.organization_id = ?');
    params.push(scope.organizationId);
  }
  if (scope.businessUnitIds) {
    if (scope.businessUnitIds.length === 0) return null;
    parts.push(`e.business_unit_id IN (${scope.businessUnitIds.map(() => '?').join(', ')})`);
    params.push(...scope.businessUnitIds);
  }
  return { sql: parts.join(' AND '), params };
}

/** The fanout of WORKFLOW_EVENT_ORDERED to graphql-ws subscribers (realtime/fanout.ts). */
export type WorkflowEventFanout = TopicFanout<WorkflowEventRecord>;

export async function workflowEventStream(
  em: () => EntityManager,
  fanout: WorkflowEventFanout,
  delivery: LiveDelivery,
  viewer: Viewer,
  options: { executionId: string | null; after: string | null },
): Promise<AsyncIterable<ExecutionResult>> {
  // Everything that can be refused is checked before the stream starts, so errors reach the subscriber.
  if (options.executionId !== null) {
    const execution = isUuid(options.executionId) ? await em().findOne(WorkflowExecution, { id: options.executionId }) : null;
    authorize(viewer, 'read', 'WorkflowExecution', execution && executionScope(execution));
  }
  const afterId = options.after !== null ? BigInt(decodeCursor(EVENT_CURSOR, options.after)) : null;
  const found = scopeSql(viewer);
  if (!found) throw forbidden('You may not follow workflows');
  const scope = found;
  const executionId = options.executionId;

  // 1. The subscription joins the fanout first (buffering live events), then replays.
  // 2. Replay, up to the newest event stored when the replay starts (R). Anything committed later has a
  //    greater id, and the fanout, joined before, delivers it.
  // 3. Live events, skipping those with a cursor <= R: they were in the replay.
  let replayedUpTo = -1n;
  async function* replay(): AsyncGenerator<WorkflowEventRecord> {
    const connection = em().getConnection();
    const [{ max }] = await connection.execute<{ max: string | null }[]>('SELECT max(id) AS max FROM workflow_event');
    replayedUpTo = max === null ? -1n : BigInt(max);
    let from = afterId!;
    while (from < replayedUpTo) {
      const rows = await connection.execute<StoredEventRow[]>(
        `SELECT e.*, x.created_at FROM workflow_event e JOIN workflow_execution x ON x.id = e.execution_id
         WHERE e.id > ? AND e.id <= ? AND ${scope.sql} ${executionId !== null ? 'AND e.execution_id = ?' : ''}
         ORDER BY e.id LIMIT ${REPLAY_PAGE}`,
        [from.toString(), replayedUpTo.toString(), ...scope.params, ...(executionId !== null ? [executionId] : [])],
      );
      for (const row of rows) yield fromRow(row);
      if (rows.length < REPLAY_PAGE) break;
      from = BigInt(rows[rows.length - 1].id);
    }
  }
  return fanout.follow(delivery, {
    // The group key includes the viewer and the variables, so this is the same for every subscriber of the group.
    visible: (event) => (executionId === null || event.executionId === executionId) && canReadExecution(viewer, event),
    replay: afterId !== null ? replay : undefined,
    skipAfterReplay: afterId !== null ? (event) => replayedUpTo >= 0n && BigInt(event.cursor) <= replayedUpTo : undefined,
  });
}
