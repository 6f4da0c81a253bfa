/**
 * `updateBudgetLines`: up to MAX_CHANGES_PER_CALL cell changes in one call, through the one write path.
 *
 * Each change is judged as `updateBudgetLine` (budgetLineWriter.ts) would judge it, in the same order: an id
 * that cannot name a line, then the values, then the line's policy (a closed plan, a frozen unit, the unit's
 * rights), then, in turn with the unit's other edits, a submission or plan closure since and the expected
 * version. A line missing or hidden from the caller answers NOT_FOUND for everyone, as the contract asks of
 * the batch (so a leader of one unit learns nothing about another unit's ids either way).
 *
 * The same line twice in one call: the later change is refused (BAD_USER_INPUT), the first one judged as usual.
 * Applying both in order would make `expectedVersion` of the later one depend on whether the earlier one
 * changed anything, and a result keyed by line id would list one id as both updated and rejected; a script
 * that means two changes of one cell can send the last.
 *
 * What passes is grouped per grid document (plan + unit) and applied to each as one transaction
 * (LiveDocuments.applyEditBatch): one broadcast to open grids, one projection batch writing the rows, their
 * audit entries (source API, or IMPORT for a spreadsheet import: spreadsheets/) and `budgetLineChanged` for every
 * line, as for any grid or API edit.
 * Atomic: any rejection, found before or in turn, and nothing is applied; every problem is listed.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLError } from 'graphql';
import { withSqlClient } from '../db/sql.js';
import { badUserInput, conflict, ErrorCode, forbidden, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize, can } from '../policies/authorize.js';
import { isFrozen } from '../policies/budgetLine.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import { readableUnits } from '../policies/businessUnit.js';
import type { Viewer } from '../policies/viewer.js';
import type { PlanStatus } from './BudgetPlan.js';
import type { SubmissionStatus } from './BudgetSubmission.js';
import type { BatchSource, CellChanges, LiveDocuments, LiveEditGroup } from './budgetLineWriter.js';
import { PLAN_CLOSED, validateCellChanges } from './budgetLineWriter.js';
import { snapshotFromRow, type BudgetLineSnapshot, type LineSnapshotRow } from './lineSnapshot.js';

/** The most changes one call may carry (the contract's 5,000; the HTTP body limit is sized for it). */
export const MAX_CHANGES_PER_CALL = 5000;

export interface LineChange {
  id: string;
  changes: CellChanges;
  expectedVersion?: number | null;
}

export interface RejectedLineChange {
  id: string;
  code: string;
  message: string;
}

export interface BatchOutcome {
  /** The applied lines as they are now, in the order of the call. */
  updated: BudgetLineSnapshot[];
  /** In the order of the call. */
  rejected: RejectedLineChange[];
}

/** What judging a line needs, read for the whole batch in one statement. */
interface LineState {
  id: string;
  plan_id: string;
  unit_id: string;
  unit_code: string;
  version: number;
  plan_status: PlanStatus;
  submission_status: SubmissionStatus;
}

const LINE_STATES = `
  SELECT l.id, l.plan_id, l.business_unit_id AS unit_id, u.code AS unit_code, l.version,
         p.status AS plan_status, COALESCE(s.status, 'DRAFT') AS submission_status
    FROM budget_line l
    JOIN business_unit u ON u.id = l.business_unit_id
    JOIN budget_plan p ON p.id = l.plan_id
    LEFT JOIN budget_submission s ON s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
   WHERE l.id = ANY($1::uuid[])`;

/** The lines as `budgetLineChanged` and `budgetLines` carry them (lineSnapshot.ts), by id. */
const LINE_SNAPSHOTS = `
  SELECT l.id, l.plan_id, l.business_unit_id AS unit_id, b.code AS unit_code, b.name AS unit_name, l.product_category,
         l.region, l.quarter, l.position, l.prior_year_actual, l.budget_amount, l.forecast_sales, l.comment, l.version,
         l.updated_at, p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
    FROM budget_line l
    JOIN business_unit b ON b.id = l.business_unit_id
    LEFT JOIN app_user p ON p.id = l.updated_by_id
   WHERE l.id = ANY($1::uuid[])`;

async function readStates(em: EntityManager, ids: string[]): Promise<Map<string, LineState>> {
  if (ids.length === 0) return new Map();
  const { rows } = await withSqlClient(em, (client) => client.query<LineState>({ name: 'plansync.batch.lineStates', text: LINE_STATES, values: [ids] }));
  return new Map(rows.map((r) => [r.id, r]));
}

function rejection(id: string, err: unknown): RejectedLineChange {
  const e = err as GraphQLError;
  const code = e?.extensions?.code;
  if (typeof code !== 'string') throw err; // not a refusal but a failure: the whole call fails
  return { id, code, message: e.message };
}

/** The refusal updateBudgetLine gives a readable line the viewer may not change (budgetLineWriter.ts). */
export function updateRefusal(planStatus: PlanStatus, submissionStatus: SubmissionStatus): string {
  return !isPlanOpen(planStatus)
    ? PLAN_CLOSED
    : isFrozen(submissionStatus)
      ? `This unit's budget is ${submissionStatus.toLowerCase()} and cannot be changed`
      : 'You may not change this budget line';
}

