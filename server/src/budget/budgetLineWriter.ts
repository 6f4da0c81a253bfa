/**
 * The one write path for budget cells.
 *
 * `updateLine` is the API's entry: it validates the input, asks the policies, and applies the change to the
 * line's live grid document as an edit by the viewer, checking the expected version once every earlier edit
 * of that document is in the rows. The grid's projection (collab/gridProjection.ts, with the SQL of
 * lineStore.ts) then writes the row, its version, one audit entry per column that really changed and
 * `budgetLineChanged`, for API and grid edits alike: one write path. `freezeWhile` runs a submission with the
 * unit's document frozen, so that the review sees final rows. A closed plan's lines are refused (the policy has
 * the plan's status), and so is an edit whose plan closed while it waited its turn.
 *
 * The grid server attaches itself (`attachLiveDocuments`, as `LiveDocuments`): budget/ does not import collab/.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SqlClient } from '../db/sql.js';
import { badUserInput, conflict, forbidden } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize, hiddenRow } from '../policies/authorize.js';
import { isFrozen } from '../policies/budgetLine.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import type { Viewer } from '../policies/viewer.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetPlan } from './BudgetPlan.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import type { ChangeSource } from './CellChange.js';
import { cellValueProblem, EDITABLE_COLUMNS, type CellValue, type EditableColumn } from './columns.js';
import type { BudgetLineSnapshot } from './lineSnapshot.js';

/** The refusal of any change to a closed plan's figures. */
export const PLAN_CLOSED = 'This budget plan is closed and cannot be changed';

export type CellChanges = Partial<Record<EditableColumn, CellValue>>;

/** How a batch of edits came (the audit log's source): updateBudgetLines, a spreadsheet import, or restoreCells. */
export type BatchSource = Extract<ChangeSource, 'API' | 'IMPORT' | 'RESTORE'>;

/** How a single-line edit came: updateBudgetLine, or restoreCell setting a cell back to an earlier value. */
export type EditSource = Extract<ChangeSource, 'API' | 'RESTORE'>;

/** Checks every given column; throws BAD_USER_INPUT naming the first bad one. */
export function validateCellChanges(changes: CellChanges): void {
  for (const column of EDITABLE_COLUMNS) {
    if (!(column in changes) || changes[column] === undefined) continue;
    const problem = cellValueProblem(column, changes[column]);
    if (problem) throw badUserInput(problem, column);
  }
}

/** Which live document a line belongs to. */
export interface LiveEditTarget {
  planId: string;
  unitId: string;
  unitCode: string;
  lineId: string;
}

/** A batch's edits of one live document (plan + unit), in the order of the call. */
export interface LiveEditGroup {
  target: Omit<LiveEditTarget, 'lineId'>;
  edits: { lineId: string; changes: CellChanges }[];
}

/**
 * The live grid documents (collab/GridServer), seen from here: an API edit is applied to the line's
 * document as a change by the user, and resolves once it is projected into the row. `beforeApply` runs
 * when every earlier change of that document is in the rows, and may throw to refuse the edit.
 */
export interface LiveDocuments {
  applyEdit(target: LiveEditTarget, changes: CellChanges, userId: string, beforeApply: () => Promise<void>, source?: EditSource): Promise<void>;
  /**
   * A batch of API edits (updateBudgetLines), one group per document: once every earlier change of each of
   * these documents is in the rows, `decide` says which lines to apply (it may read the rows); each document
   * then gets its edits as one change by the user (audited with `source`, API when not given), and this resolves
   * once they are projected.
   */
  applyEditBatch(groups: readonly LiveEditGroup[], userId: string, decide: () => Promise<ReadonlySet<string>>, source?: BatchSource): Promise<void>;
  /**
   * Runs `commit` (a change that freezes the unit: a submission) once every edit accepted before it is in the
   * rows, accepting no edit of that unit from then on (until the unit is editable again). A failing `commit`
   * unfreezes it.
   */
  freezeWhile<T>(target: Omit<LiveEditTarget, 'lineId'>, commit: () => Promise<T>): Promise<T>;
  /**
   * A write of a system-only column (priorYearActual: never in the grid document, so never a client's), in turn
   * with the API edits and submissions of these documents as a batch takes its turns: once every earlier change
   * of each is in the rows, `write` runs in ONE database transaction (all or nothing) and returns the lines it
   * changed; after commit the grid's projection learns their new versions and `budgetLineChanged` is published
   * for each, as for any edit.
   */
  writeSystemColumn<T>(targets: readonly Omit<LiveEditTarget, 'lineId'>[], write: (client: SqlClient) => Promise<SystemColumnWrite<T>>): Promise<T>;
}

