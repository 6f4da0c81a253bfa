/**
 * The one write path for budget cells.
 *
 * `updateLine` is the API's entry: it asks the policies, validates the input, checks the expected version,
 * then hands the accepted change to `applyChanges`. `applyChanges` is the projection: it writes the row,
 * bumps `version`, appends one audit entry per column whose value really changed, all in one transaction,
 * and publishes `budgetLineChanged` after commit. The grid server (collab/) will call `applyChanges` for
 * edits it accepted, and route `updateLine` through the live document, so both paths meet here.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { badUserInput, conflict, forbidden, notFound } from '../errors.js';
import { User } from '../directory/User.js';
import { isUuid } from '../ids.js';
import { canEditLine, canReadLine } from '../policies/budgetLine.js';
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

export class BudgetLineWriter {
  constructor(private readonly events: EventBus) {}

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
    const applied = await em.transactional(async (tx) => {
      const line = await tx.findOne(BudgetLine, { id: lineId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!line || !canReadLine(viewer, { unitId: line.businessUnit.id })) throw hiddenLine(viewer);
      // Read under a share lock: a concurrent submitBudget (which locks the row for update) waits for us,
      // or we wait for it and see its status.
      const submission = await tx.findOne(
        BudgetSubmission,
        { plan: line.plan, businessUnit: line.businessUnit },
        { lockMode: LockMode.PESSIMISTIC_READ },
      );
      if (!canEditLine(viewer, { unitId: line.businessUnit.id }, submission?.status ?? 'DRAFT')) {
        throw forbidden(
          submission && submission.status !== 'DRAFT' && submission.status !== 'REJECTED'
            ? `This unit's budget is ${submission.status.toLowerCase()} and cannot be changed`
            : 'You may not change this budget line',
        );
      }
      if (expectedVersion != null && expectedVersion !== line.version) {
        throw conflict(`The line changed since version ${expectedVersion}; it is now at version ${line.version}`, {
          currentVersion: line.version,
        });
      }
      return this.writeChanges(tx, line, changes, viewer.userId, 'API');
    });
    await this.publish(em, applied);
    return applied.line;
  }

  /**
   * Writes already-authorised, already-validated changes to a line in the caller's transaction; returns
   * what changed. The caller publishes after commit (see `publish`).
   */
  async writeChanges(
    tx: EntityManager,
    line: BudgetLine,
    changes: CellChanges,
    userId: string,
    source: ChangeSource,
  ): Promise<AppliedChange> {
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
        user: tx.getReference(User, userId),
        source,
      });
      (line as unknown as Record<EditableColumn, CellValue>)[column] = next;
      changed.push(column);
    }
    if (changed.length > 0) {
      line.version += 1;
      line.updatedAt = new Date();
      line.updatedBy = tx.getReference(User, userId);
      await tx.flush();
    }
    return { line, changed };
  }

  /** Publishes `budgetLineChanged` for a committed change. */
  async publish(em: EntityManager, applied: AppliedChange): Promise<void> {
    if (applied.changed.length === 0) return;
    const { line } = applied;
    await em.populate(line, ['businessUnit', 'updatedBy'], { refresh: false });
    this.events.publish('BUDGET_LINE_CHANGED', { planId: line.plan.id, unitId: line.businessUnit.id, line: snapshotLine(line) });
  }
}