export async function updateLines(
  em: EntityManager,
  live: Pick<LiveDocuments, 'applyEditBatch'>,
  viewer: Viewer,
  changes: readonly LineChange[],
  atomic: boolean,
  source: BatchSource = 'API',
): Promise<BatchOutcome> {
  if (changes.length > MAX_CHANGES_PER_CALL) throw badUserInput(`At most ${MAX_CHANGES_PER_CALL} changes may be made at once`, 'changes');
  // The caller's scope is asked even for an empty batch: every root field consults the policies.
  readableUnits(viewer);
  const rejected = new Map<number, RejectedLineChange>();
  const seen = new Set<string>();
  const candidates: number[] = [];
  changes.forEach((change, i) => {
    const key = change.id.toLowerCase();
    if (seen.has(key)) {
      rejected.set(i, { id: change.id, code: ErrorCode.BAD_USER_INPUT, message: 'This line is changed earlier in the same call: send one change per line' });
      return;
    }
    seen.add(key);
    if (!isUuid(change.id)) return void rejected.set(i, rejection(change.id, notFound('Budget line')));
    try {
      validateCellChanges(change.changes);
    } catch (err) {
      return void rejected.set(i, rejection(change.id, err));
    }
    candidates.push(i);
  });

  const states = await readStates(em, candidates.map((i) => changes[i].id));
  const accepted: number[] = [];
  for (const i of candidates) {
    const state = states.get(changes[i].id.toLowerCase()) ?? states.get(changes[i].id);
    const row = state && { unitId: state.unit_id, submissionStatus: state.submission_status, planStatus: state.plan_status };
    try {
      // Missing or hidden alike: NOT_FOUND (the contract's answer for the batch, to every role).
      if (!row || !can(viewer, 'read', 'BudgetLine', row)) throw notFound('Budget line');
      authorize(viewer, 'update', 'BudgetLine', row, () => updateRefusal(state!.plan_status, state!.submission_status));
      accepted.push(i);
    } catch (err) {
      rejected.set(i, rejection(changes[i].id, err));
    }
  }

  const apply = new Set<string>();
  // Atomic with refusals already: still judged in turn (nothing is applied), so that every problem is listed.
  if (accepted.length > 0) {
    // One group per document, each with its lines in the order of the call.
    const groups = new Map<string, LiveEditGroup>();
    for (const i of accepted) {
      const state = states.get(changes[i].id.toLowerCase()) ?? states.get(changes[i].id)!;
      const docKey = `${state.plan_id}/${state.unit_id}`;
      let group = groups.get(docKey);
      if (!group) groups.set(docKey, (group = { target: { planId: state.plan_id, unitId: state.unit_id, unitCode: state.unit_code }, edits: [] }));
      group.edits.push({ lineId: state.id, changes: changes[i].changes });
    }
    await live.applyEditBatch([...groups.values()], viewer.userId, async () => {
      // In turn with each unit's other edits, every earlier one in the rows: read again what may have changed
      // since the checks above (a submission, a plan closed, a line removed) and the versions.
      const now = await readStates(em, accepted.map((i) => states.get(changes[i].id.toLowerCase())?.id ?? changes[i].id));
      for (const i of accepted) {
        const change = changes[i];
        const state = now.get(states.get(change.id.toLowerCase())?.id ?? change.id);
        if (!state) rejected.set(i, rejection(change.id, notFound('Budget line')));
        else if (!isPlanOpen(state.plan_status)) rejected.set(i, rejection(change.id, forbidden(PLAN_CLOSED)));
        else if (isFrozen(state.submission_status)) {
          rejected.set(i, rejection(change.id, forbidden(`This unit's budget is ${state.submission_status.toLowerCase()} and cannot be changed`)));
        } else if (change.expectedVersion != null && state.version !== change.expectedVersion) {
          rejected.set(
            i,
            rejection(change.id, conflict(`The line changed since version ${change.expectedVersion}; it is now at version ${state.version}`)),
          );
        } else apply.add(state.id);
      }
      if (atomic && rejected.size > 0) apply.clear();
      return apply;
    }, source);
  }

  const ordered = [...rejected.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  return { updated: await readSnapshots(em, changes, apply), rejected: ordered };
}

/** The applied lines as they are now, in the order of the call. */
async function readSnapshots(em: EntityManager, changes: readonly LineChange[], applied: ReadonlySet<string>): Promise<BudgetLineSnapshot[]> {
  if (applied.size === 0) return [];
  const { rows } = await withSqlClient(em, (client) =>
    client.query<LineSnapshotRow>({ name: 'plansync.batch.snapshots', text: LINE_SNAPSHOTS, values: [[...applied]] }),
  );
  const byId = new Map(rows.map((r) => [r.id, snapshotFromRow(r)]));
  const out: BudgetLineSnapshot[] = [];
  for (const change of changes) {
    const line = byId.get(change.id.toLowerCase()) ?? byId.get(change.id);
    if (line && applied.has(line.id)) {
      out.push(line);
      byId.delete(line.id);
    }
  }
  return out;
}
