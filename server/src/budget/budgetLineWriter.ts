/**
 * The one write path for budget cells.
 *
 * `updateLine` is the API's entry: it asks the policies, validates the input, checks the expected version,
 * then hands the accepted change to `applyChanges`. `applyChanges` is the projection: it writes the row,
 * bumps `version`, appends one audit entry per column whose value really changed, all in one transaction,
 * and publishes `budgetLineChanged` after commit. The grid server (collab/) will call `applyChanges` for
 * edits it accepted, and route `updateLine` through the live document, so both paths meet here.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { badUserInput, conflict, forbidden, notFound } from '../errors.js';
import { User } from '../directory/User.js';
import { isUuid } from '../ids.js';
import { canEditLine, canReadLine, isFrozen } from '../policies/budgetLine.js';
import { hiddenRowAnswer } from '../policies/businessUnit.js';
import type { Viewer } from '../policies/viewer.js';
import type { EventBus } from '../realtime/eventBus.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetSubmission } from './BudgetSubmission.js';
import { CellChange, type ChangeSource } from './CellChange.js';
import { auditText, cellValueProblem, EDITABLE_COLUMNS, type CellValue, type EditableColumn } from './columns.js';
import { snapshotLine } from './lineSnapshot.js';

export type CellChanges = Partial<Record<EditableColumn, CellValue>>;

export interface AppliedChange {
  line: BudgetLine;
  /** Columns whose value changed (empty when the change was a no-op). */
  changed: EditableColumn[];
}

/** The error for a line the viewer may not see or that does not exist: the same for both. */
function hiddenLine(viewer: Viewer) {
  return hiddenRowAnswer(viewer) === 'NOT_FOUND' ? notFound('Budget line') : forbidden('You may not change this budget line');
}

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

/**
 * The live grid documents (collab/GridServer), seen from here: an API edit is applied to the line's
 * document as a change by the user, and resolves once it is projected into the row. `beforeApply` runs
 * when every earlier change of that document is in the rows, and may throw to refuse the edit.
 */
export interface LiveDocuments {
  applyEdit(target: LiveEditTarget, changes: CellChanges, userId: string, beforeApply: () => Promise<void>): Promise<void>;
}

export class BudgetLineWriter {
  private live?: LiveDocuments;

  constructor(private readonly events: EventBus) {}

  /** Connects the grid server, through which every API edit then goes (one write path). */
  attachLiveDocuments(live: LiveDocuments): void {
    this.live = live;
  }

  /** An API edit of one line, by `viewer`, optionally guarded by the version the caller last saw. */
  async updateLine(
    em: EntityManager,
    viewer: Viewer,
    lineId: string,
    changes: CellChanges,
    expectedVersion?: number | null,
  ): Promise<BudgetLine> {
    if (!isUuid(lineId)) throw hiddenLine(viewer);
    validateCellChanges(changes);
    const line = await em.findOne(BudgetLine, { id: lineId }, { populate: ['businessUnit'] });
    if (!line || !canReadLine(viewer, { unitId: line.businessUnit.id })) throw hiddenLine(viewer);
    const submission = await em.findOne(BudgetSubmission, { plan: line.plan, businessUnit: line.businessUnit });
    if (!canEditLine(viewer, { unitId: line.businessUnit.id }, submission?.status ?? 'DRAFT')) {
      throw forbidden(
        submission && isFrozen(submission.status)
          ? `This unit's budget is ${submission.status.toLowerCase()} and cannot be changed`
          : 'You may not change this budget line',
      );
    }
    if (!this.live) throw new Error('BudgetLineWriter: no live documents attached');
    const target = { planId: line.plan.id, unitId: line.businessUnit.id, unitCode: line.businessUnit.code, lineId };
    await this.live.applyEdit(target, changes, viewer.userId, async () => {
      if (expectedVersion == null) return;
      const current = await em.fork().findOneOrFail(BudgetLine, { id: lineId }, { fields: ['version'] });
      if (current.version !== expectedVersion) {
        throw conflict(`The line changed since version ${expectedVersion}; it is now at version ${current.version}`, {
          currentVersion: current.version,
        });
      }
    });
    return em.findOneOrFail(BudgetLine, { id: lineId }, { refresh: true, populate: ['businessUnit', 'updatedBy'] });
  }

  /**
   * Writes already-authorised, already-validated changes to a line in the caller's transaction (flushed
   * when it commits); returns what changed. The caller publishes after commit (see `publish`).
   */
  writeChanges(
    tx: EntityManager,
    line: BudgetLine,
    changes: CellChanges,
    /** Who made the change; null only for a settled value whose author is unknown (see collab/gridProjection). */
    userId: string | null,
    source: ChangeSource,
  ): AppliedChange {
    const changed: EditableColumn[] = [];
    for (const column of EDITABLE_COLUMNS) {
      if (!(column in changes) || changes[column] === undefined) continue;
      const next = changes[column] as CellValue;
      const previous = line[column] as CellValue;
      if (previous === next) continue;
      tx.create(CellChange, {
        line,
        businessUnit: line.businessUnit,
        column,
        oldValue: auditText(previous),
        newValue: auditText(next),
        user: userId ? tx.getReference(User, userId) : null,
        source,
      });
      (line as unknown as Record<EditableColumn, CellValue>)[column] = next;
      changed.push(column);
    }
    if (changed.length > 0) {
      line.version += 1;
      line.updatedAt = new Date();
      line.updatedBy = userId ? tx.getReference(User, userId) : null;
    }
    return { line, changed };
  }

  /** Publishes `budgetLineChanged` for a committed change. */
  async publish(em: EntityManager, applied: AppliedChange): Promise<void> {
    await this.publishAll(em, [applied]);
  }

  /** Publishes `budgetLineChanged` for committed changes, loading what the events carry in one go. */
  async publishAll(em: EntityManager, applied: AppliedChange[]): Promise<void> {
    const lines = applied.filter((a) => a.changed.length > 0).map((a) => a.line);
    if (lines.length === 0) return;
    await em.populate(lines, ['businessUnit', 'updatedBy'], { refresh: false });
    for (const line of lines) {
      this.events.publish('BUDGET_LINE_CHANGED', { planId: line.plan.id, unitId: line.businessUnit.id, line: snapshotLine(line) });
    }
  }
}
