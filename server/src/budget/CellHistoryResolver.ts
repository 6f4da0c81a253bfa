/**
 * A cell's history and its restore (contract v1.1, "The grid's history, notifications and the review loop"):
 * `cellHistory`, the audit entries of one column of one line, newest first; `restoreCell`, which sets that cell
 * back to an entry's old value through the one write path (budgetLineWriter.ts `updateLine`, audited as RESTORE,
 * seen by open grids), with the rights and refusals of updateBudgetLine.
 *
 * A line or an entry the caller may not read answers exactly like a missing one: NOT_FOUND to every role, as
 * updateBudgetLines answers a hidden line (batchWrites.ts), so an id never tells whether it exists.
 *
 * Out of scope: the whole audit log (AuditLogResolver.ts) and an entry's line and author (RelationResolvers.ts).
 */
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { requireViewer, type GraphQLContext } from '../graphql/context.js';
import { badUserInput, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { can } from '../policies/authorize.js';
import { BudgetLine } from './BudgetLine.js';
import { BudgetLineType } from './BudgetLineType.js';
import { CellChange } from './CellChange.js';
import { AUDITED_COLUMNS, isAuditedColumn, isEditableColumn, type CellValue, type EditableColumn } from './columns.js';
import { RemovedBudgetLine } from './RemovedBudgetLine.js';

/** The most entries `cellHistory` answers: a cell edited more often than that shows its newest ones. */
export const MAX_CELL_HISTORY = 500;

/** Audit entry ids are bigserials: anything else cannot name one, and must not reach PostgreSQL as a bigint. */
const CHANGE_ID = /^[1-9][0-9]{0,18}$/;
const MAX_BIGINT = 9223372036854775807n;

function isChangeId(value: string): boolean {
  return CHANGE_ID.test(value) && BigInt(value) <= MAX_BIGINT;
}

/** What an audit entry's text was as a cell value: amounts are their decimal text, a cleared comment is ''. */
export function cellValueOfAuditText(column: EditableColumn, text: string | null): CellValue {
  if (column === 'comment') return text ?? '';
  return text === null || text === '' ? null : Number(text);
}

@Resolver()
export class CellHistoryResolver {
  @Query(() => [CellChange], {
    description:
      `The audit entries of one cell (a line's column: ${AUDITED_COLUMNS.join(', ')}), newest first, at most the newest ` +
      `${MAX_CELL_HISTORY}. A removed line's history stays readable. A line the caller may not read: NOT_FOUND, as a ` +
      'missing one; another column: BAD_USER_INPUT.',
  })
  async cellHistory(
    @Arg('lineId', () => ID) lineId: string,
    @Arg('column', () => String) column: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CellChange[]> {
    const viewer = requireViewer(ctx);
    if (!isAuditedColumn(column)) throw badUserInput(`column must be one of ${AUDITED_COLUMNS.join(', ')}`, 'column');
    // A removed line's history stays readable (removeBudgetLines keeps what the line was), as in auditLog.
    const line = isUuid(lineId) ? ((await ctx.em.findOne(BudgetLine, { id: lineId })) ?? (await ctx.em.findOne(RemovedBudgetLine, { id: lineId }))) : null;
    if (!line || !can(viewer, 'read', 'BudgetLine', { unitId: line.businessUnit.id })) throw notFound('Budget line');
    return ctx.em.find(
      CellChange,
      { line: line.id, column },
      {
        orderBy: { id: 'desc' },
        limit: MAX_CELL_HISTORY,
        populate: ['user', 'line'],
        // Separate queries, not joins: a joined line would drop a removed line's entries (AuditLogResolver.ts).
        strategy: 'select-in',
      },
    );
  }

  @Mutation(() => BudgetLineType, {
    description:
      "Sets a cell back to an audit entry's oldValue (the entry's line and column) through the one write path: audited " +
      'with source RESTORE, open grids see it, with the rights and refusals of updateBudgetLine (FORBIDDEN outside ' +
      'writable units, while the unit is submitted or approved, and in a CLOSED plan; no CONFLICT: there is no ' +
      'expectedVersion). When the cell already holds that value it answers the line unchanged: no new audit entry, ' +
      'same version. An entry the caller may not read: NOT_FOUND, as a missing one. An entry of priorYearActual (not ' +
      'an editable column) or of a removed line: BAD_USER_INPUT.',
  })
  async restoreCell(@Arg('changeId', () => ID) changeId: string, @Ctx() ctx: GraphQLContext): Promise<BudgetLine> {
    const viewer = requireViewer(ctx);
    // Read as stored: the entry's line may be gone (removeBudgetLines), and only its id is wanted here.
    const [change] = isChangeId(changeId)
      ? await ctx.em
          .getConnection()
          .execute<{ line_id: string; business_unit_id: string; column_name: string; old_value: string | null }[]>(
            'select "line_id", "business_unit_id", "column_name", "old_value" from "cell_change" where "id" = ?',
            [changeId],
          )
      : [];
    if (!change || !can(viewer, 'read', 'CellChange', { unitId: change.business_unit_id })) throw notFound('Audit entry');
    const column = change.column_name;
    // Not a question of rights: nobody may set priorYearActual here (only the Power BI actuals load writes it, and
    // updateBudgetLine cannot name it), so every role that may see the entry is told the same.
    if (!isEditableColumn(column)) throw badUserInput(`${column} is not an editable column and cannot be restored`, 'changeId');
    const exists = await ctx.em.count(BudgetLine, { id: change.line_id });
    if (exists === 0) throw badUserInput('This line was removed from the plan; its cells cannot be restored', 'changeId');
    const value = cellValueOfAuditText(column, change.old_value);
    return ctx.services.budgetLines.updateLine(ctx.em, viewer, change.line_id, { [column]: value }, null, 'RESTORE');
  }
}