/** What a system-column write did: its result for the caller, and the lines it changed as they are now. */
export interface SystemColumnWrite<T> {
  result: T;
  changed: BudgetLineSnapshot[];
}

export class BudgetLineWriter {
  private live?: LiveDocuments;

  /**
   * Runs a change that freezes a unit (`submitBudget`) so that the rows it sees are final: every edit accepted
   * before it is projected first, and none is accepted after (see LiveDocuments.freezeWhile).
   */
  async freezeWhile<T>(target: Omit<LiveEditTarget, 'lineId'>, commit: () => Promise<T>): Promise<T> {
    if (!this.live) throw new Error('BudgetLineWriter: no live documents attached');
    return this.live.freezeWhile(target, commit);
  }

  /** Connects the grid server, through which every API edit then goes (one write path). */
  attachLiveDocuments(live: LiveDocuments): void {
    this.live = live;
  }

  /**
   * A batch of API edits (updateBudgetLines, batchWrites.ts, which judges each change as `updateLine` does) applied
   * to the live documents, one transaction per document.
   */
  async applyEditBatch(
    groups: readonly LiveEditGroup[],
    userId: string,
    decide: () => Promise<ReadonlySet<string>>,
    source: BatchSource = 'API',
  ): Promise<void> {
    if (!this.live) throw new Error('BudgetLineWriter: no live documents attached');
    return this.live.applyEditBatch(groups, userId, decide, source);
  }

  /** A system-only column written for many lines in one transaction, in turn with these documents' edits (LiveDocuments). */
  async writeSystemColumn<T>(targets: readonly Omit<LiveEditTarget, 'lineId'>[], write: (client: SqlClient) => Promise<SystemColumnWrite<T>>): Promise<T> {
    if (!this.live) throw new Error('BudgetLineWriter: no live documents attached');
    return this.live.writeSystemColumn(targets, write);
  }

  /**
   * An API edit of one line, by `viewer`, optionally guarded by the version the caller last saw; audited with
   * `source` (API, or RESTORE for restoreCell).
   */
  async updateLine(
    em: EntityManager,
    viewer: Viewer,
    lineId: string,
    changes: CellChanges,
    expectedVersion?: number | null,
    source: EditSource = 'API',
  ): Promise<BudgetLine> {
    if (!isUuid(lineId)) throw hiddenRow(viewer, 'update', 'BudgetLine');
    validateCellChanges(changes);
    const line = await em.findOne(BudgetLine, { id: lineId }, { populate: ['businessUnit', 'plan'] });
    const submission = line && (await em.findOne(BudgetSubmission, { plan: line.plan, businessUnit: line.businessUnit }));
    const status = submission?.status ?? 'DRAFT';
    const planStatus = line?.plan.status ?? 'OPEN';
    authorize(viewer, 'update', 'BudgetLine', line && { unitId: line.businessUnit.id, submissionStatus: status, planStatus }, () =>
      !isPlanOpen(planStatus)
        ? PLAN_CLOSED
        : isFrozen(status)
          ? `This unit's budget is ${status.toLowerCase()} and cannot be changed`
          : 'You may not change this budget line',
    );
    if (!this.live) throw new Error('BudgetLineWriter: no live documents attached');
    const target = { planId: line!.plan.id, unitId: line!.businessUnit.id, unitCode: line!.businessUnit.code, lineId };
    await this.live.applyEdit(target, changes, viewer.userId, async () => {
      // Read again in turn with the unit's other edits and its submission: a submission committed since the
      // check above froze the unit, and this edit must not land after what was submitted.
      const now = await em.fork().findOne(BudgetSubmission, { plan: target.planId, businessUnit: target.unitId }, { fields: ['status'] });
      if (now && isFrozen(now.status)) throw forbidden(`This unit's budget is ${now.status.toLowerCase()} and cannot be changed`);
      // Likewise a plan closed since (setBudgetPlanStatus).
      const plan = await em.fork().findOne(BudgetPlan, { id: target.planId }, { fields: ['status'] });
      if (plan && !isPlanOpen(plan.status)) throw forbidden(PLAN_CLOSED);
      if (expectedVersion == null) return;
      const current = await em.fork().findOneOrFail(BudgetLine, { id: lineId }, { fields: ['version'] });
      if (current.version !== expectedVersion) {
        throw conflict(`The line changed since version ${expectedVersion}; it is now at version ${current.version}`, {
          currentVersion: current.version,
        });
      }
    }, source);
    return em.findOneOrFail(BudgetLine, { id: lineId }, { refresh: true, populate: ['businessUnit', 'updatedBy'] });
  }
}
